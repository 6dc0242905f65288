"""The data directory: the council's own knowledge folder, seeded from the shipped documents."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from .config import SHIPPED_KNOWLEDGE, Config

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o770  # no access for other users; the group follows the umask


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
    scratch = folder.with_name(folder.name + ".seeding")
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(SHIPPED_KNOWLEDGE, scratch,
                    ignore=shutil.ignore_patterns(".*", "__pycache__", "*.py", "faq"))
    try:
        os.rename(scratch, folder)  # atomic: two first starts never see half a folder
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        if not folder.is_dir():
            raise
    log.info("created the council's knowledge folder %s from the shipped documents", folder)
    return folder
