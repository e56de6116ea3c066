"""The ledger's per-post problem cache (pipeline/checkcache.py): a new process with a warm cache
finds exactly the problems a check from scratch finds, and any changed input is checked again.
Every test runs on SQLite and on PostgreSQL (``ledger_url``)."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipeline import checkcache, checks
from pipeline.app import Session
from pipeline.config import load_config
from pipeline.ledger import open_ledger
from repo import PNG_1PX, ROOT, make_repo, post

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


def _posts() -> dict[str, str]:
    """A hostile variety beside the sample content: errors, an image, links between posts."""
    return {
        "news/2027/loi.md": post(id="20270101-loi001", title="", unit="khong-co-don-vi", topics=["khong-co"],
                                 body="Bài có lỗi [Viết ở đây: nội dung]\n"),
        "news/2027/anh.md": post(id="20270102-anh001", image="anh.png", image_alt="Ảnh hội thi",
                                 body="Bài có ảnh, gửi cả Zalo.\n"),
        "news/2027/dich.md": post(id="20270103-dich01", slug="bai-dich", body="Bài được bài khác dẫn tới.\n"),
        "news/2027/dan.md": post(id="20270104-dan001", body="Xem [bài kia](dich.md) để biết thêm.\n"),
        "news/2027/le.md": post(id="20270105-le0001", body="Bài không dẫn tới bài nào.\n"),
    }


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "site", _posts(), sample_content=True)
    (root / "content/news/2027/anh.png").write_bytes(PNG_1PX)
    return root


@pytest.fixture
def small(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "small", _posts())
    (root / "content/news/2027/anh.png").write_bytes(PNG_1PX)
    return root


@pytest.fixture
def computed(monkeypatch) -> list[tuple[str, str]]:
    """(part, relpath) of every post checked (not read from a cache) from now on."""
    calls: list[tuple[str, str]] = []
    own, text = checks.post_problems, checks.check_text

    def counted_own(post, *a, **kw):
        calls.append(("own", post.relpath))
        return own(post, *a, **kw)

    def counted_text(post, *a, **kw):
        calls.append(("text", post.relpath))
        return text(post, *a, **kw)
    monkeypatch.setattr(checks, "post_problems", counted_own)
    monkeypatch.setattr(checks, "check_text", counted_text)
    return calls


def _open(root: Path, url: str) -> Session:
    """A session as a new ``loa`` process opens one: nothing in memory, the ledger migrated."""
    cfg = load_config(root / "config.toml", env={})
    return Session.open(cfg, ledger_factory=lambda: open_ledger(url, root), clock=lambda: NOW)


def _from_scratch(root: Path, text: bool = True):
    with Session(load_config(root / "config.toml", env={})) as s:  # no ledger: no cache
        assert not s.check_cache
        return s.check(text=text)


def _checked_with_cache(root: Path, url: str, text: bool = True):
    with _open(root, url) as s:
        return s.check(text=text)


def _edit_post(root: Path) -> None:
    p = root / "content/news/2027/le.md"
    p.write_text(p.read_text(encoding="utf-8").replace("title: ", "title: Sửa lại: "), encoding="utf-8")


def _change_template(root: Path) -> None:
    # the repository's own Mastodon template, 600 characters longer: every Mastodon post over the limit
    shutil.copytree(ROOT / "templates/mastodon", root / "templates/mastodon")
    tpl = root / "templates/mastodon/post.txt"
    tpl.write_text(tpl.read_text(encoding="utf-8") + "\n" + "x" * 600, encoding="utf-8")


def _change_config(root: Path) -> None:
    # Zalo enabled: a post without an image is an error there, no longer a warning; one topic fewer
    cfg = root / "config.toml"
    text = cfg.read_text(encoding="utf-8")
    text = text.replace('[channels.zalo]\ntype = "zalo"\nenabled = false', '[channels.zalo]\ntype = "zalo"\nenabled = true')
    cfg.write_text(text.replace('buu-chinh-cong-ich = "Bưu chính công ích"\n', ""), encoding="utf-8")


def _change_image(root: Path) -> None:
    (root / "content/news/2027/anh.png").write_bytes(PNG_1PX + b"\0" * 2048)


def _remove_image(root: Path) -> None:
    (root / "content/news/2027/anh.png").unlink()  # Zalo then has no image for the post


def _add_errors(root: Path) -> None:
    (root / "content/news/2027/moi.md").write_text(
        post(id="20270106-moi001", type="khong-co-loai", expire_at="2020-01-01 00:00", body="   \n"), encoding="utf-8")


def _rename_linked(root: Path) -> None:
    p = root / "content/news/2027/dich.md"
    p.write_text(p.read_text(encoding="utf-8").replace("slug: bai-dich", "slug: bai-dich-moi"), encoding="utf-8")


@pytest.mark.parametrize("text", [True, False])
def test_a_warm_cache_gives_what_checking_from_scratch_gives(site, ledger_url, computed, text):
    """After each change, a new process reads every post's problems from the ledger, and they are
    exactly those a check from scratch finds (also the files held)."""
    for change in (None, _edit_post, _change_template, _change_config, _change_image, _remove_image, _add_errors,
                   _rename_linked):
        if change is not None:
            change(site)
        scratch = _from_scratch(site, text)
        first = _checked_with_cache(site, ledger_url, text)  # the changed posts are checked and stored
        computed.clear()
        warm = _checked_with_cache(site, ledger_url, text)
        assert computed == [], change
        assert warm.problems == first.problems == scratch.problems, change
        assert warm.blocked == scratch.blocked, change
        assert any(p.severity.value == "error" for p in warm.problems)  # the hostile posts hold errors
    assert "content/news/2027/moi.md" in warm.blocked and "content/news/2027/loi.md" in warm.blocked


def test_the_changes_above_change_the_problems(site):
    """The differential test is not vacuous: each change above changes what is found (but
    _change_image, which changes only the image's hash, and _rename_linked, which changes a link's
    address: no channel's limit counts it today, but the rendering holds it, so it is in the key)."""
    before = _from_scratch(site).problems
    for change in (_edit_post, _change_template, _change_config, _remove_image, _add_errors):
        change(site)
        after = _from_scratch(site).problems
        assert after != before, change
        before = after


def _warm(root: Path, url: str, computed: list) -> None:
    _checked_with_cache(root, url)
    computed.clear()
    _checked_with_cache(root, url)
    assert computed == []


def test_an_edited_post_is_checked_again_alone(small, ledger_url, computed):
    _warm(small, ledger_url, computed)
    p = small / "content/news/2027/le.md"  # its body: its address stays, so no link to it changes
    p.write_text(p.read_text(encoding="utf-8").replace("nào.", "nào, sửa lại."), encoding="utf-8")
    _checked_with_cache(small, ledger_url)
    assert sorted(computed) == [("own", "content/news/2027/le.md"), ("text", "content/news/2027/le.md")]


def test_a_moved_post_is_checked_again(small, ledger_url, computed):
    _warm(small, ledger_url, computed)
    (small / "content/news/2027/le.md").rename(small / "content/news/2027/le2.md")
    _checked_with_cache(small, ledger_url)
    # and dan.md: a post that links to any post is checked again when any post's path or address
    # changes (the key holds every post's address, not only those of the posts it links to)
    assert sorted(computed) == [("own", "content/news/2027/dan.md"), ("own", "content/news/2027/le2.md"),
                                ("text", "content/news/2027/dan.md"), ("text", "content/news/2027/le2.md")]


def test_a_changed_image_is_checked_again(small, ledger_url, computed):
    _warm(small, ledger_url, computed)
    _change_image(small)
    _checked_with_cache(small, ledger_url)
    assert ("own", "content/news/2027/anh.md") in computed and len(computed) == 2


def test_a_changed_template_checks_every_post_again(small, ledger_url, computed):
    _warm(small, ledger_url, computed)
    _change_template(small)
    _checked_with_cache(small, ledger_url)
    assert len([c for c in computed if c[0] == "own"]) == len(_posts())


def test_a_changed_template_of_the_same_size_and_time_is_seen(small, ledger_url, computed):
    """The key holds the templates' bytes, not their size and mtime (a checkout keeps both)."""
    import os

    _change_template(small)
    _warm(small, ledger_url, computed)
    tpl = small / "templates/mastodon/post.txt"
    st = tpl.stat()
    tpl.write_text(tpl.read_text(encoding="utf-8").replace("x" * 600, "y" * 600), encoding="utf-8")
    os.utime(tpl, ns=(st.st_atime_ns, st.st_mtime_ns))
    _checked_with_cache(small, ledger_url)
    assert len([c for c in computed if c[0] == "own"]) == len(_posts())


def test_a_changed_config_checks_every_post_again(small, ledger_url, computed):
    _warm(small, ledger_url, computed)
    cfg = small / "config.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('"Phạm Quốc Bảo"]', '"Phạm Quốc Bảo", "Võ Minh"]'),
                   encoding="utf-8")
    _checked_with_cache(small, ledger_url)
    assert len(computed) == 2 * len(_posts())


def test_the_server_config_is_part_of_the_key(small, ledger_url, computed, tmp_path):
    _warm(small, ledger_url, computed)
    server = tmp_path / "server.toml"
    server.write_text('[channels.telegram]\nchat_id = ["@ubndvungtau"]\n', encoding="utf-8")
    server.chmod(0o600)
    cfg = load_config(small / "config.toml", env={"LOA_SERVER_CONFIG": str(server)})
    with Session.open(cfg, ledger_factory=lambda: open_ledger(ledger_url, small), clock=lambda: NOW) as s:
        s.check()
    assert len(computed) == 2 * len(_posts())


def test_another_loa_checks_every_post_again(small, ledger_url, computed, monkeypatch):
    _warm(small, ledger_url, computed)
    monkeypatch.setattr(checkcache, "_CODE", ["another Loa"])
    _checked_with_cache(small, ledger_url)
    assert len(computed) == 2 * len(_posts())


def test_a_linked_post_moving_checks_the_posts_linking_to_it(small, ledger_url, computed):
    _warm(small, ledger_url, computed)
    _rename_linked(small)
    _checked_with_cache(small, ledger_url)
    paths = {path for _, path in computed}
    assert paths == {"content/news/2027/dich.md", "content/news/2027/dan.md"}  # not le.md, which links to nothing


def test_the_code_signature_covers_loa_itself():
    sig = checkcache.code_signature()
    assert sig == checkcache.code_signature() and len(sig) == 64
    assert checkcache.config_signature(load_config(ROOT / "config.toml", env={})) == \
        checkcache.config_signature(load_config(ROOT / "config.toml", env={}))


def test_an_unreadable_entry_is_checked_and_replaced(small, ledger_url, computed):
    _warm(small, ledger_url, computed)
    scratch = _from_scratch(small)
    with _open(small, ledger_url) as s:
        keys = [k for (k,) in s.ledger.query("SELECT key FROM check_cache")]
        s.ledger.cache_problems({k: "not json" for k in keys[:3]}, NOW)
    computed.clear()
    assert _checked_with_cache(small, ledger_url).problems == scratch.problems
    assert len(computed) == 3
    computed.clear()
    _checked_with_cache(small, ledger_url)
    assert computed == []


def test_problems_handed_over_by_the_preview_are_stored(small, ledger_url, computed):
    with _open(small, ledger_url) as s:
        content = s.content()
        renderer = s.renderer(content)
        for p in content.posts:
            s.remember_problems(p, checks.post_problems(p, s.cfg, renderer))
        computed.clear()
        s.check(text=False)
        assert computed == []
    _checked_with_cache(small, ledger_url)
    assert {part for part, _ in computed} == {"text"}  # the own problems came from the ledger


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_preview_stores_its_problems_while_the_pages_are_filled(tmp_path, ledger_url, computed, monkeypatch, jobs):
    """The preview writes the problems its workers found while they fill the pages, not in the
    plan before (the workers would wait for it): a later process finds them all in the ledger.
    ``jobs=2``: the worker processes' path (enough posts for them), ``jobs=1``: this process's."""
    from pipeline import preview

    site = make_repo(tmp_path / "site", {**_posts(), **{f"news/2027/bai-{i}.md": post(
        id=f"20270201-bai{i:03d}", title=f"Bài số {i}", body=f"Nội dung bài số {i}.\n") for i in range(45)}})
    (site / "content/news/2027/anh.png").write_bytes(PNG_1PX)
    filling, writes = [], []
    fill_steps = preview._fill_steps

    def counted_fill_steps(*args):
        filling.append(True)
        yield from fill_steps(*args)

    monkeypatch.setattr(preview, "_fill_steps", counted_fill_steps)
    with _open(site, ledger_url) as s:
        store = type(s.ledger).cache_problems

        def counted_store(ledger, entries, *a, **kw):
            writes.append((bool(filling), len(entries)))
            return store(ledger, entries, *a, **kw)

        monkeypatch.setattr(type(s.ledger), "cache_problems", counted_store)
        result = preview.build_preview(s, site / "out", now=NOW, jobs=jobs)
    assert result.rendered == 50
    # checked here (counted) or by the worker processes (their counts stay there)
    assert len([rel for part, rel in computed if part == "own"]) == (50 if jobs == 1 else 0)
    assert writes == [(True, result.rendered)]  # one transaction, once the fill had begun
    computed.clear()
    _checked_with_cache(site, ledger_url, text=False)
    assert computed == []  # every post's own problems came from the ledger


def test_loa_check_without_a_ledger_stores_nothing(small, computed):
    _from_scratch(small)
    assert not (small / "var" / "loa.db").exists()


# -- the ledger's API -------------------------------------------------------------------------------

def test_the_ledger_reads_many_keys_in_batches(ledger):
    entries = {f"{i:064x}": f"[{i}]" for i in range(1_234)}
    rev = ledger.snapshot().rev
    assert ledger.cache_problems(entries, NOW) == 0
    assert ledger.snapshot().rev == rev  # the plan's cache of ledger rows is not disturbed
    asked = list(entries) + ["f" * 64]
    assert ledger.cached_problems(asked) == entries
    assert ledger.cached_problems([]) == {}


def test_the_ledger_keeps_the_newest_entries(ledger):
    later = NOW.replace(hour=9)
    ledger.cache_problems({"a": "[]", "b": "[]"}, NOW)
    assert ledger.cache_problems({"c": "[]", "d": "[]"}, later, keep=3) == 1
    assert set(ledger.cached_problems("abcd")) == {"b", "c", "d"}
    ledger.cache_problems({"b": "[1]"}, later, keep=3)  # written again: replaced
    assert ledger.cached_problems(["b"]) == {"b": "[1]"}


def test_no_problems_are_stored_as_the_general_path_stores_them():
    """``encode`` answers an empty tuple at once (most posts have no problem): the text the JSON
    path gives, which reads back equal."""
    import json

    assert checkcache.encode(()) == json.dumps([], ensure_ascii=False, sort_keys=True) == "[]"
    assert checkcache.decode(checkcache.encode(())) == ()
    from pipeline.models import Problem, Severity
    from types import MappingProxyType

    one = (Problem("a.md", 3, 1, Severity.ERROR, "front.missing", MappingProxyType({"key": "title"})),)
    assert checkcache.decode(checkcache.encode(one)) == one
