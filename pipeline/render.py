"""``Post`` x channel -> :class:`~pipeline.models.Rendering` through Jinja2 with ``StrictUndefined``.

Markdown is converted once per post (Python-Markdown with tables, fenced code, attribute lists and
sane lists, sped up by :mod:`pipeline.markdown_fast`, which gives the same HTML in less time);
each channel then gets its own template under ``templates/<folder>/``: the channel's ``template``
option, else a folder named after the channel, else the publisher's family (``portal``,
``facebook``, ``telegram``, ``mastodon``, ``zalo``). A rendering carries the hash of its source and
templates, so later stages can tell an edit from a re-run.
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path
from types import MappingProxyType
from typing import Iterable

import jinja2
import markdown

import publishers
from pipeline import htmlsafe, markdown_fast, plaintext
from pipeline.paths import RealPaths
from pipeline.errors import RenderError
from pipeline.messages import Detail
from pipeline.models import Post, Rendering
from pipeline.templating import environment

MD_EXTENSIONS = ["tables", "fenced_code", "attr_list", "sane_lists"]


def markdown_extensions() -> list:
    """The MD_EXTENSIONS as instances: given names, Python-Markdown first scans the entry points of
    every installed package at every start; the extensions and the HTML are the same.

    ``sane_lists``: a list numbered from 3 starts at 3 (``<ol start="3">``), as the author wrote it and
    as CommonMark does (Python-Markdown alone renumbers it from 1), and a ``1.`` list right after a
    ``-`` list is a list of its own."""
    from markdown.extensions.attr_list import AttrListExtension
    from markdown.extensions.sane_lists import SaneListExtension
    from markdown.extensions.tables import TableExtension

    return [TableExtension(), _fenced_code_extension()(), AttrListExtension(), SaneListExtension()]


def _fenced_code_extension() -> type:
    """``FencedCodeExtension``, imported without Pygments. Its module imports the ``codehilite``
    extension, which imports Pygments if it is installed (most of the import's time: Pygments scans every
    package's entry points for plugins) although fenced code is highlighted only when
    ``codehilite`` itself is enabled, which Loa never does. So Pygments is kept out while the two
    modules load: ``codehilite`` then records that it has no Pygments, which changes nothing for a
    Markdown without ``codehilite``."""
    import sys

    if "markdown.extensions.fenced_code" not in sys.modules and "pygments" not in sys.modules:
        sys.modules["pygments"] = None  # type: ignore[assignment] # makes `import pygments` fail
        try:
            import markdown.extensions.fenced_code  # noqa: F401
        finally:
            del sys.modules["pygments"]
    from markdown.extensions.fenced_code import FencedCodeExtension

    return FencedCodeExtension


def new_markdown() -> markdown.Markdown:
    """The Markdown converter of article HTML (before :func:`pipeline.htmlsafe.clean_article`);
    ``loa check`` uses one too, to see what the sanitiser will remove."""
    return markdown_fast.install(markdown.Markdown(extensions=markdown_extensions(), output_format="html"))


HTML_CACHE_SIZE = 256  # posts whose article HTML a renderer keeps (bounds memory over 10,000 posts)


class Renderer:
    """Renders posts for the channels of one configuration. Not thread-safe (one per process)."""

    def __init__(self, cfg, posts_by_path: dict[Path, Post] | None = None, *, resolver=None):
        """``posts_by_path`` (resolved path -> Post) or ``resolver(path) -> Post | None`` lets links
        between posts become portal URLs."""
        self.cfg = cfg
        # cfg.templates_dirs stats the folder on every call; a renderer lives for one run
        self.templates_dirs = list(cfg.templates_dirs)
        self.env = environment(self.templates_dirs, cfg.tz, autoescape=jinja2.select_autoescape(["html", "htm", "xml"]))
        self.env.filters["hashtag"] = hashtag
        self.env.filters["plain_text"] = plain_text  # the body as plain-text channels show it
        self.md = new_markdown()
        self.posts_by_path = posts_by_path or {}
        self.resolver = resolver
        self._html_cache: dict[str, str] = {}
        self._template_hash: dict[str, str] = {}
        self._pub_cls: dict[str, type] = {}
        # Per-run caches, like _template_hash: a renderer does not see templates edited while it lives
        # (get_template() would stat every template file for every rendering to check).
        self._folder: dict[str, str] = {}
        self._templates: dict[str, jinja2.Template] = {}
        self._resolved: dict[tuple[Path, str], Path] = {}
        self._real = RealPaths()  # folders' real paths, for as long as the posts are these
        self._hashtags: dict[str, str] = {}
        self._last_parts: tuple[Post, tuple] | None = None
        self._last_extra: tuple[Post, MappingProxyType] | None = None
        self._last_context: tuple[Post, dict] | None = None
        self._plans: dict[str, _Plan] = {}

    def use_posts(self, posts: Iterable[Post]) -> None:
        """Render links between posts against these posts from now on. The article HTML made
        before is dropped: a linked post's address may have changed (a renderer that outlives one
        content revision, as the daemon's does, must be told)."""
        index: dict[Path, Post] = {}
        real = self._real = RealPaths()

        def resolver(path: Path) -> Post | None:
            if not index:  # built on the first link only; p.path.resolve(), a folder's real path looked up once
                index.update((Path(real.join(str(p.path.parent), p.path.name)), p) for p in posts)
            return index.get(path)

        self.posts_by_path, self.resolver = {}, resolver
        self._resolved.clear()
        self._html_cache.clear()
        self._last_parts = self._last_extra = self._last_context = None

    def load_templates(self, channel_names: Iterable[str]) -> None:
        """Compile the templates of these channels now (before forking workers, so they share
        them). A channel whose template cannot load is skipped: ``render()`` reports it per post."""
        for name in channel_names:
            channel = self.cfg.channels[name]
            try:
                family = self.publisher_class(channel.type).family
                self._template(f"{self.folder_for(channel)}/{_template_name(family)}")
            except (RenderError, jinja2.TemplateError):
                continue

    def _template(self, name: str) -> jinja2.Template:
        tpl = self._templates.get(name)
        if tpl is None:
            tpl = self._templates[name] = self.env.get_template(name)
        return tpl

    # -- pieces ------------------------------------------------------------------------
    def article_html(self, post: Post) -> str:
        """The post body as HTML, links to other posts rewritten to their portal URLs, through the
        allow-list of :mod:`pipeline.htmlsafe` (no script, style, event handler, ``javascript:``
        or ``data:`` URL; iframes only from ``[site] iframe_hosts``)."""
        cached = self._html_cache.get(post.source_hash)
        if cached is not None:
            return cached
        try:
            out = self.md.reset().convert(post.body)
        except Exception:
            # Python-Markdown's reset() leaves behind what a convert stopped half-way had pushed on
            # its parser's state (a RecursionError on a hostile body): every later post would come
            # out wrong from this instance (the daemon's renderer lives for many ticks)
            self.md = new_markdown()
            raise
        out = _LINK.sub(lambda m: self._rewrite_link(post, m), out)
        out = htmlsafe.clean_article(out, self.cfg.iframe_hosts)  # the one allow-list, for every channel
        if len(self._html_cache) >= HTML_CACHE_SIZE:  # the channels of a post are rendered together
            del self._html_cache[next(iter(self._html_cache))]
        self._html_cache[post.source_hash] = out
        return out

    def _rewrite_link(self, post: Post, m: re.Match) -> str:
        target, anchor = m.group(2), m.group(3) or ""
        key = (post.path.parent, target)
        resolved = self._resolved.get(key)
        if resolved is None:
            resolved = self._resolved[key] = Path(self._real.join(str(post.path.parent), target))
        other = self.posts_by_path.get(resolved)
        if other is None and self.resolver is not None:
            other = self.resolver(resolved)
        if other is None:
            return m.group(0)
        return f'{m.group(1)}"{self.article_url(other)}{anchor}"'

    def article_url(self, post: Post) -> str:
        pattern = self.cfg.article_url
        return pattern.format(base_url=self.cfg.base_url, type=post.type, slug=post.slug, id=post.id,
                              year=post.publish_at.year if post.publish_at else "")

    def publisher_class(self, channel_type: str) -> type:
        cls = self._pub_cls.get(channel_type)
        if cls is None:
            try:
                cls = self._pub_cls[channel_type] = publishers.get(channel_type)
            except (ImportError, KeyError) as exc:
                raise RenderError("-", channel_type, Detail("render.type-unloadable", type=repr(channel_type), error=str(exc))) from None
        return cls

    def folder_for(self, channel) -> str:
        folder = self._folder.get(channel.name)
        if folder is None:
            folder = self._folder[channel.name] = self._find_folder(channel)
        return folder

    def _find_folder(self, channel) -> str:
        if channel.template:
            return channel.template
        for d in self.templates_dirs:
            if (d / channel.name).is_dir():
                return channel.name
        return self.publisher_class(channel.type).family

    def template_hash(self, folder: str) -> str:
        h = self._template_hash.get(folder)
        if h is None:
            digest = hashlib.sha256()
            for d in self.templates_dirs:
                base = d / folder
                if base.is_dir():
                    for f in sorted(base.rglob("*")):
                        if f.is_file():
                            digest.update(f.relative_to(d).as_posix().encode())
                            digest.update(f.read_bytes())
                    break
            h = self._template_hash[folder] = digest.hexdigest()[:16]
        return h

    # -- the stage ---------------------------------------------------------------------
    def context(self, post: Post, channel) -> dict:
        """What the channel's template sees (a new dict: the renderer adds ``kind`` to it)."""
        ctx = self._post_context(post).copy()
        ctx["channel"] = channel
        ctx["override"] = post.social.get(channel.name)
        return ctx

    def _post_context(self, post: Post) -> dict:
        """The context without the channel, kept while the post's channels render. Its values are
        shared by these renderings: the sandbox is immutable (no template can change a list or a
        dict it is handed), and the renderer copies the dict itself before it adds to it."""
        if self._last_context is not None and self._last_context[0] is post:
            return self._last_context[1]
        cfg = self.cfg
        content_html = self.article_html(post)
        link, unit_name, type_label, topic_labels, hashtags = self._post_parts(post)
        ctx = {
            "post": post,
            "site": {"name": cfg.site_name, "base_url": cfg.base_url, "language": cfg.language},
            "org_lines": cfg.org_lines,
            "channel": None,  # context() sets the channel's two, in this order of the keys
            "content_html": content_html,
            "summary": post.summary,
            "link": link,
            "unit_name": unit_name,
            "type_label": type_label,
            "topic_labels": list(topic_labels),
            "hashtags": hashtags,
            "override": None,
            "has_image": post.image_path is not None,
        }
        self._last_context = (post, ctx)
        return ctx

    def _post_parts(self, post: Post) -> tuple[str, str, str, tuple[str, ...], str]:
        """The parts of the context that depend on the post only, kept while its channels render."""
        if self._last_parts is not None and self._last_parts[0] is post:
            return self._last_parts[1]
        cfg = self.cfg
        unit = cfg.units.get(post.unit)
        ctype = cfg.types.get(post.type)
        labels = tuple(cfg.topics.get(t, t) for t in post.topics)
        tags = []
        for label in labels:
            tag = self._hashtags.get(label)
            if tag is None:
                tag = self._hashtags[label] = hashtag(label)
            tags.append(tag)
        parts = (self.article_url(post), unit.name if unit else post.unit, ctype.label if ctype else post.type,
                 labels, " ".join(tags))
        self._last_parts = (post, parts)
        return parts

    def _plan(self, post: Post, channel_name: str, channel) -> _Plan:
        """What rendering on this channel needs besides the post, worked out once per channel."""
        plan = self._plans.get(channel_name)
        if plan is not None and plan.channel is channel:
            return plan
        try:
            cls = self.publisher_class(channel.type)
            folder = self.folder_for(channel)
        except RenderError as exc:
            raise RenderError(post.id, channel_name, exc.reason) from None
        plan = self._plans[channel_name] = _Plan(channel, cls, folder)
        return plan

    def render(self, post: Post, channel_name: str) -> Rendering:
        """One channel's rendering of one post; ``RenderError`` if the template fails."""
        channel = self.cfg.channels[channel_name]
        plan = self._plan(post, channel_name, channel)
        cls = plan.cls
        has_image = post.image_path is not None
        kind = "article" if plan.article else cls.kind_for(has_image)
        try:
            ctx = self.context(post, channel)
        except RenderError:
            raise
        except Exception as exc:  # noqa: BLE001 - Markdown on one hostile body fails for that post only
            raise RenderError(post.id, channel_name, Detail("render.markdown", error=f"{type(exc).__name__}: {exc}"[:290])) from None
        ctx["kind"] = kind
        if plan.has_template_context:  # the loudspeaker's script (publishers/loudspeaker.py)
            try:
                ctx.update(cls.template_context(post, channel, self.cfg))
            except Exception as exc:  # noqa: BLE001 - one hostile body fails for that post only
                raise RenderError(post.id, channel_name, Detail("render.script", error=f"{type(exc).__name__}: {exc}"[:292])) from None
        try:
            body = self._template(plan.template_name).render(ctx).strip()
        except jinja2.TemplateNotFound as exc:
            raise RenderError(post.id, channel_name, Detail("render.template-missing", name=exc.name)) from None
        except jinja2.TemplateError as exc:
            raise RenderError(post.id, channel_name, Detail("render.template-error", error=str(exc))) from None
        family = plan.family
        if family == "portal":
            body += "\n"
        elif family == "zalo":
            body = html_to_text(body)
        elif family in ("facebook", "mastodon"):
            body = _tidy_text(body)
        length = cls.measure(body)
        thash = self.template_hash(plan.folder)
        if self._last_extra is not None and self._last_extra[0] is post:
            extra = self._last_extra[1]  # the same for every channel of the post (read-only)
        else:
            extra = MappingProxyType({
                "slug": post.slug, "summary": post.summary, "type": post.type, "type_label": ctx["type_label"],
                "topics": list(post.topics), "topic_labels": dict(zip(post.topics, ctx["topic_labels"])),
                "unit": post.unit, "unit_name": ctx["unit_name"], "author": post.author,
                "publish_at": post.publish_at, "correction": post.correction, "retracted": post.retracted,
                "description": post.summary[:300], "image_hash": post.image_hash,
                "source_dir": str(post.path.parent),  # where relative images in the body are
            })
            self._last_extra = (post, extra)
        if "loudspeaker" in ctx:  # the broadcast's station, slot, priority and estimate, for the publisher
            extra = MappingProxyType({**extra, "loudspeaker": ctx["loudspeaker"]})
        return Rendering(
            post_id=post.id, channel=channel_name, channel_type=channel.type, kind=kind, title=post.title,
            body=body, length=length, limit=cls.limits.get(kind), source_hash=post.source_hash,
            hash=hashlib.sha256(f"{post.source_hash}:{thash}:{body}".encode()).hexdigest()[:16],
            image_path=post.image_path, image_alt=post.image_alt, link=ctx["link"],
            extra=extra,
        )

    def render_all(self, post: Post, channels: Iterable[str] | None = None) -> tuple[list[Rendering], list[RenderError]]:
        out, errors = [], []
        for name in (channels if channels is not None else post.channels):
            if name not in self.cfg.channels:
                continue
            try:
                out.append(self.render(post, name))
            except RenderError as exc:
                errors.append(exc)
        return out, errors


class _Plan:
    """A channel's publisher class, template folder and what follows from them, for render()."""

    __slots__ = ("channel", "cls", "folder", "family", "article", "template_name", "has_template_context")

    def __init__(self, channel, cls: type, folder: str) -> None:
        self.channel, self.cls, self.folder = channel, cls, folder
        family = self.family = cls.family
        self.template_name = f"{folder}/{_template_name(family)}"
        self.article = family in ("portal", "zalo")  # one kind, "article", with or without an image
        self.has_template_context = hasattr(cls, "template_context")


def _template_name(family: str) -> str:
    return {"portal": "article.html", "telegram": "post.html", "zalo": "article.html"}.get(family, "post.txt")


_LINK = re.compile(r'(href=)"([^"#:]+?\.md)(#[^"]*)?"')


def hashtag(label: str) -> str:
    """``Cải cách hành chính`` -> ``#CảiCáchHànhChính`` (Facebook, Mastodon and Telegram accept letters with diacritics)."""
    words = re.findall(r"\w+", label)
    return "#" + "".join(w[:1].upper() + w[1:] for w in words) if words else ""


def plain_text(fragment) -> str:
    """The ``plain_text`` template filter: ``{{ content_html | plain_text }}`` is the article as
    Zalo shows it (numbered steps, tables as ``label: value`` lines), for Facebook, Telegram and
    Mastodon templates; in an HTML template (Telegram) Jinja escapes it like any text."""
    return plaintext.to_text(str(fragment))


def _tidy_text(text: str) -> str:
    if " \n" in text or "\t\n" in text:  # the only places r"[ \t]+\n" can match
        text = re.sub(r"[ \t]+\n", "\n", text)
    return _squeeze_blank_lines(text).strip()


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (:func:`pipeline.plaintext.to_text`, the one conversion)."""
    return plaintext.to_text(fragment)


def _squeeze_blank_lines(text: str) -> str:
    """``re.sub(r"\n{3,}", "\n\n", text)``, without the regular expression."""
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


def escape(text: str) -> str:
    return html.escape(text, quote=True)
