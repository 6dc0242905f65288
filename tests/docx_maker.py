"""Builds Word files for the import tests the way councils write them: a Title, heading styles,
a real table, and clauses numbered by Word's automatic list numbering (numbering.xml + numPr),
so a clause's number is not in its text."""

from __future__ import annotations

from pathlib import Path

import docx
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

CLAUSES = 90  # numId of the multilevel clause list: "1." / "1.1" / "(a)"
BULLETS = 91


def _numbering(document) -> None:
    numbering = document.part.numbering_part.element
    clauses = parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{CLAUSES}">'
        '<w:multiLevelType w:val="multilevel"/>'
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1.%2"/></w:lvl>'
        '<w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/><w:lvlText w:val="(%3)"/></w:lvl>'
        '</w:abstractNum>')
    bullets = parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{BULLETS}">'
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="bullet"/><w:lvlText w:val="\u2022"/></w:lvl>'
        '</w:abstractNum>')
    # abstractNum elements come before num elements in numbering.xml
    numbering.insert(0, bullets)
    numbering.insert(0, clauses)
    for num_id in (CLAUSES, BULLETS):
        numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="{num_id}">'
                                   f'<w:abstractNumId w:val="{num_id}"/></w:num>'))


def _number(paragraph, num_id: int, level: int) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    ppr.append(parse_xml(f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/>'
                         f'<w:numId w:val="{num_id}"/></w:numPr>'))


class ProtocolDocx:
    """document = ProtocolDocx("Title"); document.section("Introduction"); document.clause("...")"""

    def __init__(self, title: str):
        self.doc = docx.Document()
        _numbering(self.doc)
        self.doc.add_paragraph(title, style="Title")

    def heading(self, text: str, level: int = 1) -> None:
        self.doc.add_heading(text, level=level)

    def section(self, text: str) -> None:
        """A numbered section heading: Heading 1 with Word numbering level 0 ("1.")."""
        _number(self.doc.add_heading(text, level=1), CLAUSES, 0)

    def clause(self, text: str) -> None:
        """A clause numbered by Word ("1.1"); the number is not in the text."""
        _number(self.doc.add_paragraph(text), CLAUSES, 1)

    def item(self, text: str) -> None:
        """A lettered sub-item numbered by Word ("(a)")."""
        _number(self.doc.add_paragraph(text), CLAUSES, 2)

    def bullet(self, text: str) -> None:
        _number(self.doc.add_paragraph(text), BULLETS, 0)

    def paragraph(self, text: str) -> None:
        self.doc.add_paragraph(text)

    def table(self, rows: list[list[str]]) -> None:
        table = self.doc.add_table(rows=len(rows), cols=len(rows[0]))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                table.cell(r, c).text = value

    def save(self, path: Path) -> Path:
        self.doc.save(str(path))
        return path


def numbers_in_text(path: Path) -> list[str]:
    """Paragraph texts as Word stores them (to show the clause numbers are not there)."""
    return [p.text for p in docx.Document(str(path)).paragraphs]


