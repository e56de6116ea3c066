"""Problems in posts: references, dates, duplicates, links, channel limits, approval, text quality.

``check_posts`` takes posts already read by :mod:`pipeline.content` (which reported the problems
of single files) and adds what needs the configuration, the other posts, or the real renderings.
"""

from __future__ import annotations

import functools
import os
import re
from collections import defaultdict
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Iterable

from pipeline.messages import as_data
from pipeline.models import Post, Problem, Severity
from pipeline.paths import RealPaths

if TYPE_CHECKING:  # only annotations: importing the renderer pulls in Jinja2 and Markdown (~30 ms a command)
    from pipeline.render import Renderer


@functools.cache  # compiled on first use: a command that checks no post never needs it
def _md_link() -> re.Pattern:
    return re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _p(post: Post, line: int, code: str, severity=Severity.ERROR, col: int = 1, **args) -> Problem:
    return Problem(post.relpath, line, col, severity, code, MappingProxyType(args))


def check_post(post: Post, cfg) -> list[Problem]:
    """Problems of one post against the configuration."""
    out: list[Problem] = []
    L = post.line_of
    if not post.title:
        out.append(_p(post, L("title"), "post.empty-title"))
    if post.type and post.type not in cfg.types:
        out.append(_p(post, L("type"), "post.unknown-type", value=post.type, choices=", ".join(cfg.types)))
    unit = cfg.units.get(post.unit)
    if post.unit and unit is None:
        import difflib  # a hint for a mistake only: not loaded by a run without one
        hint = difflib.get_close_matches(post.unit, list(cfg.units), n=1)
        out.append(_p(post, L("unit"), "post.unknown-unit", value=post.unit,
                      hint_vi=f"; có phải `{hint[0]}`?" if hint else "", hint_en=f"; did you mean `{hint[0]}`?" if hint else ""))
    elif unit and post.publish_at is not None:
        day = post.publish_at.astimezone(cfg.tz).date()
        if not unit.in_force(day):
            succ = cfg.units.get(unit.successor) if unit.successor else None
            out.append(_p(post, L("unit"), "post.unit-not-in-force", value=post.unit, day=f"{day.day}/{day.month}/{day.year}",
                          successor_vi=f"; đơn vị kế thừa là `{succ.id}` ({succ.name})" if succ else "",
                          successor_en=f"; its successor is `{succ.id}` ({succ.name})" if succ else ""))
    for t in post.topics:
        if t not in cfg.topics:
            out.append(_p(post, L("topics"), "post.unknown-topic", value=t, choices=", ".join(cfg.topics)))
    for c in post.channels:
        if c not in cfg.channels:
            out.append(_p(post, L("channels") if "channels" in post.lines else L("type"), "post.unknown-channel",
                          value=c, choices=", ".join(cfg.channels)))
    for c in post.social:
        if c not in cfg.channels:
            out.append(_p(post, L("social"), "post.unknown-channel", value=c, choices=", ".join(cfg.channels)))
    if post.publish_at and post.expire_at and post.expire_at <= post.publish_at:
        out.append(_p(post, L("expire_at"), "post.expire-before-publish",
                      expire=f"{post.expire_at.astimezone(cfg.tz):%d/%m/%Y %H:%M}", publish=f"{post.publish_at.astimezone(cfg.tz):%d/%m/%Y %H:%M}"))
    if not post.body or post.body.isspace():  # not post.body.strip(), without copying the body
        out.append(_p(post, post.body_line, "post.empty-body"))
    if post.image and not post.image_alt:
        out.append(_p(post, L("image"), "image.no-alt"))
    out.extend(_approval(post, cfg))
    out.extend(check_html(post, cfg))
    out.extend(check_control(post))
    out.extend(check_placeholders(post))
    return out


def check_placeholders(post: Post) -> list[Problem]:
    """On a ready post, an error at every ``[Viết ở đây: ...]`` that ``loa new`` wrote and nobody
    replaced (:func:`pipeline.scaffold.placeholders`); a draft may keep them."""
    if post.status != "ready" or "[" not in post.body and "ở đây" not in post.body and "here" not in post.body:
        return []
    from pipeline.scaffold import placeholders

    return [_p(post, post.body_line + i, "post.placeholder", col=col, text=found)
            for i, col, found in placeholders(post.body)]


def _approval(post: Post, cfg) -> list[Problem]:
    from pipeline import approval

    return approval.problems(post, cfg)


def is_approved(post: Post, cfg) -> bool:
    """True when a board member who is not the author approved exactly this content
    (:func:`pipeline.approval.is_approved`)."""
    from pipeline import approval

    return approval.is_approved(post, cfg)


def check_duplicates(posts: Iterable[Post], *, index: "SiteIndex | None" = None) -> list[Problem]:
    """An error on every post sharing its id, or its (folded) slug, with another post. ``index``:
    what the session kept from the last revision; only the groups of the posts that changed are
    looked at again (tests/test_checks_incremental.py compares both ways)."""
    if index is not None:
        return index.duplicates(posts)
    by_id: dict[str, list[Post]] = defaultdict(list)
    by_slug: dict[str, list[Post]] = defaultdict(list)
    for p in posts:
        by_id[p.id].append(p)
        if p.slug:
            by_slug[_slug_key(p)].append(p)
    return _duplicate_problems([("id", v, ps) for v, ps in by_id.items()] + [("slug", v, ps) for v, ps in by_slug.items()])


def _slug_key(post: Post) -> str:
    """An explicit slug may keep letters with diacritics: the folded forms are compared."""
    slug = post.slug
    if _plain_slug().fullmatch(slug):  # what fold leaves as it is: most slugs (loa new makes them so)
        return slug
    from pipeline.vietnamese import fold

    return fold(slug).replace(" ", "-")


@functools.cache  # compiled on first use, as _md_link
def _plain_slug() -> re.Pattern:
    # lower-case ASCII letters, digits and hyphens: no case to fold, no mark to strip, no space to collapse
    return re.compile(r"[a-z0-9-]+")


def _duplicate_problems(groups) -> list[Problem]:
    """``groups``: (key, value, posts) in the order to report them, the posts in file order."""
    out: list[Problem] = []
    for key, value, ps in groups:
        if len(ps) < 2:
            continue
        code = f"post.duplicate-{key}"
        for p in ps:
            others = ", ".join(o.relpath for o in ps if o is not p)
            out.append(_p(p, p.line_of(key) if key in p.lines else p.line_of("title"), code, value=value, other=others))
    return out


# What can make the sanitiser remove something: raw HTML (``<``), an attribute list (``{``), or a
# URL scheme other than http(s), mailto and tel. A body with none of them needs no conversion.
@functools.cache  # compiled on first use, as _md_link
def _may_lose() -> re.Pattern:
    return re.compile(r"[<{]|(?<![\w+.-])(?!(?:https?|mailto|tel):)[a-z][a-z0-9+.-]*:(?=\S)", re.I)


_CONVERTER: list = []  # one Markdown converter per process, made on first use


def may_lose(body: str, *, fast: bool = True) -> bool:
    """Whether :func:`_may_lose`'s pattern matches ``body`` (``fast=False``: just that search; the tests compare
    the two). The search tries its three branches at every character of the body; without ``<``
    or ``{``, a match can only be a scheme's letters just before a ``:``, so the fast way looks only
    at each ``:``, from the start of the run of letters, digits and ``+.-`` before it (a superset
    of the scheme's characters, also under ``re.I``), with the same pattern: the same answer."""
    pattern = _may_lose()
    if not fast or "<" in body or "{" in body:
        return pattern.search(body) is not None
    i = body.find(":")
    while i != -1:
        lo = i
        while lo and (body[lo - 1].isalnum() or body[lo - 1] in "+.-"):
            lo -= 1
        if lo < i and pattern.search(body, lo, i + 2):  # the lookbehind still sees body[lo - 1]
            return True
        i = body.find(":", i + 1)
    return False


def check_html(post: Post, cfg) -> list[Problem]:
    """A warning, with its line, for every tag, attribute and comment of the body's HTML that the
    portal's allow-list (:mod:`pipeline.htmlsafe`) will remove: the post is still published, without it."""
    if not may_lose(post.body):
        return []
    from pipeline import htmlsafe
    from pipeline.render import new_markdown

    if not _CONVERTER:
        _CONVERTER.append(new_markdown())
    try:
        html = _CONVERTER[0].reset().convert(post.body)
    except Exception:
        _CONVERTER[0] = new_markdown()  # a convert stopped half-way spoils its instance: see Renderer.article_html
        raise
    found = htmlsafe.removals(html, cfg.iframe_hosts)
    out = []
    for i, r in htmlsafe.locate(post.body, found):
        line = post.body_line + i
        if r.kind == "attr":
            out.append(_p(post, line, "html.removed-attr", Severity.WARNING, tag=r.tag, attr=r.attr, at=line,
                          value=r.value if len(r.value) <= 60 else r.value[:57] + "..."))
        else:
            out.append(_p(post, line, f"html.removed-{r.kind}", Severity.WARNING, tag=r.tag, at=line))
    return out


def check_links(post: Post, content_dir: Path, *, resolved: Path | None = None,
                real: RealPaths | None = None) -> list[Problem]:
    """Relative links in the body must lead to a file inside content/ (``resolved``: the content
    folder's real path, and ``real``: one :class:`pipeline.paths.RealPaths` for the pass, when the
    caller checks many posts, so that a folder's real path is looked up once, not per link)."""
    links = _relative_links(post)
    if not links:
        return []
    root, real, folder = str(resolved or content_dir.resolve()), real or RealPaths(), str(post.path.parent)
    return [_p(post, post.body_line + i, "post.broken-link", col=col, value=value)
            for i, col, value, target in links if not _leads_inside(real, folder, target, root)[0]]


def check_site_links(posts: Iterable[Post], content_dir: Path, *, index: "SiteIndex | None" = None) -> list[Problem]:
    """:func:`check_links` of every post, in order. ``index``: what the session kept from the last
    revision; only the links that a change can have broken or mended are resolved again (see
    :class:`SiteIndex`; tests/test_checks_incremental.py compares both ways)."""
    root, real = content_dir.resolve(), RealPaths()
    if index is not None:
        return index.links(posts, str(root), real)
    return [p for post in posts for p in check_links(post, content_dir, resolved=root, real=real)]


@functools.cache  # compiled on first use, as _md_link
def _scheme() -> re.Pattern:
    return re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def _relative_links(post: Post, *, fast: bool = True) -> list[tuple[int, int, str, str]]:
    """(line in the body, column, link as written, path part) of each relative Markdown link.
    Links are matched line by line (a link's text may not run over a line break). The fast way
    cuts out only the lines holding a ``](``, which every link holds, tries the pattern only at
    each ``[`` of them, where a match starts (its lookbehind still sees the character before),
    going on after each match as ``finditer`` does, and counts lines only to a line with a
    relative link; ``fast=False``: ``finditer`` over every line (the tests compare the two)."""
    out: list[tuple[int, int, str, str]] = []
    body = post.body
    at = _link_mark(body, 0)
    if at == -1:  # no Markdown link at all: nothing to resolve
        return out
    link = _md_link()
    if not fast:
        for i, line in enumerate(body.split("\n")):
            if "](" in line:
                out.extend((i, *x) for x in _relative(link.finditer(line)))
        return out
    i, start = 0, 0  # the line index of the body's offset `start`
    while at != -1:
        line_start = body.rfind("\n", 0, at) + 1
        end = body.find("\n", at)
        if end == -1:
            end = len(body)
        line, found = body[line_start:end], []
        s = line.find("[")
        while s != -1:
            m = link.match(line, s)
            if m is None:
                s = line.find("[", s + 1)
            else:
                found.append(m)
                s = line.find("[", m.end())
        kept = _relative(found)
        if kept:
            i += body.count("\n", start, line_start)
            start = line_start
            out.extend((i, *x) for x in kept)
        at = _link_mark(body, end)
    return out


def _link_mark(text: str, start: int) -> int:
    """``text.find("](", start)``, as the ``]`` followed by a ``(``: finding one character is the
    quick search in long non-ASCII text, and a body has few ``]``."""
    at = text.find("]", start)
    while at != -1 and text[at + 1:at + 2] != "(":
        at = text.find("]", at + 1)
    return at


def _relative(matches: Iterable[re.Match]) -> list[tuple[int, str, str]]:
    """(column, link as written, path part) of the relative links among the link ``matches`` of a line."""
    scheme, out = _scheme(), []
    for m in matches:
        target = m.group(1).split("#", 1)[0]
        if not target or scheme.match(target) or target.startswith(("/", "#")):
            continue
        out.append((m.start(1) + 1, m.group(1), target))
    return out


def _leads_inside(real: RealPaths, folder: str, target: str, root: str) -> tuple[bool, str | None]:
    """Whether ``target`` (relative to ``folder``) is a file inside ``root``, and the real path it
    leads to (``None``: none, or outside)."""
    resolved = real.join(folder, target)  # (post.path.parent / target).resolve(): absolute and normalized
    if "\x00" in resolved:  # no file has such a name
        return False, None
    if resolved != root and not resolved.startswith(root if root.endswith("/") else root + "/"):  # outside content/
        return False, None
    return os.path.exists(resolved), resolved


def _changes(kept: dict[str, Post], posts: Iterable[Post]) -> tuple[list[Post], list[str]]:
    """The posts that are not the version in ``kept`` (relpath -> post), and the relpaths of
    ``kept`` no longer among ``posts``. An unchanged file is the same object from one revision to
    the next (:class:`pipeline.content.PostCache`), so identity tells a post changed."""
    changed, n, get = [], 0, kept.get
    for p in posts:
        n += 1
        if get(p.relpath) is not p:
            changed.append(p)
    if n - sum(1 for p in changed if p.relpath not in kept) == len(kept):
        return changed, []
    names = {p.relpath for p in posts}
    return changed, [r for r in kept if r not in names]


class DuplicateIndex:
    """What :func:`check_duplicates` keeps between revisions: each post's id and folded slug and
    the posts sharing each. Only the groups of posts that changed, came or went are updated."""

    def __init__(self) -> None:
        self._posts: dict[str, Post] = {}
        self._keys: dict[str, tuple[tuple[str, str], ...]] = {}  # relpath -> its groups
        self._groups: dict[tuple[str, str], dict[str, Post]] = {}  # ("id"|"slug", value) -> relpath -> post
        self._dups: set[tuple[str, str]] = set()  # groups of two posts or more

    def duplicates(self, posts: Iterable[Post]) -> list[Problem]:
        posts = posts if isinstance(posts, list) else list(posts)
        try:
            return self._duplicates(posts)
        except BaseException:  # half updated: start over next time rather than keep a wrong index
            self.__init__()
            raise

    def _duplicates(self, posts: list[Post]) -> list[Problem]:
        changed, gone = _changes(self._posts, posts)
        for rel in gone + [p.relpath for p in changed if p.relpath in self._posts]:
            del self._posts[rel]
            for k in self._keys.pop(rel):
                group = self._groups[k]
                del group[rel]
                if len(group) < 2:
                    self._dups.discard(k)
                if not group:
                    del self._groups[k]
        for p in changed:
            self._posts[p.relpath] = p
            keys = self._keys[p.relpath] = (("id", p.id),) + ((("slug", _slug_key(p)),) if p.slug else ())
            for k in keys:
                group = self._groups.setdefault(k, {})
                group[p.relpath] = p
                if len(group) > 1:
                    self._dups.add(k)
        if not self._dups:
            return []
        pos = {p.relpath: i for i, p in enumerate(posts)}  # the full check's order: by first file, in file order
        groups = [(k, sorted(self._groups[k].values(), key=lambda p: pos[p.relpath])) for k in self._dups]
        groups.sort(key=lambda g: (g[0][0] != "id", pos[g[1][0].relpath]))
        return _duplicate_problems([(k[0], k[1], ps) for k, ps in groups])


class LinkIndex:
    """What :func:`check_site_links` keeps between revisions of one session's content, so that an
    edit costs the links it can change, not the site's.

    Kept per post file: the post version last checked, the real path of its file, its relative
    links, the real path each led to, and its broken-link problems. A new revision resolves again
    the links of the posts that changed or came; those leading to a post file that came or went
    (by real path); and, at every revision, every link of a post with a link whose answer does not
    rest on the post files alone: a link to a file that is not a post, a broken link, a link
    through a linked folder or file. A link kept is one that led, without a symbolic link on the
    way, to a post's file, which is there as long as that post is listed (the listing does not
    enter linked folders, so a folder replaced by a link takes its posts away). A new real path of
    the content folder starts over.
    """

    def __init__(self) -> None:
        self._root: str | None = None
        self._posts: dict[str, Post] = {}
        self._where: dict[str, str] = {}  # relpath -> real path of the post's file
        self._count: dict[str, int] = {}  # real path -> posts whose file it is (a linked post file: 2)
        self._links: dict[str, tuple[str, list]] = {}  # relpath -> its post's folder, and _relative_links
        self._kept: dict[str, frozenset[str]] = {}  # relpath -> the post files its steady links lead to
        self._linkers: dict[str, set[str]] = {}  # real path of a post file -> relpaths with a steady link to it
        self._unsteady: set[str] = set()  # relpaths resolved again at every revision
        self._problems: dict[str, list[Problem]] = {}  # relpath -> broken links (only posts with some)

    def unsteady(self) -> bool:
        """Whether some link's answer rests on more than the post files (it is resolved again at
        every call, even for the same revision)."""
        return bool(self._unsteady)

    def links(self, posts: Iterable[Post], root: str, real: RealPaths) -> list[Problem]:
        posts = posts if isinstance(posts, list) else list(posts)
        try:
            return self._links_of(posts, root, real)
        except BaseException:  # half updated: start over next time rather than keep a wrong index
            self.__init__()
            raise

    def _links_of(self, posts: list[Post], root: str, real: RealPaths) -> list[Problem]:
        if root != self._root:
            self.__init__()
            self._root = root
        changed, gone = _changes(self._posts, posts)
        before: dict[str, int] = {}  # real path -> posts there before this revision (of the paths touched)
        for rel in gone + [p.relpath for p in changed if p.relpath in self._posts]:
            self._forget(rel, before)
        for p in changed:
            folder = str(p.path.parent)
            where = real.join(folder, p.path.name)
            before.setdefault(where, self._count.get(where, 0))
            self._posts[p.relpath], self._where[p.relpath] = p, where
            self._count[where] = self._count.get(where, 0) + 1
            self._links[p.relpath] = folder, _relative_links(p)
        again = {p.relpath for p in changed} | self._unsteady
        for where, n in before.items():
            if (n > 0) != (self._count.get(where, 0) > 0):  # a post file came or went: links to it
                again |= self._linkers.get(where, set())
        for rel in again:
            self._resolve(rel, real)
        if not self._problems:
            return []
        return [x for p in posts if p.relpath in self._problems for x in self._problems[p.relpath]]

    def _forget(self, rel: str, before: dict[str, int]) -> None:
        del self._posts[rel], self._links[rel]
        where = self._where.pop(rel)
        before.setdefault(where, self._count[where])
        self._count[where] -= 1
        if not self._count[where]:
            del self._count[where]
        self._unlink(rel)
        self._unsteady.discard(rel)
        self._problems.pop(rel, None)

    def _unlink(self, rel: str) -> None:
        for target in self._kept.pop(rel, ()):
            linkers = self._linkers[target]
            linkers.discard(rel)
            if not linkers:
                del self._linkers[target]

    def _resolve(self, rel: str, real: RealPaths) -> None:
        """:func:`check_links` of one post, noting which of its links the next revision may keep."""
        post = self._posts[rel]
        folder, links = self._links[rel]
        steady, unsteady, problems = [], False, []
        for i, col, value, target in links:
            ok, led = _leads_inside(real, folder, target, self._root)
            if not ok:
                problems.append(_p(post, post.body_line + i, "post.broken-link", col=col, value=value))
            if ok and led in self._count and led == os.path.normpath(os.path.join(real.folder(folder), target)):
                steady.append(led)
            else:
                unsteady = True
        self._unlink(rel)
        if steady:
            self._kept[rel] = frozenset(steady)
            for target in steady:
                self._linkers.setdefault(target, set()).add(rel)
        (self._unsteady.add if unsteady else self._unsteady.discard)(rel)
        if problems:
            self._problems[rel] = problems
        else:
            self._problems.pop(rel, None)


def check_renderings(post: Post, renderer: Renderer, rendered=None) -> list[Problem]:
    """Render for every channel of the post (or take ``rendered``, what ``renderer.render_all``
    gave) and compare with the channel's limit."""
    out: list[Problem] = []
    renderings, errors = rendered if rendered is not None else renderer.render_all(post)
    for err in errors:
        # the reason as data (the check cache is JSON), so loa check says it in the reader's language
        out.append(_p(post, 1, "channel.render", channel=err.channel, detail=as_data(err.reason)))
    for r in renderings:
        if r.over_limit:
            line = post.line_of("social") if r.channel in post.social else post.line_of("summary") if "summary" in post.lines else post.line_of("title")
            out.append(_p(post, line, "channel.over-limit", channel=r.channel, length=r.length, limit=r.limit))
        if r.channel_type == "zalo" and r.image_path is None:
            out.append(_p(post, post.line_of("channels") if "channels" in post.lines else post.line_of("type"),
                          "channel.needs-image", Severity.WARNING if not renderer.cfg.channels[r.channel].enabled else Severity.ERROR,
                          channel=r.channel))
    return out


def check_text(post: Post, cfg) -> list[Problem]:
    """Vietnamese text quality (NFC, legacy encodings, mojibake, tone style, Ð), if available.
    Only warnings: text quality never holds a post (the publish gate does not run this)."""
    try:
        from pipeline import vietnamese as vn
    except ImportError:  # pragma: no cover
        return []
    if not hasattr(vn, "find_issues"):
        return []
    out: list[Problem] = []
    text = post.path.read_text(encoding="utf-8")
    for issue in vn.find_issues(text, tone_style=cfg.tone_style, protect=cfg.proper_names):
        args = issue.args if hasattr(issue, "args") else {"words": ", ".join(issue.words[:8])}
        out.append(Problem(post.relpath, issue.line, issue.col, Severity.WARNING, issue.code, MappingProxyType(dict(args))))
    if hasattr(vn, "looks_unaccented"):
        for key, value in (("title", post.title), ("summary", post.summary if "summary" in post.lines else "")):
            if value and vn.looks_unaccented(value):
                out.append(_p(post, post.line_of(key), "text.no-diacritics", Severity.WARNING, field=key, words=value[:60]))
    return out



def post_problems(post: Post, cfg, renderer: Renderer, renderings=None) -> list[Problem]:
    """A post's own problems, those the publish gate reads: its front matter against the
    configuration and its renderings against the channels (``renderings``: the result of
    ``renderer.render_all(post)`` when the caller has it already). Text quality
    (:func:`check_text`, warnings only), links and duplicates are checked apart."""
    return check_post(post, cfg) + check_renderings(post, renderer, renderings)


_CONTROL_FIELDS = (("title", "tiêu đề", "the title"), ("summary", "tóm tắt", "the summary"),
                   ("image_alt", "mô tả ảnh `image_alt`", "`image_alt`"), ("correction", "lời đính chính `correction`", "`correction`"),
                   ("retracted", "lý do gỡ bài `retracted`", "`retracted`"))


def check_control(post: Post, *, fast: bool = True) -> list[Problem]:
    """Control characters and bidirectional overrides (``vietnamese.CONTROL``) in what is
    published: an error with the line (and, in the body, the column). They hide text, or show
    other text than is stored, on every channel and in the terminal. ``fast=False``: no first
    search of all of it at once (the tests compare the two)."""
    from pipeline.vietnamese import CONTROL, control_chars

    out: list[Problem] = []
    fields = [(k, vi, en, getattr(post, k) or "") for k, vi, en in _CONTROL_FIELDS if k != "summary" or "summary" in post.lines]
    if fast:
        # CONTROL leaves out the line break: the texts joined by it hold a match when, and only when,
        # one of the searches below finds one (most posts have none). Every CONTROL character is
        # unprintable, and in most texts line breaks and tabs are the only others: then
        # isprintable, quicker than the search, says there is none
        joined = "\n".join([f[3] for f in fields] + [*post.social.values(), post.body])
        if joined.replace("\n", " ").replace("\t", " ").isprintable() or CONTROL.search(joined) is None:
            return out
    fields += [(f"social.{c}", f"nội dung cho kênh {c} (`social.{c}`)", f"the text for {c} (`social.{c}`)", t)
               for c, t in post.social.items()]
    for key, vi, en, value in fields:
        if CONTROL.search(value):
            out.append(_p(post, post.line_of(key.split(".")[0]), "post.control-char", field_vi=vi, field_en=en,
                          chars=control_chars(value)))
    if CONTROL.search(post.body):
        for i, line in enumerate(post.body.split("\n")):
            m = CONTROL.search(line)
            if m is not None:
                out.append(_p(post, post.body_line + i, "post.control-char", col=m.start() + 1, field_vi="nội dung bài",
                              field_en="the body", chars=control_chars(line)))
    return out
