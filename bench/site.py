"""Publishing to the static e-portal: does it scale?

    python bench/site.py                      # 500 and 2,000 posts, 20,000 for the edit, Hugo as reference
    python bench/site.py --big 0 --no-hugo    # quicker: no 20,000-post site

Each row is a fresh ``loa`` process on a corpus from ``bench/corpus.py`` (the same bodies go to
Hugo), every post approved, publishing only to the static site (``--channel portal``) from an
empty ledger into an empty site folder. Targets (issue 17): a full publish of 2,000 posts costs at
most 3 x ``loa preview`` of the same posts; growing from 500 to 2,000 posts costs at most 5 x;
publishing one edited post in a 20,000-post site costs at most 1 % of that site's full publish.
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
from render import NOW, Row, _hugo_version, fresh, run  # noqa: E402

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
    args = ap.parse_args(argv)
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
    pages = _pages(corpus, "site-full-0")
    rows = [preview, full, full_small, again] + ([hugo_row] if hugo else [])

    big_full = big_edit = None
    if args.big:
        big = generate(tmp / "corpus-big", args.big, tools=("loa",))
        big_full = Row("`loa publish --channel portal`, empty ledger and site", args.big)
        big_full.runs.append(_publish(big, tmp, "big", ledger=tmp / "ledger-big.db"))
        big_edit = Row("the same site: one post edited, `loa publish`", args.big)
        victim = sorted((big.loa / "content").rglob("*.md"))[args.big // 2]
        for i in range(args.runs):
            text = victim.read_text(encoding="utf-8")
            victim.write_text(text.rstrip("\n") + f"\n\nCập nhật lần {i + 1}.\n", encoding="utf-8")
            big_edit.runs.append(_publish(big, tmp, "big", ledger=tmp / "ledger-big.db"))
            if not re.search(r"\b1 updated|updated 1\b", big_edit.runs[-1].output):
                notes.append(f"edit run {i}: {big_edit.runs[-1].output.strip().splitlines()[-1]}")
        rows += [big_full, big_edit]
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
    for note in notes:
        print(note)
    print()
    f, p, s = full.best.seconds, preview.best.seconds, full_small.best.seconds
    ok = _check(f"publish {n} <= {TARGET_PREVIEW:g} x preview", f <= TARGET_PREVIEW * p, f"{f:.2f} s = {f / p:.2f} x {p:.2f} s")
    ok &= _check(f"{small} -> {n} posts <= {TARGET_GROWTH:g} x", f <= TARGET_GROWTH * s, f"{f:.2f} s / {s:.2f} s = {f / s:.2f} x")
    if big_full:
        e, b = big_edit.best.seconds, big_full.best.seconds
        ok &= _check(f"edit in {args.big} <= {TARGET_EDIT:.0%} of full", e <= TARGET_EDIT * b, f"{e:.2f} s = {e / b:.1%} of {b:.2f} s")
    return 0 if ok else 1


def _check(label: str, ok: bool, detail: str) -> bool:
    print(f"{'PASS' if ok else 'MISS'}  {label}: {detail}")
    return ok


if __name__ == "__main__":
    raise SystemExit(main())
