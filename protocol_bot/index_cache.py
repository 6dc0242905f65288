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
from .knowledge import file_problem, load_knowledge

log = logging.getLogger(__name__)

FORMAT = 1
KEEP = 3  # cache files kept (the newest), so a few knowledge versions can alternate
_CODE = ("analyzer.py", "index.py", "answering.py", "knowledge.py", "models.py", "decision.py",
         "neighbours.py", "data/declined_examples.txt")


def data_dir(config: Config | None = None) -> Path:
    """Where the cache lives: index-cache/ in the data directory (PROTOCOL_BOT_DATA)."""
    return (config or Config.from_env()).data_dir / "index-cache"


def folder_key(knowledge_dir: Path) -> str:
    """A hash of every file in the knowledge folder (names and bytes) and of the code that reads
    and indexes them: equal keys mean loading would give the same knowledge base and index."""
    knowledge_dir = Path(knowledge_dir).resolve()
    digest = hashlib.sha256(f"folder format {FORMAT} {knowledge_dir}".encode())
    here = Path(__file__).resolve().parent
    for name in _CODE:
        digest.update((here / name).read_bytes())
    # Every entry counts, not only regular files: a FIFO, a device or an oversized file named
    # *.yaml must miss the cache so the loader refuses it (and it is never read here).
    for path in sorted(p for p in knowledge_dir.rglob("*") if not any(
            part.startswith(".") for part in p.relative_to(knowledge_dir).parts)):
        if path.is_dir() and not path.is_symlink():
            continue
        digest.update(str(path.relative_to(knowledge_dir)).encode() + b"\0")
        if file_problem(knowledge_dir, path, str(path)) is not None:
            digest.update(f"unreadable {os.urandom(8).hex()}".encode())  # never a cache hit
            continue
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def load_folder(knowledge_dir: Path, facts: BotFacts = BotFacts(),
                directory: Path | None = None) -> Answerer:
    """An Answerer for the knowledge folder: from the cache when its files and the code are
    unchanged (no YAML parsing, no indexing), else loaded (raising KnowledgeError if invalid),
    built and cached."""
    knowledge_dir = Path(knowledge_dir)
    usable = _usable_for(directory, knowledge_dir)
    key = None
    if usable is not None:
        try:
            key = folder_key(knowledge_dir)
            with open(usable / f"kb-{key}.pickle", "rb") as handle:
                kb, built = pickle.load(handle)
            answerer = Answerer(kb, facts, _built=built)
            if len(answerer.index.passages) == len(kb.passages):
                return answerer
        except Exception:  # noqa: BLE001 - missing or corrupt: load and build instead
            pass
    kb = load_knowledge(knowledge_dir)
    answerer = Answerer(kb, facts)
    if usable is not None and key is not None:
        _write(usable, f"kb-{key}.pickle", (kb, answerer.built()))
    return answerer


def _write(directory: Path, name: str, value) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=directory, prefix=".tmp-", delete=False) as tmp:
            pickle.dump(value, tmp, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp.name, directory / name)
        prefix = name.split("-", 1)[0]
        for old in sorted(directory.glob(f"{prefix}-*.pickle"),
                          key=lambda p: p.stat().st_mtime)[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.info("index cache not written: %s", exc)


def _usable_for(directory: Path | None, knowledge_dir: Path) -> Path | None:
    if directory is None:
        return None
    directory = Path(directory).resolve()
    knowledge = Path(knowledge_dir).resolve()
    if directory == knowledge or knowledge in directory.parents:
        return None  # never write into the knowledge folder
    return directory
