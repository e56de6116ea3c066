"""Group commit: a batching channel (the static portal) sends a group of items, makes them durable
with one ``flush()``, then records their successes and claims the next group in one ledger
transaction (pipeline/publish.py ``Engine._group``). What a group must keep of exactly-once: a
flush that fails records no success, a bug or a lost claim ends its item alone, a stop lets the
claimed group finish, a held channel gives back what it did not send."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from pipeline.app import Session
from pipeline.errors import PublisherAuthError, TransientPublishError
from pipeline.ledger import open_ledger
from pipeline.ledger.base import ClaimLost
from pipeline.ledger.sqlite import SQLiteLedger
from publishers import static_site
from publishers.site_store import SiteStore
from publishers.static_site import StaticSitePublisher
from tests.repo import post
from tests.test_engine import T0, Env, server  # noqa: F401 - a fixture

N = 10


@pytest.fixture
def env(tmp_path, server, monkeypatch):
    monkeypatch.setattr(StaticSitePublisher, "batch", 4)  # groups of 4, 4, 2
    return Env(tmp_path, server, {f"news/p{i:02d}.md": post(id=f"20240325-p{i:02d}", slug=f"bai-{i:02d}",
                                                              publish_at=f"2024-03-25 07:{i:02d}")
                                  for i in range(N)})


def ids(*nums):
    return [f"20240325-p{i:02d}" for i in nums]


def session(env, now):
    return Session(env.cfg, env.ledger, owner="test-worker", clock=lambda: now, env={})


def portal_rows(env):
    lg = env.ledger()
    try:
        return {r.post_id: r for r in lg.rows(channel="portal")}
    finally:
        lg.close()


def events(env, kind):
    lg = env.ledger()
    try:
        return [e.post_id for e in lg.events() if e.kind == kind and e.channel == "portal"]
    finally:
        lg.close()


def articles(env):
    return SiteStore(lambda rel: env.root / "site" / rel, None).load().articles


@pytest.fixture
def calls(monkeypatch):
    """Every flush and every group transaction of the ledger, in order."""
    seen = []
    real_flush, real_tx = StaticSitePublisher.flush, SQLiteLedger.record_successes_and_claims

    def flush(self):
        seen.append(("flush",))
        return real_flush(self)

    def tx(self, successes, claims):
        seen.append(("tx", [s["post_id"] for s in successes], [c["post_id"] for c in claims]))
        return real_tx(self, successes, claims)
    monkeypatch.setattr(StaticSitePublisher, "flush", flush)
    monkeypatch.setattr(SQLiteLedger, "record_successes_and_claims", tx)
    return seen


def test_a_group_is_flushed_then_recorded_with_the_next_groups_claims_in_one_transaction(env, calls):
    r = session(env, T0).publish(T0, only_channel="portal")
    assert r.sent == N and r.exit_code == 0
    group_calls = [c for c in calls if c[0] == "tx" or c == ("flush",)]
    assert group_calls[:5] == [
        ("tx", [], ids(0, 1, 2, 3)),  # the first group's claims, one transaction
        ("flush",), ("tx", ids(0, 1, 2, 3), ids(4, 5, 6, 7)),  # its successes + the next claims: one commit
        ("flush",), ("tx", ids(4, 5, 6, 7), ids(8, 9))]
    assert group_calls[5:7] == [("flush",), ("tx", ids(8, 9), [])]
    assert all(row.state == "published" for row in portal_rows(env).values())
    assert sorted(events(env, "success")) == ids(*range(N))
    assert sorted(articles(env)) == ids(*range(N))


def test_a_batch_of_one_is_claim_send_record_item_by_item(env, calls, monkeypatch):
    monkeypatch.setattr(StaticSitePublisher, "batch", 1)
    assert session(env, T0).publish(T0, only_channel="portal").sent == N
    txs = [c for c in calls if c[0] == "tx"]
    assert txs[0] == ("tx", [], ids(0)) and txs[1] == ("tx", ids(0), ids(1)) and txs[-1] == ("tx", ids(N - 1), [])
    assert len(txs) == N + 1


def test_a_flush_that_fails_records_each_send_as_a_retry_and_nothing_goes_twice(env, monkeypatch):
    real = static_site._make_durable
    failed = []

    def disk_trouble(root, files, folders):
        if not failed:
            failed.append(True)
            raise OSError(5, "Input/output error")
        return real(root, files, folders)
    monkeypatch.setattr(static_site, "_make_durable", disk_trouble)
    r = session(env, T0).publish(T0, only_channel="portal")
    assert (r.sent, r.transient) == (0, 4)  # the first group: none recorded as sent; the channel waits
    rows = portal_rows(env)
    assert sorted(p for p, row in rows.items() if row.state == "retrying") == ids(0, 1, 2, 3)
    assert all(rows[p].state == "pending" for p in ids(4, 5, 6, 7, 8, 9))
    assert events(env, "success") == []
    later = T0 + timedelta(hours=7)
    r = session(env, later).publish(later, only_channel="portal")
    assert r.settled + r.sent == N and r.exit_code == 0
    assert all(row.state == "published" for row in portal_rows(env).values())
    assert sorted(events(env, "success")) == ids(*range(N))  # one success each: nothing published twice
    assert sorted(articles(env)) == ids(*range(N))
    assert len(list((env.root / "site/news").glob("*.html"))) == N


def test_a_bug_in_the_middle_of_a_group_ends_that_item_alone(env, monkeypatch):
    real = StaticSitePublisher._send

    def send(self, rendering, key):
        if rendering.post_id == ids(5)[0]:
            raise RuntimeError("a bug")
        return real(self, rendering, key)
    monkeypatch.setattr(StaticSitePublisher, "_send", send)
    r = session(env, T0).publish(T0, only_channel="portal")
    assert (r.sent, r.bugs) == (N - 1, 1)
    rows = portal_rows(env)
    assert (rows[ids(5)[0]].state, rows[ids(5)[0]].error_kind) == ("failed", "bug")
    assert sorted(p for p, row in rows.items() if row.state == "published") == ids(0, 1, 2, 3, 4, 6, 7, 8, 9)


def test_a_claim_lost_inside_a_group_is_that_item_alone(env, monkeypatch):
    real, lost = StaticSitePublisher._send, ids(5)[0]

    def send(self, rendering, key):
        if rendering.post_id == lost:  # another worker takes this claim over while the group is sent
            lg = env.ledger()
            try:
                lg.mark_in_doubt(lost, "portal", owner="w2", reason="lease expired", now=T0 + timedelta(hours=1))
            finally:
                lg.close()
        return real(self, rendering, key)
    monkeypatch.setattr(StaticSitePublisher, "_send", send)
    r = session(env, T0).publish(T0, only_channel="portal")
    assert (r.sent, r.in_doubt) == (N - 1, 1)
    rows = portal_rows(env)
    assert rows[lost].state == "in_doubt" and events(env, "claim_lost") == [lost]
    assert sorted(p for p, row in rows.items() if row.state == "published") == ids(0, 1, 2, 3, 4, 6, 7, 8, 9)


def test_a_stop_mid_group_lets_the_group_finish_and_claims_no_more(env, monkeypatch):
    s = session(env, T0)
    real = StaticSitePublisher._send

    def send(self, rendering, key):
        if rendering.post_id == ids(5)[0]:
            s.stop.set()  # SIGTERM to the daemon while the second group is sent
        return real(self, rendering, key)
    monkeypatch.setattr(StaticSitePublisher, "_send", send)
    r = s.publish(T0, only_channel="portal")
    rows = portal_rows(env)
    assert r.sent == 8
    assert sorted(p for p, row in rows.items() if row.state == "published") == ids(0, 1, 2, 3, 4, 5, 6, 7)
    assert all(rows[p].state == "pending" and rows[p].claim_owner is None for p in ids(8, 9))


def test_a_channel_held_mid_group_gives_back_the_claims_it_did_not_send(env, monkeypatch):
    real = StaticSitePublisher._send

    def send(self, rendering, key):
        if rendering.post_id == ids(5)[0]:
            raise PublisherAuthError("portal", rendering.post_id, "refused")
        return real(self, rendering, key)
    monkeypatch.setattr(StaticSitePublisher, "_send", send)
    r = session(env, T0).publish(T0, only_channel="portal")
    rows = portal_rows(env)
    assert r.sent == 5  # the first group, and the second's item before the refusal
    assert sorted(p for p, row in rows.items() if row.state == "published") == ids(0, 1, 2, 3, 4)
    assert rows[ids(5)[0]].state == "failed"
    for p in ids(6, 7):  # claimed with the first group's successes, never sent: given back, no attempt spent
        assert (rows[p].state, rows[p].claim_owner, rows[p].attempts) == ("pending", None, 0)
    assert sorted(events(env, "release")) == ids(6, 7)


def test_the_heartbeat_renews_every_item_of_the_group():
    from pipeline.publish import _Heartbeat

    renewed, both = set(), threading.Event()

    class Ledger:
        def renew(self, post_id, channel, *, owner, lease, now):
            renewed.add(post_id)
            if {"a", "b", "c"} <= renewed:
                both.set()
            return True
    beat = _Heartbeat(Ledger(), "portal", "w", timedelta(seconds=0.15), lambda: T0)
    try:
        beat.watch(["a", "b", "c"])
        assert both.wait(30), renewed
    finally:
        beat.stop()


def test_a_lookup_does_not_trust_a_page_a_power_cut_left_cut(env):
    assert session(env, T0).publish(T0, only_channel="portal").sent == N
    pub = StaticSitePublisher("portal", {}, site=env.cfg, clock=lambda: T0)
    from pipeline.models import Rendering
    version = articles(env)[ids(3)[0]]["version"]  # the version the site has
    r = Rendering(post_id=ids(3)[0], channel="portal", channel_type="static_site", kind="article", title="x",
                  body="", length=0, limit=None, source_hash=version, hash="h", image_path=None, extra={})
    page = env.root / "site/news/bai-03.html"
    whole = page.read_bytes()
    assert pub.lookup(r, "k") is not None
    page.write_bytes(whole[:len(whole) // 2])  # written, renamed, its data not on disk yet
    assert pub.lookup(r, "k") is None  # sent again: the same address, harmless
    page.write_bytes(b"")
    assert pub.lookup(r, "k") is None
    page.write_bytes(whole)
    assert pub.lookup(r, "k") is not None


@pytest.mark.parametrize("syncfs", [True, False])
def test_both_ways_to_make_a_group_durable_run(env, monkeypatch, syncfs):
    """syncfs(2) where Linux has it; else an fsync of each file and folder the group changed."""
    import os

    synced = []
    if syncfs:
        real = static_site._libc_syncfs()
        assert real is not None  # the machines Loa runs on

        def spy(fd):
            synced.append(fd)
            return real(fd)
        monkeypatch.setattr(static_site, "_SYNCFS", spy)
    else:
        monkeypatch.setattr(static_site, "_SYNCFS", None)
        real_fsync = os.fsync
        monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    assert session(env, T0).publish(T0, only_channel="portal").sent == N
    # syncfs: once per group (3) and once for the lists in close(); one fsync per page and folder else
    assert len(synced) == 4 if syncfs else len(synced) > N
    assert sorted(articles(env)) == ids(*range(N))


def test_a_journal_line_is_written_after_the_pages_it_names(env, monkeypatch):
    """The group's flush makes its pages durable first, then writes the journal's lines."""
    order = []
    real_durable, real_journal = static_site._make_durable, SiteStore.write_journal

    def durable(root, files, folders):
        order.append(("pages", sorted(f.name for f in files if f.parent.name == "news")))
        return real_durable(root, files, folders)

    def journal(self):
        order.append(("journal", [r.get("put") for r in self.unwritten]))
        return real_journal(self)
    monkeypatch.setattr(static_site, "_make_durable", durable)
    monkeypatch.setattr(SiteStore, "write_journal", journal)
    session(env, T0).publish(T0, only_channel="portal")
    assert order[:2] == [("pages", [f"bai-{i:02d}.html" for i in range(4)]), ("journal", ids(0, 1, 2, 3))]


def test_an_article_found_by_a_lookup_is_made_durable_before_it_is_reported(env, monkeypatch):
    """The engine records a found item at once: its page and journal line must be on disk, also
    when they were left unflushed (a flush that failed in this process, or a killed one's files)."""
    from pipeline.models import Rendering

    assert session(env, T0).publish(T0, only_channel="portal").sent == N
    pub = StaticSitePublisher("portal", {}, site=env.cfg, clock=lambda: T0)
    r = Rendering(post_id="20240325-new", channel="portal", channel_type="static_site", kind="article",
                  title="Bài mới", body="<p>x</p>", length=1, limit=None, source_hash="v", hash="h",
                  image_path=None, extra={"slug": "bai-moi", "type": "news"})
    pub.publish(r, key="k")  # its group's flush did not happen
    journal = env.root / "site" / static_site.JOURNAL
    assert b"20240325-new" not in (journal.read_bytes() if journal.exists() else b"")
    synced = []
    real = static_site._make_durable
    monkeypatch.setattr(static_site, "_make_durable", lambda root, files, folders: (
        synced.extend(files), real(root, files, folders))[1])
    assert pub.lookup(r, "k") is not None
    assert env.root / "site/news/bai-moi.html" in synced and b"20240325-new" in journal.read_bytes()


def test_an_image_a_power_cut_left_empty_is_copied_again_when_its_article_is_sent_again(tmp_path):
    """A new image is renamed into media/ unsynced, like its page; a power cut before the group's
    flush can leave the name with no data (delayed allocation). The article is sent again (its
    journal line never reached the disk): the image must be copied again, not trusted for being there."""
    from types import MappingProxyType, SimpleNamespace

    from pipeline.models import Rendering

    img = tmp_path / "anh.jpg"
    img.write_bytes(b"\xff\xd8" + b"jpeg" * 1000)
    site = SimpleNamespace(root=tmp_path / "repo", base_url="https://cong.example.vn", site_name="Cổng TTĐT")
    extra = {"slug": "bai-anh", "type": "news", "type_label": "Tin tức", "unit": "phuong-1", "unit_name": "Phường 1",
             "topic_labels": {}, "summary": "Tóm tắt", "image_hash": "0123abcd"}
    r = Rendering(post_id="20240325-anh", channel="portal", channel_type="static_site", kind="article", title="Ảnh",
                  body="<p>x</p>", length=1, limit=None, source_hash="v", hash="h", image_path=img,
                  extra=MappingProxyType(extra))
    pub = StaticSitePublisher("portal", {}, site=site, clock=lambda: T0)
    pub.publish(r, key="k")  # killed by the power cut before its group's flush
    media = site.root / "site/media/0123abcd.jpg"
    media.write_bytes(b"")  # what the disk kept of it
    (site.root / "site/news/bai-anh.html").write_bytes(b"")
    again = StaticSitePublisher("portal", {}, site=site, clock=lambda: T0)  # the next process
    assert again.lookup(r, "k") is None  # never recorded: sent again
    again.publish(r, key="k")
    again.flush()
    assert media.read_bytes() == img.read_bytes()


def test_a_manifest_found_unusable_at_the_flush_holds_the_channel_and_the_group_goes_again(env, monkeypatch):
    """The flush reads the site's manifest again (under the site's lock) before it writes the
    group's journal lines; found damaged (another process, a disk error), that holds the channel
    (PermanentPublishError, as a send that meets it). The group's items were written but are not
    durable, so none is recorded as sent, and none may be recorded as a bug (never retried): each
    goes again, looked up first, once the site is repaired."""
    real = StaticSitePublisher.flush
    damaged = []

    def flush(self):
        if not damaged:
            damaged.append(True)
            (env.root / "site" / static_site.MANIFEST).write_text("{not json")
        return real(self)
    monkeypatch.setattr(StaticSitePublisher, "flush", flush)
    r = session(env, T0).publish(T0, only_channel="portal")
    rows = portal_rows(env)
    assert (r.sent, r.bugs) == (0, 0), r.lines
    assert not [p for p, row in rows.items() if row.error_kind == "bug"]
    assert sorted(p for p, row in rows.items() if row.state == "retrying") == ids(0, 1, 2, 3)
    lg = env.ledger()
    try:
        assert "portal" in lg.holds()  # held once, as a send that meets the damaged manifest is
        (env.root / "site" / static_site.MANIFEST).unlink()  # what its hint says a person does
        lg.lift_hold("portal", T0)
    finally:
        lg.close()
    assert events(env, "success") == []
    later = T0 + timedelta(hours=7)
    r = session(env, later).publish(later, only_channel="portal")
    assert r.settled + r.sent == N and r.exit_code == 0, r.lines
    assert sorted(events(env, "success")) == ids(*range(N))  # one success each
    assert sorted(articles(env)) == ids(*range(N))


def test_a_post_edited_after_its_group_failed_to_flush_is_published_as_edited(env, monkeypatch):
    """A group's flush fails: its articles are written (old version) and their items retry, looked
    up first. The author edits one before the next pass: the lookup must not report the old
    version's page as the new version's (the ledger would record the edit as published and the
    portal would keep the old text): it is written again."""
    real = static_site._make_durable
    failed = []

    def disk_trouble(root, files, folders):
        if not failed:
            failed.append(True)
            raise OSError(28, "No space left on device")
        return real(root, files, folders)
    monkeypatch.setattr(static_site, "_make_durable", disk_trouble)
    assert session(env, T0).publish(T0, only_channel="portal").transient == 4
    env.write("news/p02.md", post(id="20240325-p02", slug="bai-02", title="Tiêu đề đã sửa sau khi đĩa đầy",
                                  publish_at="2024-03-25 07:02"))
    later = T0 + timedelta(hours=7)
    r = session(env, later).publish(later, only_channel="portal")
    assert r.exit_code == 0, r.lines
    page = (env.root / "site/news/bai-02.html").read_text(encoding="utf-8")
    assert "Tiêu đề đã sửa sau khi đĩa đầy" in page
    assert articles(env)[ids(2)[0]]["title"] == "Tiêu đề đã sửa sau khi đĩa đầy"


@pytest.mark.parametrize("compacted", [False, True])
def test_a_line_left_unwritten_by_a_failed_flush_never_overwrites_what_another_process_wrote_since(
        tmp_path, monkeypatch, compacted):
    """The daemon's flush fails: its kept store holds the article's line (its item retries). Then
    another process (loa publish) sends the item again, edited (a new address), and records it. The
    daemon's next flush must not append its stale line after that one: the site's record would go
    back to the old version and address (lists, and a later retraction would remove the redirect
    and leave the new page online)."""
    from types import SimpleNamespace

    from tests.test_static_site import NOW, rendering

    site = SimpleNamespace(root=tmp_path / "repo", base_url="https://cong.example.vn", site_name="Cổng TTĐT")
    daemon = StaticSitePublisher("portal", {}, site=site, clock=lambda: NOW)
    daemon.publish(rendering(slug="cu", version="v1"), key="k1")
    real = static_site._make_durable
    monkeypatch.setattr(static_site, "_make_durable", lambda *a: (_ for _ in ()).throw(OSError(28, "full")))
    with pytest.raises(TransientPublishError):
        daemon.flush()
    monkeypatch.setattr(static_site, "_make_durable", real)
    other = StaticSitePublisher("portal", {}, site=site, clock=lambda: NOW)  # another process: its own store
    other._store = SiteStore(other._file, static_site._atomic_write, lists_of=lambda a, tz=other.tz: [])
    other.publish(rendering(slug="moi", version="v2"), key="k2")
    other.flush()
    if compacted:
        with other._locked() as store:
            store.compact()
    daemon.flush()  # its next group, or its close()
    entry = SiteStore(lambda rel: site.root / "site" / rel, None).load().articles["20240325-abc123"]
    assert (entry["version"], entry["path"]) == ("v2", "news/moi.html")
