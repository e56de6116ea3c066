"""The ledger contract, one suite run against every backend (fixture ``ledger`` in conftest.py).

Concurrency, outages and URL handling are in ``test_ledger_concurrency.py``.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from pipeline.errors import LedgerError, LedgerLocked
from pipeline.ledger import EVENT_KINDS, Hold, Ledger, migrations
from pipeline.ledger.base import ClaimLost

SITE = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2025, 3, 3, 8, 0, tzinfo=SITE)
LEASE = timedelta(minutes=5)
META = {"title": "Hướng dẫn nộp hồ sơ trực tuyến", "unit": "phuong-1", "type": "guide",
        "author": "bbt", "path": "content/2025/huong-dan.md", "git_commit": "abc123",
        "topics": ["cchc", "dvctt"], "publish_at": NOW - timedelta(hours=1)}


def add(ledger, post="p1", channel="facebook", **meta):
    return ledger.ensure(post, channel, channel_type=channel, meta={**META, **meta}, now=NOW)


def claim(ledger, post="p1", channel="facebook", *, owner="w1", now=NOW, states=("pending",),
          version="v1", action="create"):
    return ledger.claim(post, channel, owner=owner, action=action, version=version, lease=LEASE,
                        now=now, allowed_states=states)


def publish(ledger, post="p1", channel="facebook", *, owner="w1", now=NOW, remote_id="r1", **kw):
    assert claim(ledger, post, channel, owner=owner, now=now, **kw) is not None
    return ledger.record_success(post, channel, owner=owner, remote_id=remote_id,
                                 remote_url=f"https://example.invalid/{remote_id}", version=None,
                                 extra=None, now=now)


def raw_execute(ledger_url: str, sql: str) -> None:
    """Write with the driver itself, around the ledger API (to test what the schema refuses)."""
    if ledger_url.startswith("sqlite:///"):
        with sqlite3.connect(ledger_url[len("sqlite:///"):]) as conn:
            conn.execute(sql)
    else:
        import psycopg
        with psycopg.connect(ledger_url, autocommit=True) as conn:
            conn.execute(sql)


def kinds(ledger, **filters):
    return [e.kind for e in ledger.events(**filters)]


# -- migrations -------------------------------------------------------------------------------------

def test_migrations_are_versioned_and_idempotent(open_ledgers):
    first = open_ledgers()
    assert first.schema_version() == 0
    assert first.migrate(NOW) == migrations.LATEST
    assert first.migrate(NOW) == migrations.LATEST
    assert open_ledgers().migrate(NOW) == migrations.LATEST
    assert first.schema_version() == migrations.LATEST
    rows = first.query("SELECT version, applied_at FROM schema_migrations ORDER BY version")
    assert rows == [(m.version, NOW) for m in migrations.MIGRATIONS]


def test_a_newer_schema_is_refused(ledger, ledger_url, open_ledgers):
    raw_execute(ledger_url, f"INSERT INTO schema_migrations (version, applied_at) "
                            f"VALUES ({migrations.LATEST + 1}, '2030-01-01T00:00:00.000000+00:00')")
    other = open_ledgers()
    with pytest.raises(LedgerError) as e:
        other.migrate(NOW)
    assert str(e.value) == (f"ledger {other.where} has schema version {migrations.LATEST + 1}, but "
                            f"this Loa knows only up to version {migrations.LATEST}: upgrade Loa "
                            f"before using this ledger")


# -- rows -------------------------------------------------------------------------------------------

def test_ensure_inserts_pending_then_writes_only_changes(ledger):
    row = add(ledger)
    assert (row.state, row.attempts, row.channel_type, row.version) == ("pending", 0, "facebook", None)
    assert (row.title, row.unit, row.topics, row.extra) == (META["title"], "phuong-1", ("cchc", "dvctt"), {})
    assert row.publish_at == META["publish_at"] and row.updated_at == NOW
    later = NOW + timedelta(hours=1)
    assert ledger.ensure("p1", "facebook", channel_type="facebook", meta=META, now=later) == row
    changed = ledger.ensure("p1", "facebook", channel_type="facebook", meta={"unit": "xa-an-binh"},
                            now=later)
    assert (changed.unit, changed.title, changed.updated_at) == ("xa-an-binh", META["title"], later)
    assert changed.state == "pending"
    with pytest.raises(ValueError, match=r"unknown ledger meta key\(s\) \['topic'\]"):
        ledger.ensure("p1", "facebook", channel_type="facebook", meta={"topic": "x"}, now=NOW)
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        ledger.ensure("p1", "facebook", channel_type="facebook", meta={}, now=datetime(2025, 1, 1))


def test_ensure_many_inserts_and_updates_in_one_call(ledger):
    add(ledger, "p1", "portal")
    items = [("p1", "portal", "wordpress", {"title": "Mới"}), ("p2", "portal", "wordpress", META),
             ("p2", "zalo", "zalo", {})]
    assert ledger.ensure_many(items, now=NOW + timedelta(minutes=1)) == 2
    snap = ledger.snapshot()
    assert set(snap) == {("p1", "portal"), ("p2", "portal"), ("p2", "zalo")}
    assert (snap["p1", "portal"].title, snap["p1", "portal"].channel_type) == ("Mới", "wordpress")
    assert snap["p2", "zalo"].title is None and snap["p2", "zalo"].state == "pending"


def test_get_rows_and_snapshot(ledger, open_ledgers):
    assert ledger.get("nope", "facebook") is None
    for post, channel, unit in (("a", "facebook", "u1"), ("a", "portal", "u1"), ("b", "facebook", "u2")):
        add(ledger, post, channel, unit=unit)
    publish(ledger, "a", "facebook", now=NOW + timedelta(days=1))
    assert [r.key for r in ledger.rows()] == [("a", "facebook"), ("a", "portal"), ("b", "facebook")]
    assert [r.key for r in ledger.rows(channel="facebook", unit="u2")] == [("b", "facebook")]
    assert [r.key for r in ledger.rows(states=["published"])] == [("a", "facebook")]
    assert [r.key for r in ledger.rows(post_id="a", states=["pending"])] == [("a", "portal")]
    day = NOW + timedelta(days=1)
    assert [r.key for r in ledger.rows(since=day, until=day + timedelta(seconds=1))] == [("a", "facebook")]
    assert ledger.rows(since=day + timedelta(seconds=1)) == []
    assert len(ledger.rows(since=NOW, by="updated_at")) == 3
    with pytest.raises(ValueError, match="rows\\(by='at'\\)"):
        ledger.rows(by="at")
    with pytest.raises(ValueError, match="unknown ledger state"):
        ledger.rows(states=["done"])
    snap = ledger.snapshot()
    assert snap == {r.key: r for r in ledger.rows()}
    # another Ledger object (another worker) changes a row: the next snapshot() shows it
    publish(open_ledgers(), "b", "facebook", owner="w2", now=NOW)
    assert ledger.snapshot()["b", "facebook"].state == "published"
    assert ledger.snapshot() == {r.key: r for r in ledger.rows()}



def test_snapshot_rev_is_the_invalidation_key(ledger, open_ledgers):
    add(ledger, "a")
    first = ledger.snapshot()
    again = ledger.snapshot()
    assert again.rev == first.rev and again == first
    again.pop(("a", "facebook"))  # a caller's snapshot is its own: the next one is whole
    assert ledger.snapshot() == first
    add(ledger, "a", title="Sửa tiêu đề")  # a real change raises rev
    changed = ledger.snapshot()
    assert changed.rev > first.rev and changed["a", "facebook"].title == "Sửa tiêu đề"
    add(ledger, "a", title="Sửa tiêu đề")  # nothing to change: same rev, same rows
    assert ledger.snapshot().rev == changed.rev
    other = open_ledgers()  # another process reading the same ledger sees the same rows at a rev
    assert other.snapshot() == ledger.snapshot() and other.snapshot().rev == ledger.snapshot().rev

# -- the claim protocol -----------------------------------------------------------------------------

def test_claim_is_exclusive_and_recorded(ledger):
    add(ledger)
    row = claim(ledger)
    assert (row.state, row.claim_owner, row.lease_until, row.action) == ("claimed", "w1", NOW + LEASE, "create")
    assert (row.pending_version, row.attempts, row.claimed_from) == ("v1", 1, "pending")
    assert claim(ledger, owner="w2") is None
    assert claim(ledger, owner="w2", states=("pending", "claimed"), now=NOW + LEASE) is None  # still live
    [event] = ledger.events()
    assert (event.kind, event.actor, event.version, event.post_id, event.channel) == (
        "claim", "w1", "v1", "p1", "facebook")
    assert dict(event.detail) == {"action": "create", "from": "pending", "attempt": 1,
                                  "lease_until": "2025-03-03T01:05:00.000000+00:00"}
    with pytest.raises(LedgerError) as e:
        claim(ledger, "ghost")
    assert str(e.value) == "no ledger row for ghost on facebook: cannot claim it (ensure() the row first)"
    with pytest.raises(ValueError, match="claim action 'post'"):
        claim(ledger, action="post")


def test_expired_claim_is_taken_over_only_when_claimed_is_allowed(ledger):
    add(ledger)
    claim(ledger)
    later = NOW + LEASE + timedelta(seconds=1)
    assert claim(ledger, owner="w2", now=later, states=("pending", "retrying")) is None
    row = claim(ledger, owner="w2", now=later, states=("pending", "claimed"))
    assert (row.claim_owner, row.attempts, row.claimed_from, row.lease_until) == ("w2", 2, "pending", later + LEASE)
    assert ledger.events()[-1].detail["took_over_from"] == "w1"


def test_a_lost_claim_never_overwrites_the_new_owner(ledger):
    add(ledger)
    claim(ledger)
    later = NOW + LEASE + timedelta(seconds=1)
    claim(ledger, owner="w2", now=later, states=("claimed",))
    with pytest.raises(LedgerError) as e:
        ledger.record_success("p1", "facebook", owner="w1", remote_id="fb-1", remote_url=None,
                              version="v1", extra=None, now=later)
    assert str(e.value) == ("claim lost: w1 no longer holds p1 on facebook (state claimed, held by w2); "
                            "its result (remote id fb-1) was not recorded")
    ledger.record_success("p1", "facebook", owner="w2", remote_id="fb-2", remote_url=None,
                          version="v1", extra=None, now=later)
    with pytest.raises(LedgerError) as e:
        ledger.record_failure("p1", "facebook", owner="w1", kind="transient", message="timeout",
                              next_attempt_at=later, now=later)
    assert str(e.value) == ("claim lost: w1 no longer holds p1 on facebook (state published); "
                            "its failure was not recorded")
    with pytest.raises(LedgerError, match="nothing was released"):
        ledger.release("p1", "facebook", owner="w1", now=later)
    row = ledger.get("p1", "facebook")
    assert (row.state, row.remote_id) == ("published", "fb-2")
    assert kinds(ledger) == ["claim", "claim", "success"]


def test_success_of_create_update_and_retract(ledger):
    add(ledger)
    t1, t2, t3 = NOW, NOW + timedelta(hours=1), NOW + timedelta(hours=2)
    claim(ledger, now=t1)
    row = ledger.record_success("p1", "facebook", owner="w1", remote_id="fb-1",
                                remote_url="https://fb.invalid/1", version="v1", extra={"media": [7]}, now=t1)
    assert (row.state, row.version, row.remote_id, row.extra) == ("published", "v1", "fb-1", {"media": [7]})
    assert (row.first_published_at, row.published_version_at, row.corrected_at) == (t1, t1, None)
    assert (row.claim_owner, row.lease_until, row.pending_version, row.attempts) == (None, None, None, 0)
    assert claim(ledger, now=t2, states=("published",), version="v2", action="update").claimed_from == "published"
    row = ledger.record_success("p1", "facebook", owner="w1", remote_id=None, remote_url=None,
                                version="v2", extra={"correction": True}, now=t2)
    assert (row.version, row.remote_id, row.remote_url) == ("v2", "fb-1", "https://fb.invalid/1")
    assert (row.first_published_at, row.published_version_at, row.corrected_at) == (t1, t2, t2)
    claim(ledger, now=t3, states=("published",), version="v2", action="retract")
    row = ledger.record_success("p1", "facebook", owner="w1", remote_id=None, remote_url=None,
                                version=None, extra=None, now=t3)
    assert (row.state, row.retracted_at, row.version, row.first_published_at) == ("retracted", t3, "v2", t1)
    assert kinds(ledger) == ["claim", "success", "claim", "update", "claim", "retract"]
    assert ledger.events()[1].detail == {"action": "create", "remote_id": "fb-1",
                                         "remote_url": "https://fb.invalid/1", "attempts": 1}


def test_failures_retry_later_or_stop(ledger):
    add(ledger)
    claim(ledger)
    retry_at = NOW + timedelta(minutes=2)
    row = ledger.record_failure("p1", "facebook", owner="w1", kind="transient", message="HTTP 503",
                                next_attempt_at=retry_at, now=NOW)
    assert (row.state, row.next_attempt_at, row.last_error, row.error_kind) == ("retrying", retry_at, "HTTP 503", "transient")
    assert (row.claim_owner, row.lease_until, row.attempts) == (None, None, 1)
    event = ledger.events()[-1]
    assert (event.kind, event.version) == ("failure", "v1")
    assert dict(event.detail) == {"kind": "transient", "message": "HTTP 503", "action": "create",
                                  "attempt": 1, "next_attempt_at": "2025-03-03T01:02:00.000000+00:00"}
    assert claim(ledger, now=retry_at, states=("retrying",)).attempts == 2  # same version: counted on
    row = ledger.record_failure("p1", "facebook", owner="w1", kind="permanent", message="(#100) bad",
                                next_attempt_at=retry_at, now=retry_at)
    assert (row.state, row.next_attempt_at, row.error_kind) == ("failed", None, "permanent")
    assert claim(ledger, now=retry_at, states=("failed",), version="v2").attempts == 1  # new content
    with pytest.raises(ValueError, match="failure kind 'oops'"):
        ledger.record_failure("p1", "facebook", owner="w1", kind="oops", message="", next_attempt_at=None, now=NOW)


def test_a_success_and_the_next_claim_commit_together_or_not_at_all(ledger):
    """record_success_and_claim: the same rows and events as record_success then claim, in one
    transaction; a lost claim or an error in either part leaves both rows as they were."""
    for p in ("p1", "p2", "p3"):
        add(ledger, p)
    claim(ledger, "p1")
    nxt = dict(post_id="p2", channel="facebook", action="create", version="v2", lease=LEASE, now=NOW,
               allowed_states=("pending",), meta={"title": "Bài hai"})
    done, claimed = ledger.record_success_and_claim(
        "p1", "facebook", owner="w1", remote_id="fb-1", remote_url="https://example.invalid/fb-1", version="v1",
        extra={"rendering_hash": "h1"}, now=NOW, send={"action": "create", "key": "k1"}, claim=nxt)
    assert (done.state, done.remote_id, ledger.get("p1", "facebook").state) == ("published", "fb-1", "published")
    assert (claimed.post_id, claimed.state, claimed.claim_owner, claimed.pending_version, claimed.title) == (
        "p2", "claimed", "w1", "v2", "Bài hai")
    assert [(e.kind, e.post_id) for e in ledger.events()] == [
        ("claim", "p1"), ("send", "p1"), ("success", "p1"), ("claim", "p2")]
    claim(ledger, "p3", owner="w2")  # held by another worker: the success is recorded, the claim is not made
    done, claimed = ledger.record_success_and_claim(
        "p2", "facebook", owner="w1", remote_id="fb-2", remote_url=None, version="v2", extra=None, now=NOW,
        claim={**nxt, "post_id": "p3"})
    assert (done.state, claimed, ledger.get("p3", "facebook").claim_owner) == ("published", None, "w2")
    before = (ledger.get("p3", "facebook"), len(ledger.events()))
    with pytest.raises(LedgerError, match="claim lost: w1 no longer holds p3"):  # the first part fails: neither
        ledger.record_success_and_claim("p3", "facebook", owner="w1", remote_id="fb-3", remote_url=None,
                                        version="v3", extra=None, now=NOW, claim={**nxt, "post_id": "p1",
                                                                                  "allowed_states": ("published",)})
    assert (ledger.get("p3", "facebook"), len(ledger.events())) == before
    assert ledger.get("p1", "facebook").state == "published"
    ledger.record_success("p3", "facebook", owner="w2", remote_id="fb-3", remote_url=None, version="v1",
                          extra=None, now=NOW)
    claim(ledger, "p1", owner="w2", states=("published",), action="update")
    before = (ledger.get("p1", "facebook"), len(ledger.events()))
    with pytest.raises(LedgerError, match="no ledger row for ghost"):  # the second part fails: neither
        ledger.record_success_and_claim("p1", "facebook", owner="w2", remote_id="fb-1", remote_url=None,
                                        version="v1", extra=None, now=NOW, claim={**nxt, "post_id": "ghost"})
    assert (ledger.get("p1", "facebook"), len(ledger.events())) == before


def test_a_groups_successes_and_the_next_groups_claims_commit_together_or_not_at_all(ledger):
    """record_successes_and_claims (group commit): the rows and events of each record_success then
    each claim, in one transaction; one lost claim among the successes leaves every row as it was."""
    for p in ("p1", "p2", "p3", "p4", "p5"):
        add(ledger, p)
    claimed = ledger.record_successes_and_claims([], [dict(post_id=p, channel="facebook", owner="w1", action="create",
                                                           version="v1", lease=LEASE, now=NOW,
                                                           allowed_states=("pending",)) for p in ("p1", "p2")])
    assert claimed[0] == [] and [(r.post_id, r.state, r.claim_owner) for r in claimed[1]] == [
        ("p1", "claimed", "w1"), ("p2", "claimed", "w1")]

    def success(p):
        return dict(post_id=p, channel="facebook", owner="w1", remote_id=f"fb-{p}", remote_url=None, version="v1",
                    extra=None, now=NOW, send={"action": "create", "key": f"k-{p}"})

    def nxt(p):
        return dict(post_id=p, channel="facebook", owner="w1", action="create", version="v1", lease=LEASE, now=NOW,
                    allowed_states=("pending",))
    claim(ledger, "p4", owner="w2")  # another worker's: not claimed, the rest is
    done, rows = ledger.record_successes_and_claims([success("p1"), success("p2")], [nxt("p3"), nxt("p4")])
    assert [(r.post_id, r.state) for r in done] == [("p1", "published"), ("p2", "published")]
    assert (rows[0].post_id, rows[0].state, rows[1]) == ("p3", "claimed", None)
    assert [(e.kind, e.post_id) for e in ledger.events()][-5:] == [
        ("send", "p1"), ("success", "p1"), ("send", "p2"), ("success", "p2"), ("claim", "p3")]
    before = ([ledger.get(p, "facebook") for p in ("p3", "p4", "p5")], len(ledger.events()))
    with pytest.raises(ClaimLost, match="p4"):  # the second success is not w1's: nothing of the group is written
        ledger.record_successes_and_claims([success("p3"), success("p4")], [nxt("p5")])
    assert ([ledger.get(p, "facebook") for p in ("p3", "p4", "p5")], len(ledger.events())) == before


def test_release_gives_the_claim_back(ledger):
    add(ledger)
    claim(ledger)
    row = ledger.release("p1", "facebook", owner="w1", now=NOW)
    assert (row.state, row.attempts, row.claim_owner, row.claimed_from) == ("pending", 0, None, None)
    publish(ledger)
    claim(ledger, states=("published",), version="v2", action="update")
    row = ledger.release("p1", "facebook", owner="w1", now=NOW)
    assert (row.state, row.version) == ("published", "v1")
    assert ledger.events()[-1].detail == {"to": "published", "action": "update"}


def test_in_doubt_rows_wait_for_a_person(ledger):
    add(ledger, "p1")
    add(ledger, "p2")
    claim(ledger, "p1")
    with pytest.raises(LedgerError) as e:
        ledger.mark_in_doubt("p1", "facebook", owner="w2", reason="?", now=NOW)
    assert str(e.value) == ("p1 on facebook cannot be marked in doubt by w2 (state claimed, held by w1 "
                            "until 2025-03-03 01:05:00+00:00)")
    later = NOW + LEASE + timedelta(seconds=1)
    row = ledger.mark_in_doubt("p1", "facebook", owner="w2", reason="lease expired, no lookup API", now=later)
    assert (row.state, row.last_error, row.claim_owner, row.pending_version) == (
        "in_doubt", "lease expired, no lookup API", None, "v1")
    assert claim(ledger, "p1", now=later, states=("pending", "retrying", "claimed")) is None
    row = ledger.resolve("p1", "facebook", published_url="https://fb.invalid/9", remote_id="9",
                         actor="chi.nguyen", now=later)
    assert (row.state, row.version, row.remote_id, row.first_published_at) == ("published", "v1", "9", later)
    claim(ledger, "p2")
    ledger.mark_in_doubt("p2", "facebook", owner="w1", reason="crashed mid-call", now=NOW)
    row = ledger.resolve("p2", "facebook", published_url=None, actor="chi.nguyen", now=later)
    assert (row.state, row.attempts, row.last_error) == ("pending", 0, None)
    assert kinds(ledger, post_id="p2") == ["claim", "in_doubt", "resolve"]
    with pytest.raises(LedgerError) as e:
        ledger.resolve("p2", "facebook", published_url=None, actor="chi.nguyen", now=later)
    assert str(e.value) == "p2 on facebook is not in doubt (state pending); nothing to resolve"


def test_retry_puts_failed_and_retrying_rows_back(ledger):
    for post in ("a", "b", "c", "d"):
        add(ledger, post)
        claim(ledger, post)
    for post, kind in (("a", "permanent"), ("b", "auth"), ("c", "transient")):
        ledger.record_failure(post, "facebook", owner="w1", kind=kind, message="no",
                              next_attempt_at=NOW + timedelta(hours=1), now=NOW)
    assert ledger.retry("a", actor="chi.nguyen", now=NOW) == 1
    assert ledger.retry(channel="facebook", actor="chi.nguyen", now=NOW) == 2
    assert ledger.retry(actor="chi.nguyen", now=NOW) == 0
    rows = {r.post_id: r for r in ledger.rows()}
    assert [(rows[p].state, rows[p].attempts, rows[p].error_kind) for p in "abc"] == [("pending", 0, None)] * 3
    assert rows["d"].state == "claimed"
    assert kinds(ledger, kinds=["retry"]) == ["retry"] * 3


def test_skip_is_idempotent_and_respects_live_claims(ledger):
    add(ledger, "p1")
    row = ledger.skip("p1", "facebook", reason="stale: publish_at 3 days ago", now=NOW)
    assert (row.state, row.last_error) == ("skipped", "stale: publish_at 3 days ago")
    ledger.skip("p1", "facebook", reason="stale: publish_at 3 days ago", now=NOW + timedelta(minutes=1))
    assert ledger.get("p1", "facebook").updated_at == NOW and kinds(ledger) == ["skip"]
    add(ledger, "p2")
    claim(ledger, "p2")
    with pytest.raises(LedgerError) as e:
        ledger.skip("p2", "facebook", reason="blackout", now=NOW)
    assert str(e.value) == "p2 on facebook is claimed by w1 until 2025-03-03 01:05:00+00:00; not skipped"
    with pytest.raises(LedgerError, match="not skipped"):  # expired but not reconciled: may have sent
        ledger.skip("p2", "facebook", reason="blackout", now=NOW + LEASE + timedelta(hours=1))


# -- events, kv, pauses, spacing, query -------------------------------------------------------------

def test_events_are_append_only(ledger, ledger_url):
    first = ledger.add_event("send", post_id="p1", channel="zalo", actor="w1", detail={"n": 1}, now=NOW)
    ledger.add_event("pause", actor="chi", now=NOW + timedelta(minutes=1), version="v9")
    assert (first.kind, first.at, first.detail, first.version) == ("send", NOW, {"n": 1}, None)
    assert [e.kind for e in ledger.events(since=NOW + timedelta(seconds=1))] == ["pause"]
    assert [e.id for e in ledger.events(limit=1)] == [first.id + 1]
    assert [e.kind for e in ledger.events(post_id="p1", channel="zalo")] == ["send"]
    with pytest.raises(ValueError, match="event kind 'deleted'"):
        ledger.add_event("deleted", actor="x", now=NOW)
    public = {n for n in dir(Ledger) if not n.startswith("_")}
    assert sorted(n for n in public if "event" in n) == ["add_event", "events"]  # no edit, no delete
    assert not [n for n in public if any(w in n for w in ("delete", "purge", "remove", "truncate", "edit"))]
    for sql in ("UPDATE events SET actor = 'x'", "DELETE FROM events"):
        with pytest.raises(Exception, match="events are append-only"):
            raw_execute(ledger_url, sql)
        with pytest.raises(LedgerError):
            ledger.query(sql)
    assert [(e.kind, e.actor) for e in ledger.events()] == [("send", "w1"), ("pause", "chi")]
    assert set(EVENT_KINDS) >= {"claim", "success", "failure", "update", "retract", "skip"}


def test_kv_values_are_committed_on_return(ledger, open_ledgers):
    assert ledger.kv_get("zalo.refresh_token") is None
    ledger.kv_set("zalo.refresh_token", "t-1", NOW)
    ledger.kv_set("zalo.refresh_token", "t-2", NOW + timedelta(minutes=1))
    assert open_ledgers().kv_get("zalo.refresh_token") == "t-2"
    assert ledger.query("SELECT updated_at FROM kv WHERE key = ?", ["zalo.refresh_token"]) == [
        (NOW + timedelta(minutes=1),)]


# -- typed state over kv: the keys and values on disk are the ones earlier Loa versions wrote ------

def test_holds_are_typed_and_keep_their_kv_format(ledger):
    assert ledger.holds() == {}
    ledger.hold("facebook", Hold("Token hết hạn", "loa auth facebook", "Error 190"), NOW)
    ledger.hold("zalo", Hold("Sai mật khẩu"), NOW + timedelta(minutes=1))
    assert ledger.holds() == {
        "facebook": Hold("Token hết hạn", "loa auth facebook", "Error 190", NOW),
        "zalo": Hold("Sai mật khẩu", None, None, NOW + timedelta(minutes=1))}
    assert json.loads(ledger.kv_get("hold:facebook")) == {
        "message": "Token hết hạn", "hint": "loa auth facebook", "vendor": "Error 190"}
    assert ledger.lift_hold("facebook", NOW) is True
    assert ledger.lift_hold("facebook", NOW) is False  # nothing held: nothing written
    assert ledger.lift_hold("telegram", NOW) is False
    assert list(ledger.holds()) == ["zalo"]


def test_holds_read_values_written_through_kv(ledger):
    ledger.kv_set("hold:facebook", json.dumps({"message": "expired", "hint": None, "vendor": "190"}), NOW)
    ledger.kv_set("hold:portal", "not JSON", NOW)
    ledger.kv_set("hold:zalo", None, NOW)  # how earlier versions lifted a hold
    ledger.kv_set("holder:x", "{}", NOW)
    ledger.kv_set("hold_x", "{}", NOW)
    assert ledger.holds() == {"facebook": Hold("expired", None, "190", NOW), "portal": Hold("not JSON", since=NOW)}
    assert ledger.lift_hold("zalo", NOW) is False
    assert ledger.lift_hold("portal", NOW) is True and ledger.kv_get("hold:portal") is None


def test_throttles_come_back_in_utc(ledger):
    assert (ledger.throttles(), ledger.throttled_until("telegram")) == ({}, None)
    until = NOW + timedelta(seconds=30)
    ledger.throttle("telegram", until, NOW)
    ledger.kv_set("throttle:zalo", (NOW + timedelta(hours=1)).isoformat(), NOW)  # an earlier Loa's value
    ledger.kv_set("throttle:facebook", "soon", NOW)  # unreadable: not a wait
    ledger.kv_set("throttle:mastodon", "2025-03-03T08:00:00", NOW)  # no offset: not a wait
    assert ledger.throttled_until("telegram") == until and ledger.throttled_until("telegram").tzinfo == timezone.utc
    assert ledger.throttles() == {"telegram": until, "zalo": NOW + timedelta(hours=1)}
    assert ledger.throttled_until("facebook") is None and ledger.throttled_until("mastodon") is None
    assert datetime.fromisoformat(ledger.kv_get("throttle:telegram")) == until
    ledger.throttle("telegram", None, NOW)
    assert ledger.throttled_until("telegram") is None and list(ledger.throttles()) == ["zalo"]
    with pytest.raises(ValueError, match="until must be a timezone-aware datetime"):
        ledger.throttle("telegram", datetime(2025, 3, 3, 8, 0), NOW)


def test_maybe_sent_keys_per_post_and_channel(ledger):
    assert ledger.maybe_sent_key("p1", "facebook") is None
    ledger.set_maybe_sent("p1", "facebook", "loa-abc", NOW)
    assert ledger.maybe_sent_key("p1", "facebook") == "loa-abc"
    assert ledger.maybe_sent_key("p1", "zalo") is None
    assert ledger.kv_get("maybe-sent:p1:facebook") == "loa-abc"
    ledger.set_maybe_sent("p1", "facebook", None, NOW)
    assert ledger.maybe_sent_key("p1", "facebook") is None


def test_state_stores_own_their_key_spaces(ledger, open_ledgers):
    times = iter([NOW, NOW + timedelta(minutes=1)])
    zalo = ledger.publisher_state("zalo", lambda: next(times))
    zalo.set("refresh_token", "t-1")
    assert open_ledgers().kv_get("pub:zalo:refresh_token") == "t-1"  # durable on return
    assert ledger.publisher_state("telegram", lambda: NOW).get("refresh_token") is None
    assert ledger.state_store("pub:zalo:", lambda: NOW).get("refresh_token") == "t-1"
    zalo.set("refresh_token", "t-2")
    assert ledger.query("SELECT updated_at FROM kv WHERE key = ?", ["pub:zalo:refresh_token"]) == [
        (NOW + timedelta(minutes=1),)]
    feeds = ledger.ingest_state(lambda: NOW)
    feeds.set("ingest:status:bcp", json.dumps({"at": "2025-03-03T01:00:00+00:00", "status": "ok"}))
    feeds.set("ingest:seen:bcp", "[]")
    assert ledger.kv_get("ingest:seen:bcp") == "[]"
    with pytest.raises(ValueError) as e:
        feeds.set("hold:facebook", "{}")
    assert str(e.value) == "state key 'hold:facebook' is outside 'ingest:', the key space of this store"
    assert ledger.holds() == {}


def test_feed_statuses_read_every_feed_at_once(ledger):
    assert ledger.feed_statuses() == {}
    ledger.kv_set("ingest:status:bcp", json.dumps({"status": "ok", "message": "2 new drafts"}), NOW)
    ledger.kv_set("ingest:status:silent", "timeout", NOW)
    ledger.kv_set("ingest:status:gone", None, NOW)
    ledger.kv_set("ingest:seen:bcp", "[]", NOW)
    assert ledger.feed_statuses() == {"bcp": {"status": "ok", "message": "2 new drafts"},
                                      "silent": {"reason": "timeout"}}

def test_pauses_hold_channels_until_resumed_or_expired(ledger):
    everything = ledger.pause(None, reason="Tết", actor="chi", now=NOW)
    fb = ledger.pause("facebook", reason="token expired", actor="w1", now=NOW, until=NOW + timedelta(hours=1))
    assert (everything.channel, everything.since, everything.until) == (None, NOW, None)
    assert ledger.active_pauses(NOW) == [everything, fb]
    assert ledger.active_pauses(NOW - timedelta(seconds=1)) == []
    assert ledger.active_pauses(NOW + timedelta(hours=2)) == [everything]
    assert ledger.resume("zalo", actor="chi", now=NOW) == 0
    assert ledger.resume("facebook", actor="chi", now=NOW + timedelta(minutes=4)) == 1
    assert [p.channel for p in ledger.active_pauses(NOW + timedelta(minutes=4))] == [None]
    fb = ledger.pause("facebook", reason="again", actor="w1", now=NOW + timedelta(minutes=4))
    # no channel: every pause ends, the channel's too ("resumed all channels" is then true)
    assert ledger.resume(None, actor="chi", now=NOW + timedelta(minutes=5)) == 2
    assert ledger.active_pauses(NOW + timedelta(minutes=5)) == []
    assert kinds(ledger) == ["pause", "pause", "resume", "pause", "resume", "resume"]


def test_spacing_counts_first_publications_only(ledger):
    assert (ledger.sent_since("facebook", NOW), ledger.last_sent_at("facebook")) == (0, None)
    for i in range(3):
        add(ledger, f"p{i}")
        publish(ledger, f"p{i}", now=NOW + timedelta(minutes=10 * i))
    claim(ledger, "p0", now=NOW + timedelta(hours=1), states=("published",), version="v2", action="update")
    ledger.record_success("p0", "facebook", owner="w1", remote_id=None, remote_url=None, version="v2",
                          extra=None, now=NOW + timedelta(hours=1))
    assert ledger.sent_since("facebook", NOW + timedelta(minutes=10)) == 2
    assert ledger.sent_since("portal", NOW) == 0
    assert ledger.last_sent_at("facebook") == NOW + timedelta(minutes=20)


def test_query_speaks_question_marks_and_times(ledger):
    add(ledger, "p1", unit="phuong-1")
    publish(ledger, "p1", now=NOW)
    add(ledger, "p2", title="50% hồ sơ trực tuyến")
    assert ledger.dialect in ("sqlite", "postgresql")
    rows = ledger.query("SELECT post_id, first_published_at FROM publications "
                        "WHERE first_published_at >= ? AND title LIKE '%trực tuyến%' ORDER BY post_id",
                        [NOW - timedelta(days=1)])
    assert rows == [("p1", NOW)]
    assert ledger.query("SELECT COUNT(*) FROM publications WHERE title LIKE ?", ["50%%"]) == [(1,)]
    assert ledger.query("SELECT 'a?b' FROM kv") == []
    with pytest.raises(LedgerError):
        ledger.query("SELECT nope FROM publications")


def test_daemon_lock(ledger, open_ledgers):
    other = open_ledgers()
    with ledger.daemon_lock("loa-1"):
        if ledger.dialect == "sqlite":
            with pytest.raises(LedgerLocked) as e, other.daemon_lock("loa-2"):
                pass
            assert str(e.value).startswith(f"ledger {ledger.where} is already used by another Loa daemon: "
                                           f"loa-1 (pid ")
            assert str(e.value).endswith(".daemon.lock); stop that daemon first, or use PostgreSQL to run several")
        else:
            with other.daemon_lock("loa-2"):  # PostgreSQL: several daemons, distinct worker ids
                with pytest.raises(LedgerLocked) as e, open_ledgers().daemon_lock("loa-1"):
                    pass
            assert str(e.value) == (f"ledger {ledger.where} already has a Loa daemon with worker id "
                                    f"'loa-1'; give each daemon its own worker id")
    with other.daemon_lock("loa-2"):  # released on exit
        pass


# -- issue 15: renewal, waits that spend no attempt, send recorded with its outcome, lost claims -----
def test_renew_keeps_a_live_claim_from_being_taken_over(ledger):
    from pipeline.ledger.base import ClaimLost

    add(ledger)
    claim(ledger)
    later = NOW + LEASE - timedelta(seconds=1)
    assert ledger.renew("p1", "facebook", owner="w1", lease=LEASE, now=later) is True
    assert ledger.get("p1", "facebook").lease_until == later + LEASE
    assert claim(ledger, owner="w2", now=NOW + LEASE + timedelta(seconds=1), states=("claimed",)) is None
    assert ledger.renew("p1", "facebook", owner="w2", lease=LEASE, now=later) is False  # not its claim
    assert [e.kind for e in ledger.events(post_id="p1")] == ["claim"]  # renewal writes no event
    taken = claim(ledger, owner="w2", now=later + LEASE + timedelta(seconds=1), states=("claimed",))
    assert taken is not None and taken.claim_owner == "w2"
    assert ledger.renew("p1", "facebook", owner="w1", lease=LEASE, now=later) is False
    with pytest.raises(ClaimLost, match="claim lost"):
        ledger.record_success("p1", "facebook", owner="w1", remote_id="r1", remote_url=None, version=None,
                              extra=None, now=later)


def test_a_throttle_release_waits_as_retrying_without_spending_the_attempt(ledger):
    add(ledger)
    claim(ledger)
    until = NOW + timedelta(seconds=3)
    row = ledger.release("p1", "facebook", owner="w1", now=NOW, next_attempt_at=until, reason="rate limit")
    assert (row.state, row.attempts, row.next_attempt_at, row.last_error, row.error_kind) == (
        "retrying", 0, until, "rate limit", "transient")
    assert [e.kind for e in ledger.events(post_id="p1")] == ["claim", "release"]
    again = claim(ledger, states=("retrying",), now=until)
    assert again.attempts == 1
    ledger.record_failure("p1", "facebook", owner="w1", kind="transient", message="502", now=until,
                          next_attempt_at=until + timedelta(minutes=1), send={"action": "create", "key": "k"})
    kinds = [(e.kind, e.detail.get("key")) for e in ledger.events(post_id="p1")]
    assert kinds[-2:] == [("send", "k"), ("failure", None)]  # the send, then its outcome, one transaction
