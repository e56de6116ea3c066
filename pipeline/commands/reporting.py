"""``loa report``: the periodic report (quarter, six months, nine months, year, month) from the ledger."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from pipeline.commands.base import load, parse_now, rel, session, verb
from pipeline.errors import UsageError


@verb("report", "write the periodic report (quarter, six months, nine months, year, month) from the ledger")
def report(args) -> int:
    from pipeline.content import parse_time
    from pipeline.report import FORMATS

    cfg = load(args)
    formats = args.format or ["md"]
    for fmt in formats:
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    if args.unit and args.unit not in cfg.units:
        raise UsageError(f"unknown unit {args.unit!r}; expected one of the unit ids in config.toml (e.g. {', '.join(list(cfg.units)[:4])})")
    try:
        as_of = parse_time(args.as_of, cfg.tz) if args.as_of else None
    except ValueError:
        raise UsageError(f"--as-of: cannot read {args.as_of!r}; write \"2024-03-20 08:00\"") from None
    with session(args, cfg) as s:
        rep, written = s.write_report(args.period, formats, Path(args.out) if args.out else None, unit=args.unit,
                                      as_of=as_of, now=parse_now(args.now, cfg))
    for path in written:
        print(rel(path, cfg))
    if rep.totals.items == 0:
        print(f"note: no item was published in {args.period} ({rep.period.start:%d/%m/%Y}–{(rep.period.end - timedelta(days=1)):%d/%m/%Y}); "
              "the report says so", file=sys.stderr)
    return 0


def _conf(sp):
    sp.add_argument("--period", required=True, help="2024-Q1 … 2024-Q4, 2024-H1, 2024-H2, 2024-9M, 2024, 2024-03")
    sp.add_argument("--unit", help="one unit (and the units merged into it)")
    sp.add_argument("--format", action="append", help="md, html, docx, xlsx, csv, json (repeatable; default md)")
    sp.add_argument("--out", help="folder (default: report.out_dir, reports/)")
    sp.add_argument("--as-of", help="the ledger as it was at this time")
    sp.add_argument("--now", help="date of the report (default: today)")
    sp.set_defaults(format=None)


report.configure = _conf
