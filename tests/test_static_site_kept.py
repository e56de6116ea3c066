"""A site's store kept between passes in one process (the daemon: a new publisher every pass, the
store of the last one kept) says what a fresh reading of the manifest and the journal says: after
edits, moves, retractions, compactions, and writes by another process (a second publisher, as
``loa publish`` beside the daemon or ``loa site rebuild`` would write)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from types import MappingProxyType, SimpleNamespace

import pytest

from pipeline.models import Rendering
from publishers import portal_pages as pages
from publishers import static_site
from publishers.site_store import SiteStore
from publishers.static_site import StaticSitePublisher

NOW = datetime(2024, 3, 25, 1, 0, tzinfo=timezone.utc)
TYPES, UNITS, TOPICS = ("news", "thong-bao"), ("phuong-1", "phuong-2"), ("cchc", "y-te", "giao-duc")


def make(repo) -> StaticSitePublisher:
    return StaticSitePublisher("portal", {}, site=SimpleNamespace(root=repo, base_url="https://cong.example.vn",
                                                                  site_name="Cổng TTĐT"), clock=lambda: NOW)


def rendering(rng: random.Random, pid: str, version: int) -> Rendering:
    topics = {t: t.upper() for t in rng.sample(TOPICS, rng.randint(0, 2))}
    extra = {"slug": rng.choice([pid[-6:], f"{pid[-6:]}-{rng.randint(1, 3)}"]), "type": rng.choice(TYPES),
             "type_label": "Tin", "unit": rng.choice(UNITS), "unit_name": "Phường", "topic_labels": topics,
             "summary": "Tóm tắt", "publish_at": NOW - timedelta(days=rng.randint(0, 90)), "image_hash": None}
    return Rendering(post_id=pid, channel="portal", channel_type="static_site", kind="article", title=f"Bài {pid} v{version}",
                     body="<p>Nội dung</p>", length=10, limit=None, source_hash=f"v{version}", hash=f"v{version}h",
                     image_path=None, extra=MappingProxyType(extra))


def seen(store: SiteStore) -> dict:
    """What a store says, in the terms its users read it."""
    return {"articles": list(store.articles.items()), "redirects": store.redirects, "pending": store.pending,
            "by_path": store.by_path, "place": store.place, "lines": store._journal_lines,
            "lists": {p: list(m) for p, m in store.lists.items()},
            "members": {p: store.members(p) for p in store.lists},
            "related": {pid: [a["path"] for a in store.related(pid, a.get("topics"))] for pid, a in store.articles.items()},
            "old": store.old_addresses()}


def fresh(repo) -> dict:
    """What a store read anew from the files says (made apart: the kept one stays kept)."""
    return seen(SiteStore(make(repo)._file, None, lists_of=lambda a: pages.list_paths(a, timezone.utc)).load())


def work(pub, rng, made: dict, steps: int, version: list) -> None:
    for _ in range(steps):
        pid = f"20240301-{rng.randrange(14):06d}"
        version[0] += 1
        if pid in made and rng.random() < 0.25:
            pub.retract(made.pop(pid), "sai")
        elif pid in made:
            made[pid] = pub.update(rendering(rng, pid, version[0]), made[pid])
        else:
            try:
                made[pid] = pub.publish(rendering(rng, pid, version[0]), key=f"k{version[0]}")
            except Exception as exc:  # an address another post holds or held: refused, as in a pass
                assert "PermanentPublishError" in type(exc).__name__, exc


@pytest.mark.parametrize("seed", range(6))
def test_a_kept_store_equals_a_fresh_reading(tmp_path, monkeypatch, seed):
    rng, made, version, reads = random.Random(seed), {}, [0], {"all": 0, "tail": 0}
    manifest, journal = SiteStore._read_manifest, SiteStore._read_journal

    def read_manifest(self):
        reads["all"] += 1
        return manifest(self)

    def read_journal(self, start=0, cut=True):
        reads["tail"] += start > 0
        return journal(self, start, cut)

    monkeypatch.setattr(SiteStore, "_read_manifest", read_manifest)
    monkeypatch.setattr(SiteStore, "_read_journal", read_journal)
    repo = tmp_path / "repo"
    repo.mkdir()
    kept = None
    for n in range(40):  # one pass each
        pub = make(repo)
        assert kept is None or pub.store is kept  # the last pass's store, not one read anew
        other = None
        roll = rng.random()
        if roll < 0.35:  # another process writes before this pass, or while it runs
            other = make(repo)  # its own store: the kept one is this pass's
            pub.store.load()
            work(other, rng, made, rng.randint(1, 4), version)
            if rng.random() < 0.3:
                with other._locked() as store:
                    store.compact()
            if rng.random() < 0.5:
                other.close()
        elif roll < 0.42:  # `loa site rebuild`: the files set aside, written anew
            other = make(repo)
            pub.store.load()
            other.set_aside_manifest(f"20240325-0{n:05d}")
            made.clear()
        work(pub, rng, made, rng.randint(0, 5), version)
        if rng.random() < 0.15:
            with pub._locked() as store:
                store.compact()
        pub.close()
        kept = static_site._KEPT[pub._kept_as]
        assert seen(kept.load()) == fresh(repo), (seed, n)
    assert reads["tail"] and reads["all"] > 1, reads  # both ways of reading were taken


def test_a_publisher_used_after_close_takes_the_kept_store_again(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    first = make(repo)
    store = first.store
    first.close()
    second = make(repo)
    assert second.store is store and first.store is not store  # never shared by two publishers at once
    second.close()


def test_a_store_read_halfway_is_read_again(tmp_path):
    """A journal line that cannot be used raises; the next load() (the line mended) reads it all."""
    rng, made, version = random.Random(1), {}, [0]
    repo = tmp_path / "repo"
    repo.mkdir()
    for steps in (5, 3):  # the first pass compacts: a new site
        pub = make(repo)
        work(pub, rng, made, steps, version)
        pub.close()
    journal = pub.out / ".loa-site.journal"
    good = journal.read_bytes()
    with open(journal, "ab") as fh:
        fh.write(b'{"nothing":1}\n')
    pub = make(repo)
    with pytest.raises(Exception):
        pub.store.load()
    journal.write_bytes(good)
    assert seen(pub.store.load()) == fresh(repo)


def test_reading_the_old_addresses_leaves_the_kept_store_to_the_passes(tmp_path):
    """A session keeps one publisher, never closed, whose old addresses ``loa check`` reads at
    every tick: it must not take the store the passes keep."""
    rng, made, version = random.Random(2), {}, [0]
    repo = tmp_path / "repo"
    repo.mkdir()
    pub = make(repo)
    work(pub, rng, made, 5, version)
    pub.close()
    kept = static_site._KEPT[pub._kept_as]
    checker = make(repo)
    checker.address_conflicts([])
    assert static_site._KEPT[pub._kept_as] is kept and make(repo).store is kept


def test_a_reading_overtaken_by_a_compaction_is_not_kept(tmp_path, monkeypatch):
    """A lookup reads without the lock. When another process compacts between the manifest's
    reading and the journal's, the store holds the old manifest without the journal's articles;
    kept under the new files' signature, it would never be read again: the daemon's lookup would
    not find an article on the site (and its next compaction would drop it from the manifest)."""
    rng, repo = random.Random(7), tmp_path / "repo"
    repo.mkdir()
    other = make(repo)
    first, second = rendering(rng, "20240301-000001", 1), rendering(rng, "20240301-000002", 2)
    other.publish(first, key="k1")
    other.close()  # the first pass's lists: a manifest with the first article
    other = make(repo)
    other.publish(second, key="k2")  # a line in the journal
    manifest, raced = SiteStore._read_manifest, []

    def read_manifest(self):
        out = manifest(self)
        if not raced:  # another process compacts right after this reading
            raced.append(True)
            with other._locked() as store:
                store.compact()
        return out

    monkeypatch.setattr(SiteStore, "_read_manifest", read_manifest)
    pub = make(repo)
    pub._lookup(second, "k2")  # overtaken: may miss it, but must not keep what it read
    assert raced
    assert pub._lookup(second, "k2") is not None
    assert seen(pub.store.load()) == fresh(repo)


def test_a_lookup_does_not_cut_the_line_a_locked_writer_is_writing(tmp_path):
    """A lookup reads without the lock: a last line without its end may be one a pass is writing
    right now (holding the lock), not one cut by a crash; cutting it would take the article
    out of the journal the pass acknowledges."""
    rng, repo = random.Random(8), tmp_path / "repo"
    repo.mkdir()
    writer = make(repo)
    first = rendering(rng, "20240301-000001", 1)
    writer.publish(first, key="k1")
    writer.flush()
    journal = writer.out / static_site.JOURNAL
    assert journal.exists()
    with writer._locked():
        with open(journal, "ab") as fh:
            fh.write(b'{"put":"20240301-0000')  # the pass's line, half written
        before = journal.read_bytes()
        assert make(repo)._lookup(first, "k1") is not None
        assert journal.read_bytes() == before
