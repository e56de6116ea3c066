"""The one HTML allow-list: what HTML may leave Loa, and what will be removed from a post.

Every article HTML a channel's template gets as ``content_html`` passes :func:`clean_article`
(``pipeline.render.Renderer.article_html``), so the portal, the preview and every other channel
receive the same, cleaned bytes. Feed HTML goes through :func:`clean` too, with the feed
sanitiser's narrower lists (``pipeline.feeds.sanitize``): one sanitiser, nh3 (Ammonia), configured
here and nowhere else.

What article HTML may hold (the authors' guide, docs/huong-dan-bien-tap.md, says the same):

- **tags** (:data:`ARTICLE_TAGS`): ``p br hr h1``-``h6`` ``strong b em i u s del ins mark small
  sub sup abbr cite q kbd code pre blockquote ul ol li dl dt dd table caption thead tbody tfoot
  tr th td colgroup col figure figcaption img a span div``; ``iframe`` only when the
  configuration lists hosts (``[site] iframe_hosts``; empty by default);
- **attributes** (:data:`ARTICLE_ATTRIBUTES`): ``href`` and ``title`` on links; ``src``, ``alt``,
  ``title``, ``width``, ``height`` on images; ``colspan``, ``rowspan`` and the column alignment
  Markdown writes (``style="text-align: left;"``, nothing else in ``style``) on table cells;
  ``src``, ``width``, ``height``, ``title``, ``allowfullscreen`` on iframes; ``class`` and ``id``
  on every tag when they are plain names (letters, digits, ``-``, ``_``);
- **addresses**: ``http``, ``https``, ``mailto``, ``tel`` and relative ones (images: no
  ``mailto``/``tel``); never ``javascript:``, ``data:``, ``vbscript:``. An iframe's ``src`` must be
  ``https://`` on a listed host.

Removed with everything inside them (:data:`DROP_WITH_CONTENT`): ``script style iframe``
(unless allowed) ``frame object embed applet svg math noscript template textarea select option
button form audio video canvas head title meta link base``. Any other tag is removed and its
text kept. Every other attribute (``on*`` event handlers, ``style``, ``srcset``...) and HTML
comments are removed.

:func:`removals` says what :func:`clean_article` will remove from an HTML fragment, element by
element and attribute by attribute (it compares the fragment before and after, so it cannot
disagree with the sanitiser); :func:`locate` finds each one's line in the post's Markdown, for the
warnings of ``loa check``.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Callable, Iterable
from urllib.parse import urlsplit

import nh3

__all__ = ["ARTICLE_TAGS", "ARTICLE_ATTRIBUTES", "DROP_WITH_CONTENT", "LINK_SCHEMES", "IMAGE_SCHEMES",
           "clean", "clean_article", "Removal", "removals", "locate"]

ARTICLE_TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "u", "s", "del", "ins",
    "mark", "small", "sub", "sup", "abbr", "cite", "q", "kbd", "code", "pre", "blockquote", "ul", "ol", "li",
    "dl", "dt", "dd", "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "colgroup", "col",
    "figure", "figcaption", "img", "a", "span", "div",
})
_CELL = frozenset({"colspan", "rowspan", "style"})
ARTICLE_ATTRIBUTES = {
    "*": frozenset({"class", "id"}),
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "abbr": frozenset({"title"}),
    "ol": frozenset({"start"}),  # a list numbered from 3 stays numbered from 3 (render.markdown_extensions)
    "th": _CELL,
    "td": _CELL,
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "iframe": frozenset({"src", "width", "height", "title", "allowfullscreen"}),
}
#: Removed together with everything inside them (in feeds too).
DROP_WITH_CONTENT = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "noscript",
    "template", "textarea", "select", "option", "button", "form", "audio", "video", "canvas", "head", "title",
    "meta", "link", "base",
})
LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
IMAGE_SCHEMES = frozenset({"http", "https"})

_NAMES = re.compile(r"[A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*)*")
_ALIGN = re.compile(r"text-align: (?:left|right|center);")
_VOID = frozenset({"meta", "link", "base", "embed", "frame", "img", "br", "hr", "col", "input", "source", "track",
                   "wbr", "area", "param"})
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*):")


def clean(html: str, *, tags: Iterable[str], attributes: dict, url_schemes: Iterable[str] = LINK_SCHEMES,
          attribute_filter: Callable[[str, str, str], str | None] | None = None,
          drop_with_content: Iterable[str] = DROP_WITH_CONTENT) -> str:
    """``html`` with only ``tags`` and ``attributes`` (nh3's form) left, comments removed, URLs
    limited to ``url_schemes``, and ``drop_with_content`` removed with their content. Adds nothing
    (no ``rel``). The article and the feed sanitisers are this call with their own lists."""
    return cleaner(tags=tags, attributes=attributes, url_schemes=url_schemes, attribute_filter=attribute_filter,
                   drop_with_content=drop_with_content).clean(html)


def cleaner(*, tags: Iterable[str], attributes: dict, url_schemes: Iterable[str] = LINK_SCHEMES,
            attribute_filter: Callable[[str, str, str], str | None] | None = None,
            drop_with_content: Iterable[str] = DROP_WITH_CONTENT) -> nh3.Cleaner:
    """The sanitiser :func:`clean` uses for these options (kept: the same options give the same
    one), for a caller that cleans many texts with one set of options."""
    tags = frozenset(tags)
    return _cleaner(tags, frozenset((k, frozenset(v)) for k, v in attributes.items()), frozenset(url_schemes),
                    attribute_filter, frozenset(drop_with_content) - tags)


@functools.lru_cache(maxsize=16)
def _cleaner(tags: frozenset[str], attributes: frozenset, url_schemes: frozenset[str],
             attribute_filter: Callable | None, drop: frozenset[str]) -> nh3.Cleaner:
    """nh3's sanitiser for these options, kept: ``nh3.clean`` builds one at every call (its lists
    turned into Rust sets), which cost as much as cleaning a post (``tests/test_htmlsafe.py``
    compares the two)."""
    return nh3.Cleaner(tags=set(tags), clean_content_tags=set(drop), attributes={k: set(v) for k, v in attributes},
                       url_schemes=set(url_schemes), link_rel=None, strip_comments=True,
                       attribute_filter=attribute_filter)


def _article_filter(hosts: frozenset[str]) -> Callable[[str, str, str], str | None]:
    def keep(tag: str, attr: str, value: str) -> str | None:
        if attr in ("class", "id"):
            return value if _NAMES.fullmatch(value.strip()) else None
        if attr == "style":  # table cells only (the allow-list): the alignment Markdown writes
            return value if _ALIGN.fullmatch(value.strip()) else None
        if tag == "iframe" and attr == "src":
            try:
                parts = urlsplit(value.strip())
                host = (parts.hostname or "").lower()
            except ValueError:
                return None
            return value if parts.scheme.lower() == "https" and host in hosts else None
        if tag == "img" and attr == "src":
            m = _SCHEME.match(value)
            if m and m.group(1).lower() not in IMAGE_SCHEMES:
                return None
        return value

    return keep


@functools.lru_cache(maxsize=8)
def _article_options(hosts: frozenset[str]) -> tuple[frozenset[str], dict, Callable]:
    tags = ARTICLE_TAGS | {"iframe"} if hosts else ARTICLE_TAGS
    attributes = {k: v for k, v in ARTICLE_ATTRIBUTES.items() if k != "iframe" or hosts}
    return tags, attributes, _article_filter(hosts)


@functools.lru_cache(maxsize=8)
def _article_cleaner(hosts: tuple[str, ...]) -> nh3.Cleaner:
    """:func:`cleaner` of the article's options for ``iframe_hosts`` as given (the renderer cleans
    every post with one list: the options are not made again for each)."""
    tags, attributes, keep = _article_options(frozenset(h.lower() for h in hosts))
    return cleaner(tags=tags, attributes=attributes, attribute_filter=keep)


def clean_article(html: str, iframe_hosts: Iterable[str] = ()) -> str:
    """The article HTML every channel gets: ``html`` through the allow-list above; iframes only
    from ``iframe_hosts`` (lower-case host names, ``https`` only)."""
    return _article_cleaner(tuple(iframe_hosts)).clean(html)


# -- what will be removed ---------------------------------------------------------------------

@dataclass(frozen=True)
class Removal:
    """One thing :func:`clean_article` removes: a ``tag`` (``attr`` is ``None``), an attribute
    ``attr`` of a kept ``tag`` with its ``value``, or an HTML comment (``tag == "!--"``)."""

    tag: str
    attr: str | None = None
    value: str = ""

    @property
    def kind(self) -> str:
        return "comment" if self.tag == "!--" else "attr" if self.attr else "tag"


class _Elements(HTMLParser):
    """Start tags as ``(tag, [(attr, value)])`` and comments as ``("!--", [])``, in order; what is
    inside a tag removed with its content is left out (its removal is the tag's)."""

    def __init__(self, drop: frozenset[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.drop = drop
        self.items: list[tuple[str, list[tuple[str, str]]]] = []
        self.inside: list[str] = []

    def handle_starttag(self, tag, attrs):
        self._start(tag, attrs, void=False)

    def handle_startendtag(self, tag, attrs):
        self._start(tag, attrs, void=True)

    def _start(self, tag, attrs, void):
        if self.inside:
            if tag == self.inside[-1] and not void:
                self.inside.append(tag)
            return
        self.items.append((tag, [(k, v or "") for k, v in attrs]))
        if tag in self.drop and not void and tag not in _VOID:
            self.inside.append(tag)

    def handle_endtag(self, tag):
        if self.inside and tag == self.inside[-1]:
            self.inside.pop()

    def handle_comment(self, data):
        if not self.inside:
            self.items.append(("!--", []))


def _elements(html: str, drop: frozenset[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    p = _Elements(drop)
    p.feed(html)
    p.close()
    return p.items


def removals(html: str, iframe_hosts: Iterable[str] = ()) -> list[Removal]:
    """What :func:`clean_article` removes from ``html``, in document order: compares the elements
    and attributes before and after cleaning (an attribute of a removed tag goes with its tag)."""
    hosts = frozenset(h.lower() for h in iframe_hosts)
    tags, _attributes, _keep = _article_options(hosts)
    drop = DROP_WITH_CONTENT - tags
    after = _elements(clean_article(html, hosts), drop)
    kept_tags = Counter(tag for tag, _a in after)
    kept_attrs = Counter((tag, k, v) for tag, attrs in after for k, v in attrs)
    out: list[Removal] = []
    for tag, attrs in _elements(html, drop):
        if kept_tags[tag] <= 0:
            out.append(Removal(tag))
            continue
        kept_tags[tag] -= 1
        for k, v in attrs:
            if kept_attrs[(tag, k, v)] > 0:
                kept_attrs[(tag, k, v)] -= 1
            else:
                out.append(Removal(tag, k, v))
    return out


def locate(body: str, found: Iterable[Removal]) -> list[tuple[int, Removal]]:
    """``(line index in body, removal)`` for each removal: where its value, its attribute's name
    or its tag is written in the Markdown ``body``. The n-th removal of a thing is placed at the
    n-th place it is written; one not found is placed on the first line."""
    cursors: dict[str, int] = {}
    out = []
    for r in found:
        needles: list[tuple[str, re.Pattern]] = []
        if r.kind == "comment":
            needles.append(("!--", re.compile(r"<!--")))
        else:
            if r.attr:
                if len(r.value.strip()) > 3:
                    needles.append(("v:" + r.value, re.compile(re.escape(r.value.strip()))))
                needles.append(("a:" + r.attr, re.compile(rf"(?<![\w-]){re.escape(r.attr)}\s*=", re.I)))
            needles.append(("t:" + r.tag, re.compile(rf"<\s*{re.escape(r.tag)}(?![\w-])", re.I)))
        pos = 0
        for key, pattern in needles:
            m = pattern.search(body, cursors.get(key, 0))
            if m:
                cursors[key] = m.end()
                pos = m.start()
                break
        out.append((body.count("\n", 0, pos), r))
    return out
