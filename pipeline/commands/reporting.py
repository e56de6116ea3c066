"""``loa report``: the periodic report (quarter, six months, nine months, year, month) from the ledger."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from pipeline.commands.base import lang_of, load, parse_now, rel, session, verb
from pipeline.errors import UsageError


@verb("report", "help.report")
def report(args) -> int:
    from pipeline.content import parse_time
    from pipeline.messages import said, text as msg
    from pipeline.report import FORMATS, ON_REQUEST

    cfg = load(args)
    lang = lang_of(args, cfg)
    formats = args.format or ["md"]
    for fmt in formats:
        if fmt not in FORMATS + ON_REQUEST:
            raise UsageError(msg("report.unknown-format", lang, value=repr(fmt), choices=", ".join(FORMATS + ON_REQUEST)))
    if args.unit and args.unit not in cfg.units:
        raise UsageError(msg("report.unknown-unit", lang, value=repr(args.unit), examples=", ".join(list(cfg.units)[:4])))
    try:
        as_of = parse_time(args.as_of, cfg.tz) if args.as_of else None
    except ValueError:
        raise UsageError(msg("report.bad-as-of", lang, value=repr(args.as_of))) from None
    if args.force and not args.draft_narrative:
        raise UsageError(msg("report.force-without-draft", lang))
    with session(args, cfg) as s:
        if args.draft_narrative:
            path = s.draft_narrative(args.period, unit=args.unit, force=args.force, now=parse_now(args.now, cfg, lang=lang))
            print(msg("report.narrative-written", lang, file=rel(path, cfg)))
            return 0
        narrative = s.narrative_path(args.period, unit=args.unit)
        now = parse_now(args.now, cfg, lang=lang)
        failed: list = []  # a format that cannot be written (PDF without LibreOffice) does not stop the others
        try:
            rep, written = s.write_report(args.period, formats, Path(args.out) if args.out else None, unit=args.unit,
                                          as_of=as_of, now=now, failed=failed)
        except OSError as exc:  # --out names a file, a folder without permission, a full disk: said, not a traceback
            raise UsageError(msg("report.cannot-write", lang, path=exc.filename or args.out or "reports/",
                                 reason=exc.strerror or exc)) from None
    if failed and not written:
        raise failed[0][1]  # nothing written (--format pdf alone): the error as it was
    for path in written:
        print(rel(path, cfg))
    if rep.totals.items == 0:
        print(msg("report.empty", lang, period=args.period, first=f"{rep.period.start:%d/%m/%Y}",
                  last=f"{(rep.period.end - timedelta(days=1)):%d/%m/%Y}"), file=sys.stderr)
    elif not rep.narrative and set(formats) & {"docx", "pdf", "html", "md"}:
        print(msg("report.narrative-missing", lang, file=rel(narrative, cfg),
                  period=rep.period.key + (f" --unit {args.unit}" if args.unit else "")), file=sys.stderr)
    for fmt, exc in failed:
        print("loa: " + msg("report.format-not-written", lang, format=fmt, reason=said(exc, lang)), file=sys.stderr)
    return 1 if failed else 0


def _conf(sp):
    sp.add_argument("--period", required=True, help="help.report.period")
    sp.add_argument("--unit", help="help.report.unit")
    sp.add_argument("--format", action="append", help="help.report.format")
    sp.add_argument("--out", help="help.report.out")
    sp.add_argument("--as-of", help="help.report.as-of")
    sp.add_argument("--now", help="help.report.now")
    sp.add_argument("--draft-narrative", action="store_true", help="help.report.draft-narrative")
    sp.add_argument("--force", action="store_true", help="help.report.force")
    sp.set_defaults(format=None)


report.configure = _conf
