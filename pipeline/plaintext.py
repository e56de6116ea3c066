"""Article HTML -> plain text: the one conversion every plain-text channel uses (Zalo's article
body, and the ``plain_text`` template filter of Facebook, Telegram and Mastodon templates).

What a reader of the channel sees (docs/channels.md, "The post's text on plain-text channels"):

- paragraphs, headings, quotes: blocks separated by a blank line;
- lists: one line per item, ``1.`` ``2.`` ... for an ordered list, starting from the number the
  author wrote (``<ol start="3">``), ``- `` for an unordered one; a nested list is indented three
  spaces per level (six levels at most); a list stays one block (no blank line between its items);
- tables: one line per row. A two-column table reads ``label: value`` (``Phí: 8.000 đồng``), every
  row, the header row too (a two-column table is most often a list of pairs). A wider table reads
  ``- first cell — header2: value2; header3: value3`` per body row (the first column names the row;
  empty cells left out); without a header row, ``- `` and its cells joined by ``; ``. A one-column
  table is its cells, one a line;
- links keep their text, images and scripts are dropped.

Well-formed HTML (what Markdown and the templates produce) is read by a regular expression; anything
else (comments, declarations, script, style, a stray ``<``) by :class:`html.parser.HTMLParser`. Both
feed the same :class:`_Writer`, so the two readings give the same text (tests/test_fuzz.py).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

BLOCK = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "figure", "figcaption",
                   "aside", "section", "article", "header", "footer", "dl", "dt", "dd", "hr", "address"})
INDENT = "   "  # one level of a nested list
MAX_LEVELS = 6  # deeper lists are indented as the sixth level: hostile nesting cannot make the text quadratic
_SPACE, _LINE, _BLANK = 1, 2, 3  # separators waiting for the next text, weakest first
_WS = re.compile(r"[ \t\r\f\v]+")
_START = re.compile(r'\bstart\s*=\s*"?\s*(-?\d{1,9})', re.I)
_OL_START = re.compile(r'\s*start="-?\d{1,9}"\s*', re.I)  # an <ol>'s attributes the fast reading takes (Markdown's)


class _Writer:
    """Receives tags and text in document order and writes the plain text."""

    __slots__ = ("out", "pending", "line_start", "lists", "items", "skip", "table", "table_depth")

    def __init__(self) -> None:
        self.out: list[str] = []
        self.pending = 0          # the separator owed before the next text
        self.line_start = True    # nothing but indentation on the current line yet
        self.lists: list[list] = []  # [ordered, next number] per open list
        self.items = 0            # open <li>, for the indentation of continuation lines
        self.skip = 0             # inside script/style
        self.table: list[list[list]] | None = None  # rows of [is_th, [text parts]]
        self.table_depth = 0

    # -- separators and text ------------------------------------------------------------
    def _want(self, level: int) -> None:
        if level > self.pending:
            self.pending = level

    def _block(self) -> None:
        self._want(_LINE if self.items else _BLANK)

    def _emit(self, text: str, indent: str | None = None) -> None:
        if self.out:
            if self.pending >= _LINE:
                self.out.append("\n\n" if self.pending == _BLANK else "\n")
                self.out.append(INDENT * min(self.items, MAX_LEVELS) if indent is None else indent)
            elif self.pending == _SPACE and not self.line_start:
                self.out.append(" ")
        elif indent:
            self.out.append(indent)
        self.out.append(text)
        self.pending = 0
        self.line_start = False

    # -- events ---------------------------------------------------------------------------
    # The most frequent events (text, <p>, </p>) are tested first and do _want/_block/_emit's
    # work inline: a Python call per text node or tag is most of the conversion's cost.
    def start(self, tag: str, attrs: str | dict) -> None:
        if tag in BLOCK:
            if self.table is not None:
                self._table_start(tag)
            elif not (self.items and self.line_start):  # <li><p>: the text stays on the marker's line
                level = _LINE if self.items else _BLANK
                if level > self.pending:
                    self.pending = level
        elif tag in ("script", "style"):
            self.skip += 1
        elif self.table is not None:
            self._table_start(tag)
        elif tag == "table":
            self._block()
            self.table, self.table_depth = [], 1
        elif tag in ("ul", "ol"):
            self._want(_LINE if self.lists else _BLANK)
            self.lists.append([tag == "ol", start_number(attrs) if tag == "ol" else 1])
        elif tag == "li":
            self._item()
        elif tag == "br":
            self._want(_LINE)

    def end(self, tag: str) -> None:
        if tag in BLOCK:
            if self.table is not None:
                self._table_end(tag)
            else:
                level = _LINE if self.items else _BLANK
                if level > self.pending:
                    self.pending = level
        elif tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif self.table is not None:
            self._table_end(tag)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self.items = min(self.items, len(self.lists))
            self._want(_LINE if self.lists else _BLANK)
        elif tag == "li":
            self.items = max(0, min(self.items - 1, len(self.lists)))

    def data(self, text: str) -> None:
        if self.skip:
            return
        if self.table is not None:
            if self.table and self.table[-1]:
                self.table[-1][-1][1].append(text)
            return
        if text.isspace():  # between tags: a space at most (a soft line break inside text stays one)
            if not self.pending:
                self.pending = _SPACE
            return
        out = self.out
        pending = self.pending
        first = True
        for line in text.split("\n") if "\n" in text else (text,):
            if first:
                first = False
            elif pending < _LINE:
                pending = _LINE
            if not line:
                continue
            if "  " in line or "\t" in line or "\r" in line or "\f" in line or "\v" in line:  # cheaper than the sub
                line = _WS.sub(" ", line)
            if line[0] == " " and not pending:
                pending = _SPACE
            words = line.strip(" ")
            if words:  # _emit, inline
                if out:
                    if pending >= _LINE:
                        out.append("\n\n" if pending == _BLANK else "\n")
                        if self.items:
                            out.append(INDENT * min(self.items, MAX_LEVELS))
                    elif pending and not self.line_start:
                        out.append(" ")
                out.append(words)
                self.line_start = False
                pending = _SPACE if line[-1] == " " else 0
        self.pending = pending

    def _item(self) -> None:
        if not self.lists:  # an <li> outside any list: an unordered item
            self.lists.append([False, 1])
        if self.items >= len(self.lists):  # the previous item was not closed: HTML closes it here
            self.items = len(self.lists) - 1
        frame = self.lists[-1]
        marker = f"{frame[1]}. " if frame[0] else "- "
        frame[1] += 1
        self._want(_LINE)
        self._emit(marker, INDENT * min(len(self.lists) - 1, MAX_LEVELS))
        self.items = len(self.lists)
        self.line_start = True

    # -- tables -----------------------------------------------------------------------------
    def _table_start(self, tag: str) -> None:
        rows = self.table
        assert rows is not None
        if tag == "table":
            self.table_depth += 1
        elif self.table_depth > 1:  # a table inside a cell: its text joins the cell
            if rows and rows[-1]:
                rows[-1][-1][1].append(" ")
        elif tag == "tr":
            rows.append([])
        elif tag in ("td", "th"):
            if not rows:
                rows.append([])
            rows[-1].append([tag == "th", []])
        elif rows and rows[-1] and (tag in BLOCK or tag in ("li", "br", "ul", "ol")):  # a break inside a cell
            rows[-1][-1][1].append(" ")

    def _table_end(self, tag: str) -> None:
        if tag != "table":
            rows = self.table
            if (tag in BLOCK or tag in ("li", "td", "th")) and rows and rows[-1]:
                rows[-1][-1][1].append(" ")
            return
        self.table_depth -= 1
        if self.table_depth:
            return
        rows, self.table = self.table, None
        for i, line in enumerate(table_lines(rows)):
            if i:
                self._want(_LINE)
            self._emit(line)
        self._block()

    def resume(self, other: _Writer) -> None:
        """Take up where ``other`` (fed, outside any table) stopped; ``other`` is not changed."""
        self.out = other.out[:]
        self.pending, self.line_start, self.items, self.skip = other.pending, other.line_start, other.items, other.skip
        self.lists = [frame[:] for frame in other.lists]

    def text(self) -> str:
        if self.table is not None:  # an unclosed table: written as if it were closed
            self.table_depth = 1
            self._table_end("table")
        return "".join(self.out).strip()


def start_number(attrs: str | dict) -> int:
    """``<ol start="3">``: 3; anything unreadable: 1 (as browsers do)."""
    raw = f'start="{attrs.get("start") or ""}"' if isinstance(attrs, dict) else attrs
    m = _START.search(raw)
    return int(m.group(1)) if m else 1


def table_lines(rows: list[list[list]]) -> list[str]:
    """The lines of a table: rows of ``[is_th, [text parts]]`` as the module docstring says."""
    cells = [[_WS.sub(" ", "".join(parts).replace("\n", " ")).strip() for _th, parts in row] for row in rows]
    header: list[str] = []
    if rows and rows[0] and all(th for th, _parts in rows[0]):
        header, cells = cells[0], cells[1:]
    width = max([len(header)] + [len(r) for r in cells])
    if width == 2:
        return [_pair(r) for r in ([header] if header else []) + cells if any(r)]
    if width <= 1:
        return [c for r in ([header] if header else []) + cells for c in r if c]
    out = []
    for r in cells:
        if header:
            pairs = [f"{h}: {v}" if h else v for h, v in zip(header[1:] + [""] * len(r), r[1:]) if v]
            line = (f"{r[0]} — " if r and r[0] and pairs else r[0] if r else "") + "; ".join(pairs)
        else:
            line = "; ".join(v for v in r if v)
        if line:
            out.append("- " + line)
    if not out and header:
        out.append("; ".join(h for h in header if h))
    return out


def _pair(row: list[str]) -> str:
    label, value = (row + ["", ""])[:2]
    return f"{label}: {value}" if label and value else label or value


# -- reading the HTML ------------------------------------------------------------------------------
class _Parser(HTMLParser):
    """The slow reading, for any HTML."""

    def __init__(self, writer: _Writer) -> None:
        super().__init__(convert_charrefs=True)
        self.w = writer

    def handle_starttag(self, tag, attrs):
        self.w.start(tag, {k: v or "" for k, v in attrs})

    def handle_endtag(self, tag):
        self.w.end(tag)

    def handle_data(self, data):
        self.w.data(data)


# Well-formed tags with double-quoted attributes only (what Markdown and Jinja's autoescape
# produce). Anything else with a "<" (a comment, a declaration, a processing instruction, a stray
# "<" or ">") is left in the text, where _read_fast finds it and gives the fragment to the parser.
_FAST_TAG = re.compile(r'<(?:/([a-zA-Z][a-zA-Z0-9]*)\s*|([a-zA-Z][a-zA-Z0-9]*)'
                       r'((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:\s*=\s*"[^"<>]*")?)*)\s*(/?))>')
#: Per tag name, what the fast reading does with it: tags that change nothing in the text
#: (:class:`_Writer` ignores them) are skipped; script and style need the parser (their content is
#: not HTML); any other name goes to the writer.
_SKIP, _PARSER, _WRITE = True, False, "write"
_FAST_NAMES = dict.fromkeys(("a", "strong", "em", "b", "i", "u", "s", "code", "span", "img", "sup", "sub", "mark",
                             "small", "abbr", "cite", "q", "kbd", "del", "ins"), _SKIP)
_FAST_NAMES.update(script=_PARSER, style=_PARSER)
#: Any other name that starts as these do goes to the parser too, as it always has (09305e4 searched
#: the fragment for "<script"/"<style" in any case): the two readings differ on some attributes
#: (``start=`` inside another attribute), so which fragments take the parser must not move. The
#: names the writer acts on are known not to, and need not be looked at.
_PARSER_PREFIXES = ("script", "style")
_FAST_NAMES.update(dict.fromkeys((*BLOCK, "table", "tr", "td", "th", "thead", "tbody", "tfoot", "ul", "ol", "li", "br"), _WRITE))


#: The last fragment read fast that ended with a tag, with its writer (never changed afterwards).
#: Zalo's body is the article the Facebook template has just converted, then a paragraph: a
#: fragment that begins with the last one takes up from a copy of its writer and reads only the
#: rest. A match of _FAST_TAG ends at the first ">" after its "<", so the tag ending the last
#: fragment ends a match in the longer one too: the rest splits as if it were alone.
_last: tuple[str, _Writer] | None = None


def _read_fast(fragment: str, w: _Writer) -> bool:
    """Feed ``w`` from the fast reading; ``False`` when the fragment needs the parser (``w`` may have
    been fed part of it then: the parser needs a new writer)."""
    global _last
    whole, last = fragment, _last
    if last is not None and fragment.startswith(last[0]):
        w.resume(last[1])
        fragment = fragment[len(last[0]):]
    pieces = _FAST_TAG.split(fragment)  # text, (end tag, start tag, attributes, "/"), text, ...
    # Each tag the expression read holds one "<" and one ">": any other is in the text.
    tags = len(pieces) // 5
    if fragment.count("<") != tags or fragment.count(">") != tags:
        return False
    unescape, on_data, on_start, on_end, names = html.unescape, w.data, w.start, w.end, _FAST_NAMES
    it = iter(pieces)
    for data, end_tag, tag, attrs, slash in zip(it, it, it, it, it):
        if data:
            on_data(unescape(data) if "&" in data else data)
        if end_tag is not None:
            end_tag = end_tag.lower()
            kind = names.get(end_tag)
            if kind is _WRITE or (kind is None and not end_tag.startswith(_PARSER_PREFIXES)):
                on_end(end_tag)
            elif kind is not _SKIP:
                return False
            continue
        tag = tag.lower()
        kind = names.get(tag)
        if kind is not _WRITE and (kind is not None or tag.startswith(_PARSER_PREFIXES)):
            if kind is _SKIP:
                continue
            return False
        if attrs:
            attrs = unescape(attrs) if "&" in attrs else attrs
            if tag == "ol" and not _OL_START.fullmatch(attrs):  # the parser reads which attribute is start
                return False
        on_start(tag, attrs)
        if slash:  # <p/>: HTMLParser calls the start then the end handler
            on_end(tag)
    last_text = pieces[-1]
    if last_text:
        on_data(unescape(last_text) if "&" in last_text else last_text)
    elif whole and w.table is None:
        _last = (whole, w)
    return True


def to_text(fragment: str, *, fast: bool = True) -> str:
    """The plain text of an HTML fragment (the module docstring says how it reads). ``fast=False``
    always takes the parser (the tests compare the two readings)."""
    w = _Writer()
    if not (fast and _read_fast(fragment, w)):
        w = _Writer()  # the fast reading may have fed the first one
        p = _Parser(w)
        p.feed(fragment)
        p.close()
    return w.text()
