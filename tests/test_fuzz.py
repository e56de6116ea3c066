"""Random front matter and bodies thrown at the reader and the renderer: no crash, only problems."""

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from pipeline.checks import check_links, check_post, check_renderings, check_text
from pipeline.config import load_config
from pipeline.content import read_post
from pipeline.render import Renderer
from tests.repo import make_repo

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40),
                    st.sampled_from(["2024-03-25 08:00", "25/3/2024", "2024-13-45", "ready", "draft", "phuong-1",
                                     "news", "guide", "portal", "mastodon", "img/x.png", "../../../etc/passwd"]))
values = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=10), c, max_size=4)),
                      max_leaves=8)
keys = st.sampled_from(["id", "title", "type", "unit", "author", "publish_at", "expire_at", "topics", "channels",
                        "status", "summary", "image", "image_alt", "slug", "social", "approved_by", "approved_hash",
                        "correction", "retracted", "xyz"])
bodies = st.one_of(st.text(max_size=300), st.sampled_from([
    "# Tiêu đề\n\n| a | b |\n|---|---|\n| 1 | 2 |\n", "```\ncode <script>\n```\n", "[link](../x.md) ![img](a.png){: .x}",
    "<script>alert(1)</script>", "{{ post.title }} {% if %}", "\x00\x01", "---\n---\n"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(front=st.dictionaries(keys, values, max_size=12), body=bodies, raw=st.booleans(), garbage=st.binary(max_size=40))
def test_reader_and_renderer_never_crash(tmp_path_factory, front, body, raw, garbage):
    root = tmp_path_factory.mktemp("fuzz")
    make_repo(root)
    cfg = load_config(root / "config.toml", env={})
    f = root / "content/news/x.md"
    f.parent.mkdir(parents=True, exist_ok=True)
    if raw:
        f.write_bytes(b"---\n" + garbage + b"\n---\n" + body.encode("utf-8", "surrogatepass"))
    else:
        f.write_text("---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n" + body, encoding="utf-8", errors="surrogatepass")
    post, problems = read_post(f, cfg)
    for p in problems:
        assert p.format("vi") and p.format("en")
    if post is not None:
        out = check_post(post, cfg) + check_links(post, cfg.content_dir) + check_renderings(post, Renderer(cfg)) + check_text(post, cfg)
        for p in out:
            assert p.path == "content/news/x.md" and p.line >= 1 and p.format("en")
