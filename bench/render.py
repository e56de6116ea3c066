"""Render speed: Loa's cold full preview against bare Python-Markdown, Pelican and Hugo on the same posts.

    python bench/render.py [--posts 2000] [--memory-posts 10000] [--runs 3] [--jobs N] [--keep]

A realistic Vietnamese corpus (bench/corpus.py) is written three times: as Loa posts, as Pelican
posts and as Hugo posts. Every measurement is a fresh process (a cold start into a new, empty output
folder), timed by wall clock; the runs go round-robin over the tools so a busy machine slows them
alike, and the best of ``--runs`` counts. Peak memory and CPU seconds come from ``wait4()`` on the
process: the largest single process of its tree (Loa's worker processes included), and user + system
time of the whole tree. Then the targets of issue 2 are checked:

- Loa cold full render <= 1.3 x the bare-Markdown floor and <= 0.25 x Pelican;
- Loa re-render with nothing changed <= 10 % of the cold render;
- Loa peak memory <= 300 MB at ``--memory-posts`` posts.
Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

NOW = "2025-07-01 08:00"  # fixed, so the preview states do not depend on the day of the run
TARGET_FLOOR, TARGET_PELICAN, TARGET_RERENDER, TARGET_MB = 1.3, 0.25, 0.10, 300


@dataclass
class Run:
    seconds: float
    cpu: float
    peak_mb: float
    output: str


@dataclass
class Row:
    tool: str
    posts: int
    runs: list[Run] = field(default_factory=list)
    note: str = ""

    @property
    def best(self) -> Run:
        return min(self.runs, key=lambda r: r.seconds)

    @property
    def peak_mb(self) -> float:
        return max(r.peak_mb for r in self.runs)


def run(cmd: list[str], *, cwd: Path | None = None, expect: str | None = None) -> Run:
    """One fresh process: wall clock, CPU of the tree and its largest resident set (Linux wait4)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("LOA_LANG", None)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{out[-3000:]}")
    if expect and not re.search(expect, out):
        raise SystemExit(f"{' '.join(map(str, cmd))}: expected {expect!r} in its output, got:\n{out[-3000:]}")
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out)


def fresh(*dirs: Path) -> None:
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


# Outputs are never deleted between runs: on ext4, creating thousands of files right after
# deleting thousands makes the kernel scan past "recently deleted" inodes for every new file, which
# measured the file system, not the tool. Each run writes into a new folder; all go at the end.
def out_dir(tmp: Path, tool: str, i: int) -> Path:
    return tmp / "out" / f"{tool}-{i}"


# ---- the floor: bare Python-Markdown, one instance, one process, one core ---------------------
def floor_main(content: Path, loa_fast: bool = False) -> int:
    import markdown

    from pipeline.frontmatter import split_front_matter

    bodies = [split_front_matter(p.read_text(encoding="utf-8")).body for p in sorted(content.rglob("*.md"))]
    from markdown.extensions.attr_list import AttrListExtension
    from markdown.extensions.fenced_code import FencedCodeExtension
    from markdown.extensions.tables import TableExtension

    # instances, as Loa makes them: by name, Markdown would first scan every package's entry points
    md = markdown.Markdown(extensions=[TableExtension(), FencedCodeExtension(), AttrListExtension()])
    if loa_fast:  # the same HTML with Loa's faster steps (pipeline/markdown_fast.py), for comparison
        from pipeline import markdown_fast

        markdown_fast.install(md)
    start = time.perf_counter()
    size = sum(len(md.reset().convert(b)) for b in bodies)
    print(f"{len(bodies)} bodies converted in {time.perf_counter() - start:.3f} s ({size} characters of HTML)")
    return 0


# ---- the table ------------------------------------------------------------------------------
def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(rows: list[Row], floor: Row, pelican: Row | None) -> str:
    lines = ["| tool | posts | seconds | CPU s | × floor | × Pelican | peak MB |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        b = r.best
        same = r.posts == floor.posts
        lines.append(
            f"| {r.tool} | {r.posts or '-'} | {b.seconds:.2f} | {b.cpu:.2f} | "
            f"{fmt_ratio(b.seconds / floor.best.seconds if same else None)} | "
            f"{fmt_ratio(b.seconds / pelican.best.seconds if pelican and same else None)} | {r.peak_mb:.0f} |")
    return "\n".join(lines)


def check(label: str, ok: bool, detail: str) -> bool:
    print(f"{'PASS' if ok else 'FAIL'}  {label}: {detail}")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--memory-posts", type=int, default=10000, help="posts for the peak-memory run (0: skip)")
    ap.add_argument("--runs", type=int, default=3, help="runs per tool; the fastest counts")
    ap.add_argument("--jobs", type=int, default=None, help="Loa worker processes (default: Loa's, one per core)")
    ap.add_argument("--no-pelican", action="store_true")
    ap.add_argument("--no-hugo", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--floor", metavar="CONTENT", help=argparse.SUPPRESS)  # the floor's own process
    ap.add_argument("--loa-markdown", action="store_true", help=argparse.SUPPRESS)  # ... with Loa's faster steps
    args = ap.parse_args(argv)
    if args.floor:
        return floor_main(Path(args.floor), args.loa_markdown)

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from corpus import generate

    tmp = Path(tempfile.mkdtemp(prefix="loa-bench-render-"))
    try:
        return _bench(args, tmp, generate)
    finally:
        if args.keep:
            print(f"\nKept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _bench(args, tmp: Path, generate) -> int:
    notes: list[str] = []
    pelican_ok = not args.no_pelican
    if pelican_ok:
        try:
            pelican_version = metadata.version("pelican")
        except metadata.PackageNotFoundError:
            pelican_ok = False
            notes.append("Pelican not installed (pip install 'loa[bench]'): its column is empty.")
    hugo = None if args.no_hugo else shutil.which("hugo")
    if not args.no_hugo and hugo is None:
        notes.append("Hugo not installed (apt-get install hugo): its row is left out.")
    tools = ("loa",) + (("pelican",) if pelican_ok else ()) + (("hugo",) if hugo else ())
    t = time.perf_counter()
    corpus = generate(tmp / "corpus", args.posts, tools=tools)
    print(f"Corpus: {args.posts} posts, {corpus.body_bytes / 1024:.0f} KB of Markdown bodies "
          f"({corpus.body_bytes / args.posts / 1024:.1f} KB average), written in {time.perf_counter() - t:.1f} s")
    # Byte-compile Loa as installing a package does (pip compiles what it installs; an editable
    # install writes __pycache__ on first use), so that no row pays for compiling its own source:
    # with PYTHONDONTWRITEBYTECODE set, every Loa run would otherwise compile all its modules.
    import compileall

    for package in ("pipeline", "publishers"):
        compileall.compile_dir(str(REPO / package), quiet=1)
    load_before = os.getloadavg()

    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    def loa_cmd(out: Path) -> list[str]:
        return [sys.executable, "-m", "pipeline", "--config", str(corpus.loa / "config.toml"),
                "preview", "--lang", "en", "--out", str(out), "--now", NOW, *jobs]
    n = args.posts
    cold = Row("Loa cold full render (`loa preview`, all channels)", n)
    floor = Row("bare Python-Markdown `convert` (floor, 1 core)", n)
    pelican = Row(f"Pelican {pelican_version}" if pelican_ok else "Pelican", n)
    hugo_row = Row("Hugo " + _hugo_version(hugo) if hugo else "Hugo", n)
    rerender = Row("Loa re-render, nothing changed", n)
    loa_md = Row("Python-Markdown with Loa's faster steps (same HTML, 1 core)", n)
    python = Row("Python start-up alone (`python -c pass`)", 0)

    for i in range(args.runs):  # round-robin: a busy machine slows every tool alike
        cold.runs.append(run(loa_cmd(out_dir(tmp, "loa", i)), expect=rf"\({n} rendered, 0 unchanged, 0 unusable\)"))
        floor.runs.append(run([sys.executable, str(Path(__file__).resolve()), "--floor", str(corpus.loa / "content")],
                              expect=rf"^{n} bodies"))
        loa_md.runs.append(run([sys.executable, str(Path(__file__).resolve()), "--floor", str(corpus.loa / "content"),
                                "--loa-markdown"], expect=rf"^{n} bodies"))
        if pelican_ok:
            out = out_dir(tmp, "pelican", i)
            fresh(corpus.pelican / "__pycache__")
            pelican.runs.append(run([sys.executable, "-m", "pelican", str(corpus.pelican / "content"), "-o", str(out),
                                     "-s", str(corpus.pelican / "pelicanconf.py")], cwd=corpus.pelican,
                                    expect=rf"Processed {n} articles"))
        if hugo:
            out = out_dir(tmp, "hugo", i)
            fresh(corpus.hugo / "resources")
            hugo_row.runs.append(run([hugo, "--source", str(corpus.hugo), "--destination", str(out)],
                                     expect=r"Pages\s*\|\s*\d+"))
    for i in range(max(args.runs, 10)):  # over the last cold run's output; each run is short: more of them
        rerender.runs.append(run(loa_cmd(out_dir(tmp, "loa", args.runs - 1)), expect=rf"\(0 rendered, {n} unchanged, 0 unusable\)"))
        python.runs.append(run([sys.executable, "-c", "pass"]))
    rows = [cold, rerender, floor, loa_md] + ([pelican] if pelican_ok else []) + ([hugo_row] if hugo else []) + [python]

    mem = None
    if args.memory_posts:
        big = generate(tmp / "corpus-mem", args.memory_posts, tools=("loa",))
        out = out_dir(tmp, "loa-memory", 0)
        mem = Row("Loa cold full render", args.memory_posts, note="memory run")
        mem.runs.append(run([sys.executable, "-m", "pipeline", "--config", str(big.loa / "config.toml"),
                             "preview", "--lang", "en", "--out", str(out), "--now", NOW, *jobs],
                            expect=rf"\({args.memory_posts} rendered, 0 unchanged, 0 unusable\)"))
        rows.append(mem)
    load_after = os.getloadavg()

    print()
    print(table(rows, floor, pelican if pelican_ok else None))
    print()
    print(f"Best of {args.runs} wall-clock runs, each a fresh process from a cold start (new output folder); "
          f"Loa uses {args.jobs or 'one worker process per core'} ({os.cpu_count()} cores here), the floor one core. "
          f"CPU s is user + system time of the process tree; peak MB the largest single process. "
          f"{platform.python_implementation()} {platform.python_version()}; load average "
          f"{load_before[0]:.1f} before, {load_after[0]:.1f} after.")
    for note in notes:
        print(note)
    print()
    c, f = cold.best.seconds, floor.best.seconds
    ok = check(f"cold <= {TARGET_FLOOR} x floor", c <= TARGET_FLOOR * f, f"{c:.2f} s = {c / f:.2f} x {f:.2f} s")
    if pelican_ok:
        p = pelican.best.seconds
        ok &= check(f"cold <= {TARGET_PELICAN} x Pelican", c <= TARGET_PELICAN * p, f"{c:.2f} s = {c / p:.2f} x {p:.2f} s")
    r = rerender.best.seconds
    ok &= check(f"re-render <= {TARGET_RERENDER:.0%} of cold", r <= TARGET_RERENDER * c,
                f"{r * 1000:.0f} ms = {r / c:.1%} of {c:.2f} s (the interpreter alone starts in "
                f"{python.best.seconds * 1000:.0f} ms, `python -c pass`)")
    if mem:
        ok &= check(f"peak memory <= {TARGET_MB} MB at {mem.posts} posts", mem.peak_mb <= TARGET_MB,
                    f"{mem.peak_mb:.0f} MB ({mem.best.seconds:.2f} s)")
    return 0 if ok else 1


def _hugo_version(hugo: str) -> str:
    out = subprocess.run([hugo, "version"], capture_output=True, text=True).stdout
    m = re.search(r"v(\d+\.\d+\.\d+)", out)
    return m.group(1) if m else "?"


if __name__ == "__main__":
    raise SystemExit(main())
