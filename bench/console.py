"""The web console's speed: the calendar month and the operations page over real HTTP, side by side
with the same data read by ``loa status``.

    python bench/console.py [--posts 20000] [--events 200000] [--runs 30]

The corpus: ``--posts`` small posts (``bench/delivery.py``'s writer) whose times run from 300 days
ago to about two months ahead, two webhook channels, every past (post, channel) already published
in the SQLite ledger at the file's version (``delivery.mark_published``), 20 of them failed, and
``--events`` ledger events (claim, send, success, update, in that order per item, repeated over
the items until the count is reached). The console is ``loa serve`` in its own process (uvicorn,
one worker), signed in as the IT officer with a real session cookie; each page is asked for 3
times to warm the session's caches (as a console that has been running), then ``--runs`` times,
one after the other; the table gives the median and the 95th percentile of the wall time of each
whole HTTP request (urllib, keep-alive off), and the console process's CPU time per request (user +
system from /proc, mean over the runs): the figure a busy shared machine does not inflate. ``loa status`` is timed twice: as a command (a new
process each time, what the IT officer types) and as ``Session.status()`` in a warm session (the
same call the operations page makes). Target: calendar month and operations page p95 <= 150 ms.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.delivery import VN, make_site, mark_published, write_posts  # noqa: E402
from pipeline.app import Session  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.ledger import open_ledger  # noqa: E402

TARGET_MS = 150.0
PASSWORD = "mat-khau-bench-console"
KINDS = ("claim", "send", "success", "update")


def build(root: Path, posts_n: int, events_n: int) -> dict:
    now = datetime.now(timezone.utc)
    make_site(root, {"hook1": "http://127.0.0.1:9", "hook2": "http://127.0.0.1:9"})
    span = timedelta(days=360) / posts_n
    posts = write_posts(root, 0, posts_n, lambda i: now - timedelta(days=300) + span * i)
    past = [p for p in posts if p[3] <= now]
    cfg = load_config(root / "config.toml", env={})
    lg = open_ledger(cfg.ledger_url, cfg.root)
    try:
        lg.migrate()
        mark_published(lg, past, list(cfg.channels), now)
        items = [(pid, ch, when) for pid, _h, _rel, when in past for ch in cfg.channels]

        def body(tx):
            rows = []
            for k in range(events_n):
                pid, ch, when = items[(k // len(KINDS)) % len(items)]
                rows.append((when + timedelta(seconds=k % len(KINDS)), pid, ch, KINDS[k % len(KINDS)], "loa-run",
                             '{"remote_id": "%s"}' % pid))
            tx.many("INSERT INTO events (at, post_id, channel, kind, actor, detail) VALUES (?, ?, ?, ?, ?, ?)", rows)
            tx.many("UPDATE publications SET state = 'failed', error_kind = 'permanent', "
                    "last_error = '{\"reason\": \"HTTP 400\", \"vendor\": \"bad request\"}' "
                    "WHERE post_id = ? AND channel = 'hook1'", [(pid,) for pid, _c, _w in items[:40:2]])
        lg._run(body, write=True)
    finally:
        lg.close()
    with Session.open(cfg) as s:
        s.accounts.add("it", "it", PASSWORD, full_name="Cán bộ CNTT", actor="bench")
    return {"posts": posts_n, "published": len(past), "events": events_n, "rows": len(past) * len(cfg.channels)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(root: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "LOA_WEB_SECURE_COOKIES": "0", "LOA_WEB_SECRET": "b" * 40}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(root / "config.toml"), "serve",
                             "--port", str(port)], cwd=root, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/login", timeout=2).read()
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("loa serve did not start")


def signed_in(base: str):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    opener.open(base + "/login", urllib.parse.urlencode(
        {"name": "it", "password": PASSWORD, "csrf_token": token, "next": "/"}).encode()).read()
    return opener


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn, runs: int, warm: int = 3, pid: int | None = None) -> list[float]:
    """Sorted wall times of ``runs`` calls after ``warm`` ones; with ``pid``, the mean CPU time
    that process spent per call is appended to the list's ``cpu`` attribute."""
    for _ in range(warm):
        fn()
    out = Times()
    before = cpu_seconds(pid) if pid else 0.0
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    if pid:
        out.cpu = (cpu_seconds(pid) - before) / runs
    out.sort()
    return out


class Times(list):
    cpu: float | None = None


def p95(times: list[float]) -> float:
    return times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def fetch(opener, url: str, must: str):
    def get():
        with opener.open(url) as r:
            body = r.read()
            assert r.status == 200 and must.encode() in body, (url, r.status)
        return body
    return get


def _status(cli: list[str], root: Path) -> None:
    done = subprocess.run(cli, cwd=root, capture_output=True)
    assert done.returncode in (0, 1), done.stderr  # 1: something needs a person (the failed items)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--events", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="loa-bench-console-") as tmp:
        root = Path(tmp) / "site"
        t = time.perf_counter()
        size = build(root, args.posts, args.events)
        print(f"corpus: {size['posts']:,} posts, {size['rows']:,} ledger rows ({size['published']:,} published "
              f"posts x 2 channels), {size['events']:,} events; built in {time.perf_counter() - t:.0f} s", flush=True)
        proc, base = serve(root)
        try:
            opener = signed_in(base)
            month = datetime.now(VN).date().isoformat()
            cal_body = fetch(opener, f"{base}/calendar?view=month&date={month}", 'class="cal cal-month"')()
            entries = cal_body.count(b'<li class="st-')
            rows = [("calendar month, HTTP (/calendar?view=month)",
                     timed(fetch(opener, f"{base}/calendar?view=month&date={month}", 'class="cal cal-month"'), args.runs,
                           pid=proc.pid),
                     f"{entries:,} entries on the page"),
                    ("calendar week, HTTP", timed(fetch(opener, f"{base}/calendar?view=week&date={month}",
                                                        'class="cal cal-week"'), args.runs, pid=proc.pid), ""),
                    ("operations page, HTTP (/ops)", timed(fetch(opener, f"{base}/ops", "<h1"), args.runs, pid=proc.pid), ""),
                    ]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        cfg = load_config(root / "config.toml", env={})
        with Session.open(cfg) as s:
            rows.append(("Session.status(), long-lived session looking at every file each time", timed(s.status, args.runs),
                         "content_max_age 0, as loa run"))
        cli = [sys.executable, "-m", "pipeline", "--config", str(root / "config.toml"), "status"]
        rows.append(("loa status, a new process each time", timed(
            lambda: _status(cli, root), 3, warm=0), "3 runs"))
    print()
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} (1 min), on {os.cpu_count()} cores")
    print(f"| what ({args.posts:,} posts, {args.events:,} events) | median ms | p95 ms | server CPU ms | target | note |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    missed = 0
    for name, times, note in rows:
        target = f"p95 <= {TARGET_MS:.0f} ms" if "HTTP" in name and "week" not in name else "-"
        ok = "" if target == "-" else (" ✓" if p95(times) * 1e3 <= TARGET_MS else " ✗")
        missed += ok == " ✗"
        cpu = f"{times.cpu * 1e3:.0f}" if getattr(times, "cpu", None) is not None else "-"
        print(f"| {name} | {statistics.median(times) * 1e3:.0f} | {p95(times) * 1e3:.0f} | {cpu} | {target}{ok} | {note} |")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
