"""Ledger speed: snapshot() over 20,000 posts x 3 channels on SQLite and PostgreSQL.

    python bench/ledger.py [--posts 20000] [--pg postgresql://postgres@127.0.0.1:5432/test]

The planner calls snapshot() every tick, so it is the figure that matters: the first call reads and
decodes every row, later calls only the rows written since. ensure() on an unchanged row (every
tick, every due post) and one claim + record_success round trip are measured too. Medians.
Rows are inserted with ensure_many(), then 85 % are marked published with one UPDATE (the bench
measures reads, not 50,000 fsynced claims). PostgreSQL runs in a throwaway schema.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.errors import LedgerUnavailable  # noqa: E402
from pipeline.ledger import open_ledger  # noqa: E402

SITE = timezone(timedelta(hours=7))
NOW = datetime(2025, 6, 30, 9, 0, tzinfo=SITE)
CHANNELS = (("portal", "wordpress"), ("facebook", "facebook"), ("zalo", "zalo"))
UNITS = ("phong-noi-vu", "phuong-1", "phuong-2", "xa-an-binh", "trung-tam-hcc")


def populate(ledger, posts: int) -> float:
    items = []
    for i in range(posts):
        meta = {"title": f"Hướng dẫn nộp hồ sơ trực tuyến số {i}", "unit": UNITS[i % len(UNITS)],
                "type": "guide", "author": "bbt", "path": f"content/2025/{i:05d}.md",
                "git_commit": "0" * 40, "topics": ["cchc", "dvctt"][: 1 + i % 2],
                "publish_at": NOW - timedelta(hours=i)}
        items += [(f"post-{i:05d}", ch, kind, meta) for ch, kind in CHANNELS]
    t = time.perf_counter()
    ledger.ensure_many(items, now=NOW)
    elapsed = time.perf_counter() - t
    mark = ("UPDATE publications SET state = 'published', version = 'v1', remote_id = post_id, "
            "remote_url = 'https://example.invalid/' || post_id, first_published_at = updated_at, "
            "published_version_at = updated_at, extra = '{\"kind\":\"feed\"}' "
            "WHERE abs(hashtext_or_rowid) % 100 < 85")  # no rev bump: runs before any snapshot()
    if ledger.dialect == "sqlite":
        import sqlite3
        with sqlite3.connect(ledger.path) as conn:
            conn.execute(mark.replace("hashtext_or_rowid", "rowid"))
    else:
        import psycopg
        with psycopg.connect(ledger._conninfo, autocommit=True) as conn:
            conn.execute(mark.replace("hashtext_or_rowid", "hashtext(post_id || channel)"))
    return elapsed


def timed(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), result


def measure(ledger, reopen, posts: int, runs: int) -> dict[str, str]:
    insert_s = populate(ledger, posts)

    def full():  # what the first tick after a start pays: a fresh Ledger object, no cache
        fresh = reopen()
        try:
            return fresh.snapshot()
        finally:
            fresh.close()
    full_ms, snap = timed(full, runs)
    assert len(snap) == posts * len(CHANNELS), len(snap)
    ledger.snapshot()
    same_ms, _ = timed(ledger.snapshot, runs)
    row = snap[("post-00001", "facebook")]
    meta = {"title": row.title, "unit": row.unit, "topics": list(row.topics), "publish_at": row.publish_at}
    t = time.perf_counter()
    for _ in range(500):
        ledger.ensure(row.post_id, row.channel, channel_type=row.channel_type, meta=meta, now=NOW)
    ensure_us = (time.perf_counter() - t) / 500 * 1e6
    pending = [p for p in snap.values() if p.state == "pending"][:200]
    t = time.perf_counter()
    for p in pending:
        ledger.claim(p.post_id, p.channel, owner="bench", action="create", version="v1",
                     lease=timedelta(minutes=5), now=NOW, allowed_states={"pending"})
        ledger.record_success(p.post_id, p.channel, owner="bench", remote_id="r", remote_url=None,
                              version="v1", extra=None, now=NOW)
    round_ms = (time.perf_counter() - t) / len(pending) * 1000
    t = time.perf_counter()
    after = ledger.snapshot()
    changed_ms = (time.perf_counter() - t) * 1000
    assert all(after[p.key].state == "published" for p in pending)
    return {"rows": f"{len(snap):,}", "ensure_many s": f"{insert_s:.2f}",
            "snapshot first call ms": f"{full_ms:.0f}",
            "snapshot unchanged ms": f"{same_ms:.1f}",
            "snapshot 200 changed ms": f"{changed_ms:.1f}",
            "ensure() unchanged µs": f"{ensure_us:.0f}", "claim+success ms": f"{round_ms:.2f}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        ledger = open_ledger(url, Path(tmp))
        ledger.migrate(NOW)
        results["sqlite"] = measure(ledger, lambda: open_ledger(url, Path(tmp)), args.posts, args.runs)
        ledger.close()
    try:
        import psycopg
        schema = f"loa_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
        try:
            sep = "&" if "?" in args.pg else "?"
            url = f"{args.pg}{sep}options=-csearch_path%3D{schema}"
            ledger = open_ledger(url, Path("."))
            ledger.migrate(NOW)
            results["postgresql"] = measure(ledger, lambda: open_ledger(url, Path(".")), args.posts,
                                            args.runs)
            ledger.close()
        finally:
            with psycopg.connect(args.pg, autocommit=True) as admin:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")
    except (ImportError, psycopg.OperationalError, LedgerUnavailable) as e:
        print(f"PostgreSQL skipped: {e}", file=sys.stderr)
    columns = list(next(iter(results.values())))
    width = max(len(c) for c in columns)
    print(f"{'':<{width}}  " + "  ".join(f"{name:>12}" for name in results))
    for c in columns:
        print(f"{c:<{width}}  " + "  ".join(f"{r[c]:>12}" for r in results.values()))


if __name__ == "__main__":
    main()
