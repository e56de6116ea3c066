"""Publishing verbs: publish, run, status, log, retry, resolve, pause, resume, retract, channels.

Each parses its options, calls the application layer (:class:`pipeline.app.Session`) and prints."""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import datetime, timedelta, timezone

from pipeline.commands.base import emit_json, lang_of, load, parse_now, session, verb
from pipeline.errors import UsageError


def _actor(args) -> str:
    from pipeline.app import actor_name

    return actor_name(getattr(args, "by", None))


# ---------------------------------------------------------------------------------------------
#: How far ahead of the real clock ``--now`` may be on a pass that sends (clock skew between
#: the operator's idea of "now" and the server's); anything later is refused.
NOW_SLACK = timedelta(minutes=5)

PUBLISH_EXIT_CODES = """exit codes:
  0   all well
  1   a permanent failure or a bug, or a channel is held after an authentication failure
      (every pass while the hold lasts: fix the credential, then loa retry --channel C)
  2   config or usage error
  75  only transient failures left (try again later)

--now T decides what is due as at T (docs/delivery.md): with --dry-run any time 1970-2199;
on a pass that sends, T may not be later than the real time. Whatever T is, the ledger
records the real time (claims, leases, first publication), so later passes are not confused.
--replay-until D publishes each post due by D as of its own publish_at (a demo ledger's
history, e.g. the sample content into 2024); see docs/delivery.md before using it."""


@verb("publish", "run one publishing pass: send every due item to its channels, exactly once")
def publish(args) -> int:
    from pipeline.errors import UsageError

    cfg = load(args)
    if args.replay_until:
        if args.now or args.dry_run or args.post:
            raise UsageError("--replay-until cannot be combined with --now, --dry-run or --post")
        until = parse_now(args.replay_until, cfg, "--replay-until")
        if _date_only(args.replay_until):
            until += timedelta(days=1) - timedelta(microseconds=1)  # the whole day named
        with session(args, cfg) as s:
            result = s.replay(until, only_channel=args.channel)
            held = s.ledger.holds()
    else:
        now = parse_now(args.now, cfg)
        if args.now and not args.dry_run and now > datetime.now(timezone.utc) + NOW_SLACK:
            raise UsageError(f"--now {args.now!r} is in the future: a pass that sends acts at the real time; "
                             f"use --dry-run to see what would go out then")
        # the session's clock stays real: --now moves only the plan's "now" (what is due)
        with session(args, cfg) as s:
            result = s.publish(now, dry_run=args.dry_run, only_channel=args.channel, only_post=args.post)
            held = s.ledger.holds()
    held = {name: h for name, h in held.items() if not args.channel or name == args.channel}
    for line in result.lines:
        print(line)
    for name, h in held.items():
        print(f"HELD {name}: {h.message}; fix it, then loa retry --channel {name}", file=sys.stderr)
    summary = (f"sent {result.sent}, updated {result.updated}, retracted {result.retracted}, skipped {result.skipped}, "
               f"reconciled {result.settled}, retrying {result.transient}, failed {result.permanent}, bugs {result.bugs}, "
               f"in doubt {result.in_doubt}, held {result.held}")
    print(("(dry run) " if args.dry_run else "") + summary, file=sys.stderr)
    if held and not args.dry_run and result.exit_code in (0, 75):
        return 1  # a held channel needs a person: cron must notice on every pass, not only the first
    return result.exit_code


def _date_only(text: str) -> bool:
    import re

    return bool(re.fullmatch(r"\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})\s*", text))


def _publish_conf(sp):
    sp.epilog = PUBLISH_EXIT_CODES
    sp.formatter_class = argparse.RawDescriptionHelpFormatter
    sp.add_argument("--dry-run", action="store_true", help="show what would be sent; change nothing")
    sp.add_argument("--now", help="decide what is due as at this time (site zone); later than the real time "
                                  "only with --dry-run")
    sp.add_argument("--replay-until", metavar="DATE", help="publish each post due by DATE as of its own "
                                                            "publish_at (a demo ledger's history; docs/delivery.md)")
    sp.add_argument("--channel", help="only this channel")
    sp.add_argument("--post", help="only this post id")


publish.configure = _publish_conf


@verb("run", "run the daemon: publish each post at its time, ingest feeds, write periodic reports")
def run(args) -> int:
    from pipeline.schedule import Daemon

    with session(args) as s:
        return Daemon(s, once=args.once).run()


def _run_conf(sp):
    sp.add_argument("--once", action="store_true", help="one tick, then exit (for cron or a test)")


run.configure = _run_conf


# ---------------------------------------------------------------------------------------------
@verb("status", "what goes out in the next 14 days, what is held and why, what failed, what is in doubt")
def status(args) -> int:
    from pipeline.status import render_status

    cfg = load(args)
    if not 0 <= args.days <= 3660:
        raise UsageError(f"--days: {args.days} is out of range: from 0 to 3660")
    with session(args, cfg) as s:
        st = s.status(parse_now(args.now, cfg), days=args.days, lang=lang_of(args, cfg))
    if args.format == "json":
        emit_json(st)
    else:
        print(render_status(st, cfg, lang_of(args, cfg)))
    return 1 if st["failed"] or st["in_doubt"] or st["holds"] or st["content_stale"] else 0


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
    since = parse_time(args.since, cfg.tz) if args.since else None
    with session(args, cfg) as s:
        rows = s.log_rows(since=since, unit=args.unit, channel=args.channel, search=args.search)
    fields = ("published", "channel", "state", "unit", "type", "post_id", "title", "url")

    def rec(r):
        when = r.first_published_at.astimezone(cfg.tz).strftime("%Y-%m-%d %H:%M") if r.first_published_at else ""
        return dict(zip(fields, (when, r.channel, r.state, r.unit or "", r.type or "", r.post_id, r.title or "", r.remote_url or "")))

    if args.format == "json":
        emit_json([rec(r) for r in rows])
    elif args.format == "csv":
        from pipeline.report.text import csv_safe  # a title from a feed may start like a formula

        w = csv.writer(sys.stdout)
        w.writerow(fields)
        for r in rows:
            w.writerow(csv_safe(rec(r).values()))
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
    with session(args) as s:
        n, lifted = s.retry(args.post, args.channel, actor=_actor(args))
    for name in lifted:
        print(f"lifted hold on {name}")
    print(f"{n} item(s) will be sent again at the next pass")
    return 0


def _retry_conf(sp):
    sp.add_argument("post", nargs="?", help="post id (default: all failed)")
    sp.add_argument("--channel")
    sp.add_argument("--by", help="who (default: login name)")


retry.configure = _retry_conf


@verb("resolve", "settle an item in doubt: it was published at URL, or it was not")
def resolve(args) -> int:
    if bool(args.published) == bool(args.not_published):
        raise UsageError("give exactly one of --published URL or --not-published")
    with session(args) as s:
        row = s.resolve(args.post, args.channel, published_url=args.published, remote_id=args.remote_id,
                        actor=_actor(args))
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
    with session(args) as s:
        s.pause(args.channel, reason=args.reason, actor=_actor(args))
    print(f"paused {args.channel or 'all channels'}: {args.reason}")
    return 0


def _pause_conf(sp):
    sp.add_argument("--channel")
    sp.add_argument("--reason", required=True)
    sp.add_argument("--by")


pause.configure = _pause_conf


@verb("resume", "resume publishing after loa pause (without --channel: every pause ends)")
def resume(args) -> int:
    with session(args) as s:
        n = s.resume(args.channel, actor=_actor(args))
        left = s.ledger.active_pauses(s.clock())
    print(f"resumed {args.channel or 'all channels'} ({n} pause(s) ended)")
    for p in left:  # `--channel C` does not end a pause of every channel, nor another channel's
        print(f"still paused: {p.channel or 'all channels'} ({p.reason}); loa resume"
              + (f" --channel {p.channel}" if p.channel else ""))
    return 0


def _resume_conf(sp):
    sp.add_argument("--channel")
    sp.add_argument("--by")


resume.configure = _resume_conf


@verb("retract", "mark a post retracted (written into its front matter); the next pass takes it down")
def retract(args) -> int:
    from pathlib import Path

    from pipeline.commands.authoring import set_front_keys

    load(args)
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
    cfg = load(args)
    with session(args, cfg) as s:
        reports = s.check_channels(args.channel)
    bad = 0
    for r in reports:
        if r.health is None:
            print(f"{r.name} ({r.type}): disabled")
            continue
        h = r.health
        bad += not h.ok
        exp = f", expires {h.expires_at.astimezone(cfg.tz):%Y-%m-%d %H:%M}" if h.expires_at else ""
        print(f"{r.name} ({r.type}): {'OK' if h.ok else 'PROBLEM'}{exp}" + (f" as {h.identity}" if h.identity else ""))
        for m in h.messages:
            print(f"  {m}")
        if r.late:
            print(f"  WARNING: {len(r.late)} scheduled post(s) would go out after the credential expires "
                  f"(first at {r.late[0].astimezone(cfg.tz):%Y-%m-%d %H:%M}); renew it before then")
    return 1 if bad else 0


def _channels_conf(sp):
    sp.add_argument("action", choices=("check",))
    sp.add_argument("--channel")


channels.configure = _channels_conf


@verb("site", "rebuild the static e-portal from the ledger and the content (after its manifest was lost or damaged)")
def site(args) -> int:
    cfg = load(args)
    with session(args, cfg) as s:
        done = s.rebuild_site(args.channel)
    if done.set_aside:
        print(f"{done.channel}: the old manifest is kept as {done.set_aside}")
    print(f"{done.channel}: {len(done.written)} article(s) written again; the channel is no longer held")
    for post_id in done.skipped:
        print(f"  not written (its file is gone, has a loa check error, or is retracted): {post_id}")
    return 0


def _site_conf(sp):
    sp.add_argument("action", choices=("rebuild",))
    sp.add_argument("--channel", help="the static_site channel (default: the first one)")


site.configure = _site_conf
