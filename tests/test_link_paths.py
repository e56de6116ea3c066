"""Links between posts through linked folders: the renderer's and the link check's real paths
(one pipeline.paths.RealPaths per pass) give what Path.resolve() gives, link by link."""

from __future__ import annotations

import os
import re
from pathlib import Path

from pipeline import checks
from pipeline.config import load_config
from pipeline.content import read_all
from pipeline.paths import RealPaths
from pipeline.render import Renderer
from tests.repo import make_repo, post

TARGETS = ["../b/b.md", "../alias/b.md", "../alias/../b/b.md", "./../b//b.md", "../b/missing.md", "../../outside.md",
           "../escape/secret.md", "../alias/b.md#phan-2", "../b/loop/x.md", "b-link.md", "../b/./b.md"]


def _repo(tmp_path: Path):
    body = "Đọc thêm:\n\n" + "\n".join(f"- [liên kết {i}]({t})" for i, t in enumerate(TARGETS)) + "\n"
    root = make_repo(tmp_path / "repo", {
        "news/a/a.md": post(id="a", body=body),
        "news/b/b.md": post(id="b", title="Bài B", slug="bai-b"),
    })
    content = root / "content"
    (content / "news/alias").symlink_to(content / "news/b", target_is_directory=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/secret.md").write_text("x", encoding="utf-8")
    (content / "news/escape").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (content / "news/b/loop").symlink_to(content / "news/b/loop")  # a link to itself
    (content / "news/a/b-link.md").symlink_to(content / "news/b/b.md")
    cfg = load_config(root / "config.toml")
    posts, _problems = read_all(cfg)
    return cfg, {p.id: p for p in posts}


def _resolved_the_old_way(post, target: str, root: Path) -> bool:
    """What check_links did before: (post.path.parent / target).resolve(), inside content/, existing."""
    try:
        resolved = (post.path.parent / target).resolve()
        resolved.relative_to(root)
        return resolved.exists()
    except (ValueError, RuntimeError):  # RuntimeError: the symlink loop, which stopped the old check
        return False


def test_link_check_agrees_with_path_resolve_link_by_link(tmp_path):
    cfg, posts = _repo(tmp_path)
    a = posts["a"]
    root = cfg.content_dir.resolve()
    found = checks.check_links(a, cfg.content_dir, resolved=root, real=RealPaths())
    broken = {p.args["value"] for p in found}
    want = {t for t in TARGETS if not _resolved_the_old_way(a, t.split("#")[0], root)}
    assert broken == want
    assert want == {"../b/missing.md", "../../outside.md", "../escape/secret.md", "../b/loop/x.md"}
    assert [(p.line, p.col) for p in found] == [(p.line, p.col) for p in checks.check_links(a, cfg.content_dir)]


def test_renderer_links_through_linked_folders_as_path_resolve_does(tmp_path):
    cfg, posts = _repo(tmp_path)
    r = Renderer(cfg)
    r.use_posts(list(posts.values()))
    html = r.article_html(posts["a"])
    url = r.article_url(posts["b"])
    b_real = str(posts["b"].path.resolve())
    hrefs = re.findall(r'<a href="([^"]*)">liên kết', html)
    assert len(hrefs) == len(TARGETS)
    for t, href in zip(TARGETS, hrefs):
        path = t.split("#")[0]
        leads_to_b = os.path.realpath(os.path.join(posts["a"].path.parent, path)) == b_real
        assert href == (url + t[len(path):] if leads_to_b else t), t
    assert sum(h.startswith(url) for h in hrefs) == 7
