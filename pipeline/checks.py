"""Problems in posts: references, dates, duplicates, links, channel limits, approval, text quality.

``check_posts`` takes posts already read by :mod:`pipeline.content` (which reported the problems
of single files) and adds what needs the configuration, the other posts, or the real renderings.
"""

from __future__ import annotations

import difflib
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

_MD_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


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
    if not post.body.strip():
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


def check_duplicates(posts: Iterable[Post]) -> list[Problem]:
    out: list[Problem] = []
    by_id: dict[str, list[Post]] = defaultdict(list)
    by_slug: dict[str, list[Post]] = defaultdict(list)
    from pipeline.vietnamese import fold

    for p in posts:
        by_id[p.id].append(p)
        if p.slug:
            # an explicit slug may keep letters with diacritics: compare the folded forms
            by_slug[fold(p.slug).replace(" ", "-")].append(p)
    for group, code, key in ((by_id, "post.duplicate-id", "id"), (by_slug, "post.duplicate-slug", "slug")):
        for value, ps in group.items():
            if len(ps) < 2:
                continue
            for p in ps:
                others = ", ".join(o.relpath for o in ps if o is not p)
                out.append(_p(p, p.line_of(key) if key in p.lines else p.line_of("title"), code, value=value, other=others))
    return out


# What can make the sanitiser remove something: raw HTML (``<``), an attribute list (``{``), or a
# URL scheme other than http(s), mailto and tel. A body with none of them needs no conversion.
_MAY_LOSE = re.compile(r"[<{]|(?<![\w+.-])(?!(?:https?|mailto|tel):)[a-z][a-z0-9+.-]*:(?=\S)", re.I)
_CONVERTER: list = []  # one Markdown converter per process, made on first use


def may_lose(body: str, *, fast: bool = True) -> bool:
    """Whether ``_MAY_LOSE`` matches ``body`` (``fast=False``: just that search; the tests compare
    the two). The search tries its three branches at every character of the body; without ``<``
    or ``{``, a match can only be a scheme's letters just before a ``:``, so the fast way looks only
    at each ``:``, from the start of the run of letters, digits and ``+.-`` before it (a superset
    of the scheme's characters, also under ``re.I``), with the same pattern: the same answer."""
    if not fast or "<" in body or "{" in body:
        return _MAY_LOSE.search(body) is not None
    i = body.find(":")
    while i != -1:
        lo = i
        while lo and (body[lo - 1].isalnum() or body[lo - 1] in "+.-"):
            lo -= 1
        if lo < i and _MAY_LOSE.search(body, lo, i + 2):  # the lookbehind still sees body[lo - 1]
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
    found = htmlsafe.removals(_CONVERTER[0].reset().convert(post.body), cfg.iframe_hosts)
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
    out: list[Problem] = []
    if "](" not in post.body:  # no Markdown link at all: nothing to resolve
        return out
    root = resolved or content_dir.resolve()
    real = real or RealPaths()
    folder = str(post.path.parent)
    for i, line in enumerate(post.body.split("\n")):
        if "](" not in line:  # every _MD_LINK match holds one
            continue
        for m in _MD_LINK.finditer(line):
            target = m.group(1).split("#", 1)[0]
            if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith(("/", "#")):
                continue
            try:  # ValueError: outside content/, or a NUL in the name
                resolved = Path(real.join(folder, target))  # (post.path.parent / target).resolve()
                resolved.relative_to(root)
                ok = resolved.exists()
            except ValueError:
                ok = False
            if not ok:
                out.append(_p(post, post.body_line + i, "post.broken-link", col=m.start(1) + 1, value=m.group(1)))
    return out


def check_renderings(post: Post, renderer: Renderer, rendered=None) -> list[Problem]:
    """Render for every channel of the post (or take ``rendered``, what ``renderer.render_all``
    gave) and compare with the channel's limit."""
    out: list[Problem] = []
    renderings, errors = rendered if rendered is not None else renderer.render_all(post)
    for err in errors:
        # the reason as data (the check cache is JSON), so loa check says it in the reader's language
        out.append(_p(post, 1, "channel.render", channel=err.channel, detail=as_data(err.reason)))
    for r in renderings:
        line = post.line_of("social") if r.channel in post.social else post.line_of("summary") if "summary" in post.lines else post.line_of("title")
        if r.over_limit:
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


def check_control(post: Post) -> list[Problem]:
    """Control characters and bidirectional overrides (``vietnamese.CONTROL``) in what is
    published: an error with the line (and, in the body, the column). They hide text, or show
    other text than is stored, on every channel and in the terminal."""
    from pipeline.vietnamese import CONTROL, control_chars

    out: list[Problem] = []
    fields = [(k, vi, en, getattr(post, k) or "") for k, vi, en in _CONTROL_FIELDS if k != "summary" or "summary" in post.lines]
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
