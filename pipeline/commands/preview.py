"""``loa preview``: the static preview site."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.commands.base import lang_of, load, parse_now, post_paths, rel, session, verb


@verb("preview", "help.preview")
def preview(args) -> int:
    from pipeline.preview import build_preview, summary

    cfg = load(args)
    lang = lang_of(args, cfg)
    now = parse_now(args.now, cfg, lang=lang)
    out = Path(args.out) if args.out else None
    with session(args, cfg) as s:
        result = build_preview(s, out, post_paths(args, cfg), now=now, jobs=args.jobs)
    for f, err in result.failed:
        print(err, file=sys.stderr)
    print(summary(lang, rel(result.index, cfg), result.rendered, result.reused, len(result.failed)))
    return 1 if result.failed else 0


def _configure(sp) -> None:
    sp.add_argument("paths", nargs="*", help="help.preview.paths")
    sp.add_argument("--out", help="help.preview.out")
    sp.add_argument("--now", help="help.preview.now")
    sp.add_argument("--jobs", type=int, help="help.preview.jobs")
    sp.add_argument("--lang", choices=("vi", "en"), default=argparse.SUPPRESS, help="help.opt.lang")  # else it hides `loa --lang en VERB`


preview.configure = _configure
