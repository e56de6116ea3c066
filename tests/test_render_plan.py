"""Renderer.render's per-channel plan and per-post context (pipeline/render.py) and Rendering's own
``__init__`` (pipeline/models.py): what they keep between renderings changes no rendering."""

from __future__ import annotations

import dataclasses
import inspect
import random
from types import MappingProxyType

import pytest

from pipeline.config import load_config
from pipeline.content import read_post
from pipeline.errors import RenderError
from pipeline.models import Rendering
from pipeline.render import Renderer
from tests.repo import ROOT, make_repo
from tests.repo import post as make_post


def _fields(r: Rendering) -> tuple:
    return tuple((f.name, dict(v) if isinstance(v := getattr(r, f.name), MappingProxyType) else v)
                 for f in dataclasses.fields(r))


# -- Rendering -----------------------------------------------------------------------------------------
def test_rendering_init_takes_the_fields_in_order_with_their_defaults():
    params = list(inspect.signature(Rendering).parameters.values())
    fields = dataclasses.fields(Rendering)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields):
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        if f.default is not dataclasses.MISSING:
            assert p.default == f.default, f.name
        elif f.default_factory is dataclasses.MISSING:
            assert p.default is inspect.Parameter.empty, f.name
    required = {p.name: p.name for p in params if p.default is inspect.Parameter.empty}
    r = Rendering(**required)
    assert vars(r) == {**required, "image_path": None, "image_alt": None, "link": None, "extra": {}}
    assert isinstance(r.extra, MappingProxyType) and r.extra is not Rendering(**required).extra
    assert Rendering(**required, extra=None).extra is None  # given, even None, it is kept
    every = {f.name: f"v{i}" for i, f in enumerate(fields)}
    r = Rendering(*every.values())
    assert vars(r) == every and r == Rendering(**every) and hash(r) == hash(Rendering(**every))
    assert dataclasses.replace(r, body="b") == Rendering(**{**every, "body": "b"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.body = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Rendering(**required, colour="red")  # type: ignore[call-arg]


# -- the renderer's kept parts -------------------------------------------------------------------------
def _posts(cfg) -> list:
    posts = []
    for path in sorted(cfg.content_dir.rglob("*.md")):
        post, _ = read_post(path, cfg)
        if post is not None:
            posts.append(post)
    return posts


def _all(renderer: Renderer, pairs) -> dict:
    out = {}
    for post, channel in pairs:
        try:
            out[post.id, channel] = _fields(renderer.render(post, channel))
        except RenderError as exc:
            out[post.id, channel] = ("error", str(exc))
    return out


def test_renderings_are_the_same_in_any_order_and_from_a_new_renderer_each_time():
    """Post by post (what render_all does), channel by channel, shuffled, and each rendering by a
    renderer of its own (nothing kept): the same renderings, field by field."""
    cfg = load_config(ROOT / "config.toml", env={})
    posts = _posts(cfg)
    assert len(posts) > 10
    pairs = [(p, c) for p in posts for c in p.channels if c in cfg.channels]
    assert {c for _, c in pairs} >= {"portal", "facebook", "zalo", "telegram", "mastodon"}

    def renderer() -> Renderer:
        r = Renderer(cfg)
        r.use_posts(posts)
        return r

    by_post = _all(renderer(), pairs)
    by_channel = _all(renderer(), sorted(pairs, key=lambda pc: pc[1]))
    shuffled = random.Random(7).sample(pairs, len(pairs))
    assert by_post == by_channel == _all(renderer(), shuffled)
    alone = {}
    for pair in random.Random(8).sample(pairs, 40):
        alone.update(_all(renderer(), [pair]))
    assert alone == {k: by_post[k] for k in alone}


SHARED = {
    "site.update": "{{ site.update(name='x') }}",
    "topic_labels.append": "{{ topic_labels.append('x') }}",
    "topic_labels.pop": "{{ topic_labels.pop() }}",
    "post.__class__": "{{ post.__class__.__init__.__globals__ }}",
    "channel.options.clear": "{{ channel.options.clear() }}",
}


@pytest.mark.parametrize("attempt", sorted(SHARED))
def test_a_template_cannot_change_what_the_channels_of_a_post_share(tmp_path, attempt):
    """The channels of a post render from one context; a hostile template that tries to change it
    is stopped by the sandbox, and the next channel renders as if alone."""
    root = make_repo(tmp_path, {"news/2024/a.md": make_post(topics=["cai-cach-hanh-chinh"])})
    (root / "templates/telegram").mkdir(parents=True)
    (root / "templates/telegram/post.html").write_text(SHARED[attempt] + "\n{{ post.title }}", encoding="utf-8")
    cfg = load_config(root / "config.toml", env={})
    post, _ = read_post(cfg.content_dir / "news/2024/a.md", cfg)
    renderer = Renderer(cfg)
    before = _fields(renderer.render(post, "facebook"))
    with pytest.raises(RenderError) as caught:
        renderer.render(post, "telegram")
    assert "template error" in str(caught.value)
    assert _fields(renderer.render(post, "facebook")) == before == _fields(Renderer(cfg).render(post, "facebook"))


def test_a_missing_template_fails_each_post_until_it_exists(tmp_path):
    """The plan keeps a channel's template once loaded, never a failure to load it."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    assert '[channels.telegram]\ntype = "telegram"\n' in text
    text = text.replace('[channels.telegram]\ntype = "telegram"\n', '[channels.telegram]\ntype = "telegram"\ntemplate = "telegram-x"\n')
    root = make_repo(tmp_path, {"news/2024/a.md": make_post()}, config=text)
    (root / "templates").mkdir()  # a folder of templates is looked for once, by the renderer
    cfg = load_config(root / "config.toml", env={})
    post, _ = read_post(cfg.content_dir / "news/2024/a.md", cfg)
    renderer = Renderer(cfg)
    for _ in range(2):
        with pytest.raises(RenderError) as caught:
            renderer.render(post, "telegram")
        assert "telegram-x/post.html" in str(caught.value)
    folder = root / "templates/telegram-x"
    folder.mkdir(parents=True)
    (folder / "post.html").write_text("<b>{{ post.title }}</b>", encoding="utf-8")
    assert renderer.render(post, "telegram").body == f"<b>{post.title}</b>"


def test_a_body_that_stops_markdown_half_way_does_not_spoil_the_next_posts():
    """A hostile body that makes Python-Markdown stop half-way (here a RecursionError) leaves its
    parser's state behind, which reset() does not clear: the renderer, which lives for many ticks
    in the daemon, starts again with a new converter, so the next posts come out as from a new
    renderer. The same for the check that sees what the sanitiser removes."""
    from pipeline import checks

    cfg = load_config(ROOT / "config.toml", env={})
    posts = _posts(cfg)
    bomb = dataclasses.replace(posts[0], body="- " * 500 + "x", source_hash="bomb")
    renderer = Renderer(cfg)
    with pytest.raises(RenderError):
        renderer.render(bomb, "portal")
    for p in posts:
        assert renderer.article_html(p) == Renderer(cfg).article_html(p), p.relpath
    with pytest.raises(RecursionError):
        checks.check_html(dataclasses.replace(bomb, body=bomb.body + "\n\n<b onclick=\"x()\">x</b>\n"), cfg)
    good = dataclasses.replace(posts[0], body="Một <span onclick=\"x()\">đoạn</span>.\n\n- a\n- b\n")
    found = checks.check_html(good, cfg)
    checks._CONVERTER.clear()
    assert found == checks.check_html(good, cfg) and found
