"""``loa ingest``: government feeds -> drafts in content/drafts/ (never published by themselves)."""

from __future__ import annotations

from pipeline.commands.base import lang_of, load, session, verb


@verb("ingest", "help.ingest")
def ingest_(args) -> int:
    from pipeline.messages import localized, text as msg

    cfg = load(args)
    if not cfg.feeds:
        print(msg("ingest.no-feeds", lang_of(args, cfg)))
        return 0
    with session(args, cfg) as s:
        report = s.ingest(dry_run=args.dry_run)
    for line in report.lines(verbose=args.verbose_items, relative_to=cfg.root):
        print(localized(line, lang_of(args, cfg)))
    return 0 if report.ok else 1


def _conf(sp):
    sp.add_argument("--dry-run", action="store_true", help="help.ingest.dry-run")
    sp.add_argument("--items", dest="verbose_items", action="store_true", help="help.ingest.items")


ingest_.configure = _conf
