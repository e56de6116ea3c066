"""Delivery speed: the daemon's idle tick, due -> sent lag, parallel channels, memory.

    python bench/delivery.py [--posts 20000] [--pg postgresql://postgres@127.0.0.1:5432/test]
                             [--only tick,lag,parallel,memory]

1. tick: ``Engine.run_pass`` with nothing due over ``--posts`` posts x 2 channels, every item already
   published in the ledger and no file changed since the last tick (warm PostCache): median and
   p95 of 15 ticks, on SQLite and on PostgreSQL (a throwaway schema). Target p95 <= 150 ms.
2. lag: ``loa run`` as a subprocess (regular tick 60 s: the wake-up job does the work); 60 posts
   whose ``publish_at`` falls 15-75 s after the daemon starts, one a second, next to 1,000
   published ones; lag = arrival at the local webhook receiver minus ``publish_at``. Target p95
   <= 5 s.
3. parallel: 300 posts to 3 local webhook channels answering in 50 ms each, one ``loa publish``
   pass (Engine.run_pass); then each channel alone on a fresh ledger. Target: all three together
   <= 1.2 x the slowest channel alone.
4. memory: RSS of ``loa run`` (VmHWM, the peak) after 3 ticks over ``--posts`` posts, all
   published. Target <= 150 MB.

Posts are small Markdown files written into a temp folder. The ledger rows of "already published"
items are written with one UPDATE per item in a single transaction (the bench measures the tick,
not 40,000 fsynced claims); their version is the file's real source hash, so the planner sees them
as done. The whole run takes about 4 minutes on 2 cores (the lag run alone is 90 s of wall clock).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.config import load_config  # noqa: E402
from pipeline.content import sha  # noqa: E402
from pipeline.ledger import open_ledger  # noqa: E402
from pipeline.ledger._sql import SqlCore  # noqa: E402
from pipeline.app import Session  # noqa: E402
from tests.servers.webhook import WebhookServer  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")
UTC = timezone.utc
TARGETS = {"tick": 0.150, "lag": 5.0, "parallel": 1.2, "memory": 150.0}

CONFIG = """
[site]
name = "Cổng thông tin điện tử - bench"
base_url = "https://portal.example.gov.vn"
[organization]
name_lines = ["ỦY BAN NHÂN DÂN", "THÀNH PHỐ VŨNG TÀU"]
place = "Vũng Tàu"
[[units]]
id = "phuong-1"
name = "Phường 1"
kind = "ward"
[[units]]
id = "xa-long-son"
name = "Xã Long Sơn"
kind = "commune"
[content.types.news]
label = "Tin tức"
channels = [{names}]
[content.topics]
cchc = "Cải cách hành chính"
dvctt = "Dịch vụ công trực tuyến"
[editorial]
board = ["Lê Thị Mai"]
require_approval = []
{channels}
[daemon]
tick = "{tick}"
lease = "2m"
workers = 4
"""

CHANNEL = """
[channels.{name}]
type = "webhook"
url = "{url}/items"
"""

BODY = ("Sáng nay, UBND {unit} tổ chức hội nghị triển khai dịch vụ công trực tuyến toàn trình "
        "và thanh toán trực tuyến phí, lệ phí cho người dân, doanh nghiệp.\n\n"
        "- Hồ sơ nộp qua Cổng dịch vụ công quốc gia: {n} hồ sơ.\n"
        "- Tỷ lệ giải quyết đúng hạn: 98,5 %.\n")


def make_site(root: Path, channels: dict[str, str], *, tick: str = "60s") -> None:
    """config.toml with the given webhook channels {name: receiver base URL}."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "content").mkdir(exist_ok=True)
    text = CONFIG.format(names=", ".join(f'"{n}"' for n in channels), tick=tick,
                         channels="".join(CHANNEL.format(name=n, url=u) for n, u in channels.items()))
    (root / "config.toml").write_text(text, encoding="utf-8")


def write_posts(root: Path, start: int, count: int, publish_at) -> list[tuple[str, str, str, datetime]]:
    """``count`` small posts; ``publish_at(i)`` gives each one's time. Returns (id, source hash,
    relpath, publish_at) per post (the hash the reader will compute: sha of the file's bytes)."""
    out = []
    for i in range(start, start + count):
        when = publish_at(i).astimezone(VN)
        pid = f"b{i:06d}"
        unit = ("phuong-1", "xa-long-son")[i % 2]
        text = (f"---\nid: {pid}\ntitle: \"Tin số {i}: triển khai dịch vụ công trực tuyến toàn trình\"\n"
                f"type: news\nunit: {unit}\nauthor: Nguyễn Thị Lan\n"
                f"publish_at: \"{when:%Y-%m-%d %H:%M:%S}\"\nstatus: ready\ntopics: [cchc, dvctt]\n---\n\n"
                + BODY.format(unit="Phường 1" if i % 2 == 0 else "Xã Long Sơn", n=i))
        data = text.encode("utf-8")
        rel = f"content/news/{i // 500:03d}/{pid}.md"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out.append((pid, sha(data), rel, when))
    return out


def mark_published(ledger, posts, channels: list[str], now: datetime) -> None:
    """Ledger rows for every (post, channel), already published at the file's current version."""
    items = []
    for pid, _h, rel, when in posts:
        meta = {"title": f"Tin {pid}", "unit": "phuong-1", "type": "news", "author": "Nguyễn Thị Lan",
                "path": rel, "topics": ["cchc", "dvctt"], "publish_at": when}
        items += [(pid, ch, "webhook", meta) for ch in channels]
    ledger.ensure_many(items, now=now)
    sql = ("UPDATE publications SET state = 'published', action = 'create', version = ?, remote_id = ?, "
           "remote_url = ?, first_published_at = ?, published_version_at = ?, rev = ? "
           "WHERE post_id = ? AND channel = ?")

    def body(tx):
        rev = SqlCore._rev(tx)
        tx.many(sql, [(h, pid, f"https://hook.example.invalid/{ch}/{pid}", when, when, rev, pid, ch)
                      for pid, h, _rel, when in posts for ch in channels])
    ledger._run(body, write=True)


# -- PostgreSQL throwaway schema -----------------------------------------------------------------

class PgSchema:
    def __init__(self, url: str):
        import psycopg

        self.url, self.schema = url, f"loa_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"CREATE SCHEMA {self.schema}")
        self.ledger_url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{self.schema}"

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {self.schema} CASCADE")


def pg_available(url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as e:  # noqa: BLE001 - reported in the table
        return str(e).strip().splitlines()[0]


# -- 1. the idle tick ----------------------------------------------------------------------------

def tick_corpus(base: Path, posts_n: int) -> tuple[Path, list]:
    """One content folder for both backends (and the memory run): ``posts_n`` posts, 30 days old."""
    root = base / "tick"
    make_site(root, {"hook1": "http://127.0.0.1:9", "hook2": "http://127.0.0.1:9"})  # never called
    now = datetime.now(UTC)
    return root, write_posts(root, 0, posts_n, lambda i: now - timedelta(days=30, minutes=i))


def bench_tick(root: Path, posts: list, ledger_url: str | None, label: str) -> dict:
    now = datetime.now(UTC)
    cfg = load_config(root / "config.toml", env={"LOA_LEDGER_URL": ledger_url} if ledger_url else {})

    def factory():
        return open_ledger(cfg.ledger_url, cfg.root)
    lg = factory()
    lg.migrate()
    mark_published(lg, posts, list(cfg.channels), now)
    lg.close()
    times = []
    with Session(cfg, factory, owner=f"bench-{label}", env={}) as engine:
        t = time.perf_counter()
        first = engine.publish(now=now)
        cold = time.perf_counter() - t
        assert first.sent == first.skipped == first.bugs == 0, first.lines[:5]
        for k in range(15):
            t = time.perf_counter()
            r = engine.publish(now=now + timedelta(seconds=k + 1))
            times.append(time.perf_counter() - t)
            assert r.sent == r.skipped == r.bugs == r.held == 0, r.lines[:5]
    times.sort()
    return {"name": f"1. idle tick, {len(posts):,} posts x 2 channels, {label} (p95 of 15)",
            "value": times[int(0.95 * (len(times) - 1))], "target": TARGETS["tick"], "unit": "ms",
            "note": f"median {times[len(times) // 2] * 1e3:.0f} ms; first tick (cold) {cold:.1f} s"}


# -- 2. due -> sent in the daemon ------------------------------------------------------------------

class ArrivalServer(WebhookServer):
    """The counting webhook receiver, noting the wall-clock arrival of each first create."""

    def __init__(self, latency: float = 0.0):
        super().__init__(latency)
        self.arrived: dict[str, float] = {}

    def handle(self, req):
        at = time.time()
        resp = super().handle(req)
        if req.method == "POST" and resp.status == 201:
            with self.lock:
                self.arrived.setdefault(resp.body["post_id"], at)
        return resp


def start_daemon(root: Path, log_path: Path, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(root / "config.toml"), "-v", "run"],
                            cwd=REPO, env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})),
                            stdout=subprocess.DEVNULL, stderr=open(log_path, "wb"), start_new_session=True)


def stop_daemon(proc: subprocess.Popen, log_path: Path) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode not in (0, -signal.SIGTERM):
        raise RuntimeError(f"loa run exited {proc.returncode}: {log_path.read_text(errors='replace')[-2000:]}")


def bench_lag(base: Path, background: int = 1000, due: int = 60, lead: float = 15.0) -> dict:
    root = base / "lag"
    with ArrivalServer() as server:
        make_site(root, {"hook": server.url}, tick="60s")
        now = datetime.now(UTC)
        old = write_posts(root, 0, background, lambda i: now - timedelta(days=2, minutes=i))
        lg = open_ledger(None, root)
        lg.migrate()
        mark_published(lg, old, ["hook"], now)
        lg.close()
        # due times: whole seconds, one a second, from `lead` s after the daemon starts
        first = (int(time.time() + lead) + 1)
        when = {f"b{background + i:06d}": first + i for i in range(due)}
        write_posts(root, background, due,
                    lambda i: datetime.fromtimestamp(first + i - background, UTC))
        log_path = base / "lag-daemon.log"
        proc = start_daemon(root, log_path)
        try:
            deadline = first + due + 30
            while len(server.arrived) < due and time.time() < deadline and proc.poll() is None:
                time.sleep(0.2)
        finally:
            stop_daemon(proc, log_path)
        lags = sorted(server.arrived[p] - t for p, t in when.items() if p in server.arrived)
        missing = due - len(lags)
        assert server.creates == len(lags), f"{server.creates} creates for {len(lags)} posts"
    lags += [float("inf")] * missing
    return {"name": f"2. daemon: due -> at the receiver ({due} posts over {due} s, {background:,} published; p95)",
            "value": lags[int(0.95 * (len(lags) - 1))], "target": TARGETS["lag"], "unit": "s",
            "note": f"median {lags[len(lags) // 2]:.2f} s, max {lags[-1]:.2f} s" + (f", {missing} never arrived" if missing else "")}


# -- 3. channels in parallel -----------------------------------------------------------------------

def bench_parallel(base: Path, posts_n: int = 300, latency: float = 0.05) -> dict:
    root = base / "parallel"
    names = ("hook1", "hook2", "hook3")
    now = datetime.now(UTC)
    durations: dict[str, float] = {}

    def one_run(label: str, only: str | None) -> float:
        servers = [WebhookServer(latency=latency).start() for _ in names]
        try:
            make_site(root, {n: s.url for n, s in zip(names, servers)})
            cfg = load_config(root / "config.toml", env={"LOA_LEDGER_URL": f"sqlite:///var/{label}.db"})

            def factory():
                return open_ledger(cfg.ledger_url, cfg.root)
            lg = factory()
            lg.migrate()
            lg.close()
            with Session(cfg, factory, owner=f"bench-{label}", env={}) as engine:
                t = time.perf_counter()
                r = engine.publish(now=now, only_channel=only)
                elapsed = time.perf_counter() - t
            expected = [posts_n if only in (None, n) else 0 for n in names]
            assert r.sent == sum(expected) and [s.creates for s in servers] == expected, (r.lines[:5], r.sent)
            return elapsed
        finally:
            for s in servers:
                s.stop()

    write_posts(root, 0, posts_n, lambda i: now - timedelta(hours=1, seconds=i))
    for n in names:
        durations[n] = one_run(f"alone-{n}", n)
    together = one_run("together", None)
    slowest = max(durations.values())
    return {"name": f"3. {posts_n} posts to 3 webhook channels ({latency * 1e3:.0f} ms each): together / slowest alone",
            "value": together / slowest, "target": TARGETS["parallel"], "unit": "x",
            "note": f"together {together:.1f} s; alone " + ", ".join(f"{d:.1f}" for d in durations.values()) + " s"}


# -- 4. daemon memory ------------------------------------------------------------------------------

def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            fields[k] = int(v.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def bench_memory(root: Path, posts_n: int, ticks: int = 3) -> dict:
    """``loa run`` over the tick corpus (its SQLite ledger has every item published)."""
    text = (root / "config.toml").read_text(encoding="utf-8")
    (root / "config.toml").write_text(text.replace('tick = "60s"', 'tick = "2s"'), encoding="utf-8")
    log_path = root.parent / "memory-daemon.log"
    proc = start_daemon(root, log_path)
    t0 = time.time()
    try:
        def done() -> int:
            return sum(1 for line in log_path.read_text(errors="replace").splitlines()
                       if "Daemon.tick" in line and "executed successfully" in line)
        while done() < ticks and proc.poll() is None and time.time() - t0 < 240:
            time.sleep(0.5)
        rss, hwm = rss_mb(proc.pid)
        seen = done()
    finally:
        stop_daemon(proc, log_path)
    assert seen >= ticks, f"only {seen} ticks in {time.time() - t0:.0f} s"
    return {"name": f"4. daemon memory, {posts_n:,} posts x 2 channels (peak RSS after {ticks} ticks)",
            "value": hwm, "target": TARGETS["memory"], "unit": "MB", "note": f"RSS now {rss:.0f} MB"}


# -- report ------------------------------------------------------------------------------------------

def table(results: list[dict]) -> str:
    rows = [("benchmark", "measured", "target", "result", "notes")]
    for r in results:
        if "skipped" in r:
            rows.append((r["name"], "-", "-", "SKIP", r["skipped"]))
            continue
        scale = 1e3 if r["unit"] == "ms" else 1
        fmt = "{:.0f} ms" if r["unit"] == "ms" else "{:.2f} " + r["unit"]
        ok = r["value"] <= r["target"]
        rows.append((r["name"], fmt.format(r["value"] * scale), "<= " + fmt.format(r["target"] * scale),
                     "PASS" if ok else "FAIL", r.get("note", "")))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4] for row in rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--pg", default=os.environ.get("LOA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--only", default="tick,lag,parallel,memory", help="comma-separated subset")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (its path is printed)")
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    base = Path(tempfile.mkdtemp(prefix="loa-bench-delivery-"))
    results: list[dict] = []
    started = time.time()
    try:
        if only & {"tick", "memory"}:
            root, posts = tick_corpus(base, args.posts)
            if "tick" in only:
                why = pg_available(args.pg)
                if why:
                    results.append({"name": "1. idle tick, PostgreSQL", "skipped": f"PostgreSQL unreachable: {why}"})
                else:
                    schema = PgSchema(args.pg)
                    try:
                        results.append(bench_tick(root, posts, schema.ledger_url, "PostgreSQL"))
                    finally:
                        schema.drop()
            # SQLite last: its ledger (every item published) then serves the memory run
            if "tick" in only or "memory" in only:
                sqlite_result = bench_tick(root, posts, None, "SQLite")
                if "tick" in only:
                    results.insert(0, sqlite_result)
            if "memory" in only:
                results.append(bench_memory(root, args.posts))
        if "lag" in only:
            results.append(bench_lag(base))
        if "parallel" in only:
            results.append(bench_parallel(base))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(table(results))
    if args.keep:
        print(f"\nkept {base}")
    print(f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end; whole run {time.time() - started:.0f} s")
    return 0 if all(r.get("value", 0) <= r.get("target", 1) for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
