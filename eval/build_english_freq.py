"""Rebuilds protocol_bot/data/english_freq.txt from wordfreq's small English list.

Usage (needs the wordfreq wheel and msgpack, neither a dependency of protocol-bot):
    pip download wordfreq==3.1.1 --no-deps -d /tmp/wf && pip install --target /tmp/wf/lib msgpack
    cd /tmp/wf && unzip -o wordfreq-3.1.1-py3-none-any.whl 'wordfreq/data/small_en.msgpack.gz'
    PYTHONPATH=/tmp/wf/lib python eval/build_english_freq.py /tmp/wf/wordfreq/data/small_en.msgpack.gz

wordfreq's data is CC BY-SA 4.0 (code Apache-2.0); the derived file keeps that licence.
"""

import gzip
import re
import sys
from pathlib import Path

import msgpack

HEADER = """\
# General-English word frequencies (Zipf scale: 7 = "the", 3 = once per million words).
# One line per frequency band: <zipf x 10> TAB <words>. Words of letters only.
# Derived from wordfreq 3.1.1 (small_en list) by Robyn Speer et al., https://github.com/rspeer/wordfreq.
# wordfreq data: Creative Commons Attribution-ShareAlike 4.0 (https://creativecommons.org/licenses/by-sa/4.0/);
# this derived file is shared under the same licence. Sources: see wordfreq README (Wikipedia, OpenSubtitles,
# Google Books Ngrams, Leeds Internet Corpus, ParaCrawl, SUBTLEX, Twitter, Reddit).
# Rebuild: eval/build_english_freq.py"""


def main(source: str) -> None:
    pack = msgpack.load(gzip.open(source), raw=False)
    bands: dict[int, list[str]] = {}
    for index, bucket in enumerate(pack[1:]):  # bucket index = -centibels
        words = [w for w in bucket if re.fullmatch("[a-z]+", w)]
        if words:
            bands.setdefault(round((9 - index / 100) * 10), []).extend(words)
    lines = [HEADER] + [f"{k}\t" + " ".join(bands[k]) for k in sorted(bands, reverse=True)]
    target = Path(__file__).resolve().parent.parent / "protocol_bot" / "data" / "english_freq.txt"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
