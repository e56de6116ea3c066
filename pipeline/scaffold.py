"""What ``loa new`` writes under the front matter, and how ``loa check`` finds what was left unwritten.

A how-to guide gets the sections a citizen looks for (docs/huong-dan-bien-tap.md): who may use the
procedure, the papers, the numbered steps, fees (a two-column table, which every plain-text channel
reads as ``Phí: 8.000 đồng`` lines), how long it takes, which office decides, whom to call. A news
item gets a lead, a body and a contact line. Any other type gets one line to replace.

Every place the author must fill is a *placeholder*: ``[Viết ở đây: hint]`` (``[Write here: hint]``
with ``--lang en``). The headings are in the site's language (they are published); the hints in the
author's. :func:`placeholders` finds them, in either language, for :func:`pipeline.checks.check_post`:
on a ready post each one is an error, so a half-written guide is never published.
"""

from __future__ import annotations

import re
import unicodedata

from pipeline.messages import CATALOGUE, text

# Each scaffold: Markdown blocks; ("h", code) a heading, ("p", code) a placeholder paragraph,
# ("-", code) a list item, ("1", codes) numbered steps, ("t", (header codes), (cell codes)) a table.
SCAFFOLDS: dict[str, tuple] = {
    "guide": (
        ("p", "scaffold.guide.intro"),
        ("h", "scaffold.guide.who"), ("p", "scaffold.guide.who-hint"),
        ("h", "scaffold.guide.papers"), ("-", "scaffold.guide.papers-hint"),
        ("h", "scaffold.guide.steps"), ("1", ("scaffold.guide.step-1", "scaffold.guide.step-2")),
        ("h", "scaffold.guide.fees"),
        ("t", ("scaffold.guide.fee-item", "scaffold.guide.fee-amount"),
         ("scaffold.guide.fee-item-hint", "scaffold.guide.fee-amount-hint")),
        ("h", "scaffold.guide.time"), ("p", "scaffold.guide.time-hint"),
        ("h", "scaffold.guide.office"), ("p", "scaffold.guide.office-hint"),
        ("h", "scaffold.guide.contact"), ("p", "scaffold.guide.contact-hint"),
    ),
    "news": (
        ("p", "scaffold.news.lead"),
        ("p", "scaffold.news.body"),
        ("p", "scaffold.news.contact"),
    ),
}
OTHER = (("p", "scaffold.other"),)


def body(post_type: str, lang: str, content_lang: str = "vi") -> str:
    """The Markdown ``loa new`` writes for a post of ``post_type``: headings in ``content_lang``,
    placeholders in ``lang``."""
    def hint(code: str) -> str:
        return f"[{text('scaffold.marker', lang)}: {text(code, lang)}]"

    blocks = []
    for kind, arg, *more in SCAFFOLDS.get(post_type, OTHER):
        if kind == "h":
            blocks.append(f"## {text(arg, content_lang)}")
        elif kind == "p":
            blocks.append(hint(arg))
        elif kind == "-":
            blocks.append(f"- {hint(arg)}")
        elif kind == "1":
            blocks.append("\n".join(f"{i}. {hint(code)}" for i, code in enumerate(arg, 1)))
        else:  # a table: its header (published words) and one row of placeholders
            head = [text(code, content_lang) for code in arg]
            blocks.append("\n".join(["| " + " | ".join(head) + " |", "|" + " --- |" * len(head),
                                     "| " + " | ".join(hint(code) for code in more[0]) + " |"]))
    return "\n\n".join(blocks) + "\n"


def _pattern() -> tuple[re.Pattern, tuple[tuple[str, int], ...] | None]:
    """The placeholder pattern, and its anchors: (character, offset) such that a match can start
    at ``s`` only if the text has that character at ``s + offset`` for one of them (``None``: no
    such anchors, every search is the plain one)."""
    markers = {CATALOGUE["scaffold.marker"][0], CATALOGUE["scaffold.marker"][1]}
    old = {CATALOGUE["new.placeholder"][0], CATALOGUE["new.placeholder"][1]}  # what `loa new` wrote before
    alternatives = [r"\[\s*" + re.escape(m) + r"\s*:[^\]\n]*\]?" for m in sorted(markers)]
    alternatives += [re.escape(t) for t in sorted(old)]
    # a marker's match starts at its '['; an old text's holds its first ASCII punctuation at the same
    # offset, as each of its characters matches one character (also under re.I), and punctuation
    # only itself (the case-insensitive equivalents are letters and signs such as K and ſ)
    anchors: set[tuple[str, int]] | None = {("[", 0)}
    for t in old:
        at = next((i for i, c in enumerate(t) if c.isascii() and not c.isalnum() and not c.isspace()), None)
        if at is None:
            anchors = None
            break
        anchors.add((t[at], at))
    return re.compile("|".join(alternatives), re.I), tuple(sorted(anchors)) if anchors else None


_PLACEHOLDER: list = []  # (pattern, anchors), made on first use (the catalogue is complete by then)


def _holds(text: str, fast: bool) -> bool:
    """Whether the placeholder pattern matches somewhere in ``text``. The search tries the
    pattern at every character; the fast way (``fast``, with anchors) only where an anchor lets a
    match start, with the same pattern: the same answer (tests/test_checks_fast.py compares)."""
    pattern, anchors = _PLACEHOLDER[0]
    if not fast or anchors is None:
        return pattern.search(text) is not None
    match, find = pattern.match, text.find
    for c, offset in anchors:
        i = find(c, offset)
        while i != -1:
            if match(text, i - offset):
                return True
            i = find(c, i + 1)
    return False


def placeholders(markdown: str, *, fast: bool = True) -> list[tuple[int, int, str]]:
    """Every placeholder left in ``markdown``: (line index from 0, column from 1, its text).
    ``fast=False``: look for one with the plain search (the tests compare the two)."""
    if not _PLACEHOLDER:
        _PLACEHOLDER.append(_pattern())
    pattern = _PLACEHOLDER[0][0]
    if not _holds(markdown, fast):  # then in NFC, unless it is NFC already (the same search again)
        if markdown.isascii() or unicodedata.is_normalized("NFC", markdown) \
                or not _holds(unicodedata.normalize("NFC", markdown), fast):
            return []
    out = []
    for i, line in enumerate(markdown.split("\n")):
        line = unicodedata.normalize("NFC", line)
        for m in pattern.finditer(line):
            found = m.group(0)
            out.append((i, m.start() + 1, found if len(found) <= 80 else found[:77] + "..."))
    return out
