"""Publishing to the static e-portal: does it scale?

    python bench/site.py                      # 500 and 2,000 posts, 20,000 for the edit, Hugo as reference
    python bench/site.py --big 0 --no-hugo    # quicker: no 20,000-post site

Each row is a fresh ``loa`` process on a corpus from ``bench/corpus.py`` (the same bodies go to
Hugo), every post approved, publishing only to the static site (``--channel portal``) from an
empty ledger into an empty site folder. Targets (issue 17): a full publish of 2,000 posts costs at
most 3 x ``loa preview`` of the same posts; growing from 500 to 2,000 posts costs at most 5 x;
publishing one edited post in a 20,000-post site costs at most 1 % of that site's full publish.
That edit is measured twice: as ``loa run`` sends it (the target's row: one daemon tick in a
long-lived session, after a warm-up tick, so the posts, plan and checks of unchanged files are
kept in memory) and as a fresh ``loa publish`` process (cron's fallback: it reads everything again).
Hugo's full build of the same bodies is the reference row. Before this benchmark the site rewrote
its manifest and every index for each article: 1,517 posts took 139 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import generate  # noqa: E402
from render import NOW, Row, Run, _hugo_version, fresh, run  # noqa: E402

TARGET_PREVIEW, TARGET_GROWTH, TARGET_EDIT = 3.0, 5.0, 0.01


def _config(corpus, name: str, site: str) -> Path:
    """A config beside the corpus's own, every post approved, the site written to ``site``."""
    text = (corpus.loa / "config.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^require_approval = .*$", "require_approval = []", text)
    text = re.sub(r'(?m)^out_dir = "site"$', f'out_dir = "{site}"', text)
    path = corpus.loa / name
    path.write_text(text, encoding="utf-8")
    return path


def _publish(corpus, tmp: Path, tag: str, *, site: str | None = None, ledger: str | None = None) -> object:
    site = site or f"site-{tag}"
    config = _config(corpus, f"config-{site}.toml", site)
    os.environ["LOA_LEDGER_URL"] = f"sqlite:///{ledger or tmp / f'ledger-{tag}.db'}"
    try:
        return run([sys.executable, "-m", "pipeline", "--config", str(config), "--lang", "en", "publish",
                    "--channel", "portal", "--now", NOW])
    finally:
        del os.environ["LOA_LEDGER_URL"]


def _preview(corpus, tmp: Path, tag: str) -> object:
    os.environ["LOA_LEDGER_URL"] = f"sqlite:///{tmp / f'ledger-preview-{tag}.db'}"
    try:
        return run([sys.executable, "-m", "pipeline", "--config", str(_config(corpus, "config-preview.toml", "site")),
                    "preview", "--lang", "en", "--out", str(tmp / "out" / f"preview-{tag}"), "--now", NOW],
                   expect=r"rendered")
    finally:
        del os.environ["LOA_LEDGER_URL"]


def probe_main(config: str, site: str, edit: str | None) -> int:
    """The static-site publisher alone, in this process: every post rendered first (not timed),
    then either all of them published to an empty ``site`` and the lists written (``close``), or
    only the post ``edit`` published again to an existing site. Prints the seconds of those calls."""
    from pipeline.app import Session
    from pipeline.config import load_config
    from pipeline.publish import idempotency_key
    from publishers.static_site import StaticSitePublisher

    cfg = load_config(config)
    session = Session(cfg)
    posts = [p for p in session.content().posts if "portal" in p.channels]
    if edit:
        posts = [p for p in posts if str(p.path).endswith(edit)]
    renderer = session.renderer()
    renderings = [renderer.render(p, "portal") for p in posts]
    pub = StaticSitePublisher("portal", {**cfg.channels["portal"].options, "out_dir": site}, site=cfg)
    start = time.perf_counter()
    for p, r in zip(posts, renderings):
        if edit:
            pub.update(r, pub.lookup(r, "-"))
        else:
            pub.publish(r, key=idempotency_key(p.id, "portal", p.source_hash))
    pub.close()
    print(f"{len(renderings)} articles in {time.perf_counter() - start:.3f} s")
    return 0


def daemon_main(config: str, edit: str, runs: int) -> int:
    """``loa run``'s tick in one long-lived session, as the daemon runs it (:class:`Daemon.tick`:
    publish, record the tick, notify) with the plan's time fixed at ``NOW`` like ``--now`` of the
    other rows: a warm-up tick first (it reads every post), then ``runs`` times the file ``edit`` is
    changed and one tick timed. Prints each timed tick's wall and CPU seconds and what it updated."""
    import resource

    from pipeline.app import Session
    from pipeline.commands.base import parse_now
    from pipeline.config import load_config
    from pipeline.schedule import Daemon

    cfg = load_config(config)
    session, now, results = Session.open(cfg), parse_now(NOW, cfg), []
    publish = session.publish

    def publish_at_now(*_args, **kw):  # the plan's "now" fixed, as --now does; the result kept
        results.append(publish(now, **kw))
        return results[-1]

    session.publish = publish_at_now
    daemon, victim = Daemon(session, once=True), cfg.root / edit
    lock = session.ledger_factory()
    with lock.daemon_lock(session.owner):
        start = time.perf_counter()
        daemon.tick()
        print(f"warm-up tick {time.perf_counter() - start:.3f} s")
        for i in range(runs):
            victim.write_text(victim.read_text(encoding="utf-8") + f"\nNgày {i + 1}, bản sửa của daemon.\n",
                              encoding="utf-8")
            start, cpu = time.perf_counter(), time.process_time()
            daemon.tick()
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            print(f"tick {wall:.3f} s {cpu:.3f} cpu updated {results[-1].updated} sent {results[-1].sent}")
    lock.close()
    session.close()
    print(f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


def _daemon(corpus, site: str, ledger: Path, edit: str, runs: int) -> tuple[list[Run], str]:
    """The daemon's timed ticks (one process), as rows' runs; the process's whole output."""
    config = _config(corpus, f"config-{site}.toml", site)
    os.environ["LOA_LEDGER_URL"] = f"sqlite:///{ledger}"
    try:
        out = run([sys.executable, str(Path(__file__).resolve()), "--daemon", str(config), edit, str(runs)],
                  expect=r"tick .* updated").output
    finally:
        del os.environ["LOA_LEDGER_URL"]
    peak = float(re.search(r"peak (\d+) MB", out).group(1))
    ticks = re.findall(r"^tick ([0-9.]+) s ([0-9.]+) cpu (.*)$", out, re.M)
    return [Run(float(w), float(c), peak, rest) for w, c, rest in ticks], out


def _probe(corpus, site: str, edit: str | None = None) -> float:
    config = _config(corpus, f"config-{site}.toml", site)
    out = run([sys.executable, str(Path(__file__).resolve()), "--probe", str(config), site] + ([edit] if edit else []),
              expect=r"articles in").output
    return float(re.search(r"articles in ([0-9.]+) s", out).group(1))


def _pages(corpus, site: str) -> int:
    return sum(1 for p in (corpus.loa / site).rglob("*.html") if not p.name.startswith("trang-"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--small", type=int, default=500)
    ap.add_argument("--big", type=int, default=20000, help="posts of the site an edit is published to (0: skip)")
    ap.add_argument("--runs", type=int, default=3, help="runs per row; the fastest counts")
    ap.add_argument("--no-hugo", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--probe", nargs="+", help=argparse.SUPPRESS)  # CONFIG SITE [EDITED-POST]: the publisher alone
    ap.add_argument("--daemon", nargs=3, help=argparse.SUPPRESS)  # CONFIG EDITED-POST RUNS: the daemon's ticks
    args = ap.parse_args(argv)
    if args.daemon:
        return daemon_main(args.daemon[0], args.daemon[1], int(args.daemon[2]))
    if args.probe:
        return probe_main(args.probe[0], args.probe[1], args.probe[2] if len(args.probe) > 2 else None)
    tmp = Path(tempfile.mkdtemp(prefix="loa-bench-site-"))
    try:
        return _bench(args, tmp)
    finally:
        if args.keep:
            print(f"\nKept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


# One straight sequence of measurements; split, it would only hand the same rows around.
def _bench(args, tmp: Path) -> int:
    import compileall

    for package in ("pipeline", "publishers"):
        compileall.compile_dir(str(Path(__file__).resolve().parents[1] / package), quiet=1)
    hugo = None if args.no_hugo else shutil.which("hugo")
    notes = [] if hugo or args.no_hugo else ["Hugo not installed (apt-get install hugo): its row is left out."]
    n, small = args.posts, args.small
    corpus = generate(tmp / "corpus", n, tools=("loa", "hugo") if hugo else ("loa",))
    corpus_small = generate(tmp / "corpus-small", small, tools=("loa",))
    load_before = os.getloadavg()
    preview = Row("`loa preview` (all channels, from an empty ledger)", n)
    full = Row("`loa publish --channel portal`, empty ledger and site", n)
    full_small = Row("`loa publish --channel portal`, empty ledger and site", small)
    again = Row("`loa publish` again, nothing changed", n)
    hugo_row = Row(f"Hugo {_hugo_version(hugo)} full build (reference)" if hugo else "Hugo", n)
    for i in range(args.runs):  # round-robin: a busy machine slows every row alike
        preview.runs.append(_preview(corpus, tmp, str(i)))
        full.runs.append(_publish(corpus, tmp, f"full-{i}"))
        full_small.runs.append(_publish(corpus_small, tmp, f"small-{i}"))
        if hugo:
            out = tmp / "out" / f"hugo-{i}"
            fresh(corpus.hugo / "resources")
            hugo_row.runs.append(run([hugo, "--source", str(corpus.hugo), "--destination", str(out)], expect=r"Pages"))
    for i in range(args.runs):
        again.runs.append(_publish(corpus, tmp, "full-0", site="site-full-0"))
    alone = [_probe(corpus, f"site-probe-{i}") for i in range(args.runs)]
    pages = _pages(corpus, "site-full-0")
    rows = [preview, full, full_small, again] + ([hugo_row] if hugo else [])

    big_full = big_edit = tick = None
    if args.big:
        big = generate(tmp / "corpus-big", args.big, tools=("loa",))
        big_full = Row("`loa publish --channel portal`, empty ledger and site", args.big)
        big_full.runs.append(_publish(big, tmp, "big", ledger=tmp / "ledger-big.db"))
        big_edit = Row("the same site: one post edited, `loa publish`", args.big)
        victim = sorted((big.loa / "content").rglob("*.md"))[args.big // 2]
        edit_alone = []
        for i in range(args.runs):
            text = victim.read_text(encoding="utf-8")
            victim.write_text(text.rstrip("\n") + f"\n\nCập nhật lần {i + 1}.\n", encoding="utf-8")
            big_edit.runs.append(_publish(big, tmp, "big", ledger=tmp / "ledger-big.db"))
            if not re.search(r"\b1 updated|updated 1\b", big_edit.runs[-1].output):
                notes.append(f"edit run {i}: {big_edit.runs[-1].output.strip().splitlines()[-1]}")
            victim.write_text(victim.read_text(encoding="utf-8") + f"\nSửa lần {i + 1}.\n", encoding="utf-8")
            edit_alone.append(_probe(big, "site-big", str(victim.relative_to(big.loa))))
        # the target's row: in production the daemon sends edits, its session warm between ticks
        tick = Row("the same site: one post edited, a `loa run` daemon tick (warm-up tick before)", args.big)
        tick.runs, out = _daemon(big, "site-big", tmp / "ledger-big.db", str(victim.relative_to(big.loa)), args.runs)
        notes += [f"daemon tick {i}: {r.output}" for i, r in enumerate(tick.runs) if "updated 1 " not in r.output]
        notes += [line for line in out.splitlines() if line.startswith("warm-up")]
        rows += [big_full, big_edit, tick]
    load_after = os.getloadavg()

    print()
    print("| what | posts | seconds | CPU s | peak MB |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r.tool} | {r.posts} | {r.best.seconds:.2f} | {r.best.cpu:.2f} | {r.peak_mb:.0f} |")
    print()
    print(f"Best of {args.runs} runs (the 20,000-post full publish: one run), each a fresh process; {os.cpu_count()} cores; "
          f"{platform.python_implementation()} {platform.python_version()}; load average {load_before[0]:.1f} before, "
          f"{load_after[0]:.1f} after. The {n}-post site has {pages} pages besides the numbered list pages.")
    print(f"The static-site publisher alone (renderings made beforehand, publish + close timed in-process): "
          f"{n} articles into an empty site {min(alone):.2f} s"
          + (f"; one edited article in the {args.big}-article site {min(edit_alone):.3f} s" if args.big else "") + ".")
    for note in notes:
        print(note)
    print()
    f, p, s = full.best.seconds, preview.best.seconds, full_small.best.seconds
    ok = _check(f"publish {n} <= {TARGET_PREVIEW:g} x preview", f <= TARGET_PREVIEW * p, f"{f:.2f} s = {f / p:.2f} x {p:.2f} s")
    ok &= _check(f"{small} -> {n} posts <= {TARGET_GROWTH:g} x", f <= TARGET_GROWTH * s, f"{f:.2f} s / {s:.2f} s = {f / s:.2f} x")
    # on a shared machine the wall clock is mostly waiting for fsync behind other processes: CPU too
    fc, pc, sc = full.best.cpu, preview.best.cpu, full_small.best.cpu
    _check(f"(CPU) publish {n} <= {TARGET_PREVIEW:g} x preview", fc <= TARGET_PREVIEW * pc, f"{fc:.2f} s = {fc / pc:.2f} x {pc:.2f} s")
    _check(f"(CPU) {small} -> {n} posts <= {TARGET_GROWTH:g} x", fc <= TARGET_GROWTH * sc, f"{fc:.2f} s / {sc:.2f} s = {fc / sc:.2f} x")
    if big_full:
        b, bc = big_full.best.seconds, big_full.best.cpu
        e, ec = tick.best.seconds, tick.best.cpu
        ok &= _check(f"edit in {args.big} <= {TARGET_EDIT:.0%} of full, daemon tick", e <= TARGET_EDIT * b,
                     f"{e:.2f} s = {e / b:.2%} of {b:.2f} s")
        _check(f"(CPU) edit in {args.big} <= {TARGET_EDIT:.0%} of full, daemon tick", ec <= TARGET_EDIT * bc,
               f"{ec:.2f} s = {ec / bc:.2%} of {bc:.2f} s")
        e, ec = big_edit.best.seconds, big_edit.best.cpu  # cron's fallback: a fresh process reads everything
        _check(f"edit in {args.big} <= {TARGET_EDIT:.0%} of full, fresh `loa publish`", e <= TARGET_EDIT * b,
               f"{e:.2f} s = {e / b:.1%} of {b:.2f} s")
        _check(f"(CPU) edit in {args.big} <= {TARGET_EDIT:.0%} of full, fresh `loa publish`", ec <= TARGET_EDIT * bc,
               f"{ec:.2f} s = {ec / bc:.1%} of {bc:.2f} s")
        a = min(edit_alone)
        _check(f"the publisher's part of that edit <= {TARGET_EDIT:.0%} of full", a <= TARGET_EDIT * b,
               f"{a:.3f} s = {a / b:.2%} of {b:.2f} s")
    return 0 if ok else 1


def _check(label: str, ok: bool, detail: str) -> bool:
    print(f"{'PASS' if ok else 'MISS'}  {label}: {detail}")
    return ok


if __name__ == "__main__":
    raise SystemExit(main())
