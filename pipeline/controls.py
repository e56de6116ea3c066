"""Control characters in text Loa shows or writes: which they are, their escapes for a terminal,
and stripping them from files Loa writes.

Part of :mod:`pipeline.vietnamese` (which re-exports every name), kept in a module of its own
because every command's output goes through :func:`escape_control` (``cli._Terminal``): a command
that reads no text, such as a re-run of ``loa preview`` with nothing changed, need not import the
encoding and tone-mark tables to print its one line.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["CONTROL", "control_chars", "each_text", "escape_control", "strip_control"]


#: Characters no text Loa reads or writes may carry: C0 controls but tab and newline, DEL, C1
#: controls, and the bidirectional embeddings, overrides and isolates (U+202A-U+202E,
#: U+2066-U+2069), which make a terminal, a page or a report show other text than is stored.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_OR_NEWLINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def control_chars(text: str) -> str:
    """The :data:`CONTROL` characters of ``text`` as their code points, at most five, for a
    message: ``"U+001B, U+202E"``; ``""`` when there is none."""
    seen = dict.fromkeys(CONTROL.findall(text))
    return ", ".join(f"U+{ord(c):04X}" for c in list(seen)[:5]) + (" …" if len(seen) > 5 else "")


def _escaped(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def escape_control(text: str, *, newlines: bool = False) -> str:
    """``text`` with every :data:`CONTROL` character shown as its escape (ESC as ``\\x1b``, RLO
    as ``\\u202e``), for a terminal; ``newlines=True`` escapes line breaks too, so that one
    message stays one line."""
    return (_CONTROL_OR_NEWLINE if newlines else CONTROL).sub(_escaped, text)


def each_text(fn, value):
    """``value`` (JSON-like data: dicts, lists, strings) with ``fn`` applied to every string in it,
    keys included."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, Mapping):
        return {each_text(fn, k): each_text(fn, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [each_text(fn, v) for v in value]
    return value


def strip_control(text: str) -> str:
    """``text`` without its :data:`CONTROL` characters, for files Loa writes (reports)."""
    return CONTROL.sub("", text)
