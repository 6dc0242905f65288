"""Writes the monitoring officer's answers as FAQ entries in the knowledge base, validated first."""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
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
HEADER = ("# The monitoring officer's answers, written by protocol-bot from its database\n"
          "# (`tickets answer --save-faq`, `faq withdraw`). You may edit it by hand: the bot\n"
          "# takes your edits in before it next writes it (comments are not kept).\n")


class FaqRefused(Exception):
    """The FAQ entry would make the knowledge base invalid; nothing was written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("The answer was not saved as an FAQ because the knowledge base would "
                         "have problems:\n" + "\n".join(f"  {p}" for p in problems))


class FaqWriteError(OSError):
    """The FAQ file could not be written (full disk, read-only folder...); nothing was saved."""


class FaqNotPublished(FaqWriteError):
    """The change is committed in the store, but the FAQ file could not be written."""


# Beside the FAQ file, hidden (the loader ignores it): what the bot last wrote there, so a hand
# edit made since is noticed and taken in, never silently overwritten.
WRITTEN_FILE = ".monitoring-officer-faq.written"
EDIT_RETRIES = 3  # a file edited by hand while it is being written: start again this often
# A leading word like this belongs to the reply to the asker, not to the public FAQ text.
_PERSONAL_PREFIX = re.compile(
    r"^\s*(correction|corrected answer|update|updated answer)\s*[:\-–]\s*", re.IGNORECASE)


def public_text(reply: str) -> str:
    """The public FAQ text from the MO's reply to the asker when no separate text is given:
    'Correction: No, ...' -> 'No, ...'."""
    return _PERSONAL_PREFIX.sub("", reply.strip(), count=1).strip()


@dataclass(frozen=True)
class FaqEntry:
    ref: str  # the ticket it came from, e.g. MO-0042
    question: str
    variants: tuple[str, ...]
    answer: str  # the public FAQ text
    author: str
    date: dt.date
    related: tuple[str, ...]  # passage keys the bot cited when the question was asked

    @classmethod
    def of(cls, record) -> "FaqEntry":
        """From the store's FaqRecord."""
        return cls(ref=record.id, question=record.question, variants=tuple(record.variants),
                   answer=record.text, author=record.author,
                   date=dt.datetime.fromtimestamp(record.updated_at, dt.timezone.utc).date(),
                   related=tuple(record.related))

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


def _read_file(path: Path, label: str) -> tuple[bytes | None, dict | None]:
    """The FAQ file's bytes and its YAML; FaqRefused when it is there but cannot be read."""
    if not (path.exists() or path.is_symlink()):
        return None, None
    bad = file_problem(path.parent.parent, path, label)
    if bad is not None and not bad.message.startswith("is empty"):
        raise FaqRefused([bad])
    data = path.read_bytes()
    try:
        loaded = yaml.safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise FaqRefused([Problem(label, 0, "", f"cannot be read to add the entry ({exc}). "
                                                "Fix the file, then save the answer again.")])
    return data, loaded if isinstance(loaded, dict) else {}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _document_text(document: dict, passages: list[dict]) -> str | None:
    if not passages:
        return None  # a document needs a passage: no file at all
    body = yaml.dump({"document": document, "passages": passages}, Dumper=_Dumper,
                     sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


def _passages_of(loaded: dict | None) -> list[dict]:
    return [p for p in (loaded or {}).get("passages") or [] if isinstance(p, dict)]


def _compose(loaded: dict | None, records, known_ids: set[str],
             extra_entry: FaqEntry | None = None) -> str | None:
    """The document from the live entries, keeping the file's document section and any passage
    added by hand (a ref that is no entry in the store)."""
    document = (loaded or {}).get("document") or dict(FAQ_DOCUMENT)
    entries = {r.id: FaqEntry.of(r).as_passage() for r in records}
    if extra_entry is not None:
        entries[extra_entry.ref] = extra_entry.as_passage()
    by_hand = [p for p in _passages_of(loaded)
               if str(p.get("ref")) not in known_ids and str(p.get("ref")) not in entries]
    return _document_text(document, [*entries.values(), *by_hand])


def _adopt_hand_edits(path: Path, loaded: dict | None, data: bytes | None, store,
                      written: dict | None) -> list[str]:
    """Take into the store what someone changed in the file by hand since the bot wrote it:
    an entry's text or questions, and entries deleted (withdrawn). Returns what was taken."""
    if written is None or data is None or _sha(data) == written.get("sha"):
        return []
    notes = []
    before = written.get("passages") or {}
    records = {r.id: r for r in store.faq_entries(include_withdrawn=True)}
    in_file = {str(p.get("ref")): p for p in _passages_of(loaded)}
    for ref, passage in in_file.items():
        last, record = before.get(ref), records.get(ref)
        if last is None or record is None or record.status != "live":
            continue
        text = str(passage.get("text") or "").strip()
        questions = [str(q).strip() for q in passage.get("questions") or [] if str(q).strip()]
        if text == last.get("text") and questions == last.get("questions"):
            continue
        if record.updated_at > written.get("at", 0):  # changed in the store meanwhile too
            keep = path.parent / f".{path.stem}.hand-edit-{int(time.time())}.yaml"
            keep.write_bytes(data)
            notes.append(f"{ref}: edited by hand and answered again; the new answer is "
                         f"published and the hand edit kept in {keep}")
            continue
        store.change_faq(ref, text=text or record.text,
                         variants=[q for q in questions if q != record.question.strip()])
        notes.append(f"{ref}: hand edit of the FAQ file taken in")
    for ref in before:
        record = records.get(ref)
        if ref not in in_file and record is not None and record.status == "live" \
                and record.updated_at <= written.get("at", 0):
            store.change_faq(ref, status="withdrawn")
            notes.append(f"{ref}: removed from the FAQ file by hand, so withdrawn")
    return notes


def _import_earlier(loaded: dict | None, store) -> list[str]:
    """A file written before FAQ entries were kept in the database: each entry whose ref is a
    ticket becomes that ticket's entry (withdrawn if the ticket is no longer answered)."""
    notes = []
    known = {r.id for r in store.faq_entries(include_withdrawn=True)}
    for passage in _passages_of(loaded):
        ref = str(passage.get("ref") or "")
        if ref in known or passage.get("type") != "faq":
            continue
        try:
            ticket = store.get_ticket(ref)
        except LookupError:
            continue  # not a ticket's entry: kept in the file as it is
        if ticket.id != ref:
            continue
        questions = [str(q).strip() for q in passage.get("questions") or [] if str(q).strip()]
        store.update_ticket(ref, actor="protocol-bot", event="faq_imported", faq_entry={
            "question": ticket.question, "text": str(passage.get("text") or "").strip(),
            "variants": [q for q in questions if q != ticket.question.strip()],
            "related": [str(r) for r in passage.get("related") or []],
            "author": str(passage.get("author") or "unknown")})
        if ticket.status != "answered":
            store.change_faq(ref, status="withdrawn")
        notes.append(f"{ref}: taken in from the FAQ file written by an earlier version")
    return notes


def take_in_earlier(knowledge_dir: Path | str, store) -> list[str]:
    """Before a ticket changes: take in the entries of a file written by an earlier version
    (one with no record of what the bot wrote), so that reopening withdraws them too."""
    path = faq_path(Path(knowledge_dir))
    if not path.is_file() or _written(path) is not None:
        return []
    with _locked(Path(knowledge_dir)):
        if _written(path) is not None:
            return []
        try:
            _, loaded = _read_file(path, _label(Path(knowledge_dir)))
        except FaqRefused:
            return []  # publishing says what is wrong with it
        return _import_earlier(loaded, store)


def _written(path: Path) -> dict | None:
    try:
        value = json.loads((path.parent / WRITTEN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _record_written(path: Path, text: str | None, passages: list[dict], at: float) -> None:
    record = {"sha": _sha(text.encode("utf-8")) if text is not None else None, "at": at,
              "passages": {str(p["ref"]): {"text": str(p.get("text") or "").strip(),
                                           "questions": [str(q).strip() for q in
                                                         p.get("questions") or []]}
                           for p in passages}}
    write_atomically(path.parent / WRITTEN_FILE, json.dumps(record))


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


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so no reader ever sees half a file (knowledge files)."""
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


def _label(knowledge_dir: Path) -> str:
    return f"{knowledge_dir.name}/{FAQ_FILE}"


def check_entry(knowledge_dir: Path | str, store, entry: FaqEntry) -> None:
    """Before the entry is committed: refuse it (FaqRefused) if the knowledge base would not
    load with it, and (FaqWriteError) if the FAQ folder cannot be written."""
    knowledge_dir = Path(knowledge_dir)
    path = faq_path(knowledge_dir)
    if not knowledge_dir.is_dir():  # never create a knowledge base of one FAQ somewhere else
        raise FaqRefused([Problem(str(knowledge_dir), 0, "", "is not a folder of knowledge "
                                  "files (check PROTOCOL_BOT_KNOWLEDGE).")])
    try:
        _, loaded = _read_file(path, _label(knowledge_dir))
        known = {r.id for r in store.faq_entries(include_withdrawn=True)}
        text = _compose(loaded, [r for r in store.faq_entries() if r.id != entry.ref], known,
                        extra_entry=entry)
        _validate_with(knowledge_dir, text or "")
        _probe_write(path, text or "")
    except OSError as exc:
        raise _write_error(exc, path) from None


def _probe_write(path: Path, text: str) -> None:
    """Write (and sync) the text beside the FAQ file and remove it: a full disk or read-only
    folder is found before anything is committed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp)


def _write_error(exc: OSError, path: Path) -> FaqWriteError:
    if isinstance(exc, FaqWriteError):
        return exc
    error = FaqWriteError(f"The answer could not be saved as an FAQ entry: "
                          f"{exc.strerror or exc} ({exc.filename or path}). Nothing was saved.")
    error.errno = exc.errno
    return error


def publish(knowledge_dir: Path | str, store) -> list[str]:
    """Write the FAQ document from the store's live entries, after the commit that changed them.

    A hand edit of the file since the bot last wrote it is taken into the store first (an
    entry's text or questions; an entry deleted by hand is withdrawn); passages added by hand
    are kept. A file that cannot be read is left as it is (FaqRefused). Returns notes on the
    hand edits taken in. With no live entry and nothing added by hand, the file is removed.
    """
    knowledge_dir = Path(knowledge_dir)
    path = faq_path(knowledge_dir)
    if not knowledge_dir.is_dir():
        raise FaqRefused([Problem(str(knowledge_dir), 0, "", "is not a folder of knowledge "
                                  "files (check PROTOCOL_BOT_KNOWLEDGE).")])
    notes: list[str] = []
    try:
        with _locked(knowledge_dir):
            for _ in range(EDIT_RETRIES):
                data, loaded = _read_file(path, _label(knowledge_dir))
                written = _written(path)
                if written is None and data is not None:
                    notes += _import_earlier(loaded, store)
                notes += _adopt_hand_edits(path, loaded, data, store, written)
                records = store.faq_entries()
                known = {r.id for r in store.faq_entries(include_withdrawn=True)}
                text = _compose(loaded, records, known)
                if text is not None:
                    _validate_with(knowledge_dir, text)
                if _current(path) != data:  # edited by hand while we worked: take that in too
                    continue
                if text is None:
                    if data is not None:
                        path.unlink()
                elif data is None or data.decode("utf-8", "replace") != text:
                    write_atomically(path, text)
                _record_written(path, text, [FaqEntry.of(r).as_passage() for r in records],
                                at=store.now())  # the store's clock, as entries' times are
                return notes
    except OSError as exc:
        raise _write_error(exc, path) from None
    raise FaqRefused([Problem(_label(knowledge_dir), 0, "", "kept changing while the bot was "
                              "writing it, so it was left as it is. Save your edit, then run "
                              "`protocol-bot faq publish --as ...`.")])


def _current(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
