"""``loa report``, and the daemon's job that writes each period's report the morning after its cut-off."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta
from pathlib import Path

from pipeline.cli import load, parse_now, rel, verb
from pipeline.errors import UsageError

log = logging.getLogger(__name__)


def report_inputs(cfg):
    """What build_report needs from the configuration and the content repository."""
    from pipeline.activities import read_activities

    activities, problems = read_activities(cfg.content_dir, set(cfg.units), tz=cfg.tz)
    rep = cfg.report
    org = {"name_lines": list(cfg.org_lines), "place": cfg.org_place, "signer_lines": list(rep["signer_lines"]),
           "signer_name": rep["signer_name"], "recipients": list(rep["recipients"]), "number_symbol": rep["number_symbol"]}
    labels = {"channels": {n: c.label for n, c in cfg.channels.items()},
              "types": {t: c.label for t, c in cfg.types.items()}, "topics": dict(cfg.topics)}
    return activities, problems, org, labels


def make_report(cfg, ledger, key: str, *, unit: str | None = None, as_of: datetime | None = None, now: datetime | None = None):
    from pipeline.report import build_report, parse_period

    period = parse_period(key, mode=cfg.report["periods"], tz=cfg.tz)
    activities, _problems, org, labels = report_inputs(cfg)
    return build_report(ledger, period, units=list(cfg.units.values()), unit_filter=unit,
                        targets=dict(cfg.report.get("targets") or {}), activities=activities, org=org,
                        as_of=as_of, tz=cfg.tz, now=now, labels=labels)


@verb("report", "write the periodic report (quarter, six months, nine months, year, month) from the ledger")
def report(args) -> int:
    from pipeline.commands.publishing import open_ledger_for
    from pipeline.content import parse_time
    from pipeline.report import FORMATS, write_report

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
    lg = open_ledger_for(cfg)()
    try:
        rep = make_report(cfg, lg, args.period, unit=args.unit, as_of=as_of, now=parse_now(args.now, cfg))
        out_dir = Path(args.out) if args.out else cfg.root / cfg.report["out_dir"]
        stem = args.period + (f"-{args.unit}" if args.unit else "")
        for fmt in formats:
            path = write_report(rep, fmt, out_dir / f"{stem}.{fmt}", templates_dir=cfg.root / "templates")
            print(rel(path, cfg))
    finally:
        lg.close()
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


def write_due_reports(cfg, ledger_factory, now: datetime) -> list[Path]:
    """The morning after a cut-off: write every period that ended at today's midnight (site zone).

    A report already written is left alone (reports are frozen)."""
    from pipeline.report import period_ending_before, write_report

    local = now.astimezone(cfg.tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    written: list[Path] = []
    lg = ledger_factory()
    try:
        for kind in ("month", "quarter", "half", "9m", "year"):
            p = period_ending_before(now, kind, mode=cfg.report["periods"], tz=cfg.tz)
            if p.end != midnight:
                continue
            for fmt in cfg.report["formats"]:
                path = cfg.root / cfg.report["out_dir"] / f"{p.key}.{fmt}"
                if path.exists():
                    continue
                rep = make_report(cfg, lg, p.key, now=now)
                written.append(write_report(rep, fmt, path, templates_dir=cfg.root / "templates"))
                log.warning("Wrote the %s report: %s", p.key, path)
    finally:
        lg.close()
    return written
