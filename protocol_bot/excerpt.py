"""Text cut to fit a platform's limits: always between words, never inside one."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

_WORD_SPLIT = re.compile(r"(\s+)")


def shorten(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters, ending '...' when cut."""
    text = text or ""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 3)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "..."


def fit(text: str, budget: int, render: Callable[[str], str]) -> str:
    """`text` shortened (as `shorten` does) until `render`ing it fits `budget` characters (a
    renderer's escaping and quoting make it longer); "" when nothing fits."""
    limit = budget
    while limit > 3:
        rendered = render(shorten(text, limit))
        if len(rendered) <= budget:
            return rendered
        limit -= len(rendered) - budget + 3
    return ""


def first_words(text: str, keep: int, longer_than: int) -> tuple[str, bool]:
    """(`text`'s first `keep` words + ' …', True) when it has more than `longer_than` words;
    otherwise (text, False). Never cuts inside a markdown link."""
    parts = _WORD_SPLIT.split(text.strip())
    words = [i for i, part in enumerate(parts) if part and not part.isspace()]
    if len(words) <= longer_than:
        return text.strip(), False
    cut = "".join(parts[:words[keep - 1] + 1]) if keep > 0 else ""
    # Do not leave half a markdown link "[text](url": back off to before its "[".
    opening = cut.rfind("[")
    if opening > cut.rfind(")") and opening > 0:
        cut = cut[:opening]
    return cut.rstrip(" ,;:-\n") + " \u2026", True


def pieces(text: str, budget: int, size: Callable[[str], int] = len) -> Iterator[str]:
    """`text` in consecutive pieces, split at spaces, each within `budget` as `size` measures
    it (a renderer's escaping and quoting make a piece longer than its words)."""
    rest = (text or "").strip()
    while rest:
        length = min(len(rest), budget)
        while True:
            if length >= len(rest):
                piece = rest
            else:
                cut = rest.rfind(" ", 0, length)
                piece = rest[:cut] if cut > length // 2 else rest[:length]
            if size(piece) <= budget or length < 50:
                break
            length = length * 3 // 4
        yield piece
        rest = rest[len(piece):].lstrip()
