"""Reads a protocol or guidance from a Word (.docx), plain-text (.txt) or Markdown (.md) file and
splits it into clause-level passages, in the source's own words.

A .docx is read with the standard library (zipfile + ElementTree): paragraphs with their styles,
real tables, and Word's automatic list numbering, computed from numbering.xml the way Word
shows it ("1.", "1.1", "(a)"), because a clause numbered by Word has no number in its text.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

SUFFIXES = (".docx", ".txt", ".md")
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_XML_BYTES = 50 * 1024 * 1024  # uncompressed document.xml: refuses zip bombs
# Unnumbered text under one heading is split into passages of about this many words.
SECTION_WORDS = 250

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class ImportFailed(Exception):
    """The file cannot be imported; the message names the file and says why."""


@dataclass
class Block:
    kind: str  # heading | para | table
    text: str = ""
    label: str | None = None  # the clause number Word or the text gives: "1.1", "5.", "(a)"
    bullet: bool = False
    level: int = 0  # heading level; list level
    rows: list[list[str]] = field(default_factory=list)
    title: bool = False  # Word's Title style


@dataclass
class ImportedPassage:
    ref: str
    heading: str
    type: str
    lines: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()

    def as_dict(self) -> dict:
        out: dict = {"ref": self.ref, "heading": self.heading, "type": self.type}
        if self.questions:
            out["questions"] = list(self.questions)
        out["text"] = self.text
        return out


@dataclass
class ParsedDocument:
    source: Path
    title: str | None
    passages: list[ImportedPassage]
    versions: list[dict[str, str]]  # the version table's rows, header -> cell

    @property
    def refs(self) -> list[str]:
        return [p.ref for p in self.passages]


# --- reading files ---------------------------------------------------------------------------------

def read_blocks(path: Path) -> list[Block]:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportFailed(f"{path}: cannot import a '{suffix or 'no extension'}' file. "
                           "Save it as a Word document (.docx), plain text (.txt) or Markdown (.md).")
    if not path.is_file():
        raise ImportFailed(f"{path}: no such file.")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ImportFailed(f"{path}: is {size // (1024 * 1024)} MB; a protocol or guidance "
                           f"should be well under {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    if suffix == ".docx":
        return _docx_blocks(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = path.read_text(encoding="cp1252")
        except UnicodeDecodeError as exc:
            raise ImportFailed(f"{path}: is not readable text ({exc.reason}). Save it as UTF-8.")
    except OSError as exc:
        raise ImportFailed(f"{path}: cannot be read ({exc.strerror}).")
    return _markdown_blocks(text) if suffix == ".md" else _text_blocks(text)


_LABEL = re.compile(r"^\s*(?:[-•*]\s+)?(?P<label>\d+(?:\.\d+)*\.?|\((?:[a-z]{1,2}|[ivx]{1,5}|\d{1,2})\))"
                    r"\s+(?P<rest>\S.*)$", re.S)
_BULLET = re.compile(r"^\s*(?:[-•*\u2013\u25aa\u25cf\u2022\u00b7])\s+(?P<rest>\S.*)$", re.S)


def _heading_like(text: str) -> bool:
    text = text.strip()
    return (0 < len(text) <= 80 and len(text.split()) <= 10 and text[-1] not in ".:;,?!)"
            and (text[0].isupper() or text[0].isdigit()) and "\t" not in text)


def _text_blocks(text: str) -> list[Block]:
    """Plain text: one paragraph per line or blank-line group; tab-separated rows are a table."""
    blocks: list[Block] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    table: list[list[str]] = []
    previous_blank = True
    for raw in lines + [""]:
        line = raw.rstrip()
        cells = [c.strip() for c in line.strip().split("\t")]
        if len(cells) >= 3 or (table and len(cells) == len(table[0]) > 1):
            table.append(cells)
            previous_blank = False
            continue
        if table:
            blocks.append(Block("table", rows=table) if len(table) > 1 else
                          Block("para", text=" ".join(table[0])))
            table = []
        if not line.strip():
            previous_blank = True
            continue
        stripped = line.strip()
        last = blocks[-1] if blocks else None
        # A hard-wrapped line continues the paragraph above it.
        if (not previous_blank and last is not None and last.kind == "para"
                and not _LABEL.match(stripped) and not _BULLET.match(stripped)
                and len(last.text) >= 60
                and (last.text[-1:] not in ".!?:;" or stripped[:1].islower())):
            last.text += " " + stripped
        else:
            blocks.append(Block("para", text=stripped))
        previous_blank = False
    return _mark_headings(blocks)


def _mark_headings(blocks: list[Block]) -> list[Block]:
    """A short line without closing punctuation, standing alone, is a heading."""
    out = []
    for i, block in enumerate(blocks):
        if (block.kind == "para" and not block.label and not block.bullet
                and not _BULLET.match(block.text) and not _LABEL.match(block.text)
                and _heading_like(block.text)):
            following = blocks[i + 1] if i + 1 < len(blocks) else None
            if following is None or following.kind != "para" or not (
                    following.bullet or _BULLET.match(following.text)):
                out.append(Block("heading", text=block.text, level=1))
                continue
        out.append(block)
    return out


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_MD_ORDERED = re.compile(r"^\s*(\d+(?:\.\d+)*)[.)]\s+(\S.*)$")


def _markdown_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    table: list[list[str]] = []
    paragraph: list[str] = []

    def flush():
        if paragraph:
            blocks.append(Block("para", text=" ".join(paragraph)))
            paragraph.clear()

    for raw in text.replace("\r\n", "\n").split("\n") + [""]:
        line = _MD_EMPHASIS.sub(r"\2", raw.rstrip())
        if line.strip().startswith("|"):
            flush()
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                table.append(cells)
            continue
        if table:
            blocks.append(Block("table", rows=table))
            table = []
        heading = _MD_HEADING.match(line)
        ordered = _MD_ORDERED.match(line)
        if heading:
            flush()
            blocks.append(Block("heading", text=heading.group(2), level=len(heading.group(1))))
        elif not line.strip():
            flush()
        elif ordered:
            flush()
            label = ordered.group(1)
            blocks.append(Block("para", text=ordered.group(2), label=label if "." in label else label + "."))
        elif _BULLET.match(line) or _LABEL.match(line):
            flush()
            blocks.append(Block("para", text=line.strip()))
        else:
            paragraph.append(line.strip())
    return blocks


# --- Word ------------------------------------------------------------------------------------------

def _xml(archive: zipfile.ZipFile, name: str, path: Path) -> ET.Element | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_XML_BYTES:
        raise ImportFailed(f"{path}: its {name} is too large to be a protocol.")
    try:
        return ET.fromstring(archive.read(name))
    except ET.ParseError as exc:
        raise ImportFailed(f"{path}: is damaged ({name}: {exc}). Open it in Word and save it again.")


def _val(element: ET.Element | None, tag: str) -> str | None:
    if element is None:
        return None
    child = element.find(W + tag)
    return None if child is None else child.get(W + "val")


@dataclass
class _Level:
    start: int = 1
    fmt: str = "decimal"
    text: str = "%1."


class _Numbering:
    """Word's automatic list numbering, computed as Word shows it (numbering.xml)."""

    def __init__(self, root: ET.Element | None):
        self.abstract: dict[str, dict[int, _Level]] = {}
        self.nums: dict[str, tuple[str, dict[int, int]]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        self.started: set[str] = set()
        if root is None:
            return
        for ab in root.findall(W + "abstractNum"):
            levels = {}
            for lvl in ab.findall(W + "lvl"):
                levels[int(lvl.get(W + "ilvl", "0"))] = _Level(
                    start=int(_val(lvl, "start") or 1), fmt=_val(lvl, "numFmt") or "decimal",
                    text=_val(lvl, "lvlText") or "")
            self.abstract[ab.get(W + "abstractNumId", "")] = levels
        for num in root.findall(W + "num"):
            overrides = {}
            for ov in num.findall(W + "lvlOverride"):
                start = _val(ov, "startOverride")
                if start is not None:
                    overrides[int(ov.get(W + "ilvl", "0"))] = int(start)
            self.nums[num.get(W + "numId", "")] = (_val(num, "abstractNumId") or "", overrides)

    def label(self, num_id: str, ilvl: int) -> tuple[str | None, bool]:
        """(the number Word shows, whether it is a bullet) for the next paragraph in this list."""
        if num_id not in self.nums:
            return None, False
        abstract_id, overrides = self.nums[num_id]
        levels = self.abstract.get(abstract_id, {})
        level = levels.get(ilvl, _Level())
        if level.fmt == "bullet":
            return None, True
        if level.fmt == "none":
            return None, False
        counters = self.counters.setdefault(abstract_id, {})
        if num_id not in self.started:  # a restarted list (startOverride) begins again
            self.started.add(num_id)
            for lvl, start in overrides.items():
                counters[lvl] = start - 1
        start = overrides.get(ilvl, level.start)
        counters[ilvl] = counters.get(ilvl, start - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]

        def number(match: re.Match) -> str:
            n = int(match.group(1)) - 1
            lv = levels.get(n, _Level())
            value = counters.get(n, overrides.get(n, lv.start))
            return _format_number(value, lv.fmt)

        text = re.sub(r"%(\d)", number, level.text).strip()
        return (text or None), False


def _format_number(value: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        letters = ""
        n = value
        while n > 0:
            n, rem = divmod(n - 1, 26)
            letters = chr(97 + rem) + letters
        return letters if fmt == "lowerLetter" else letters.upper()
    if fmt in ("lowerRoman", "upperRoman"):
        out, n = "", value
        for v, s in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                     (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
            while n >= v:
                out, n = out + s, n - v
        return out if fmt == "lowerRoman" else out.upper()
    if fmt == "decimalZero":
        return f"{value:02d}"
    return str(value)


class _Styles:
    def __init__(self, root: ET.Element | None):
        self.names: dict[str, str] = {}
        self.based_on: dict[str, str] = {}
        self.numpr: dict[str, tuple[str, int]] = {}
        self.outline: dict[str, int] = {}
        if root is None:
            return
        for style in root.findall(W + "style"):
            sid = style.get(W + "styleId", "")
            self.names[sid] = (_val(style, "name") or sid).lower()
            if _val(style, "basedOn"):
                self.based_on[sid] = _val(style, "basedOn")
            ppr = style.find(W + "pPr")
            if ppr is not None:
                numpr = ppr.find(W + "numPr")
                if numpr is not None and _val(numpr, "numId"):
                    self.numpr[sid] = (_val(numpr, "numId"), int(_val(numpr, "ilvl") or 0))
                if _val(ppr, "outlineLvl") is not None:
                    self.outline[sid] = int(_val(ppr, "outlineLvl"))

    def chain(self, sid: str | None):
        seen = set()
        while sid and sid not in seen:
            seen.add(sid)
            yield sid
            sid = self.based_on.get(sid)

    def heading_level(self, sid: str | None) -> int | None:
        for s in self.chain(sid):
            name = self.names.get(s, s.lower())
            if name == "title":
                return 0
            m = re.fullmatch(r"heading ?(\d)", name)
            if m:
                return int(m.group(1))
            if s in self.outline and self.outline[s] < 9:
                return self.outline[s] + 1
        return None

    def numbering(self, sid: str | None) -> tuple[str, int] | None:
        for s in self.chain(sid):
            if s in self.numpr:
                return self.numpr[s]
        return None


def _run_text(element: ET.Element) -> str:
    parts = []
    for node in element.iter():
        tag = node.tag
        if tag == W + "t":
            parts.append(node.text or "")
        elif tag == W + "tab":
            parts.append("\t")
        elif tag in (W + "br", W + "cr"):
            parts.append(" ")
        elif tag == W + "noBreakHyphen":
            parts.append("-")
    return "".join(parts)


def _docx_blocks(path: Path) -> list[Block]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFailed(f"{path}: is not a Word .docx file that can be read ({exc}). "
                           "Open it in Word and save it as 'Word Document (.docx)'.")
    with archive:
        document = _xml(archive, "word/document.xml", path)
        if document is None:
            raise ImportFailed(f"{path}: is not a Word document (it has no word/document.xml).")
        numbering = _Numbering(_xml(archive, "word/numbering.xml", path))
        styles = _Styles(_xml(archive, "word/styles.xml", path))
    body = document.find(W + "body")
    blocks: list[Block] = []
    elements: list[ET.Element] = []
    for element in (body if body is not None else []):
        # Content controls (w:sdt) hold ordinary paragraphs and tables.
        if element.tag == W + "sdt":
            content = element.find(W + "sdtContent")
            elements.extend(content if content is not None else [])
        else:
            elements.append(element)
    for element in elements:
        if element.tag == W + "tbl":
            rows = []
            for tr in element.iter(W + "tr"):
                cells = [" ".join(_run_text(p).strip() for p in tc.iter(W + "p") if _run_text(p).strip())
                         for tc in tr.findall(W + "tc")]
                if any(cells):
                    rows.append(cells)
            if rows:
                blocks.append(Block("table", rows=rows))
            continue
        if element.tag != W + "p":
            continue
        text = " ".join(_run_text(element).split("\n")).strip()
        ppr = element.find(W + "pPr")
        sid = _val(ppr, "pStyle")
        numpr = ppr.find(W + "numPr") if ppr is not None else None
        ref = None
        if numpr is not None and _val(numpr, "numId"):
            ref = (_val(numpr, "numId"), int(_val(numpr, "ilvl") or 0))
        else:
            ref = styles.numbering(sid)
        if not text:
            continue
        label, bullet = (None, False)
        if ref and ref[0] != "0":
            label, bullet = numbering.label(*ref)
        level = styles.heading_level(sid)
        if level is not None and level > 0 and (len(text.split()) > 15 or text.endswith((".", ";"))):
            level = None  # a whole clause set in a heading style is still a clause
        if level is not None:
            blocks.append(Block("heading", text=text, label=label, level=level, title=level == 0))
        else:
            blocks.append(Block("para", text=text.replace("\t", " ").strip() if label or bullet
                                else text, label=label, bullet=bullet, level=ref[1] if ref else 0))
    # Headings typed as short bold lines rather than in a heading style.
    return _mark_headings(blocks)


# --- from blocks to passages -----------------------------------------------------------------------

def _split_label(block: Block) -> tuple[str | None, str]:
    if block.label:
        return block.label, block.text
    m = _LABEL.match(block.text)
    if m:
        return m.group("label"), m.group("rest").strip()
    return None, block.text


def _is_letter(label: str) -> bool:
    return label.startswith("(") or label.rstrip(".)").isalpha()


def _clean_ref(label: str) -> str:
    return label.rstrip(".").strip()


def _lower_header(header: str) -> str:
    return " ".join(w if (len(w) > 1 and w.isupper()) else w.lower() for w in header.split())


def table_lines(rows: list[list[str]]) -> list[str]:
    """A table as lines that read on their own: 'Version 2026, date of adoption 23.3.2026, ...'."""
    header, *body = rows
    if not body:
        return [", ".join(c for c in header if c) + "."]
    out = []
    for row in body:
        parts = []
        for i, cell in enumerate(row):
            if not cell:
                continue
            name = header[i] if i < len(header) else ""
            name = name if i == 0 else _lower_header(name)
            parts.append(f"{name} {cell}".strip())
        if parts:
            line = ", ".join(parts)
            out.append(line if line.endswith(".") else line + ".")
    return out


def _version_rows(rows: list[list[str]]) -> list[dict[str, str]]:
    header = [h.strip().lower() for h in rows[0]]
    return [{header[i]: c for i, c in enumerate(row) if i < len(header)} for row in rows[1:]]


def parse(path: Path | str, kind: str = "protocol") -> ParsedDocument:
    """Split a file into passages: numbered clauses, headed sections, tables."""
    path = Path(path)
    blocks = read_blocks(path)
    passages: list[ImportedPassage] = []
    title: str | None = None
    heading = ""
    section_label: str | None = None
    current: ImportedPassage | None = None
    versions: list[dict[str, str]] = []
    last_number: str | None = None  # the clause lettered items (a), (b) belong to

    def start(ref: str, kind_: str, first: str | None) -> ImportedPassage:
        nonlocal current
        current = ImportedPassage(ref=ref, heading=heading or title or ref, type=kind_,
                                  lines=[first] if first else [])
        passages.append(current)
        return current

    for i, block in enumerate(blocks):
        if block.kind == "heading":
            text = block.text
            label, rest = _split_label(block)
            if block.title or (title is None and not passages and not heading):
                title = title or rest
                if block.title:
                    current = None
                    continue
            if title and rest == title and not passages:
                current = None
                continue
            heading, section_label, current = rest, (_clean_ref(label) if label else None), None
            last_number = None
            continue
        if block.kind == "table":
            current = None
            lines = table_lines(block.rows)
            head = " ".join(block.rows[0]).lower()
            if "version" in head or "version" in heading.lower():
                versions = _version_rows(block.rows)
                ref = "Version history"
            else:
                ref = heading or "Table"
            p = start(ref, "table", None)
            p.heading = "Version history" if ref == "Version history" else p.heading
            p.lines = lines
            if ref == "Version history" and title and not any(q.type == "clause" for q in passages):
                p.lines = [title, *lines]  # the version table of the title page: say whose it is
            current = None
            continue
        label, rest = _split_label(block)
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        if label and not _is_letter(label):
            ref = _clean_ref(label)
            nxt = _split_label(following)[0] if following is not None and following.kind == "para" else None
            # "1. Introduction" followed by "1.1 ...": a numbered section heading, not a clause.
            if (_heading_like(rest) and "." not in ref and nxt
                    and _clean_ref(nxt).startswith(ref + ".")):
                heading, section_label, current, last_number = rest, ref, None, None
                continue
            start(ref, "clause", rest)
            last_number = ref
            continue
        if label:  # (a), (i): a lettered item
            if current is not None and current.type == "clause" and (
                    current.text.endswith(":") or current.lines[-1:] and
                    _split_label(Block("para", text=current.lines[-1]))[0]):
                current.lines.append(f"{label} {rest}")
            else:
                parent = last_number or section_label or ""
                start(f"{parent}{label}" if parent else label, "clause", rest)
                current.heading = heading or title or current.ref
            continue
        bullet = block.bullet or bool(_BULLET.match(block.text))
        text = ("- " + (_BULLET.match(block.text).group("rest") if _BULLET.match(block.text)
                        else block.text)) if bullet else block.text
        if current is None or current.type == "table" or (
                current.type == "guidance" and len(current.text.split()) > SECTION_WORDS and not bullet):
            base = heading or title or "Introduction"
            start(base, "guidance", text)
            continue
        current.lines.append(text)

    _unique_refs(passages)
    passages = [p for p in passages if p.text]
    return ParsedDocument(source=path, title=title, passages=passages, versions=versions)


def _unique_refs(passages: list[ImportedPassage]) -> None:
    seen: dict[str, int] = {}
    for p in passages:
        count = seen.get(p.ref, 0) + 1
        seen[p.ref] = count
        if count > 1:
            p.ref = f"{p.ref} ({count})"


# --- what the version table says -------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july",
                                       "august", "september", "october", "november", "december"], 1)}


def parse_date(text: str | None, end_of_month: bool = False) -> dt.date | None:
    """'23.3.2026', '23/03/2026', '2026-03-23', '23 March 2026' or 'March 2027'."""
    if not text:
        return None
    text = text.strip()
    try:
        m = re.fullmatch(r"(\d{1,2})[./](\d{1,2})[./](\d{4})", text)
        if m:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = re.fullmatch(r"(?:(\d{1,2})\s+)?([A-Za-z]+)\s+(\d{4})", text)
        if m and m.group(2).lower() in _MONTHS:
            year, month = int(m.group(3)), _MONTHS[m.group(2).lower()]
            if m.group(1):
                return dt.date(year, month, int(m.group(1)))
            if end_of_month:
                following = dt.date(year + month // 12, month % 12 + 1, 1)
                return following - dt.timedelta(days=1)
            return dt.date(year, month, 1)
    except ValueError:
        return None
    return None


def version_facts(parsed: ParsedDocument, edition: str | None) -> dict:
    """The edition, adoption and review dates the version table gives for `edition` (or the
    latest row when no edition is given)."""
    if not parsed.versions:
        return {}
    rows = parsed.versions
    key = next((k for k in rows[0] if "version" in k), None)
    if key is None:
        return {}
    row = (next((r for r in rows if r.get(key, "").strip() == edition), None) if edition
           else rows[-1])
    if row is None:
        return {}
    adopted = next((v for k, v in row.items() if "adopt" in k), None)
    review = next((v for k, v in row.items() if "review" in k and "date" in k), None)
    return {"edition": row.get(key, "").strip() or None,
            "adopted": parse_date(adopted), "review": parse_date(review, end_of_month=True)}
