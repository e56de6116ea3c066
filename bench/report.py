"""Benchmark: a quarter report over a ledger of 1,000,000 publication rows, SQLite and PostgreSQL.

    python bench/report.py                      # 1,000,000 rows, both backends
    python bench/report.py --rows 200000 --backends sqlite
    LOA_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test python bench/report.py

Rows are spread over two years (2023-2024) across the units and channels of the sample config, so the
2024-Q1 report reads about an eighth of them plus its two comparison periods; the "dense" scenario
puts every row inside the quarter (the worst case). Rows are loaded with executemany (SQLite) or COPY
(PostgreSQL) into a ledger migrated by Loa itself, so the indexes are the production ones.
Target: build_report <= 2 s per backend. Writing the JSON (every item, streamed) is shown for scale.

The ledger also holds one ``success`` event per row and the board's events (an ``approve`` for one
post in thirty, a ``send_back`` for one in three hundred: about 11,000 and 1,100 in a dense quarter,
more than a board of three people reads), and 10,000 posts carry a front-matter approval: the
report's approval annex (pipeline/report/audit.py) is timed with it ("median s" is both together,
"annex s" the annex alone; its cost follows the approvals, not the rows).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.ledger import open_ledger  # noqa: E402
from pipeline.report import build_report, parse_period, write_report  # noqa: E402
from pipeline.report.audit import approval_audit  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
UTC = timezone.utc
CHANNELS = {"portal": "static_site", "facebook": "facebook", "zalo": "zalo", "telegram": "telegram",
            "mastodon": "mastodon"}
TOPICS = ["cchc", "chuyen-doi-so", "do-thi-thong-minh", "dvc-truc-tuyen", "buu-chinh-cong-ich"]
COLUMNS = ("post_id", "channel", "channel_type", "state", "action", "version", "remote_id", "remote_url",
           "attempts", "first_published_at", "published_version_at", "retracted_at", "corrected_at", "updated_at",
           "publish_at", "title", "unit", "type", "author", "topics", "extra")
EVENT_COLUMNS = ("at", "post_id", "channel", "kind", "actor", "version", "detail")
FRONT_MATTER = {f"p{n:08d}": ("Lê Thị Mai", "h1") for n in range(1, 10_001)}  # approved with loa approve
PG_URL = os.environ.get("LOA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def load_units() -> list[dict]:
    from pipeline.config import load_config
    cfg = load_config(ROOT / "config.toml")
    return [{"id": u.id, "name": u.name, "kind": u.kind, "valid_from": u.valid_from, "valid_to": u.valid_to,
             "successor": u.successor} for u in cfg.units.values()]


def generate(n_rows: int, start: datetime, end: datetime, units: list[str], seed: int = 9):
    """Yield publication rows (times as aware UTC datetimes): posts of 1-5 channels until n_rows."""
    rng = random.Random(seed)
    span = (end - start).total_seconds()
    names = list(CHANNELS)
    made, post = 0, 0
    while made < n_rows:
        post += 1
        pid = f"p{post:08d}"
        at = start + timedelta(seconds=rng.random() * span)
        unit = rng.choice(units)
        typ = "news" if rng.random() < 0.7 else "guide"
        topics = json.dumps(rng.sample(TOPICS, rng.randint(0, 2)))
        for ch in rng.sample(names, min(rng.randint(1, 5), n_rows - made)):
            t = (at + timedelta(minutes=rng.randint(0, 90))).astimezone(UTC)
            roll = rng.random()
            state, retracted, corrected = "published", None, None
            if roll < 0.004:
                state = "failed"
            elif roll < 0.006:
                state, retracted = "retracted", t + timedelta(days=3)
            elif roll < 0.009:
                corrected = t + timedelta(days=1)
            first = None if state == "failed" else t
            yield (pid, ch, CHANNELS[ch], state, "create", "h1", f"{pid}-{ch}",
                   f"https://example.test/{ch}/{pid}", 0, first, first, retracted, corrected, t, at.astimezone(UTC),
                   f"Tin bài số {post}", unit, typ, "bench", topics, "{}")
            made += 1


def events_of(row) -> list[tuple]:
    """The events a real ledger holds for a publication row: its ``success``, and for the first
    channel of some posts the board's approval (a day before) or a send-back (two days before)."""
    pid, ch, first = row[0], row[1], row[9]
    if first is None:
        return []
    out = [(first, pid, ch, "success", "engine", "h1", "{}")]
    n = int(pid[1:])
    if ch == row[-1]:  # the post's first channel (see generate)
        if n % 30 == 0:
            out.append((first - timedelta(days=1), pid, None, "approve", "Trần Văn Hùng", "h1",
                        '{"account": "hung", "path": "news/x.md"}'))
        if n % 300 == 0:
            out.append((first - timedelta(days=2), pid, None, "send_back", "Lê Thị Mai", "h0",
                        '{"account": "mai", "comment": "Sửa lại tiêu đề"}'))
    return out


def with_first_channel(rows):
    """``rows`` each with the name of its post's first channel appended (for :func:`events_of`)."""
    first: dict[str, str] = {}
    for row in rows:
        yield row + (first.setdefault(row[0], row[1]),)


def fill_sqlite(path: Path, rows, analyze: bool) -> None:
    """Bulk load: the ledger's own indexes are dropped for the load and rebuilt from their SQL after."""
    import sqlite3
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                           "AND tbl_name IN ('publications', 'events') AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    iso = lambda v: v.isoformat(timespec="microseconds") if isinstance(v, datetime) else v  # noqa: E731
    sql = f"INSERT INTO publications ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    ev_sql = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
    with conn:
        batch, events = [], []
        for row in with_first_channel(rows):
            batch.append(tuple(iso(v) for v in row[:-1]))
            events += [tuple(iso(v) for v in e) for e in events_of(row)]
            if len(batch) == 50_000:
                conn.executemany(sql, batch)
                conn.executemany(ev_sql, events)
                batch.clear()
                events.clear()
        conn.executemany(sql, batch)
        conn.executemany(ev_sql, events)
        for _, create in indexes:
            conn.execute(create)
    if analyze:  # the ledger itself never runs ANALYZE: without --analyze the planner has no statistics
        conn.execute("ANALYZE")
    conn.close()


def fill_postgres(url: str, rows) -> None:
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.cursor() as cur:
            events = []
            with cur.copy(f"COPY publications ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in with_first_channel(rows):
                    copy.write_row(row[:-1])
                    events += events_of(row)
            with cur.copy(f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                for event in events:
                    copy.write_row(event)
        # What autovacuum would have done by the time anyone asks for a report.
        conn.execute("VACUUM ANALYZE publications")
        conn.execute("VACUUM ANALYZE events")


def run(backend: str, n_rows: int, dense: bool, repeats: int, write_json: bool, tmp: Path,
        analyze: bool = False) -> dict:
    units = load_units()
    period = parse_period("2024-Q1")
    if dense:
        start, end = period.start, period.end
    else:
        start, end = datetime(2023, 1, 1, tzinfo=TZ), datetime(2025, 1, 1, tzinfo=TZ)
    ids = [u["id"] for u in units if u["valid_to"] is not None or u["id"] == "xa-long-son"]
    schema = None
    if backend == "sqlite":
        path = tmp / f"bench-{uuid.uuid4().hex[:6]}.db"
        ledger = open_ledger(str(path), tmp)
        ledger.migrate(now=datetime.now(UTC))
        t0 = time.perf_counter()
        fill_sqlite(path, generate(n_rows, start, end, ids), analyze)
    else:
        import psycopg
        schema = f"loa_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
        ledger = open_ledger(url, tmp)
        ledger.migrate(now=datetime.now(UTC))
        t0 = time.perf_counter()
        fill_postgres(url, generate(n_rows, start, end, ids))
    load = time.perf_counter() - t0
    try:
        times, cpu, annex = [], [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            report = build_report(ledger, period, units=units, targets={"ward": {"portal": 6}},
                                  org={"name_lines": ["ỦY BAN NHÂN DÂN"], "place": "Vũng Tàu"},
                                  now=datetime(2024, 3, 15, 8, tzinfo=TZ))
            t1 = time.perf_counter()
            audit = approval_audit(ledger, period, tz=TZ, names={u["id"]: u["name"] for u in units},
                                   front_matter=FRONT_MATTER)
            report = dataclasses.replace(report, audit=audit)
            annex.append(time.perf_counter() - t1)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        t0 = time.perf_counter()
        write_report(report, "docx", tmp / f"bench-{backend}.docx")
        docx_s = time.perf_counter() - t0
        json_s = None
        if write_json:
            t0 = time.perf_counter()
            write_report(report, "json", tmp / f"bench-{backend}.json")
            json_s = time.perf_counter() - t0
        return {"backend": backend, "scenario": "dense" if dense else "spread", "rows": n_rows,
                "in_period": report.totals.items, "annex_rows": len(report.audit),
                "annex_s": statistics.median(annex), "load_s": load, "first_s": times[0],
                "median_s": statistics.median(times), "cpu_s": statistics.median(cpu), "docx_s": docx_s,
                "json_s": json_s}
    finally:
        ledger.close()
        if schema:
            import psycopg
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--scenarios", default="spread,dense")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="also time writing the full JSON (every item)")
    ap.add_argument("--analyze", action="store_true", help="give SQLite planner statistics (ANALYZE)")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="loa-bench-") as tmp:
        for scenario in args.scenarios.split(","):
            for backend in args.backends.split(","):
                try:
                    results.append(run(backend, args.rows, scenario == "dense", args.repeats, args.json, Path(tmp),
                                       args.analyze))
                except Exception as exc:  # a missing PostgreSQL should not hide the SQLite figures
                    print(f"{backend} ({scenario}): skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
                print(results[-1] if results else "", file=sys.stderr, flush=True)  # progress
    print()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times stretch with it; "
          "'client cpu' is this process: all of SQLite's work, only the client side of PostgreSQL's)")
    print(f"{'backend':<11} {'scenario':<8} {'rows':>10} {'in 2024-Q1':>11} {'load s':>7} {'1st s':>6} "
          f"{'median s':>9} {'client cpu':>11} {'annex rows':>10} {'annex s':>7} {'docx s':>7} {'json s':>7}  target <= 2 s")
    for r in results:
        ok = "ok" if r["median_s"] <= 2.0 else "SLOW"
        js = f"{r['json_s']:7.2f}" if r["json_s"] is not None else "      -"
        print(f"{r['backend']:<11} {r['scenario']:<8} {r['rows']:>10,} {r['in_period']:>11,} {r['load_s']:7.1f} "
              f"{r['first_s']:6.2f} {r['median_s']:9.3f} {r['cpu_s']:11.3f} {r['annex_rows']:>10,} {r['annex_s']:7.3f} "
              f"{r['docx_s']:7.2f} {js}  {ok}")


if __name__ == "__main__":
    main()
