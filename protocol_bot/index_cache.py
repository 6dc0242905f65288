"""A cache of the built search index, keyed by the knowledge's content and the engine's code.

Building the index (analysing every passage, word pairs, postings, edition matching) is the slow
part of starting up; a cold `protocol-bot ask` loads it from the cache instead. The cache lives in
a data directory, never in the knowledge folder: $PROTOCOL_BOT_DATA, else `protocol-bot-data/`
next to the database ($PROTOCOL_BOT_DB, default ./protocol-bot.db). A missing, unreadable or
corrupt cache is ignored and the index is built as usual; failing to write one is not an error.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from pathlib import Path

from .about_bot import BotFacts
from .answering import Answerer
from .config import Config
from .knowledge import KnowledgeBase

log = logging.getLogger(__name__)

FORMAT = 1
KEEP = 3  # cache files kept (the newest), so a few knowledge versions can alternate
_CODE = ("analyzer.py", "index.py", "answering.py", "knowledge.py")


def data_dir(config: Config | None = None) -> Path:
    config = config or Config.from_env()
    explicit = os.environ.get("PROTOCOL_BOT_DATA")
    if explicit:
        return Path(explicit)
    return Path(config.db_path).parent / "protocol-bot-data"


def cache_key(kb: KnowledgeBase) -> str:
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    here = Path(__file__).resolve().parent
    for name in _CODE:
        digest.update((here / name).read_bytes())
    digest.update(pickle.dumps((kb.passages, kb.synonyms, sorted(kb.superseded().items())),
                               protocol=4))
    return digest.hexdigest()[:32]


def _usable(directory: Path | None, kb: KnowledgeBase) -> Path | None:
    if directory is None:
        return None
    directory = Path(directory).resolve()
    if kb.directory is not None:
        knowledge = Path(kb.directory).resolve()
        if directory == knowledge or knowledge in directory.parents:
            return None  # never write into the knowledge folder
    return directory


def load_answerer(kb: KnowledgeBase, facts: BotFacts = BotFacts(),
                  directory: Path | None = None) -> Answerer:
    """An Answerer for kb, its index loaded from the cache in `directory` when there is one."""
    directory = _usable(directory, kb)
    if directory is None:
        return Answerer(kb, facts)
    try:
        key = cache_key(kb)
    except Exception:  # noqa: BLE001 - a cache problem must never stop the bot
        return Answerer(kb, facts)
    path = directory / f"index-{key}.pickle"
    try:
        with open(path, "rb") as handle:
            built = pickle.load(handle)
        answerer = Answerer(kb, facts, _built=built)
        if len(answerer.index.passages) == len(kb.passages):
            return answerer
    except Exception:  # noqa: BLE001 - missing or corrupt: build instead
        pass
    answerer = Answerer(kb, facts)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=directory, prefix=".index-", delete=False) as tmp:
            pickle.dump(answerer.built(), tmp, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp.name, path)
        for old in sorted(directory.glob("index-*.pickle"), key=lambda p: p.stat().st_mtime)[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.info("index cache not written: %s", exc)
    return answerer
