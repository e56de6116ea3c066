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


def _pattern() -> re.Pattern:
    markers = {CATALOGUE["scaffold.marker"][0], CATALOGUE["scaffold.marker"][1]}
    old = {CATALOGUE["new.placeholder"][0], CATALOGUE["new.placeholder"][1]}  # what `loa new` wrote before
    alternatives = [r"\[\s*" + re.escape(m) + r"\s*:[^\]\n]*\]?" for m in sorted(markers)]
    alternatives += [re.escape(t) for t in sorted(old)]
    return re.compile("|".join(alternatives), re.I)


_PLACEHOLDER: list[re.Pattern] = []  # made on first use (the catalogue is complete by then)


def placeholders(markdown: str) -> list[tuple[int, int, str]]:
    """Every placeholder left in ``markdown``: (line index from 0, column from 1, its text)."""
    if not _PLACEHOLDER:
        _PLACEHOLDER.append(_pattern())
    pattern = _PLACEHOLDER[0]
    if not pattern.search(markdown):  # then in NFC, unless it is NFC already (the same search again)
        if markdown.isascii() or unicodedata.is_normalized("NFC", markdown) \
                or not pattern.search(unicodedata.normalize("NFC", markdown)):
            return []
    out = []
    for i, line in enumerate(markdown.split("\n")):
        line = unicodedata.normalize("NFC", line)
        for m in pattern.finditer(line):
            found = m.group(0)
            out.append((i, m.start() + 1, found if len(found) <= 80 else found[:77] + "..."))
    return out
