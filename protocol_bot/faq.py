"""Writes the monitoring officer's answers as FAQ entries in the knowledge base, validated first."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import yaml

from .knowledge import KnowledgeError, Problem, file_problem, load_knowledge

FAQ_FILE = Path("faq") / "monitoring-officer-faq.yaml"
FAQ_DOCUMENT = {
    "id": "mo-faq",
    "title": "Monitoring Officer's answers",
    "publisher": "The Borough Council (Monitoring Officer)",
    "kind": "faq",
    "edition": "live",
    "adopted": None,
    "review": None,
    "supersedes": None,
}
HEADER = ("# The monitoring officer's answers, saved from escalation tickets by protocol-bot\n"
          "# (`tickets answer --save-faq`). You may edit it by hand; the bot rewrites it when\n"
          "# an answer is saved, keeping every entry but not comments.\n")


class FaqRefused(Exception):
    """The FAQ entry would make the knowledge base invalid; nothing was written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("The answer was not saved as an FAQ because the knowledge base would "
                         "have problems:\n" + "\n".join(f"  {p}" for p in problems))


class FaqWriteError(OSError):
    """The FAQ file could not be written (full disk, read-only folder...); nothing was saved."""


@dataclass(frozen=True)
class FaqEntry:
    ref: str  # the ticket it came from, e.g. MO-0042
    question: str
    variants: tuple[str, ...]
    answer: str
    author: str
    date: dt.date
    related: tuple[str, ...]  # clause refs the bot cited when the question was asked

    def as_passage(self) -> dict:
        questions = list(dict.fromkeys(q.strip() for q in (self.question, *self.variants)
                                       if q.strip()))
        return {"ref": self.ref, "heading": self.question.strip(), "type": "faq",
                "questions": questions, "text": self.answer.strip(), "author": self.author,
                "date": self.date, "related": list(self.related)}


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str):
    # Multi-line answers read better (and diff better) as literal blocks.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def faq_path(knowledge_dir: Path) -> Path:
    return Path(knowledge_dir) / FAQ_FILE


@contextmanager
def _locked(knowledge_dir: Path) -> Iterator[None]:
    # Two MOs saving at once must not lose each other's entry (read-modify-write).
    lock_path = faq_path(knowledge_dir).parent / ".monitoring-officer-faq.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _updated_text(path: Path, entry: FaqEntry) -> str:
    label = f"{path.parent.parent.name}/{FAQ_FILE}"
    data: dict = {"document": dict(FAQ_DOCUMENT), "passages": []}
    if path.exists() or path.is_symlink():
        bad = file_problem(path.parent.parent, path, label)
        if bad is not None and not bad.message.startswith("is empty"):
            raise FaqRefused([bad])
        try:
            existing = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise FaqRefused([Problem(label, 0, "", f"cannot be read to add the entry ({exc}). "
                                                    "Fix the file, then save the answer again.")])
        if isinstance(existing, dict):
            data["document"] = existing.get("document") or data["document"]
            data["passages"] = list(existing.get("passages") or [])
    passage = entry.as_passage()
    # Saving a ticket's answer again replaces its entry rather than adding a second one.
    for i, old in enumerate(data["passages"]):
        if isinstance(old, dict) and str(old.get("ref")) == entry.ref:
            data["passages"][i] = passage
            break
    else:
        data["passages"].append(passage)
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


def _not_copied(folder: str, names: list[str]) -> set[str]:
    """Hidden files, and anything that is not a plain file or folder (a pipe or device would
    block or never end); the loader's own checks refuse such files under a .yaml name."""
    skipped = set()
    for name in names:
        try:
            mode = os.stat(os.path.join(folder, name)).st_mode
        except OSError:
            skipped.add(name)
            continue
        if name.startswith(".") or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            skipped.add(name)
    return skipped


def _validate_with(knowledge_dir: Path, text: str) -> None:
    """Load the whole knowledge base with the new file in place, in a scratch copy."""
    from .kb_changes import knowledge_files

    label_root = knowledge_dir.parent
    bad = [p for p in (file_problem(knowledge_dir, path, str(path.relative_to(label_root)))
                       for path in knowledge_files(knowledge_dir)) if p is not None]
    if bad:  # the copy would not show these: refuse before copying anything
        raise FaqRefused(bad)
    with tempfile.TemporaryDirectory(prefix="protocol-bot-faq-") as scratch:
        # Same folder name as the real one, so problems name the files as the MO knows them.
        copy = Path(scratch) / knowledge_dir.name
        shutil.copytree(knowledge_dir, copy, ignore=_not_copied)
        target = copy / FAQ_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        try:
            load_knowledge(copy)
        except KnowledgeError as exc:
            raise FaqRefused(list(exc.problems)) from None


def _write_atomically(path: Path, text: str) -> None:
    # A hidden temp file in the same folder: the loader and watcher ignore it, and os.replace
    # swaps it in whole, so a running bot never reads half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private; keep the permissions the knowledge files have.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_faq_entry(knowledge_dir: Path | str, entry: FaqEntry) -> Path:
    """Add (or replace) the entry, validate the whole knowledge base with it, then write it.

    Raises FaqRefused, leaving the file as it was, if the result would not load.
    """
    knowledge_dir = Path(knowledge_dir)
    path = faq_path(knowledge_dir)
    if not knowledge_dir.is_dir():  # never create a knowledge base of one FAQ somewhere else
        raise FaqRefused([Problem(str(knowledge_dir), 0, "", "is not a folder of knowledge "
                                  "files (check PROTOCOL_BOT_KNOWLEDGE).")])
    try:
        with _locked(knowledge_dir):
            text = _updated_text(path, entry)
            _validate_with(knowledge_dir, text)
            _write_atomically(path, text)
    except FaqWriteError:
        raise
    except OSError as exc:
        where = exc.filename or path
        error = FaqWriteError(f"The answer could not be saved as an FAQ entry: "
                              f"{exc.strerror or exc} ({where}). Nothing was saved.")
        error.errno = exc.errno
        raise error from None
    return path
