"""The delivery engine on a real PostgreSQL ledger: two workers sharing the work, the database
stopped mid-run; and the engine's between-pass caches, on both ledgers.

PostgreSQL: the shared test server (``postgres_url``, a throwaway schema) for the two workers; a
private throwaway cluster (initdb + pg_ctl on a free port) for the outage, so the machine's shared
server is never stopped. Both are skipped with the reason when PostgreSQL (or its server binaries)
is missing, unless ``LOA_REQUIRE_SERVICES=1``.

Receivers are the counting webhook server with ``honour_keys=False``: a second send of the same
item would create a second item there, so "exactly once" is checked at the receiver itself.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline import plan as planmod
from pipeline.config import load_config
from pipeline.errors import LedgerUnavailable
from pipeline.ledger import open_ledger
from pipeline.app import Session
from pipeline.schedule import Daemon
from tests.repo import make_repo, post, small_config
from tests.servers.webhook import WebhookServer

VN = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2025, 3, 25, 8, 0, tzinfo=VN)

CONFIG = small_config(["hook1", "hook2"]) + """
[channels.hook1]
type = "webhook"
url = "{url1}/items"
[channels.hook2]
type = "webhook"
url = "{url2}/items"
[daemon]
retry_base = "1s"
max_attempts = 50
lease = "{lease}"
"""


def posts(n: int, when: str = "2025-03-25 07:00") -> dict[str, str]:
    return {f"news/{i // 100:02d}/p{i:04d}.md": post(id=f"p{i:04d}", title=f"Tin số {i} về cải cách hành chính",
                                                    publish_at=when) for i in range(n)}


@pytest.fixture
def receivers():
    with WebhookServer(latency=0.005, honour_keys=False) as a, WebhookServer(latency=0.005, honour_keys=False) as b:
        yield {"hook1": a, "hook2": b}


def site(tmp_path: Path, receivers, n: int, ledger_url: str, *, lease: str = "2m", when: str = "2025-03-25 07:00"):
    root = make_repo(tmp_path / "site", posts(n, when), config=CONFIG.format(
        url1=receivers["hook1"].url, url2=receivers["hook2"].url, lease=lease))
    cfg = load_config(root / "config.toml", env={"LOA_LEDGER_URL": ledger_url})
    ledger = open_ledger(cfg.ledger_url, root)
    ledger.migrate()
    ledger.close()
    return cfg


def assert_exactly_once(cfg, receivers, n: int) -> dict:
    """Every post once on every channel, at the receiver and in the ledger, and they agree."""
    want = [f"p{i:04d}" for i in range(n)]
    for name, server in receivers.items():
        sends = collections.Counter(r.json()["post_id"] for r in server.calls("POST", "/items"))
        doubles = {p: c for p, c in sends.items() if c > 1}
        assert not doubles, f"{name}: sent more than once: {dict(list(doubles.items())[:5])}"
        assert sorted(sends) == want, f"{name}: {len(sends)} of {n} posts arrived"
    ledger = open_ledger(cfg.ledger_url, cfg.root)
    try:
        rows = ledger.snapshot()
        events = ledger.events()
    finally:
        ledger.close()
    assert len(rows) == 2 * n
    stuck = [(k, r.state, r.claim_owner) for k, r in rows.items() if r.state != "published" or r.claim_owner]
    assert not stuck, f"{len(stuck)} rows not settled, e.g. {stuck[:3]}"
    for name, server in receivers.items():
        assert {r.post_id: r.remote_id for r in rows.values() if r.channel == name} == {
            i["post_id"]: i["id"] for i in server.live()}
    successes = collections.Counter((e.post_id, e.channel) for e in events if e.kind == "success")
    assert set(successes) == set(rows) and set(successes.values()) == {1}
    return {"rows": rows, "events": events}


# -- two workers share the work -------------------------------------------------------------------

def test_two_workers_share_1000_items_exactly_once(tmp_path, receivers, postgres_url):
    n = 500  # x 2 channels = 1,000 due items
    cfg = site(tmp_path, receivers, n, postgres_url)
    now = T0 + timedelta(minutes=5)
    engines = [Session(cfg, lambda: open_ledger(postgres_url, cfg.root), owner=f"worker-{w}",
                      clock=lambda: now, env={}) for w in "ab"]
    results, errors = {}, []
    start = threading.Barrier(2)

    def work(engine):
        try:
            start.wait()
            results[engine.owner] = engine.publish(now=now)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors and not any(t.is_alive() for t in threads), errors
    a, b = (results[f"worker-{w}"] for w in "ab")
    assert a.sent + b.sent == 2 * n and a.exit_code == b.exit_code == 0, (a.lines[-3:], b.lines[-3:])
    assert a.sent and b.sent, "one worker sent nothing: the run did not exercise sharing"
    # a second pass by either finds nothing left to do
    assert sum(e.publish(now=now + timedelta(minutes=1)).sent for e in engines) == 0
    for e in engines:
        e.close()
    seen = assert_exactly_once(cfg, receivers, n)
    claims = collections.Counter(e.actor for e in seen["events"] if e.kind == "claim")
    assert set(claims) == {"worker-a", "worker-b"} and sum(claims.values()) == 2 * n  # no takeovers


# -- the database stopped mid-run -----------------------------------------------------------------

def test_database_stopped_mid_run_skips_ticks_and_resumes_exactly_once(tmp_path, receivers, private_postgres,
                                                                        caplog, monkeypatch):
    monkeypatch.setenv("LOA_MIN_LEASE_SECONDS", "1")  # a 2 s lease (below the floor) for a quick takeover
    pg = private_postgres
    n = 200  # x 2 channels
    # the daemon's tick reads the real clock: due half an hour ago, well within max_lateness
    when = (datetime.now(VN) - timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M")
    cfg = site(tmp_path, receivers, n, pg.url, lease="2s", when=when)
    daemon = Daemon(Session(cfg, lambda: open_ledger(pg.url, cfg.root), env={}))
    outage = {"stopped_at": None, "sent_before": 0}

    def cut():
        # stop the server while the first pass is sending (60 items in), start it 2 s later
        deadline = time.monotonic() + 120
        while sum(s.creates for s in receivers.values()) < 60 and time.monotonic() < deadline:
            time.sleep(0.005)
        outage["sent_before"] = sum(s.creates for s in receivers.values())
        pg.stop()
        outage["stopped_at"] = time.monotonic()
        time.sleep(2.0)
        pg.start()
        outage["started_at"] = time.monotonic()

    caplog.set_level(logging.INFO, logger="pipeline.schedule")
    cutter = threading.Thread(target=cut)
    cutter.start()
    deadline = time.monotonic() + 150
    try:
        while time.monotonic() < deadline:
            daemon.tick()  # what the scheduler calls every `daemon.tick`
            if "started_at" in outage and sum(s.creates for s in receivers.values()) >= 2 * n:
                # and once more after every lease has expired: in-doubt items settle by lookup
                time.sleep(2.5)
                daemon.tick()
                if _all_published(cfg):
                    break
            time.sleep(0.2)
    finally:
        cutter.join(timeout=150)
        daemon.session.close()
    assert outage["stopped_at"] is not None and outage["sent_before"] < 2 * n, outage
    messages = [r.getMessage() for r in caplog.records]
    cut_mid_pass = [m for m in messages if m.startswith("ledger unavailable: ")]
    assert set(cut_mid_pass) == {"ledger unavailable: hook1 stopped for this run",
                                 "ledger unavailable: hook2 stopped for this run"}, cut_mid_pass
    skipped = [m for m in messages if m.startswith("Tick skipped: the ledger is unavailable")]
    assert skipped, "no tick was skipped: the outage was not seen between passes"
    assert all(m.endswith("nothing was half-written") for m in skipped)
    seen = assert_exactly_once(cfg, receivers, n)
    # a claim cut by the outage was taken over once its lease expired and settled by asking the
    # receiver (the webhook's lookup) before any second send: the receiver check above shows it;
    # the log shows the path (a second "send" event only after a takeover whose lookup found nothing)
    takeovers = {(e.post_id, e.channel) for e in seen["events"] if e.kind == "claim" and "took_over_from" in e.detail}
    sends = collections.Counter((e.post_id, e.channel) for e in seen["events"] if e.kind == "send")
    assert set(sends) == set(seen["rows"])
    assert {k for k, c in sends.items() if c > 1} <= takeovers
    reconciled = [m for m in messages if m.startswith("reconciled ")]
    assert len(reconciled) <= len(takeovers)


def _all_published(cfg) -> bool:
    ledger = open_ledger(cfg.ledger_url, cfg.root)
    try:
        return all(r.state == "published" for r in ledger.snapshot().values())
    except LedgerUnavailable:
        return False
    finally:
        ledger.close()


# -- the engine's caches between passes (both ledgers) --------------------------------------------

def _view(p):
    """The plan as data: pairs of existing posts in plan order; pairs whose file is gone follow in
    the ledger snapshot's order, which the contract leaves open (sorted here)."""
    view = [(d.post_id, d.channel, d.kind, d.action, d.reason, d.at) for d in p.decisions]
    gone = [v for v, d in zip(view, p.decisions) if d.post is None]
    return [v for v, d in zip(view, p.decisions) if d.post is not None], sorted(gone)


def test_a_long_lived_engine_plans_like_a_fresh_one(tmp_path, receivers, ledger_url):
    """The daemon's engine keeps posts, the ledger snapshot and settled verdicts between passes;
    after every kind of change its plan equals one made from scratch."""
    cfg = site(tmp_path, receivers, 30, ledger_url)
    content = cfg.root / "content"
    engine = Session(cfg, lambda: open_ledger(ledger_url, cfg.root), owner="long-lived", env={})

    def check(now, expect_sent=None):
        r = engine.publish(now=now)
        if expect_sent is not None:
            assert r.sent == expect_sent, r.lines
        cached = engine.plan(now)
        fresh_engine = Session(cfg, lambda: open_ledger(ledger_url, cfg.root), owner="fresh", env={})
        with fresh_engine:
            lg = open_ledger(ledger_url, cfg.root)
            try:
                fresh = fresh_engine.plan(now)
            finally:
                lg.close()
        assert _view(cached) == _view(fresh)
        assert [d.post_id for d in cached.of(planmod.DUE)] == [d.post_id for d in fresh.of(planmod.DUE)]
        assert cached.next_wakeup() == fresh.next_wakeup()
        return r

    now = T0 + timedelta(minutes=1)
    check(now, expect_sent=60)
    check(now + timedelta(seconds=1), expect_sent=0)  # nothing changed: the memo path
    # a new post in an existing folder, written right after a pass (same mtime tick as the listing)
    (content / "news/00/p9000.md").write_text(post(id="p9000", title="Bài mới", publish_at="2025-03-25 08:30"))
    r = check(now + timedelta(seconds=2), expect_sent=0)
    assert r.next_wakeup == datetime(2025, 3, 25, 8, 30, tzinfo=VN)
    # in-place edit of the same size: the content changed, the channels get an update
    path = content / "news/00/p0001.md"
    text = path.read_text()
    path.write_text(text.replace("Sáng 25/3", "Sáng 26/3"))
    assert len(path.read_bytes()) == len(text.encode())
    r = check(now + timedelta(seconds=3))
    assert r.updated == 2
    # another worker changes rows (a pause and a failed item put back): the snapshot moves
    lg = open_ledger(ledger_url, cfg.root)
    lg.pause("hook2", reason="kiểm tra", actor="it", now=now)
    lg.close()
    (content / "news/00/p0002.md").unlink()
    check(now + timedelta(seconds=4), expect_sent=0)
    check(now + timedelta(minutes=31), expect_sent=1)  # p9000 on hook1 only (hook2 paused)
    engine.close()
