"""Feed HTML -> clean Markdown and plain text.

Two steps, on purpose:

1. ``nh3`` (the Ammonia allow-list sanitizer, configured in :mod:`pipeline.htmlsafe`, the one place
   for the portal's allow-list too) keeps only harmless tags and ``href``/``src``/``alt``;
   scripts, styles, iframes, SVG and MathML go with their content; every URL is made absolute
   against the item link (or the feed URL) and must be ``http``/``https`` (links may also be
   ``mailto``/``tel``), so ``javascript:`` and ``data:`` never survive.
2. A small ``html.parser`` walk turns that tree into Markdown, escaping every text character that
   Markdown would read as syntax or raw HTML, because python-markdown passes raw HTML through:
   text ``<script>`` must stay text.

Text comes out in Unicode NFC (Windows-1258 feeds decode to base letter + combining mark).
"""

from __future__ import annotations

import functools
import html
import re
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from pipeline import htmlsafe
from pipeline.vietnamese import nfc

__all__ = ["absolute_url", "convert", "html_to_markdown", "html_to_text", "first_image", "escape_markdown", "md_url"]

_INLINE_TAGS = {"a", "img", "br", "strong", "b", "em", "i", "u", "span", "code", "sub", "sup", "small",
                "mark", "abbr", "cite", "q", "s", "del", "ins", "time", "font"}
_BLOCK_TAGS = {"p", "div", "section", "article", "header", "footer", "main", "aside", "figure",
               "figcaption", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre",
               "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "hr", "dl", "dt", "dd",
               "center"}
_ATTRS = {"a": {"href"}, "img": {"src", "alt"}}
_LINK_SCHEMES = htmlsafe.LINK_SCHEMES
_IMAGE_SCHEMES = htmlsafe.IMAGE_SCHEMES
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_URL_JUNK = re.compile(r"[\x00-\x1f\x7f]")
_ESCAPED_TAG = re.compile(r"&lt;\s*/?\s*(?:img|a|p|br|div|span|b|strong|em|i|ul|ol|li|table|h[1-6])\b", re.I)
_REAL_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
_BROKEN_ABS = re.compile(r"^(https?):/*(?!/)(.*)$", re.I)
_BLOCK_BOUNDARY = re.compile(r"<(?=/?(?:br|p|div|li|h[1-6]|tr|td|th|ul|ol|table|blockquote|figure|figcaption)\b)", re.I)
_BR = "\x00"  # survives whitespace collapsing; becomes a Markdown hard break


def absolute_url(url: str | None, base: str | None, *, image: bool = False) -> str | None:
    """``url`` made absolute against ``base``; ``None`` if it is not a safe web (or mail/tel) URL.

    Repairs the ``http:moc.gov.vn/...`` form seen in ministry feeds and protocol-relative URLs.
    Browsers ignore tabs and newlines inside URLs, so they are removed before the scheme is read
    (``java\\tscript:`` is ``javascript:``).
    """
    return _absolute(url, base, image) if url else None


@functools.lru_cache(maxsize=8192)  # every item repeats its base, and feeds repeat their image hosts
def _absolute(url: str, base: str | None, image: bool) -> str | None:
    u = _URL_JUNK.sub("", (html.unescape(url) if "&" in url else url).strip()).replace(" ", "%20")
    if not u:
        return None
    if base:
        base = _absolute(base, None, False)
    m = _BROKEN_ABS.match(u)
    if m and not u.lower().startswith(m.group(1).lower() + "://"):
        rest = m.group(2)
        first = rest.split("/", 1)[0]
        if "." in first and not first.startswith("."):
            u = f"{m.group(1)}://{rest}"            # http:moc.gov.vn/x -> http://moc.gov.vn/x
        elif base:
            u = urljoin(base, "/" + rest)           # http:/x -> path on the base's host
        else:
            return None
    elif u.startswith("//"):
        u = f"{urlsplit(base).scheme if base else 'https'}:{u}"
    elif base:
        u = urljoin(base, u)
    try:
        parts = urlsplit(u)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in (_IMAGE_SCHEMES if image else _LINK_SCHEMES):
        return None
    if scheme in ("http", "https"):
        if not parts.hostname:
            return None
        netloc = parts.hostname.lower() + (f":{port}" if port else "")
        if parts.username or parts.password:  # credentials in a link are a phishing pattern
            return None
        return urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment))
    return u


def md_url(url: str) -> str:
    """A URL safe inside Markdown ``(...)``: spaces, brackets, quotes and non-ASCII percent-encoded."""
    return quote(url, safe=":/?#@!$&*+,;=%~-._")


# Every character that starts Markdown syntax the renderer enables (pipeline.render.MD_EXTENSIONS):
# code, emphasis, links and images, headings, attribute lists ``{: ...}``; Python-Markdown unescapes
# these after a backslash. ``|`` (table cells) and ``~`` (``~~~`` fences) become character references,
# which read the same with or without the tables extension. ``<``, ``>`` and ``&`` too (raw HTML,
# autolinks, block quotes, entities).
_MD_SPECIAL = re.compile(r"([`*_\[\]#{}])")
_MD_REFERENCES = {"|": "&#124;", "~": "&#126;"}


def escape_markdown(text: str) -> str:
    """Escape text so Markdown shows it literally: no emphasis, code, links, images, headings,
    attribute lists, table cells, fences or raw HTML (the start of a line is :func:`_escape_line_start`'s)."""
    text = text.replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    for char, reference in _MD_REFERENCES.items():
        if char in text:
            text = text.replace(char, reference)
    return text


def _escape_line_start(line: str) -> str:
    # A line that starts like a list item, a rule or a setext underline (``---``, ``===``) would become one.
    m = re.match(r"^(\s*)(\d+)([.)])(\s|$)", line)
    if m:
        return f"{m.group(1)}{m.group(2)}\\{line[m.end(2):]}"
    m = re.match(r"^(\s*)([-+=])", line)
    if m:
        mark = "&#61;" if m.group(2) == "=" else "\\" + m.group(2)  # Markdown has no escape for "="
        return f"{m.group(1)}{mark}{line[m.end():]}"
    return line


def _prepare(raw: str) -> str:
    text = nfc(_CONTROL.sub("", raw or ""))
    # Double-escaped HTML (``&lt;img ...&gt;`` left as text after XML decoding) is markup the
    # publisher meant; unescape it once, then sanitise like the rest.
    if _ESCAPED_TAG.search(text) and not _REAL_TAG.search(text):
        text = html.unescape(text)
    return text


def _clean(raw: str, base: str | None) -> str:
    def attr_filter(tag: str, attr: str, value: str) -> str | None:
        if attr in ("href", "src"):
            return absolute_url(value, base, image=(tag == "img"))
        return value

    return htmlsafe.clean(raw, tags=_INLINE_TAGS | _BLOCK_TAGS, attributes=_ATTRS, attribute_filter=attr_filter)


class _Node:
    __slots__ = ("tag", "attrs", "children")

    def __init__(self, tag: str, attrs: dict[str, str]):
        self.tag = tag
        self.attrs = attrs
        self.children: list[_Node | str] = []


class _TreeBuilder(HTMLParser):
    _VOID = {"br", "img", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = _Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self._VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(_Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def _tree(raw: str, base: str | None) -> _Node:
    builder = _TreeBuilder()
    builder.feed(_clean(_prepare(raw), base))
    builder.close()
    return builder.root


def _inline(node: _Node | str) -> str:
    if isinstance(node, str):
        return escape_markdown(node)
    tag = node.tag
    if tag == "br":
        return _BR
    if tag == "img":
        src = node.attrs.get("src")
        if not src:
            return ""
        alt = " ".join(node.attrs.get("alt", "").split())
        return f" ![{escape_markdown(alt)}]({md_url(src)}) "
    inner = "".join(_inline(c) for c in node.children)
    if tag in _BLOCK_TAGS:
        return f" {inner} "
    if tag == "a":
        href = node.attrs.get("href")
        label = " ".join(inner.replace(_BR, " ").split())
        if not href or not label:
            return inner
        return f"[{label}]({md_url(href)})"
    if tag in ("strong", "b", "em", "i"):
        mark = "**" if tag in ("strong", "b") else "*"
        core = inner.strip()
        if not core or _BR in core:
            return inner
        lead = " " if inner[:1].isspace() else ""
        trail = " " if inner[-1:].isspace() else ""
        return f"{lead}{mark}{core}{mark}{trail}"
    return inner


def _paragraph(parts: list[str]) -> str:
    lines = [" ".join(seg.split()) for seg in "".join(parts).split(_BR)]
    lines = [_escape_line_start(ln) for ln in lines]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "  \n".join(ln for ln in lines if ln)


def _blocks(node: _Node) -> list[str]:
    out: list[str] = []
    run: list[str] = []

    def flush():
        para = _paragraph(run)
        if para:
            out.append(para)
        run.clear()

    for child in node.children:
        if isinstance(child, _Node) and child.tag in _BLOCK_TAGS:
            flush()
            out.extend(_block(child))
        else:
            run.append(_inline(child))
    flush()
    return out


def _block(node: _Node) -> list[str]:
    tag = node.tag
    if tag == "hr":
        return ["* * *"]
    if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        text = _paragraph([_inline(c) for c in node.children]).replace("  \n", " ")
        level = max(2, int(tag[1]))  # h1 is the post title's; headings inside the body start at ##
        return [f"{'#' * level} {text}"] if text else []
    if tag in ("ul", "ol"):
        items: list[str] = []
        n = 0
        for child in node.children:
            if isinstance(child, str) and not child.strip():
                continue
            sub = _blocks(child) if isinstance(child, _Node) else [_paragraph([_inline(child)])]
            sub = [b for b in sub if b]
            if not sub:
                continue
            n += 1
            marker = f"{n}. " if tag == "ol" else "- "
            body = "\n".join(("    " + ln) if ln else "" for ln in "\n\n".join(sub).split("\n"))[4:]
            items.append(marker + body)
        return ["\n".join(items)] if items else []
    if tag == "blockquote":
        inner = "\n\n".join(_blocks(node))
        return ["\n".join(("> " + ln) if ln else ">" for ln in inner.split("\n"))] if inner else []
    if tag == "tr":
        cells = [_paragraph([_inline(c)]).replace("  \n", " ") for c in node.children if isinstance(c, _Node)]
        # Each cell's start is escaped like a line's; a ":" too, so no row reads as a table's ":---" line.
        cells = ["&#58;" + c[1:] if c.startswith(":") else c for c in cells]
        row = " | ".join(c for c in cells if c)
        return [row] if row else []
    return _blocks(node)


def html_to_markdown(raw: str | None, base: str | None) -> str:
    """Sanitised Markdown for feed HTML; relative links and images resolved against ``base``."""
    return convert(raw, base)[0]


def convert(raw: str | None, base: str | None) -> tuple[str, str | None]:
    """``(markdown, first image URL or None)`` for feed HTML, from one sanitising pass."""
    if not raw or not raw.strip():
        return "", None
    root = _tree(raw, base)
    blocks = _blocks(root)
    return nfc("\n\n".join(b for b in blocks if b.strip())), _first_img(root)


def html_to_text(raw: str | None) -> str:
    """Plain text of feed HTML (no markup, entities decoded, whitespace collapsed, NFC).

    Text that still looks like a tag once its entities are decoded (``&lt;script&gt;``) is
    stripped too: a plain-text field may reach a template or a channel that does not escape.
    """
    if not raw:
        return ""
    text = _prepare(raw)
    for _ in range(3):
        cleaned = htmlsafe.clean(_BLOCK_BOUNDARY.sub(" <", text), tags=(), attributes={})
        decoded = html.unescape(cleaned)
        if not _REAL_TAG.search(decoded):
            break
        text = decoded
    else:
        decoded = _REAL_TAG.sub(" ", decoded)  # escaped more than three times: drop what is left
    return nfc(" ".join(decoded.split()))


def first_image(raw: str | None, base: str | None) -> str | None:
    """Absolute URL of the first image in feed HTML, or ``None``."""
    if not raw or "img" not in raw.lower():
        return None
    return _first_img(_tree(raw, base))


def _first_img(root: _Node) -> str | None:
    stack = [root]
    while stack:
        node = stack.pop(0)
        for child in node.children:
            if isinstance(child, _Node):
                if child.tag == "img" and child.attrs.get("src"):
                    return child.attrs["src"]
                stack.append(child)
    return None
