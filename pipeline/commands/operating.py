"""Operating verbs, for the IT officer on the server: doctor, backup, restore (docs/operations.md).

These open the ledger without migrating it: ``loa doctor`` reports a ledger that needs migrating,
and ``loa backup`` before an upgrade must copy the ledger as the old Loa left it.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.commands.base import lang_of, load, verb

MARKS = {"ok": "✓", "fix": "✗", "skip": "-"}


def _session(cfg):
    from pipeline.app import Session

    return Session(cfg)


@verb("doctor", "help.doctor")
def doctor(args) -> int:
    from pipeline import doctor as checks
    from pipeline.errors import ConfigError
    from pipeline.messages import text as msg

    try:
        cfg = load(args)
    except ConfigError as e:
        cfg, findings = None, checks.config_errors(e)
    else:
        with _session(cfg) as s:
            findings = s.doctor(min_free=int(args.min_free_gb * (1 << 30)), git_timeout=args.git_timeout)
    lang = lang_of(args, cfg)
    for f in findings:
        print(f"{MARKS[f.status]} {f.text(lang)}")
        if f.needs_fixing:
            print(f"    → {f.fix(lang)}")
    count = sum(f.needs_fixing for f in findings)
    print(msg("doctor.summary-fix", lang, count=count) if count else msg("doctor.summary-ok", lang))
    return 1 if count else 0


def _doctor_conf(sp):
    sp.add_argument("--min-free-gb", type=float, default=1.0, help="help.doctor.min-free-gb")
    sp.add_argument("--git-timeout", type=float, default=20.0, help="help.doctor.git-timeout")


doctor.configure = _doctor_conf


@verb("backup", "help.backup")
def backup(args) -> int:
    from pipeline.messages import text as msg

    cfg = load(args)
    with _session(cfg) as s:
        version = s.backup(Path(args.path))
    print(msg("ops.backup-done", lang_of(args, cfg), path=args.path, version=version))
    return 0


def _backup_conf(sp):
    sp.add_argument("path", help="help.backup.path")


backup.configure = _backup_conf


@verb("restore", "help.restore")
def restore(args) -> int:
    from pipeline.messages import text as msg

    cfg = load(args)
    lang = lang_of(args, cfg)
    with _session(cfg) as s:
        aside, version = s.restore(Path(args.path))
    print(msg("ops.restore-done", lang, path=args.path, version=version))
    if aside is not None:
        print(msg("ops.restore-aside", lang, aside=aside))
    print(msg("ops.restore-next", lang))
    return 0


def _restore_conf(sp):
    sp.add_argument("path", help="help.restore.path")


restore.configure = _restore_conf
