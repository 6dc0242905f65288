"""The data directory: the council's own knowledge folder, seeded from the shipped documents."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from .config import SHIPPED_KNOWLEDGE, Config, ConfigError

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o770  # no access for other users; the group follows the umask


def default_knowledge() -> Path:
    """`--knowledge`'s default, from the environment. A bad setting is reported by the command
    that reads it (with its exit status), not while the command line is being parsed."""
    try:
        return readable_knowledge(Config.from_env())
    except ConfigError:
        return SHIPPED_KNOWLEDGE


def readable_knowledge(config: Config) -> Path:
    """Where to read knowledge from without creating anything: the council's folder once it
    exists, else the shipped documents (a fresh install answers out of the box)."""
    folder = config.knowledge_dir
    if config.knowledge_override is not None or folder.is_dir():
        return folder
    return SHIPPED_KNOWLEDGE


def council_knowledge(config: Config) -> Path:
    """The council's knowledge folder, created from the shipped documents on first use.

    PROTOCOL_BOT_KNOWLEDGE is used as it is. Runtime files (the FAQ file, its lock, reload
    requests) are written here, never into the installed package.
    """
    folder = config.knowledge_dir
    if config.knowledge_override is not None or folder.is_dir():
        return folder
    config.data_dir.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    # Each process seeds its own copy and renames it into place: when two first starts race,
    # one rename wins and the other finds the folder there.
    scratch = Path(tempfile.mkdtemp(prefix=".seeding-", dir=config.data_dir)) / folder.name
    shutil.copytree(SHIPPED_KNOWLEDGE, scratch,
                    ignore=shutil.ignore_patterns(".*", "__pycache__", "*.py", "faq"))
    try:
        os.rename(scratch, folder)  # atomic: nobody sees half a folder
    except OSError:
        if not folder.is_dir():
            raise
    finally:
        shutil.rmtree(scratch.parent, ignore_errors=True)
    log.info("created the council's knowledge folder %s from the shipped documents", folder)
    return folder
