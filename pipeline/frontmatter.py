"""Front matter: the text between the first two ``---`` lines of a post, read into values and the
line of each top-level key.

:func:`read_front_matter` is the one reader. PyYAML (with :func:`loader`) defines what front matter
means; the plain lines nearly every post has (``key: value``, quoted strings without escapes other
than ``\\"`` and ``\\\\``, plain words YAML reads as strings, flow or block lists of such words) are
read without it, inside the same function, and ``tests/test_content.py`` proves both ways equal.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_YAML_DEPTH", "FrontError", "RawFile", "loader", "read_front_matter", "split_front_matter", "yaml_refusal"]

#: Deepest nesting of YAML collections accepted (front matter needs three). Deeper documents are
#: refused while parsing, before anything is composed: composing is recursive (a RecursionError
#: in PyYAML, a crash of the whole process in libyaml's binding) and scanning deep flow
#: collections slows down with the square of the depth.
MAX_YAML_DEPTH = 50


@functools.cache
def loader() -> type:
    """SafeLoader (libyaml's when available: much faster) without the implicit timestamp type: dates
    stay strings and are read by :func:`pipeline.content.parse_time` in the site zone (PyYAML would
    turn some into naive or UTC datetimes). Built on first use: listing posts needs no YAML."""
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        pass

    Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


@dataclass(frozen=True)
class RawFile:
    """A file split into front matter and body, with line numbers. Used by ``loa approve`` too."""

    text: str
    front: str
    body: str
    body_line: int  # 1-based line of the first body line


def split_front_matter(text: str) -> RawFile | None:
    """Front matter between a first line ``---`` and the next ``---`` (or ``...``) line, and the body
    after it: the first line that, stripped (``str.strip``), is one of the two. One search for that
    line; the body is one slice, never split and joined."""
    first = text.find("\n")
    if not text.startswith("---") or first < 0 or text[:first].strip() != "---":
        return None
    end = _CLOSING.search(text, first)
    if end is None:
        return None
    pos = end.start() + 1  # where the closing line starts
    nl = text.find("\n", pos)
    return RawFile(text, text[first + 1:pos - 1], "" if nl < 0 else text[nl + 1:], text.count("\n", 0, pos) + 2)


# A closing line with the newline before it: ``\s`` is what ``str.strip`` strips (``str.isspace``),
# without the line's own end. The newline first lets the search skip to each line's start.
_CLOSING = re.compile(r"\n[^\S\n]*(?:---|\.\.\.)[^\S\n]*(?:\n|\Z)")


@dataclass(frozen=True)
class FrontError:
    """Front matter that is not YAML, or that Loa refuses: where (1-based line in the file,
    column), PyYAML's words (or the refused anchor), the catalogue code and, for ``yaml.too-deep``,
    the limit."""

    line: int
    col: int
    detail: str
    #: The catalogue code: ``front.yaml`` (not YAML), ``yaml.anchor`` or ``yaml.too-deep`` (refused).
    code: str = "front.yaml"
    limit: int = 0


def yaml_refusal(parser) -> tuple[str, Any, dict] | None:
    """Walk the events of ``parser`` (a PyYAML loader over the text) and stop at the first thing
    Loa refuses: an anchor or an alias (``("yaml.anchor", mark, {"token": "&name"})``), or
    collections nested deeper than :data:`MAX_YAML_DEPTH` (``("yaml.too-deep", mark, {...})``).
    ``None`` when there is none. Nothing is composed or constructed, so a "billion laughs" of
    nested aliases is refused at its first anchor, before anything could expand it. Syntax
    errors raise ``yaml.YAMLError`` as composing would."""
    import yaml

    depth = 0
    while True:
        try:
            if not parser.check_event():
                break
            event = parser.get_event()
        except yaml.YAMLError as exc:
            # libyaml (PyYAML >= 6.0.4) stops very deep nesting itself, before Loa's own limit
            if "nesting depth" in str(exc):
                mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None) or yaml.Mark(
                    "", 0, 0, 0, None, None)
                return "yaml.too-deep", mark, {"limit": MAX_YAML_DEPTH}
            raise
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            token = ("*" if isinstance(event, yaml.AliasEvent) else "&") + str(anchor)[:40]
            return "yaml.anchor", event.start_mark, {"token": token}
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                return "yaml.too-deep", event.start_mark, {"limit": MAX_YAML_DEPTH}
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
    return None


def read_front_matter(front: str, *, plain: bool = True) -> tuple[Any, dict[str, int], FrontError | None]:
    """``(value, key lines, None)``, or ``(None, {}, error)`` when the text is not YAML or holds
    what Loa refuses (:func:`yaml_refusal`).

    The value is what PyYAML gives (``{}`` for empty front matter; possibly not a mapping: the
    caller reports that); key lines are 1-based lines in the file (the front matter starts on line
    2). ``plain=False`` skips the plain-line path: for the differential test only."""
    if plain:
        found = _read_plain(front)
        if found is not None:
            return found[0], found[1], None
    import yaml

    guard, parser = loader()(front), loader()(front)
    try:
        # anchors, aliases and deep nesting are refused before anything is composed; then one
        # parse: the key lines come from the same node tree as the values
        refused = yaml_refusal(guard)
        if refused is not None:
            code, mark, args = refused
            return None, {}, FrontError(mark.line + 2, mark.column + 1, args.get("token", ""), code,
                                        args.get("limit", 0))
        node = parser.get_single_node()
        value = parser.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, {}, FrontError(mark.line + 2 if mark else 1, mark.column + 1 if mark else 1,
                                    str(getattr(exc, "problem", None) or exc).strip())
    finally:
        guard.dispose()
        parser.dispose()
    return ({} if value is None else value), _node_lines(node), None


def _node_lines(node) -> dict[str, int]:
    """Line (1-based, in the file) of each top-level key of a composed front matter node."""
    import yaml

    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for k, _v in node.value:
            if isinstance(k, yaml.ScalarNode):
                # interned: 20,000 posts share one 'title'
                out.setdefault(sys.intern(str(k.value)), k.start_mark.line + 2)
    return out


# -- the plain-line path of read_front_matter ------------------------------------------------
# It takes exactly the plain shapes and answers what PyYAML would; anything else (other scalars,
# nesting, comments, tabs, escapes, anchors, odd line breaks) makes it give up (None), and PyYAML,
# which also reports errors, reads the text.
_SIMPLE_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?: +(.*?))? *")
_SIMPLE_DQ = re.compile(r'"((?:[^"\\]|\\["\\])*)"')  # escapes: only \" and \\
_DQ_ESCAPE = re.compile(r'\\(["\\])')
_SIMPLE_SQ = re.compile(r"'([^']*)'")
_SIMPLE_PLAIN = re.compile(r"[^\W_](?:(?!: |#)[^\t])*(?<![ :])")
_SIMPLE_SEQ = re.compile(r"( *)- +(.+?) *")
_SIMPLE_ITEM = re.compile(r' *(?:"([^"\\,\[\]{}]*)"|([^\W_][\w.-]*)) *')
# What YAML does not allow in a document (outside its printable set: controls, surrogates, U+FFFE,
# U+FFFF), and the line breaks other than \n (\r, U+0085, U+2028, U+2029) and the tab, which the
# plain path leaves to PyYAML. A class of what is refused, not of what is allowed: searching the
# usual all-allowed text for it is far quicker. tests/test_content.py checks it code point by code point.
_NOT_SIMPLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_NO = object()  # "not a plain value": give up


@functools.lru_cache(maxsize=4096)  # keys, types, units, statuses: the same few words in every post
def _is_str(plain: str) -> bool:
    """What PyYAML's resolver does with an untagged plain scalar: True when it stays a string."""
    return not any(rx.match(plain) for _tag, rx in loader().yaml_implicit_resolvers.get(plain[0], ()))


def _read_plain(front: str) -> tuple[dict[str, Any], dict[str, int]] | None:
    if _NOT_SIMPLE.search(front):
        return None
    meta: dict[str, Any] = {}
    lines: dict[str, int] = {}
    rows = front.split("\n")
    n = 0
    while n < len(rows):
        line = rows[n]
        n += 1
        if not line:
            continue
        key_line = n + 1
        # The usual line, with string methods (a regular expression costs more per character):
        # ``key: "text"`` (no " or \ inside), ``key: word`` (a plain scalar as _SIMPLE_PLAIN takes
        # it: no tab, no #, no ": ", not ending in ":"), ``key: [words]`` (no ] inside); spaces
        # around the value. Anything else goes the general way below.
        key, sep, value = line.partition(": ")
        v: Any = _NO
        if sep and key.isascii() and key.isidentifier():  # an ASCII identifier: [A-Za-z_][A-Za-z0-9_]*
            value = value.strip(" ")
            first = value[:1]
            if first == '"':
                inner = value[1:-1]
                if len(value) > 1 and value[-1] == '"' and '"' not in inner and "\\" not in inner:
                    v = inner
            elif first == "[":
                inner = value[1:-1]
                if value[-1] == "]" and "]" not in inner:
                    v = _flow_list(inner)
            elif (first.isalnum() and value[-1] != ":" and "#" not in value and "\t" not in value
                  and ": " not in value and _is_str(value)):  # isalnum: [^\W_]
                v = value
            if v is not _NO and not _is_str(key):
                return None
        if v is _NO:
            m = _SIMPLE_LINE.fullmatch(line)
            if m is None or not _is_str(m.group(1)):
                return None
            key, value = m.group(1), m.group(2)
            if not value:  # a block list: "topics:" then "- cchc" lines
                v, n = _block_list(rows, n)
            elif value[0] == "[":
                v = _flow_list(value[1:-1]) if value[-1] == "]" else _NO
            else:
                v = _scalar(value)
            if v is _NO:
                return None
        key = sys.intern(key)  # interned: 20,000 posts share one 'title'
        meta[key] = v
        lines.setdefault(key, key_line)
    return (meta, lines) if meta else None


def _flow_list(inner: str) -> Any:
    """``[a, "b c", d]`` without the brackets (a new list), or ``_NO``."""
    items = _flow_items(inner)
    return _NO if items is None else list(items)


@functools.lru_cache(maxsize=1024)  # channels and topics: the same few lists in every post
def _flow_items(inner: str) -> tuple[str, ...] | None:
    items: list[str] = []
    if inner.strip():
        for item in inner.split(","):
            q = _SIMPLE_ITEM.fullmatch(item)
            if q is None:
                return None
            if q.group(1) is not None:
                items.append(q.group(1))
            elif _is_str(q.group(2)):
                items.append(q.group(2))
            else:
                return None
    return tuple(items)


def _block_list(rows: list[str], n: int) -> tuple[Any, int]:
    """The ``- item`` lines from row ``n`` on, all at one indentation: (list or ``_NO``, next row)."""
    items: list[Any] = []
    indent = None
    while n < len(rows):
        item = _SIMPLE_SEQ.fullmatch(rows[n])
        if item is None or (indent is not None and item.group(1) != indent):
            break
        indent = item.group(1)
        x = _scalar(item.group(2))
        if x is _NO:
            return _NO, n
        items.append(x)
        n += 1
    return (items if items else _NO), n


def _scalar(value: str) -> Any:
    """A quoted or plain string, or ``_NO``."""
    first = value[0]
    if first == '"' or first == "'":
        q = (_SIMPLE_DQ if first == '"' else _SIMPLE_SQ).fullmatch(value)
        if q is None:
            return _NO
        text = q.group(1)
        return _DQ_ESCAPE.sub(r"\1", text) if first == '"' and "\\" in text else text
    if _SIMPLE_PLAIN.fullmatch(value) and _is_str(value):
        return value
    return _NO
