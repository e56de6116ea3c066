"""``pipeline.paths.inside``: its fast path (one ``lstat`` per part, the folder's real path kept
for a pass) gives exactly what the plain ``os.path.realpath`` check gives, on a folder full of
links, climbs and odd names; a link made in the site during a pass is still refused."""

from __future__ import annotations

import os
import random

import pytest

from pipeline.paths import RealPaths, inside


def reference(folder, *parts):
    """The check as it was before the fast path: ``realpath`` of the folder and of the whole path."""
    names = [os.fspath(p) for p in parts]
    base = os.path.realpath(folder)
    if any("\x00" in n for n in names):
        raise ValueError("NUL")
    target = os.path.realpath(os.path.join(base, *names))
    if not names or target == base or not target.startswith(base.rstrip(os.sep) + os.sep):
        raise ValueError("outside")
    return target


def outcome(fn, *args, **kw):
    try:
        return str(fn(*args, **kw))
    except ValueError:
        return "refused"


@pytest.fixture
def tree(tmp_path):
    """A site with folders, pages, links inside it (to a folder, to a page, to the site itself,
    dangling, a loop, a chain) and links out of it, beside an outside folder."""
    site, out = tmp_path / "site", tmp_path / "outside"
    for d in (site / "news" / "old", site / "chu-de", out / "news"):
        d.mkdir(parents=True)
    for f in (site / "news" / "a.html", site / "chu-de" / "x.html", out / "x.html", out / "news" / "a.html"):
        f.write_text("x")
    links = {
        "to-news": site / "news", "to-page.html": site / "news" / "a.html", "to-site": site, "to-outside": out,
        "to-outside-page.html": out / "x.html", "dangling.html": out / "gone.html", "dangling-in.html": site / "gone.html",
        "loop-a": site / "loop-b", "loop-b": site / "loop-a", "chain": site / "to-news", "up": tmp_path,
        "news/back": site, "news/rel": "../chu-de",
    }
    for name, target in links.items():
        (site / name).symlink_to(target)
    # the site reached through a link too: the folder given may itself be a link
    (tmp_path / "site-link").symlink_to(site)
    return tmp_path


NAMES = ["news", "chu-de", "a.html", "x.html", "old", "to-news", "to-page.html", "to-site", "to-outside",
         "to-outside-page.html", "dangling.html", "dangling-in.html", "loop-a", "chain", "up", "back", "rel",
         "missing", "new.html", "..", ".", "", "/etc", "/", "a\x00b"]


def test_the_fast_path_gives_what_realpath_gives(tree):
    rng = random.Random(17)
    real = RealPaths()
    for folder in (tree / "site", tree / "site-link", str(tree / "site") + "/", tree / "site" / "news"):
        for _ in range(1500):
            parts = ["/".join(rng.choice(NAMES) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(0, 3))]
            want = outcome(reference, folder, *parts)
            assert outcome(inside, folder, *parts) == want, (folder, parts)
            assert outcome(inside, folder, *parts, real=real) == want, (folder, parts)


def test_climbs_absolute_parts_and_links_out_are_refused(tree):
    site, real = tree / "site", RealPaths()
    for bad in ("../outside/x.html", "news/../../outside/x.html", "/etc/passwd", "to-outside/x.html",
                "to-outside-page.html", "dangling.html", "up/outside/x.html", "chain/../../outside/x.html",
                "news/back/../outside/x.html", "", ".", "to-site", "a\x00b"):
        with pytest.raises(ValueError):
            inside(site, bad, real=real)
    assert inside(site, "to-page.html", real=real) == (site / "news" / "a.html").resolve()
    assert inside(site, "news/rel/x.html", real=real) == (site / "chu-de" / "x.html").resolve()
    assert inside(site, "news/new/deeper.html", real=real) == site.resolve() / "news/new/deeper.html"


def test_a_folder_swapped_for_a_link_during_the_pass_is_refused(tree):
    """The pass keeps only the site folder's own real path: a folder of the site replaced by a
    link out of it after an earlier call (same ``RealPaths``) is refused at the next call."""
    site, real = tree / "site", RealPaths()
    assert inside(site, "chu-de/x.html", real=real) == site.resolve() / "chu-de/x.html"
    (site / "chu-de").rename(tree / "moved")
    (site / "chu-de").symlink_to(tree / "moved")  # the very same folder, now reached through a link
    (site / "news").rename(tree / "moved-news")
    (site / "news").symlink_to(tree / "outside")
    with pytest.raises(ValueError):
        inside(site, "chu-de/x.html", real=real)
    with pytest.raises(ValueError):
        inside(site, "news/a.html", real=real)
    (site / "chu-de").unlink()
    (site / "chu-de").mkdir()
    (site / "chu-de" / "x.html").symlink_to(tree / "outside" / "x.html")  # the page itself, now a link
    with pytest.raises(ValueError):
        inside(site, "chu-de/x.html", real=real)
