"""Loads and validates the knowledge base: the YAML files the monitoring officer edits."""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .models import KINDS, PASSAGE_TYPES, Document, Passage

SYNONYMS_FILE = "synonyms.yaml"
DOCUMENT_FIELDS = {"id", "title", "publisher", "kind", "edition", "adopted", "review",
                   "supersedes", "superseded_by", "source", "minute", "aliases"}
REQUIRED_DOCUMENT_FIELDS = ("id", "title", "publisher", "kind", "edition")
PASSAGE_FIELDS = {"ref", "heading", "type", "text", "questions", "related", "author", "date"}
REQUIRED_PASSAGE_FIELDS = ("ref", "heading", "type", "text")
# No knowledge file may be larger: the shipped ones are under 200 KB, and parsing YAML takes
# about 0.7 s and 19 MB of memory per MB, so a runaway file cannot stall or exhaust the bot.
MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a knowledge file, said so the monitoring officer can fix it."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        what = f" ({self.field})" if self.field else ""
        return f"{where}{what}: {self.message}"


class KnowledgeError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Synonyms:
    same: tuple[tuple[str, ...], ...] = ()  # each group: canonical first
    related: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (meaning, words that suggest it)
    off_topic: tuple[str, ...] = ()  # topics the protocol does not cover (council services...)


@dataclass(frozen=True)
class KnowledgeBase:
    documents: dict[str, Document]
    passages: tuple[Passage, ...]
    synonyms: Synonyms = field(default_factory=Synonyms)
    directory: Path | None = None

    def superseded(self) -> dict[str, str]:
        """Superseded document id -> the id of the edition that replaces it."""
        out: dict[str, str] = {}
        for doc in self.documents.values():
            if doc.supersedes and doc.supersedes in self.documents:
                out[doc.supersedes] = doc.id
        return out


class _Mapping(dict):
    """A dict that remembers the line of each key, for error messages."""

    line = 0
    lines: dict


# libyaml's parser when present (several times faster), with the same safe constructors.
class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    out = _Mapping()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path, label: str, problems: list[Problem]):
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(label, 0, "", f"is not UTF-8 text ({exc.reason} at byte {exc.start}). "
                                              "Save it as UTF-8."))
        return None
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(label, line, "", f"is not valid YAML: {reason}. Check the "
                                "indentation and that text with a colon is in quotes."))
        return None


def _line(mapping, key=None) -> int:
    if isinstance(mapping, _Mapping):
        return mapping.lines.get(key, mapping.line) if key is not None else mapping.line
    return 0


def _date(value, label, line, name, problems) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    problems.append(Problem(label, line, name, f"'{value}' is not a date. Write it as "
                            "YYYY-MM-DD, for example 2027-03-31, or null if there is none."))
    return None


def _text_field(mapping, key, label, problems, where) -> str:
    value = mapping.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.append(Problem(label, _line(mapping, key), key, f"{where} has no {key}."))
        return ""
    if not isinstance(value, (str, int, float)):
        problems.append(Problem(label, _line(mapping, key), key,
                                f"{where}: {key} should be plain text, not a list or mapping."))
        return ""
    return str(value).strip()


def _parse_document(data, label: str, path: Path, problems: list[Problem]) -> Document | None:
    doc = data.get("document") if isinstance(data, dict) else None
    if not isinstance(doc, dict):
        problems.append(Problem(label, _line(data), "document", "has no 'document:' section "
                                "saying what the document is (id, title, publisher, kind, edition)."))
        return None
    for key in doc:
        if key not in DOCUMENT_FIELDS:
            problems.append(Problem(label, _line(doc, key), f"document.{key}",
                                    f"'{key}' is not a document field. Known fields: "
                                    f"{', '.join(sorted(DOCUMENT_FIELDS))}."))
    values = {k: _text_field(doc, k, label, problems, "the document") for k in REQUIRED_DOCUMENT_FIELDS}
    if values["kind"] and values["kind"] not in KINDS:
        problems.append(Problem(label, _line(doc, "kind"), "document.kind",
                                f"kind '{values['kind']}' is not one of {', '.join(KINDS)}."))
    return Document(
        id=values["id"], title=values["title"], publisher=values["publisher"],
        kind=values["kind"], edition=values["edition"],
        adopted=_date(doc.get("adopted"), label, _line(doc, "adopted"), "document.adopted", problems),
        review=_date(doc.get("review"), label, _line(doc, "review"), "document.review", problems),
        supersedes=(str(doc["supersedes"]) if doc.get("supersedes") else None),
        source=doc.get("source"), path=str(path),
        aliases=_string_list(doc, "aliases", label, problems, "the document"),
        superseded_by=(str(doc["superseded_by"]) if doc.get("superseded_by") else None))


def _string_list(entry, key, label, problems, where) -> tuple[str, ...]:
    value = entry.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        problems.append(Problem(label, _line(entry, key), key, f"{where}: {key} should be a list of text."))
        return ()
    return tuple(str(v).strip() for v in value if str(v).strip())


def _parse_passages(data, doc: Document, label: str, problems: list[Problem]) -> list[Passage]:
    entries = data.get("passages")
    if not isinstance(entries, list) or not entries:
        problems.append(Problem(label, _line(data, "passages"), "passages",
                                "has no 'passages:' list: a document needs at least one passage."))
        return []
    out: list[Passage] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.append(Problem(label, 0, f"passages[{number}]",
                                    f"passage {number} is not a mapping of ref, heading, type, text."))
            continue
        ref = str(entry.get("ref", "")).strip()
        where = f"passage {number}" + (f" ('{ref}')" if ref else "")
        for key in entry:
            if key not in PASSAGE_FIELDS:
                problems.append(Problem(label, _line(entry, key), key,
                                        f"{where}: '{key}' is not a passage field. Known fields: "
                                        f"{', '.join(sorted(PASSAGE_FIELDS))}."))
        values = {k: _text_field(entry, k, label, problems, where) for k in REQUIRED_PASSAGE_FIELDS}
        if values["type"] and values["type"] not in PASSAGE_TYPES:
            problems.append(Problem(label, _line(entry, "type"), "type",
                                    f"{where}: type '{values['type']}' is not one of "
                                    f"{', '.join(PASSAGE_TYPES)}."))
        if ref and ref in seen:
            problems.append(Problem(label, _line(entry, "ref"), "ref",
                                    f"{where}: ref '{ref}' is used twice in this file (first at line "
                                    f"{seen[ref]}); each passage needs its own ref."))
        seen.setdefault(ref, _line(entry, "ref"))
        questions = _string_list(entry, "questions", label, problems, where)
        if values["type"] == "faq" and not questions:
            problems.append(Problem(label, _line(entry), "questions",
                                    f"{where}: an FAQ entry needs the questions it answers."))
        out.append(Passage(
            document_id=doc.id, ref=ref, heading=values["heading"], text=values["text"],
            type=values["type"], questions=questions,
            related=_string_list(entry, "related", label, problems, where),
            author=(str(entry["author"]) if entry.get("author") else None),
            date=_date(entry.get("date"), label, _line(entry, "date"), "date", problems),
            line=_line(entry)))
    return out


def _parse_synonyms(path: Path, label: str, problems: list[Problem]) -> Synonyms:
    data = _read_yaml(path, label, problems)
    if data is None:
        return Synonyms()
    if not isinstance(data, dict):
        problems.append(Problem(label, 0, "", "should have 'same:' and 'related:' sections."))
        return Synonyms()
    same: list[tuple[str, ...]] = []
    for number, group in enumerate(data.get("same") or [], start=1):
        if not isinstance(group, list) or len(group) < 2 or not all(isinstance(w, str) for w in group):
            problems.append(Problem(label, _line(data, "same"), f"same[{number}]",
                                    f"group {number} under 'same' should list two or more words, "
                                    "like [councillor, member, cllr]."))
            continue
        same.append(tuple(w.strip() for w in group))
    related: list[tuple[str, tuple[str, ...]]] = []
    for number, entry in enumerate(data.get("related") or [], start=1):
        words = entry.get("words") if isinstance(entry, dict) else None
        means = entry.get("means") if isinstance(entry, dict) else None
        if not isinstance(means, str) or not isinstance(words, list) or not words:
            problems.append(Problem(label, _line(entry) or _line(data, "related"), f"related[{number}]",
                                    f"entry {number} under 'related' needs 'means:' (text) and "
                                    "'words:' (a list)."))
            continue
        related.append((means, tuple(str(w) for w in words)))
    off_topic = data.get("off_topic") or []
    if not isinstance(off_topic, list) or not all(isinstance(w, (str, int)) for w in off_topic):
        problems.append(Problem(label, _line(data, "off_topic"), "off_topic",
                                "'off_topic' should be a list of words or phrases."))
        off_topic = []
    return Synonyms(tuple(same), tuple(related), tuple(str(w) for w in off_topic))


def file_problem(directory: Path, path: Path, label: str) -> Problem | None:
    """Why `path` must not be read as a knowledge file, or None if it may be.

    Only regular files are read (never a folder, FIFO, socket or device, which could block the
    loader for ever or never end), a symlink must stay inside the knowledge folder, and a file
    may be at most MAX_FILE_BYTES. Checked before anything is opened.
    """
    try:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            target = path.resolve(strict=True)
            root = directory.resolve()
            if target != root and root not in target.parents:
                return Problem(label, 0, "", f"is a link to {target}, outside the knowledge "
                                             "folder; copy the file into the folder instead.")
            st = target.stat()
    except FileNotFoundError:
        return Problem(label, 0, "", "is a link to a file that does not exist.")
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        return Problem(label, 0, "", f"cannot be read ({getattr(exc, 'strerror', None) or exc}).")
    if stat.S_ISDIR(st.st_mode):
        return Problem(label, 0, "", "is a folder, not a file; rename it so that its name does "
                                     "not end in .yaml.")
    if not stat.S_ISREG(st.st_mode):
        return Problem(label, 0, "", "is not a regular file (it is a pipe, socket or device); "
                                     "only ordinary files are read. Remove it.")
    if st.st_size > MAX_FILE_BYTES:
        return Problem(label, 0, "", f"is too large ({st.st_size:,} bytes); a knowledge file may "
                                     f"be at most {MAX_FILE_BYTES // 1024 // 1024} MB "
                                     f"({MAX_FILE_BYTES:,} bytes). Split it into several files.")
    if st.st_size == 0:
        return Problem(label, 0, "", "is empty; add its document: and passages: sections, or "
                                     "delete it.")
    if not os.access(path, os.R_OK):
        return Problem(label, 0, "", "cannot be read by this account (permission denied).")
    return None


def load_knowledge(directory: Path | str) -> KnowledgeBase:
    """Read every YAML file under `directory`; raise KnowledgeError listing every problem."""
    directory = Path(directory)
    problems: list[Problem] = []
    if not directory.is_dir():
        raise KnowledgeError([Problem(str(directory), 0, "", "is not a folder of knowledge files.")])
    documents: dict[str, Document] = {}
    passages: list[Passage] = []
    synonyms = Synonyms()
    files = sorted(p for p in directory.rglob("*.yaml") if not any(
        part.startswith(".") for part in p.relative_to(directory).parts))
    for path in files:
        label = str(path.relative_to(directory.parent)) if directory.parent != path else str(path)
        bad_file = file_problem(directory, path, label)
        if bad_file is not None:
            problems.append(bad_file)
            continue
        if path.name == SYNONYMS_FILE and path.parent == directory:
            synonyms = _parse_synonyms(path, label, problems)
            continue
        before = len(problems)
        data = _read_yaml(path, label, problems)
        if data is None:
            if len(problems) == before:  # an empty file must not silently remove a document
                problems.append(empty_file_problem(label))
            continue
        doc = _parse_document(data, label, path, problems)
        if doc is None:
            continue
        if doc.id in documents:
            problems.append(Problem(label, _line(data.get("document"), "id"), "document.id",
                                    f"document id '{doc.id}' is already used by "
                                    f"{documents[doc.id].path}; each document needs its own id."))
            continue
        documents[doc.id] = doc
        passages.extend(_parse_passages(data, doc, label, problems))
    problems.extend(edition_problems(documents, directory))
    if not passages and not problems:
        problems.append(Problem(str(directory), 0, "", "has no passages: nothing to answer from."))
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(documents=documents, passages=tuple(passages), synonyms=synonyms,
                         directory=directory)


# --- editions and emptiness (issue 10) ------------------------------------------------------------

def empty_file_problem(label: str) -> Problem:
    return Problem(label, 0, "", "is empty: it has no 'document:' section and no passages. A "
                   "knowledge file that an editor emptied would silently remove its document "
                   "from the bot, so this is refused. Restore the file (or delete it if the "
                   "document should really go).")


def _lineage_key(doc: Document) -> tuple[str, str]:
    return (doc.kind, " ".join(doc.title.lower().split()))


def edition_problems(documents: dict[str, Document], directory: Path | None = None) -> list[Problem]:
    """Errors: two current editions of one document (same kind and title, neither replacing
    the other), so the bot would not know which one is in force."""
    replaced = {d.supersedes for d in documents.values() if d.supersedes in documents}
    replaced |= {d.id for d in documents.values() if d.superseded_by in documents}
    current: dict[tuple[str, str], list[Document]] = {}
    for doc in documents.values():
        if doc.id not in replaced:
            current.setdefault(_lineage_key(doc), []).append(doc)
    problems = []
    for docs in current.values():
        if len(docs) < 2 or docs[0].kind == "faq":
            continue
        docs = sorted(docs, key=lambda d: (d.adopted or dt.date.min, d.edition))
        newest = docs[-1]
        for older in docs[:-1]:
            label = _label(newest.path, directory)
            problems.append(Problem(
                label, 0, "document.supersedes",
                f"'{newest.id}' ({newest.edition}) and '{older.id}' ({older.edition}) are both "
                f"current editions of '{newest.title}'. Say which one replaces the other: add "
                f"'supersedes: {older.id}' to the document section of {label} (or remove the "
                f"old file)."))
    return problems


def _label(path: str, directory: Path | None) -> str:
    if directory is not None and path:
        try:
            return str(Path(path).relative_to(directory.parent))
        except ValueError:
            pass
    return path


def knowledge_warnings(kb: KnowledgeBase, today: dt.date | None = None) -> list[Problem]:
    """Things that load but that the monitoring officer should look at (kb check prints them)."""
    today = today or dt.date.today()
    out: list[Problem] = []
    replaced = {d.supersedes for d in kb.documents.values() if d.supersedes in kb.documents}
    replaced |= {d.id for d in kb.documents.values() if d.superseded_by in kb.documents}
    for doc in sorted(kb.documents.values(), key=lambda d: d.id):
        label = _label(doc.path, kb.directory)
        for name, value in (("supersedes", doc.supersedes), ("superseded_by", doc.superseded_by)):
            if value and value not in kb.documents:
                out.append(Problem(label, 0, f"document.{name}",
                                   f"{name} '{value}', which is not a document in the knowledge "
                                   "base. Fine if that edition was never loaded; otherwise check "
                                   "the id (document ids: " + ", ".join(sorted(kb.documents)) + ")."))
        if doc.kind == "protocol" and doc.id not in replaced and doc.review and doc.review < today:
            out.append(Problem(label, 0, "document.review",
                               f"the {doc.title} ({doc.edition}) was due for review by "
                               f"{doc.review:%d %B %Y} and no newer edition replaces it; answers "
                               "say so. Import the new edition (protocol-bot kb import) or move "
                               "the review date."))
    out.extend(_off_topic_warnings(kb))
    return out


def _off_topic_warnings(kb: KnowledgeBase) -> list[Problem]:
    if not kb.synonyms.off_topic:
        return []
    from .analyzer import Analyzer

    analyzer = Analyzer(kb.synonyms)
    phrases = [(word, tuple(analyzer.terms(word))) for word in kb.synonyms.off_topic]
    phrases = [(word, terms) for word, terms in phrases if terms]
    found: dict[str, list[str]] = {}
    for p in kb.passages:
        terms = analyzer.terms(f"{p.heading}\n{p.text}")
        present = set(terms)
        for word, phrase in phrases:
            if not set(phrase) <= present:  # most passages hold no off-topic word at all
                continue
            size = len(phrase)
            if size == 1 or any(tuple(terms[i:i + size]) == phrase
                                for i in range(len(terms) - size + 1)):
                found.setdefault(word, []).append(p.key)
    if not found:
        return []
    label = f"{kb.directory.name}/{SYNONYMS_FILE}" if kb.directory else SYNONYMS_FILE
    words = "; ".join(f"'{word}' ({', '.join(keys[:2])}{', ...' if len(keys) > 2 else ''})"
                      for word, keys in sorted(found.items()))
    return [Problem(label, 0, "off_topic",
                    f"{len(found)} off-topic word(s) also occur in passages: {words}. A question "
                    "with such a word is answered only from a passage that has it; remove the "
                    "word from off_topic if the knowledge base does cover it.")]
