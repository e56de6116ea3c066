"""The ledger under concurrency and outages: workers in separate processes, a PostgreSQL server
stopped mid-run, a busy SQLite file, and how ``open_ledger`` reads URLs.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import _free_port

from pipeline.errors import LedgerError, LedgerUnavailable
from pipeline.ledger import open_ledger
from pipeline.ledger.sqlite import SQLiteLedger

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
LEASE = timedelta(minutes=10)


def _worker(url: str, base_dir: str, owner: str, keys: list, results, ready=None, go=None) -> None:
    """One worker process: try every item, send only what it claimed (runs under spawn)."""
    ledger = open_ledger(url, Path(base_dir))
    ledger.schema_version()  # connected
    if ready is not None:
        ready.put(owner)
        go.wait(60)  # both start together: a slow spawn on a loaded machine must not serialise them
    won, refused = [], 0
    for i, (post_id, channel) in enumerate(keys):
        if i % 10 == 0:
            time.sleep(0.002)  # yield the core now and then: on 2 loaded cores one worker could otherwise do all
        now = NOW + timedelta(milliseconds=i)
        if ledger.claim(post_id, channel, owner=owner, action="create", version="v1", lease=LEASE,
                        now=now, allowed_states={"pending", "retrying"}) is None:
            refused += 1
            continue
        ledger.record_success(post_id, channel, owner=owner, remote_id=f"{owner}:{post_id}",
                              remote_url=None, version="v1", extra=None, now=now)
        won.append([post_id, channel])
    ledger.close()
    results.put((owner, (won, refused)))


def test_two_processes_share_1000_items_exactly_once(ledger, ledger_url, tmp_path):
    keys = [(f"post-{i:04d}", ("portal", "facebook")[i % 2]) for i in range(1000)]
    assert ledger.ensure_many([(p, c, c, {}) for p, c in keys], now=NOW) == 1000
    ctx = multiprocessing.get_context("spawn")  # nothing of this process's connections is inherited
    results = ctx.Queue()
    # both walk the same order, so they collide on every single item
    ready, go = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_worker, args=(ledger_url, str(tmp_path), owner, keys, results, ready, go))
             for owner in ("worker-a", "worker-b")]
    assert {r.state for r in ledger.snapshot().values()} == {"pending"}
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=120)
    go.set()
    published = []
    while any(p.is_alive() for p in procs) and results.qsize() < len(procs):
        # the planner's incremental snapshot, read while both workers write: it must never miss
        # a change (checked against a full read at the end)
        published.append(sum(r.state == "published" for r in ledger.snapshot().values()))
        time.sleep(0.05)
    assert published == sorted(published)
    won = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    a, b = ({tuple(k) for k in won[o][0]} for o in ("worker-a", "worker-b"))
    assert not a & b and a | b == set(keys)
    # every item was fought over: each was refused to exactly one of the two workers (which one
    # wins depends on scheduling; on SQLite the one that starts first usually stays ahead)
    assert won["worker-a"][1] + won["worker-b"][1] == len(keys)
    rows = ledger.snapshot()
    assert rows == {r.key: r for r in ledger.rows()}
    assert {k: (r.state, r.remote_id, r.claim_owner) for k, r in rows.items()} == {
        k: ("published", f"{'worker-a' if k in a else 'worker-b'}:{k[0]}", None) for k in keys}
    events = ledger.events()
    assert sorted((e.post_id, e.channel, e.kind) for e in events) == sorted(
        [(p, c, "claim") for p, c in keys] + [(p, c, "success") for p, c in keys])


def test_postgres_stopped_mid_run(private_postgres, tmp_path):
    pg = private_postgres
    ledger = open_ledger(pg.url, tmp_path)
    ledger.migrate(NOW)
    keys = [(f"post-{i:03d}", "portal") for i in range(300)]
    ledger.ensure_many([(p, c, "wordpress", {"title": "t"}) for p, c in keys], now=NOW)

    # 1. A transaction cut between two statements leaves neither (white-box: the hook is the only
    #    way to stop the server at an exact point inside one transaction).
    def half(tx):
        tx.exec("UPDATE publications SET title = 'half' WHERE post_id = ?", ("post-000",))
        if not half.stopped:
            half.stopped = True
            pg.stop()
        tx.exec("UPDATE publications SET title = 'half' WHERE post_id = ?", ("post-001",))
    half.stopped = False
    with pytest.raises(LedgerUnavailable) as e:
        ledger._run(half, write=True)
    assert str(e.value).startswith(f"PostgreSQL ledger {pg.url} unreachable: ")
    for call in (lambda: ledger.snapshot(), lambda: ledger.kv_set("k", "v", NOW),
                 lambda: ledger.claim("post-000", "portal", owner="w", action="create", version="v1",
                                      lease=LEASE, now=NOW, allowed_states={"pending"})):
        with pytest.raises(LedgerUnavailable):
            call()
    pg.start()
    assert [r.title for r in ledger.rows(post_id="post-000") + ledger.rows(post_id="post-001")] == ["t", "t"]
    assert ledger.kv_get("k") is None and ledger.events() == []

    # 2. A worker thread publishes while the server is stopped under it and started again.
    worker = open_ledger(pg.url, tmp_path)
    progress = {"done": 0, "outages": 0}

    def drive() -> None:
        for i, (post_id, channel) in enumerate(keys):
            now = NOW + timedelta(seconds=i)
            while True:
                try:
                    row = worker.get(post_id, channel)
                    if row.state == "published":
                        break
                    mine = row.state == "claimed" and row.claim_owner == "w"  # a claim whose ack was lost
                    if mine or worker.claim(post_id, channel, owner="w", action="create", version="v1",
                                            lease=LEASE, now=now, allowed_states={"pending"}):
                        worker.record_success(post_id, channel, owner="w", remote_id=post_id,
                                              remote_url=None, version="v1", extra=None, now=now)
                        break
                    raise AssertionError(f"unexpected row {row}")
                except LedgerUnavailable:
                    progress["outages"] += 1
                    time.sleep(0.05)
            progress["done"] += 1

    thread = threading.Thread(target=drive)
    thread.start()
    deadline = time.monotonic() + 60
    while progress["done"] < 60 and time.monotonic() < deadline:
        time.sleep(0.01)
    pg.stop()
    with pytest.raises(LedgerUnavailable):
        ledger.get("post-000", "portal")
    time.sleep(0.5)
    pg.start()
    thread.join(timeout=120)
    assert not thread.is_alive()
    worker.close()
    assert progress["outages"] > 0, "the worker never saw the outage: the test proved nothing"
    rows = ledger.snapshot()
    assert {(r.state, r.remote_id == r.post_id, r.claim_owner) for r in rows.values()} == {("published", True, None)}
    per_item = {}
    for e in ledger.events():
        per_item.setdefault(e.post_id, []).append(e.kind)
    assert per_item == {p: ["claim", "success"] for p, _ in keys}  # nothing half-written, nothing twice
    ledger.close()


# -- SQLite specifics and URLs ----------------------------------------------------------------------

def test_a_busy_sqlite_file_raises_unavailable_then_recovers(tmp_path):
    path = tmp_path / "loa.db"
    ledger = SQLiteLedger(path, busy_timeout=0.2)
    ledger.migrate(NOW)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(LedgerUnavailable) as e:
            ledger.kv_set("feed.etag", "x", NOW)
        assert str(e.value) == (f"ledger {path} is busy: another process held its write lock for more "
                                f"than 0.2 s")
        assert ledger.kv_get("feed.etag") is None  # readers are not blocked (WAL)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    ledger.kv_set("feed.etag", "x", NOW)
    assert ledger.kv_get("feed.etag") == "x"
    ledger.close()


def test_open_ledger_reads_urls(tmp_path):
    default = open_ledger(None, tmp_path)
    default.migrate(NOW)
    assert default.path == tmp_path / "var" / "loa.db"
    with sqlite3.connect(default.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    default.close()
    assert open_ledger("sqlite:///state/l.db", tmp_path).path == tmp_path / "state" / "l.db"
    assert open_ledger(f"sqlite:///{tmp_path}/abs.db", Path("/elsewhere")).path == tmp_path / "abs.db"
    assert open_ledger("ledger.db", tmp_path).path == tmp_path / "ledger.db"
    pg = open_ledger("postgresql+psycopg://loa:s3cret@db.invalid:5432/loa", tmp_path)  # connects lazily
    assert (pg.dialect, pg.where) == ("postgresql", "postgresql://loa:***@db.invalid:5432/loa")
    with pytest.raises(LedgerError) as e:
        open_ledger("mysql://db/loa", tmp_path)
    assert str(e.value) == ("ledger URL scheme 'mysql' is not supported: expected sqlite:///path, a file "
                            "path, or postgresql://user@host/db")
    with pytest.raises(LedgerError, match="must be a file"):
        open_ledger("sqlite:///:memory:", tmp_path)


def test_postgres_unreachable_message_hides_the_password(tmp_path):
    ledger = open_ledger(f"postgresql://loa:s3cret@127.0.0.1:{_free_port()}/loa?connect_timeout=2", tmp_path)
    with pytest.raises(LedgerUnavailable) as e:
        ledger.kv_get("x")
    assert str(e.value).startswith("PostgreSQL ledger postgresql://loa:***@127.0.0.1:")
    assert "s3cret" not in str(e.value)


def test_missing_psycopg_says_what_to_install():
    code = ("import sys; sys.modules['psycopg'] = None\n"
            "from pipeline.ledger import open_ledger\n"
            "try:\n    open_ledger('postgresql://x/y', '.')\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], timeout=60)
    assert out.stdout.strip() == "the PostgreSQL ledger requires psycopg 3: pip install 'loa[postgres]'"
