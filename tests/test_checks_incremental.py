"""The site-wide checks kept between revisions (checks.LinkIndex, checks.DuplicateIndex: what a
daemon's session keeps) give, after any sequence of edits, renames, deletions, retractions, new
posts, attachments coming and going and files replaced by links, exactly what the full checks
give on the same files."""

from __future__ import annotations

import os
import random
import shutil

import pytest

from pipeline import checks
from pipeline.config import load_config
from pipeline.content import PostCache
from tests.repo import make_repo, post

FOLDERS = ["news/a", "news/b", "guide", "news/alias"]  # news/alias: a link to news/b, made below


class Site:
    """A content folder changed at random, each change with a time of its own (so that every
    cache sees it: a folder's or file's mtime always moves)."""

    def __init__(self, tmp, seed: int):
        self.rng = random.Random(seed)
        self.root = make_repo(tmp / "repo", {})
        self.content = self.root / "content"
        for f in FOLDERS[:3]:
            (self.content / f).mkdir(parents=True, exist_ok=True)
        (self.content / "news/alias").symlink_to(self.content / "news/b", target_is_directory=True)
        (self.content / "files").mkdir()
        self.clock = 1_700_000_000 * 10**9
        self.n = 0
        for _ in range(8):
            self.add()

    def tick(self, *paths) -> None:
        for p in paths:
            if os.path.lexists(p) and not os.path.islink(p):
                self.clock += 10**9
                os.utime(p, ns=(self.clock, self.clock))

    def posts(self) -> list:
        return sorted(p.relative_to(self.content).as_posix() for p in self.content.rglob("*.md")
                      if not str(p.relative_to(self.content)).startswith("news/alias"))

    def body(self, rel: str) -> str:
        folder = os.path.dirname(rel)
        lines = []
        for _ in range(self.rng.randrange(0, 5)):
            kind = self.rng.randrange(8)
            others = self.posts() or ["news/a/none.md"]
            target = self.rng.choice(others)
            if kind < 3:
                link = os.path.relpath(target, folder)
            elif kind == 3:
                link = os.path.relpath(target.replace("news/b/", "news/alias/"), folder)
            elif kind == 4:
                link = os.path.relpath(f"files/doc{self.rng.randrange(3)}.pdf", folder)
            elif kind == 5:
                link = os.path.relpath(f"news/a/gone{self.rng.randrange(3)}.md", folder) + "#phan-1"
            elif kind == 6:
                link = "../../../outside.md"
            else:
                link = "https://example.gov.vn/x"
            lines.append(f"Xem [bài {len(lines)}]({link}) nhé.")
        return "\n\n".join(lines + ["Nội dung bài viết."]) + "\n"

    def write(self, rel: str, **front) -> None:
        path = self.content / rel
        if path.is_symlink():
            path.unlink()
        front.setdefault("id", f"bai-{self.rng.randrange(self.n + 2)}")
        if self.rng.random() < 0.3:
            front.setdefault("slug", self.rng.choice(["Tin tức", "tin-tuc", "Hội thi", "hoi-thi", "khac"]))
        path.write_text(post(body=self.body(rel), **front), encoding="utf-8")
        self.tick(path, path.parent)

    def add(self) -> None:
        self.n += 1
        rel = f"{self.rng.choice(FOLDERS[:3])}/bai-{self.n}.md"
        self.write(rel)

    def step(self) -> None:
        existing = self.posts()
        op = self.rng.randrange(10)
        if not existing or op == 0:
            return self.add()
        rel = self.rng.choice(existing)
        path = self.content / rel
        if op in (1, 2, 3):  # an edit
            self.write(rel)
        elif op == 4:  # a rename, perhaps to another folder
            new = self.content / f"{self.rng.choice(FOLDERS[:3])}/moi-{self.rng.randrange(100)}.md"
            if not new.exists():
                path.rename(new)
                self.tick(path.parent, new.parent)
        elif op == 5:
            path.unlink()
            self.tick(path.parent)
        elif op == 6:  # retracted (links and duplicates still count)
            self.write(rel, retracted="Gỡ do trùng")
        elif op == 7:  # an attachment comes or goes
            doc = self.content / f"files/doc{self.rng.randrange(3)}.pdf"
            doc.parent.mkdir(exist_ok=True)
            doc.unlink() if doc.exists() else doc.write_bytes(b"%PDF")
            self.tick(doc, doc.parent)
        elif op == 8:  # a post file replaced by a link to another post, or one that cannot be read
            other = self.rng.choice(existing)
            path.unlink()
            if other != rel and self.rng.random() < 0.5:
                path.symlink_to(self.content / other)
            else:
                path.write_text("---\nid: [không đọc được\n---\n", encoding="utf-8")
                self.tick(path)
            self.tick(path.parent)
        else:  # the linked folder points elsewhere, or the attachments folder goes
            if self.rng.random() < 0.5:
                alias = self.content / "news/alias"
                alias.unlink()
                alias.symlink_to(self.content / self.rng.choice(["news/b", "news/a", "guide"]), target_is_directory=True)
                self.tick(alias.parent)
            else:
                files = self.content / "files"
                shutil.rmtree(files) if files.exists() else files.mkdir()
                self.tick(files.parent)


@pytest.mark.parametrize("seed", range(12))
def test_incremental_site_checks_equal_the_full_ones(tmp_path, seed):
    site = Site(tmp_path, seed)
    cfg = load_config(site.root / "config.toml")
    cache, links, dups = PostCache(), checks.LinkIndex(), checks.DuplicateIndex()
    seen_broken = seen_dup = 0
    for _ in range(60):
        posts, _problems = cache.read_all(cfg)
        full_links = checks.check_site_links(posts, cfg.content_dir)
        assert checks.check_site_links(posts, cfg.content_dir, index=links) == full_links
        assert full_links == [p for x in posts for p in checks.check_links(x, cfg.content_dir)]
        full_dups = checks.check_duplicates(posts)
        assert checks.check_duplicates(posts, index=dups) == full_dups
        seen_broken += bool(full_links)
        seen_dup += bool(full_dups)
        for _ in range(site.rng.randrange(1, 3)):
            site.step()
    assert seen_broken and seen_dup  # the sequence did exercise both


def test_a_fresh_list_of_the_same_posts_changes_nothing(tmp_path):
    site = Site(tmp_path, 99)
    cfg = load_config(site.root / "config.toml")
    posts, _problems = PostCache().read_all(cfg)
    links, dups = checks.LinkIndex(), checks.DuplicateIndex()
    first = checks.check_site_links(posts, cfg.content_dir, index=links), checks.check_duplicates(posts, index=dups)
    again = checks.check_site_links(list(posts), cfg.content_dir, index=links), checks.check_duplicates(posts, index=dups)
    assert first == again
    others, _problems = PostCache().read_all(cfg)  # other objects, the same files: all looked at again
    assert (checks.check_site_links(others, cfg.content_dir, index=links), checks.check_duplicates(others, index=dups)) == first


def test_an_index_interrupted_halfway_starts_over(tmp_path, monkeypatch):
    site = Site(tmp_path, 5)
    cfg = load_config(site.root / "config.toml")
    cache, links = PostCache(), checks.LinkIndex()
    posts, _problems = cache.read_all(cfg)
    checks.check_site_links(posts, cfg.content_dir, index=links)
    for rel in site.posts():
        site.write(rel)
    posts, _problems = cache.read_all(cfg)
    with monkeypatch.context() as m:
        m.setattr(checks, "_relative_links", lambda post: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            checks.check_site_links(posts, cfg.content_dir, index=links)
    for _ in range(20):
        assert checks.check_site_links(posts, cfg.content_dir, index=links) == checks.check_site_links(posts, cfg.content_dir)
        site.step()
        posts, _problems = cache.read_all(cfg)


def test_a_long_lived_session_sees_a_linked_file_come_and_go(tmp_path):
    """A link to a file that is not a post (an attachment) rests on a file the content revision
    does not list: a session kept between the daemon's ticks must still see it come and go, as
    a fresh session does, or a post stays held after staff add the missing file (and one whose
    attachment was removed goes out)."""
    from pipeline.app import Session
    from pipeline.ledger import open_ledger

    root = make_repo(tmp_path, {"2024/a.md": post(body="Xem [tệp](files/x.pdf).\n")})
    cfg = load_config(root / "config.toml", env={})
    pdf = root / "content/2024/files/x.pdf"

    def fresh():
        with Session(cfg, lambda: open_ledger(None, root), env={}) as s:
            return s.check().problems

    with Session(cfg, lambda: open_ledger(None, root), env={}) as kept:
        assert "post.broken-link" in [p.code for p in kept.check().problems]
        pdf.parent.mkdir(parents=True)
        pdf.write_bytes(b"%PDF")
        assert kept.check().problems == fresh()
        assert "post.broken-link" not in [p.code for p in kept.check().problems]
        pdf.unlink()
        assert kept.check().problems == fresh()
        assert "post.broken-link" in [p.code for p in kept.check().problems]


@pytest.mark.parametrize("seed", range(4))
def test_checking_across_first_leaves_the_check_as_it_was(tmp_path, monkeypatch, seed):
    """``Session.check_across`` (``loa preview`` calls it while its workers render) does the
    check's work across posts ahead of it: the check after it reads no post's links or slug
    again, and finds, at every revision, what a fresh session's check finds."""
    from pipeline.app import Session
    from pipeline.ledger import open_ledger

    def boom(post):
        raise AssertionError(f"{post.relpath} looked at again")

    site = Site(tmp_path, seed)
    cfg = load_config(site.root / "config.toml", env={})
    with Session(cfg, lambda: open_ledger(None, site.root), env={}) as early:
        for _ in range(15):
            content = early.content()
            early.check_across(content)
            with monkeypatch.context() as m:
                m.setattr(checks, "_relative_links", boom)
                m.setattr(checks, "_slug_key", boom)
                got = early.check(content)
            with Session(cfg, lambda: open_ledger(None, site.root), env={}) as fresh:
                assert got == fresh.check()
            for _ in range(site.rng.randrange(1, 3)):
                site.step()
