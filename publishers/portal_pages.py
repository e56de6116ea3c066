"""The pages of the static e-portal around its articles: the layout (header with the
organisation's name and emblem, navigation, breadcrumbs, the footer a government portal must
carry), the lists (home, type, unit, topic, month) with pagination, the hubs, the search shards
and the redirect pages that keep old addresses working.

:mod:`publishers.static_site` decides what to write and when; this module only turns manifest
entries into HTML. The templates are ``templates/portal/site/*.html``: the content repository's
own ``templates/portal/site/`` first, then Loa's (:func:`pipeline.paths.templates_dirs`).

Pagination is numbered from the oldest article: page ``k`` of a list always holds the same
articles (the ``k``-th twenty in time order), so a new article changes only the last page and the
list's front page, and an address like ``chu-de/cchc/trang-3.html`` keeps showing what it showed.
"""

from __future__ import annotations

import functools
import hashlib
import html
import itertools
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from pipeline.paths import templates_dirs
from pipeline.vndates import dmy, thu

PER_PAGE = 20
#: The hubs: the folder that holds the lists of one kind, and its title.
HUBS = {"loai": "Chuyên mục", "chu-de": "Chủ đề", "don-vi": "Đơn vị", "luu-tru": "Lưu trữ"}
MONTHS = "tháng {m}/{y}"
SEARCH_DIR = "tim-kiem"
SEARCH_PREFIX = "window.LOA_SEARCH=(window.LOA_SEARCH||[]).concat("
SEARCH_SUFFIX = ");\n"
_TAGS = re.compile(r"<[^>]*>")
_WORD = re.compile(r"[0-9a-z]+")
_TOKEN = re.compile(r"[^\W_]+")


class Group(NamedTuple):
    """One list of articles: ``path`` of its front page (``chu-de/cchc.html``), its title, and
    the hub it belongs to (``None`` for the home page). A tuple: every article names its lists
    each time the site's store reads it."""

    path: str
    title: str
    hub: str | None

    def page(self, k: int) -> str:
        """Address of page ``k`` (1 = the oldest twenty)."""
        stem = self.path[:-len(".html")]
        return f"trang-{k}.html" if self.path == "index.html" else f"{stem}/trang-{k}.html"


HOME = Group("index.html", "", None)


def month_of(a: dict, tz) -> str | None:
    """``2024-03``: the month of the article's publication, in the site zone."""
    pub = a.get("publish_at")
    return _month(pub, tz) if pub else None


@functools.lru_cache(maxsize=65536)
def _month(pub: str, tz) -> str:
    when = datetime.fromisoformat(pub)
    when = when.astimezone(tz) if tz and when.tzinfo else when
    return f"{when.year}-{when.month:02d}"  # as strftime("%Y-%m") writes it (no padding of the year)


def list_paths(a: dict, tz) -> list[str]:
    """The front page of every list that shows article ``a``, the home page's first: the one rule
    of which lists an article is on (:func:`groups_of` names them)."""
    out = ["index.html"]
    kind, unit, topics = a.get("type"), a.get("unit"), a.get("topics")
    if kind:
        out.append(f"loai/{kind}.html")
    if unit:
        out.append(f"don-vi/{unit}.html")
    if topics:
        out += [f"chu-de/{tid}.html" for tid in topics]
    month = month_of(a, tz)
    if month:
        out.append(f"luu-tru/{month}.html")
    return out


def group_of(a: dict, path: str) -> Group:
    """The list at ``path`` (one of :func:`list_paths`) as article ``a`` names it."""
    hub, _, rest = path.partition("/")
    if not rest:
        return HOME
    name = rest[:-len(".html")]
    if hub == "loai":
        title = a.get("type_label") or name
    elif hub == "don-vi":
        title = a.get("unit_name") or name
    elif hub == "chu-de":
        title = a["topics"][name]
    else:
        title = MONTHS.format(m=int(name[-2:]), y=name[:-3])
    return tuple.__new__(Group, (path, title, hub))


def groups_of(a: dict, tz) -> list[Group]:
    """Every list that shows article ``a``, its home page first."""
    return [group_of(a, path) for path in list_paths(a, tz)]


def last_page(n: int) -> int:
    """The number of the newest numbered page of a list of ``n`` articles (1 when it has none)."""
    return max(1, -(-n // PER_PAGE))


def pages_of(group: Group, items, numbered: range | None = None) -> list[tuple[str, list[dict], dict]]:
    """The pages of a list, as (path, articles newest first, navigation): the front page with the
    newest twenty, then page 1..n with the twenty-by-twenty oldest first (only the numbers in
    ``numbered``, when given: the pages a change can have reached). ``items`` oldest first."""
    n = len(items)
    last = last_page(n)
    out = []
    older = (n - PER_PAGE - 1) // PER_PAGE + 1 if n > PER_PAGE else None
    out.append((group.path, items[max(0, n - PER_PAGE):][::-1], {"older": group.page(older) if older else None, "newer": None}))
    if n > PER_PAGE:
        for k in range(1, last + 1) if numbered is None else range(max(1, numbered.start), min(last, numbered.stop - 1) + 1):
            chunk = items[(k - 1) * PER_PAGE:k * PER_PAGE]
            nav = {"older": group.page(k - 1) if k > 1 else None,
                   "newer": group.page(k + 1) if k < last else group.path, "number": k}
            out.append((group.page(k), chunk[::-1], nav))
    return out


def page_key(items: list[dict], nav: dict, title: str) -> str:
    """What a list page shows, as a short hash: a page whose key did not change is not written again."""
    parts = [title, json.dumps(nav, sort_keys=True)] + [f"{a['path']}:{a.get('version')}:{a.get('updated')}" for a in items]
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=12).hexdigest()


def search_words(*texts: str) -> str:
    """The folded words of ``texts`` (HTML tags dropped), each once, in order: what the search
    page matches a folded query against, so ``thu tuc`` finds ``thủ tục`` and ``dang ky`` ``đăng ký``.
    Each token is folded once (a repeated token adds no new word, so dropping repeats first keeps the order)."""
    plain = " ".join(html.unescape(_TAGS.sub(" ", text or "")) for text in texts).lower()
    tokens = dict.fromkeys(_TOKEN.findall(plain))
    return " ".join(dict.fromkeys(itertools.chain.from_iterable(map(_folded, tokens))))


@functools.lru_cache(maxsize=65536)
def _folded(token: str) -> tuple[str, ...]:
    """The folded words of one token: a language has a few thousand syllables, so folding each
    once (``pipeline.vietnamese.fold``, character by character) instead of every body is 10 x faster.
    Imported here, on a cache miss only: a re-run with nothing changed builds no page and need not
    import the encoding tables."""
    from pipeline.vietnamese import fold

    return tuple(_WORD.findall(fold(token)))


def read_shard(text: str) -> list[dict]:
    """The entries of a search shard written by :func:`shard_text` (``[]`` when it is not one)."""
    if not (text.startswith(SEARCH_PREFIX) and text.endswith(SEARCH_SUFFIX)):
        return []
    try:
        data = json.loads(text[len(SEARCH_PREFIX):-len(SEARCH_SUFFIX)])
    except ValueError:
        return []
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []


def shard_text(entries: list[dict]) -> str:
    """A search shard: a script (so the search works from ``file://`` too, where a page cannot
    fetch JSON) adding its entries to ``window.LOA_SEARCH``. ``</`` is escaped so no title can end it."""
    data = json.dumps(entries, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return SEARCH_PREFIX + data + SEARCH_SUFFIX


class Layout:
    """Renders the portal's pages for one site: ``root`` the content repository (its own
    templates), ``info`` the organisation's branding and legal footer (channel options), ``tz``
    the site zone."""

    def __init__(self, root, site_name: str, info: dict, tz, groups_titles=None):
        self.site_name, self.info, self.tz = site_name, info, tz
        self.env = _env(tuple(templates_dirs(root)), tz)

    def _ctx(self, path: str, **kw) -> dict:
        depth = path.count("/")
        up = "../" * depth
        return {"site": self.site_name, "info": self.info, "up": up, "hubs": HUBS, "description": "",
                "emblem": (up + self.info["emblem"]) if self.info.get("emblem") and "://" not in self.info["emblem"]
                else self.info.get("emblem"), **kw}

    def card(self, a: dict) -> dict:
        """What a list shows of one article."""
        date, iso = _dates(a["publish_at"], self.tz) if a.get("publish_at") else ("", "")
        return {**a, "date": date, "iso": iso}

    def article(self, path: str, a: dict, body: str, related: list[dict]) -> str:
        crumbs = [("index.html", "Trang chủ")]
        if a.get("type"):
            crumbs.append((f"loai/{a['type']}.html", a.get("type_label") or a["type"]))
        return self.env.get_template("portal/site/article.html").render(
            **{**self._ctx(path, title=a["title"], crumbs=crumbs, a=self.card(a), body=body,
                           related=[self.card(r) for r in related]), "description": a.get("summary") or ""})

    def listing(self, path: str, group: Group, items: list[dict], nav: dict) -> str:
        title = group.title or self.site_name
        crumbs = [("index.html", "Trang chủ")]
        if group.hub:
            crumbs.append((f"{group.hub}/index.html", HUBS[group.hub]))
        if nav.get("number"):
            crumbs.append((group.path, title))
        return self.env.get_template("portal/site/list.html").render(
            **self._ctx(path, title=title, crumbs=crumbs if group.hub or nav.get("number") else [], nav=nav,
                        cards=[self.card(a) for a in items], home=group.hub is None and not nav.get("number"),
                        number=nav.get("number")))

    def hub(self, hub: str, groups: list[tuple[str, str, int]]) -> str:
        path = f"{hub}/index.html"
        return self.env.get_template("portal/site/hub.html").render(
            **self._ctx(path, title=HUBS[hub], crumbs=[("index.html", "Trang chủ")], groups=groups))

    def search(self, shards: list[str]) -> str:
        path = f"{SEARCH_DIR}/index.html"
        return self.env.get_template("portal/site/search.html").render(
            **self._ctx(path, title="Tìm kiếm", crumbs=[("index.html", "Trang chủ")], shards=shards))

    def redirect(self, path: str, target: str, title: str) -> str:
        href = os.path.relpath(target, os.path.dirname(path) or ".")
        return self.env.get_template("portal/site/redirect.html").render(
            **self._ctx(path, title=title, href=href, crumbs=[]))


@functools.lru_cache(maxsize=65536)
def _dates(publish_at: str, tz) -> tuple[str, str]:
    """A card's date as shown (``Thứ hai, 25/03/2024``) and as ``datetime``: a list page shows
    twenty cards, an article is on several lists, and many share a publication time."""
    pub = datetime.fromisoformat(publish_at)
    return f"{thu(pub, tz)}, {dmy(pub, tz)}", pub.isoformat()


def asset(name: str, root) -> str:
    """A static file of the theme (``site.css``, ``search.js``), the content repository's first."""
    for folder in templates_dirs(root):
        path = Path(folder) / "portal" / "site" / name
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise FileNotFoundError(name)


@functools.lru_cache(maxsize=4)
def _env(dirs: tuple[str, ...], tz):
    """Loa's one sandboxed environment (:mod:`pipeline.templating`): the layout may come from the
    content repository, which is not trusted with the server."""
    from pipeline.templating import environment

    return environment([Path(d) for d in dirs], tz, autoescape=True)
