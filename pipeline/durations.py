"""Durations written in config as strings: ``"90s"``, ``"10m"``, ``"24h"``, ``"30d"``, ``"1h30m"``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """Parse ``"90s"``, ``"10m"``, ``"24h"``, ``"30d"``, ``"1h30m"``; ``ValueError`` otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"expected a duration string such as \"10m\", got {text!r}")
    s = text.strip().lower()
    pos, total = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos and s[pos:m.start()].strip():
            raise ValueError(f"not a duration: {text!r} (write e.g. \"90s\", \"10m\", \"24h\", \"30d\")")
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos == 0 or s[pos:].strip():
        raise ValueError(f"not a duration: {text!r} (write e.g. \"90s\", \"10m\", \"24h\", \"30d\")")
    try:  # "9999999999d" is past what a timedelta holds: a wrong value, not a crash
        return timedelta(seconds=total)
    except OverflowError:
        raise ValueError(f"duration too long: {text!r}") from None



def vi_words(delta: timedelta) -> str:
    """``delta`` as a Vietnamese reader says it, in its largest whole unit: "1 ngày", "36 giờ",
    "90 phút", "45 giây" (English text shows a timedelta as Python writes it)."""
    seconds = int(delta.total_seconds())
    for size, word in ((86400, "ngày"), (3600, "giờ"), (60, "phút")):
        if seconds and seconds % size == 0:
            return f"{seconds // size} {word}"
    return f"{seconds} giây"
