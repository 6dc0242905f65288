"""The last line of defence for every `protocol-bot` command: a plain message and a documented
exit status, never a traceback (set PROTOCOL_BOT_DEBUG=1 to see one)."""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
from collections.abc import Callable

from .config import ConfigError
from .knowledge import KnowledgeError
from .store import StoreError

log = logging.getLogger("protocol_bot.cli")

EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _say(message: str) -> None:
    print(f"protocol-bot: {message}", file=sys.stderr)


def run_guarded(func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Run a command; turn what escapes it into a message naming the cause and an exit status:
    2 for a bad setting, 1 for a problem (knowledge base, database, file system), 130 for
    Ctrl-C."""
    try:
        return int(func(args) or 0)
    except ConfigError as exc:
        _say(str(exc))
        return EXIT_USAGE
    except KnowledgeError as exc:
        count = len(exc.problems)
        _say(f"the knowledge base has {count} problem{'s' if count != 1 else ''} to fix:")
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_PROBLEMS
    except StoreError as exc:
        _say(str(exc))
        return EXIT_PROBLEMS
    except sqlite3.Error as exc:  # e.g. a read-only or full database file, a lock never freed
        _say(f"the database (PROTOCOL_BOT_DB) could not be used: {exc}. Nothing more was "
             "changed.")
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        _say("interrupted.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `protocol-bot tickets list ... | head`
        try:
            sys.stdout = open(os.devnull, "w")  # no second error when Python flushes stdout
        except OSError:
            pass
        return EXIT_PROBLEMS
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        _say(f"{exc.strerror or exc}{where}.")
        if os.environ.get("PROTOCOL_BOT_DEBUG"):
            raise
        return EXIT_PROBLEMS
    except Exception as exc:
        if os.environ.get("PROTOCOL_BOT_DEBUG"):
            raise
        log.debug("unexpected error", exc_info=True)
        _say(f"unexpected error ({type(exc).__name__}: {exc}). Please report it; "
             "PROTOCOL_BOT_DEBUG=1 shows the details.")
        return EXIT_PROBLEMS
