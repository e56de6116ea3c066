"""``loa ingest``: government feeds -> drafts in content/drafts/ (never published by themselves)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from pipeline.cli import load, verb


def run_ingest(cfg, ledger_factory, *, dry_run: bool, now: datetime | None = None):
    """Run every configured feed; the ETags, the items already seen and each feed's status live in
    the ledger's kv table, so ``loa status`` can show a failing feed."""
    from pipeline.ingest import ingest
    from pipeline.publish import LedgerState

    now = now or datetime.now(timezone.utc)
    lg = ledger_factory()
    try:
        return ingest([dict(f) for f in cfg.feeds], content_dir=cfg.content_dir,
                      state=LedgerState(lg, "", lambda: now), now=now, site_tz=cfg.tz, dry_run=dry_run)
    finally:
        lg.close()


@verb("ingest", "fetch the configured government feeds into drafts for review (content/drafts/)")
def ingest_(args) -> int:
    from pipeline.commands.publishing import open_ledger_for

    cfg = load(args)
    if not cfg.feeds:
        print("no [[feeds]] in config.toml; nothing to ingest")
        return 0
    report = run_ingest(cfg, open_ledger_for(cfg), dry_run=args.dry_run)
    for line in report.lines(verbose=args.verbose_items, relative_to=cfg.root):
        print(line)
    return 0 if report.ok else 1


def _conf(sp):
    sp.add_argument("--dry-run", action="store_true", help="show what would be created; write nothing")
    sp.add_argument("--items", dest="verbose_items", action="store_true", help="list every item considered")


ingest_.configure = _conf
