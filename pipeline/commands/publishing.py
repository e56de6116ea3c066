"""Publishing verbs: publish, run, status, log, retry, resolve, pause, resume, retract, channels."""

from __future__ import annotations

import csv
import json
import argparse
import sys
from datetime import timedelta

from pipeline.cli import emit_json, lang_of, load, parse_now, verb
from pipeline.errors import UsageError


def open_ledger_for(cfg):
    from pipeline.ledger import open_ledger

    def factory():
        lg = open_ledger(cfg.ledger_url, cfg.root)
        return lg

    lg = factory()
    lg.migrate()
    lg.close()
    return factory


def actor(args) -> str:
    import getpass
    import os

    return getattr(args, "by", None) or os.environ.get("LOA_ACTOR") or getpass.getuser()


# ---------------------------------------------------------------------------------------------
@verb("publish", "run one publishing pass: send every due item to its channels, exactly once")
def publish(args) -> int:
    from pipeline.publish import Engine

    cfg = load(args)
    now = parse_now(args.now, cfg)
    if args.channel and args.channel not in cfg.channels:
        raise UsageError(f"unknown channel {args.channel!r}; expected one of: {', '.join(cfg.channels)}")
    with Engine(cfg, open_ledger_for(cfg), now_fn=(lambda: now) if args.now else None) as engine:
        result = engine.run_pass(now=now, dry_run=args.dry_run, only_channel=args.channel, only_post=args.post)
    for line in result.lines:
        print(line)
    summary = (f"sent {result.sent}, updated {result.updated}, retracted {result.retracted}, skipped {result.skipped}, "
               f"reconciled {result.settled}, retrying {result.transient}, failed {result.permanent}, bugs {result.bugs}, "
               f"in doubt {result.in_doubt}, held {result.held}")
    print(("(dry run) " if args.dry_run else "") + summary, file=sys.stderr)
    return result.exit_code


def _publish_conf(sp):
    sp.add_argument("--dry-run", action="store_true", help="show what would be sent; change nothing")
    sp.add_argument("--now", help="act as if it were this time (site zone)")
    sp.add_argument("--channel", help="only this channel")
    sp.add_argument("--post", help="only this post id")


publish.configure = _publish_conf


@verb("run", "run the daemon: publish each post at its time, ingest feeds, write periodic reports")
def run(args) -> int:
    from pipeline.schedule import Daemon

    cfg = load(args)
    return Daemon(cfg, open_ledger_for(cfg), once=args.once).run()


def _run_conf(sp):
    sp.add_argument("--once", action="store_true", help="one tick, then exit (for cron or a test)")


run.configure = _run_conf


# ---------------------------------------------------------------------------------------------
@verb("status", "what goes out in the next 14 days, what is held and why, what failed, what is in doubt")
def status(args) -> int:
    from pipeline.status import build_status, render_status

    cfg = load(args)
    now = parse_now(args.now, cfg)
    lg = open_ledger_for(cfg)()
    try:
        st = build_status(cfg, lg, now, days=args.days)
    finally:
        lg.close()
    if args.format == "json":
        emit_json(st)
    else:
        print(render_status(st, cfg, lang_of(args, cfg)))
    return 1 if st["failed"] or st["in_doubt"] or st["holds"] else 0


def _status_conf(sp):
    sp.add_argument("--now", help="as at this time")
    sp.add_argument("--days", type=int, default=14)
    sp.add_argument("--format", choices=("text", "json"), default="text")
    sp.add_argument("--lang", choices=("vi", "en"), default=argparse.SUPPRESS)  # else it hides `loa --lang en VERB`


status.configure = _status_conf


@verb("log", "every item on every channel, with its link")
def log_(args) -> int:
    from pipeline.content import parse_time

    cfg = load(args)
    lg = open_ledger_for(cfg)()
    try:
        since = parse_time(args.since, cfg.tz) if args.since else None
        rows = lg.rows(channel=args.channel, unit=args.unit, since=since,
                       states=("published", "retracted", "failed", "retrying", "skipped", "in_doubt", "claimed"))
    finally:
        lg.close()
    if args.search:
        from pipeline.vietnamese import fold

        q = fold(args.search)
        rows = [r for r in rows if q in fold(r.title or "")]
    rows.sort(key=lambda r: (r.first_published_at or r.updated_at, r.post_id, r.channel))
    fields = ("published", "channel", "state", "unit", "type", "post_id", "title", "url")

    def rec(r):
        when = r.first_published_at.astimezone(cfg.tz).strftime("%Y-%m-%d %H:%M") if r.first_published_at else ""
        return dict(zip(fields, (when, r.channel, r.state, r.unit or "", r.type or "", r.post_id, r.title or "", r.remote_url or "")))

    if args.format == "json":
        emit_json([rec(r) for r in rows])
    elif args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow(rec(r))
    else:
        for r in rows:
            x = rec(r)
            print(f"{x['published']:16}  {x['channel']:9} {x['state']:9} {x['unit']:22} {x['title'][:60]}  {x['url']}")
    return 0


def _log_conf(sp):
    sp.add_argument("--since", help="from this date (site zone)")
    sp.add_argument("--unit")
    sp.add_argument("--channel")
    sp.add_argument("--search", help="words in the title (diacritics and case do not matter)")
    sp.add_argument("--format", choices=("table", "csv", "json"), default="table")


log_.configure = _log_conf


# ---------------------------------------------------------------------------------------------
@verb("retry", "send failed items again now (and lift a channel hold after credentials were fixed)")
def retry(args) -> int:
    from datetime import datetime, timezone

    from pipeline.publish import HOLD_PREFIX

    cfg = load(args)
    lg = open_ledger_for(cfg)()
    now = datetime.now(timezone.utc)
    try:
        n = lg.retry(args.post, args.channel, actor=actor(args), now=now)
        for name in ([args.channel] if args.channel else list(cfg.channels)):
            if lg.kv_get(HOLD_PREFIX + name):
                lg.kv_set(HOLD_PREFIX + name, None, now)
                print(f"lifted hold on {name}")
    finally:
        lg.close()
    print(f"{n} item(s) will be sent again at the next pass")
    return 0


def _retry_conf(sp):
    sp.add_argument("post", nargs="?", help="post id (default: all failed)")
    sp.add_argument("--channel")
    sp.add_argument("--by", help="who (default: login name)")


retry.configure = _retry_conf


@verb("resolve", "settle an item in doubt: it was published at URL, or it was not")
def resolve(args) -> int:
    from datetime import datetime, timezone

    cfg = load(args)
    if bool(args.published) == bool(args.not_published):
        raise UsageError("give exactly one of --published URL or --not-published")
    lg = open_ledger_for(cfg)()
    try:
        row = lg.resolve(args.post, args.channel, published_url=args.published, remote_id=args.remote_id,
                         actor=actor(args), now=datetime.now(timezone.utc))
    finally:
        lg.close()
    print(f"{args.post} on {args.channel}: {row.state}")
    return 0


def _resolve_conf(sp):
    sp.add_argument("post")
    sp.add_argument("channel")
    sp.add_argument("--published", metavar="URL")
    sp.add_argument("--remote-id", help="the vendor's id of the item, when known")
    sp.add_argument("--not-published", action="store_true")
    sp.add_argument("--by")


resolve.configure = _resolve_conf


@verb("pause", "stop publishing (one channel or all) until loa resume; audited")
def pause(args) -> int:
    from datetime import datetime, timezone

    cfg = load(args)
    if args.channel and args.channel not in cfg.channels:
        raise UsageError(f"unknown channel {args.channel!r}")
    lg = open_ledger_for(cfg)()
    try:
        lg.pause(args.channel, reason=args.reason, actor=actor(args), now=datetime.now(timezone.utc))
    finally:
        lg.close()
    print(f"paused {args.channel or 'all channels'}: {args.reason}")
    return 0


def _pause_conf(sp):
    sp.add_argument("--channel")
    sp.add_argument("--reason", required=True)
    sp.add_argument("--by")


pause.configure = _pause_conf


@verb("resume", "resume publishing after loa pause")
def resume(args) -> int:
    from datetime import datetime, timezone

    cfg = load(args)
    lg = open_ledger_for(cfg)()
    try:
        n = lg.resume(args.channel, actor=actor(args), now=datetime.now(timezone.utc))
    finally:
        lg.close()
    print(f"resumed {args.channel or 'all channels'} ({n} pause(s) ended)")
    return 0


def _resume_conf(sp):
    sp.add_argument("--channel")
    sp.add_argument("--by")


resume.configure = _resume_conf


@verb("retract", "mark a post retracted (written into its front matter); the next pass takes it down")
def retract(args) -> int:
    from pathlib import Path

    from pipeline.commands.authoring import set_front_keys

    cfg = load(args)
    path = Path(args.path)
    if not path.is_file():
        raise UsageError(f"no such post file: {path}")
    text = path.read_text(encoding="utf-8")
    path.write_text(set_front_keys(text, {"retracted": args.reason}), encoding="utf-8")
    print(f"{path}: retracted: {args.reason!r}; the next publishing pass removes it where the channel allows")
    return 0


def _retract_conf(sp):
    sp.add_argument("path")
    sp.add_argument("--reason", required=True)


retract.configure = _retract_conf


@verb("channels", "check every channel's credentials and permissions (loa channels check)")
def channels(args) -> int:
    from datetime import datetime, timezone

    import publishers
    from pipeline.publish import LedgerState

    cfg = load(args)
    lg = open_ledger_for(cfg)()
    bad = 0
    now = datetime.now(timezone.utc)
    try:
        upcoming = _upcoming_by_channel(cfg, lg, now)
        for name, ch in cfg.channels.items():
            if args.channel and name != args.channel:
                continue
            if not ch.enabled:
                print(f"{name} ({ch.type}): disabled")
                continue
            cls = publishers.get(ch.type)
            pub = cls(name, ch.options, state=LedgerState(lg, f"pub:{name}:", lambda: now), site=cfg, env=__import__("os").environ)
            try:
                h = pub.check()
            finally:
                pub.close()
            mark = "OK" if h.ok else "PROBLEM"
            bad += not h.ok
            exp = f", expires {h.expires_at.astimezone(cfg.tz):%Y-%m-%d %H:%M}" if h.expires_at else ""
            print(f"{name} ({ch.type}): {mark}{exp}" + (f" as {h.identity}" if h.identity else ""))
            for m in h.messages:
                print(f"  {m}")
            if h.expires_at:
                late = [t for t in upcoming.get(name, []) if t >= h.expires_at]
                if late:
                    print(f"  WARNING: {len(late)} scheduled post(s) would go out after the credential expires "
                          f"(first at {min(late).astimezone(cfg.tz):%Y-%m-%d %H:%M}); renew it before then")
    finally:
        lg.close()
    return 1 if bad else 0


def _upcoming_by_channel(cfg, lg, now):
    from pipeline import plan as planmod
    from pipeline.content import read_all

    posts, _ = read_all(cfg)
    p = planmod.plan(posts, cfg, lg.snapshot(), now)
    out: dict[str, list] = {}
    for d in p.decisions:
        if d.kind == planmod.SCHEDULED and d.at:
            out.setdefault(d.channel, []).append(d.at)
    return out


def _channels_conf(sp):
    sp.add_argument("action", choices=("check",))
    sp.add_argument("--channel")


channels.configure = _channels_conf
