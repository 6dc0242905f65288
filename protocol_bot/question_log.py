"""The question log's shared rules: how questions are grouped, and how long entries are kept."""

from __future__ import annotations

import re

from .models import Answer

DAY_SECONDS = 86400.0

_NOT_WORD = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")


def normalise(question: str) -> str:
    """The form questions are grouped by in the report: 'Can I…?' and 'can i …' are one."""
    return _SPACE.sub(" ", _NOT_WORD.sub(" ", question.casefold())).strip()


def cited_refs(answer: Answer) -> tuple[str, ...]:
    """What an answer cited, as 'document_id#ref' (a bare ref such as '4.1' is ambiguous
    across documents and editions), as the adapters pass them back with feedback."""
    return tuple(c.key for c in answer.citations)


def retention_cutoff(now: float, retention_days: int) -> float:
    """Entries logged before this moment are past the retention period."""
    return now - retention_days * DAY_SECONDS
