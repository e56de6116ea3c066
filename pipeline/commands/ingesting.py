"""``loa ingest``: government feeds -> drafts in content/drafts/ (never published by themselves)."""

from __future__ import annotations

from pipeline.commands.base import load, session, verb


@verb("ingest", "fetch the configured government feeds into drafts for review (content/drafts/)")
def ingest_(args) -> int:
    cfg = load(args)
    if not cfg.feeds:
        print("no [[feeds]] in config.toml; nothing to ingest")
        return 0
    with session(args, cfg) as s:
        report = s.ingest(dry_run=args.dry_run)
    for line in report.lines(verbose=args.verbose_items, relative_to=cfg.root):
        print(line)
    return 0 if report.ok else 1


def _conf(sp):
    sp.add_argument("--dry-run", action="store_true", help="show what would be created; write nothing")
    sp.add_argument("--items", dest="verbose_items", action="store_true", help="list every item considered")


ingest_.configure = _conf
