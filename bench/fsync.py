"""What one article's durable write costs on this disk: fsync against fdatasync.

    python bench/fsync.py [--dir DIR] [--articles 300] [--rounds 3]

Each article is what the static site does before ``publish()`` returns (publishers/static_site.py,
publishers/site_store.py): a 12 kB page written to a fresh temporary file, flushed, renamed over
its address; then a 600-byte line appended to the journal and flushed. The flush is ``fsync`` or
``fdatasync``; "new" writes new addresses into an empty folder, "rewrite" replaces existing ones
(an edit). Prints milliseconds per article; ``DIR`` (default: a new folder under bench/, i.e. on
the disk the site would be on) is emptied and removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

PAGE, LINE = b"x" * 12000, b"y" * 600 + b"\n"


def _article(folder: str, i: int, flush) -> None:
    fd, tmp = tempfile.mkstemp(dir=folder)
    os.write(fd, PAGE)
    flush(fd)
    os.close(fd)
    os.replace(tmp, os.path.join(folder, f"p{i}.html"))
    fd = os.open(os.path.join(folder, "journal"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, LINE)
    flush(fd)
    os.close(fd)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    folder = tempfile.mkdtemp(prefix=".fsync-", dir=args.dir or Path(__file__).resolve().parent)
    best: dict[tuple[str, str], float] = {}
    try:
        for _ in range(args.rounds):  # round-robin: a busy disk slows every variant alike
            for name, flush in (("fsync", os.fsync), ("fdatasync", os.fdatasync)):
                for kind in ("new", "rewrite"):
                    if kind == "new":
                        for f in os.listdir(folder):
                            os.unlink(os.path.join(folder, f))
                    start = time.perf_counter()
                    for i in range(args.articles):
                        _article(folder, i, flush)
                    ms = (time.perf_counter() - start) / args.articles * 1000
                    best[name, kind] = min(ms, best.get((name, kind), ms))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("| flush | new addresses, ms/article | rewrites, ms/article |")
    print("| --- | ---: | ---: |")
    for name in ("fsync", "fdatasync"):
        print(f"| `{name}` | {best[name, 'new']:.2f} | {best[name, 'rewrite']:.2f} |")
    print(f"\nBest of {args.rounds} rounds of {args.articles} articles; load average {os.getloadavg()[0]:.1f}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
