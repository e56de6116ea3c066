"""Publishing verbs: publish, run, status, log, retry, resolve, pause, resume, retract, channels.

Each parses its options, calls the application layer (:class:`pipeline.app.Session`) and prints."""

from __future__ import annotations

import argparse
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

PUBLISH_EXIT_CODES = "help.publish.epilog"  # exit codes and --now/--replay-until, in the catalogue


@verb("publish", "help.publish")
def publish(args) -> int:
    from pipeline.errors import UsageError
    from pipeline.messages import localized, text as msg

    cfg = load(args)
    lang = lang_of(args, cfg)
    if args.replay_until:
        if args.now or args.dry_run or args.post:
            raise UsageError(msg("publish.replay-combined", lang))
        until = parse_now(args.replay_until, cfg, "--replay-until", lang)
        if _date_only(args.replay_until):
            until += timedelta(days=1) - timedelta(microseconds=1)  # the whole day named
        with session(args, cfg) as s:
            result = s.replay(until, only_channel=args.channel)
            held = s.ledger.holds()
    else:
        now = parse_now(args.now, cfg, lang=lang)
        if args.now and not args.dry_run and now > datetime.now(timezone.utc) + NOW_SLACK:
            raise UsageError(msg("publish.future-now", lang, value=repr(args.now)))
        # the session's clock stays real: --now moves only the plan's "now" (what is due)
        with session(args, cfg) as s:
            result = s.publish(now, dry_run=args.dry_run, only_channel=args.channel, only_post=args.post, jobs=None)
            held = s.ledger.holds()
    held = {name: h for name, h in held.items() if not args.channel or name == args.channel}
    for line in result.lines:
        print(localized(line, lang))
    for name, h in held.items():
        print(msg("publish.held", lang, channel=name, message=localized(h.message, lang)), file=sys.stderr)
    summary = msg("publish.summary", lang, sent=result.sent, updated=result.updated, retracted=result.retracted,
                  skipped=result.skipped, settled=result.settled, transient=result.transient, permanent=result.permanent,
                  bugs=result.bugs, in_doubt=result.in_doubt, held=result.held)
    print((msg("publish.dry-run", lang) if args.dry_run else "") + summary, file=sys.stderr)
    if held and not args.dry_run and result.exit_code in (0, 75):
        return 1  # a held channel needs a person: cron must notice on every pass, not only the first
    return result.exit_code


def _date_only(text: str) -> bool:
    import re

    return bool(re.fullmatch(r"\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})\s*", text))


def _publish_conf(sp):
    sp.epilog = PUBLISH_EXIT_CODES
    sp.formatter_class = argparse.RawDescriptionHelpFormatter
    sp.add_argument("--dry-run", action="store_true", help="help.publish.dry-run")
    sp.add_argument("--now", help="help.publish.now")
    sp.add_argument("--replay-until", help="help.publish.replay-until")
    sp.add_argument("--channel", help="help.opt.channel")
    sp.add_argument("--post", help="help.publish.post")


publish.configure = _publish_conf


@verb("run", "help.run")
def run(args) -> int:
    from pipeline.schedule import Daemon

    with session(args) as s:
        return Daemon(s, once=args.once).run()


def _run_conf(sp):
    sp.add_argument("--once", action="store_true", help="help.run.once")


run.configure = _run_conf


# ---------------------------------------------------------------------------------------------
@verb("status", "help.status")
def status(args) -> int:
    from pipeline.status import render_status

    from pipeline.messages import text as msg

    cfg = load(args)
    if not 0 <= args.days <= 3660:
        raise UsageError(msg("status.days-range", lang_of(args, cfg), value=args.days))
    with session(args, cfg) as s:
        st = s.status(parse_now(args.now, cfg, lang=lang_of(args, cfg)), days=args.days, lang=lang_of(args, cfg))
    if args.format == "json":
        emit_json(st)
    else:
        print(render_status(st, cfg, lang_of(args, cfg)))
    return 1 if st["failed"] or st["in_doubt"] or st["holds"] or st["content_stale"] else 0


def _status_conf(sp):
    sp.add_argument("--now", help="help.opt.now")
    sp.add_argument("--days", type=int, default=14, help="help.status.days")
    sp.add_argument("--format", choices=("text", "json"), default="text", help="help.opt.format")
    sp.add_argument("--lang", choices=("vi", "en"), default=argparse.SUPPRESS, help="help.opt.lang")  # else it hides `loa --lang en VERB`


status.configure = _status_conf


@verb("log", "help.log")
def log_(args) -> int:
    from pipeline.messages import text as msg

    cfg = load(args)
    lang = lang_of(args, cfg)
    since = parse_now(args.since, cfg, option="--since", lang=lang) if args.since else None
    with session(args, cfg) as s:
        rows = s.log_rows(since=since, unit=args.unit, channel=args.channel, search=args.search)
    fields = ("published", "channel", "state", "unit", "type", "post_id", "title", "url")

    def rec(r, for_people: bool = True):
        # JSON is for programs: its keys and states are the ledger's codes in every language
        when = r.first_published_at.astimezone(cfg.tz).strftime("%Y-%m-%d %H:%M") if r.first_published_at else ""
        state = msg(f"state.{r.state}", lang) if for_people else r.state
        return dict(zip(fields, (when, r.channel, state, r.unit or "", r.type or "", r.post_id, r.title or "", r.remote_url or "")))

    if args.format == "json":
        emit_json([rec(r, for_people=False) for r in rows])
    elif args.format == "csv":
        import csv  # here, not at the top: every command builds the parser that imports this module

        from pipeline.report.text import csv_safe  # a title from a feed may start like a formula

        w = csv.writer(sys.stdout)
        w.writerow([msg(f"log.{f}", lang) for f in fields])
        for r in rows:
            w.writerow(csv_safe(rec(r).values()))
    else:
        for r in rows:
            x = rec(r)
            print(f"{x['published']:16}  {x['channel']:9} {x['state']:9} {x['unit']:22} {x['title'][:60]}  {x['url']}")
    return 0


def _log_conf(sp):
    sp.add_argument("--since", help="help.log.since")
    sp.add_argument("--unit", help="help.log.unit")
    sp.add_argument("--channel", help="help.opt.channel")
    sp.add_argument("--search", help="help.log.search")
    sp.add_argument("--format", choices=("table", "csv", "json"), default="table", help="help.log.format")


log_.configure = _log_conf


# ---------------------------------------------------------------------------------------------
@verb("retry", "help.retry")
def retry(args) -> int:
    from pipeline.messages import text as msg

    with session(args) as s:
        n, lifted = s.retry(args.post, args.channel, actor=_actor(args))
        lang = lang_of(args, s.cfg)
    for name in lifted:
        print(msg("retry.lifted", lang, channel=name))
    print(msg("retry.count", lang, count=n))
    return 0


def _retry_conf(sp):
    sp.add_argument("post", nargs="?", help="help.retry.post")
    sp.add_argument("--channel", help="help.opt.channel")
    sp.add_argument("--by", help="help.opt.by")


retry.configure = _retry_conf


@verb("resolve", "help.resolve")
def resolve(args) -> int:
    from pipeline.messages import text as msg

    cfg = load(args)
    lang = lang_of(args, cfg)
    if bool(args.published) == bool(args.not_published):
        raise UsageError(msg("resolve.exactly-one", lang))
    with session(args, cfg) as s:
        row = s.resolve(args.post, args.channel, published_url=args.published, remote_id=args.remote_id,
                        actor=_actor(args))
    print(msg("resolve.done", lang, post=args.post, channel=args.channel, state=msg(f"state.{row.state}", lang)))
    return 0


def _resolve_conf(sp):
    sp.add_argument("post", help="help.resolve.post")
    sp.add_argument("channel", help="help.resolve.channel")
    sp.add_argument("--published", help="help.resolve.published")
    sp.add_argument("--remote-id", help="help.resolve.remote-id")
    sp.add_argument("--not-published", action="store_true", help="help.resolve.not-published")
    sp.add_argument("--by", help="help.opt.by")


resolve.configure = _resolve_conf


@verb("pause", "help.pause")
def pause(args) -> int:
    from pipeline.messages import text as msg

    with session(args) as s:
        s.pause(args.channel, reason=args.reason, actor=_actor(args))
        lang = lang_of(args, s.cfg)
    print(msg("pause.done", lang, channel=args.channel or msg("cli.all-channels", lang), reason=args.reason))
    return 0


def _pause_conf(sp):
    sp.add_argument("--channel", help="help.pause.channel")
    sp.add_argument("--reason", required=True, help="help.pause.reason")
    sp.add_argument("--by", help="help.opt.by")


pause.configure = _pause_conf


@verb("resume", "help.resume")
def resume(args) -> int:
    from pipeline.messages import text as msg

    with session(args) as s:
        n = s.resume(args.channel, actor=_actor(args))
        left = s.ledger.active_pauses(s.clock())
        lang = lang_of(args, s.cfg)
    every = msg("cli.all-channels", lang)
    print(msg("resume.done", lang, channel=args.channel or every, count=n))
    for p in left:  # `--channel C` does not end a pause of every channel, nor another channel's
        print(msg("resume.still", lang, channel=p.channel or every, reason=p.reason,
                  option=f" --channel {p.channel}" if p.channel else ""))
    return 0


def _resume_conf(sp):
    sp.add_argument("--channel", help="help.resume.channel")
    sp.add_argument("--by", help="help.opt.by")


resume.configure = _resume_conf


@verb("retract", "help.retract")
def retract(args) -> int:
    from pathlib import Path

    from pipeline.commands.authoring import set_front_keys
    from pipeline.messages import text as msg

    lang = lang_of(args, load(args))
    path = Path(args.path)
    if not path.is_file():
        raise UsageError(msg("retract.no-file", lang, path=path))
    text = path.read_text(encoding="utf-8")
    try:
        changed = set_front_keys(text, {"retracted": args.reason})
    except ValueError:  # no front matter, or not YAML: loa check says where; nothing is written
        raise UsageError(msg("retract.no-front", lang, path=path)) from None
    path.write_text(changed, encoding="utf-8")
    print(msg("retract.done", lang, path=path, reason=repr(args.reason)))
    return 0


def _retract_conf(sp):
    sp.add_argument("path", help="help.retract.path")
    sp.add_argument("--reason", required=True, help="help.retract.reason")


retract.configure = _retract_conf


@verb("channels", "help.channels")
def channels(args) -> int:
    from pipeline.messages import localized, text as msg

    cfg = load(args)
    lang = lang_of(args, cfg)
    with session(args, cfg) as s:
        reports = s.check_channels(args.channel)
    bad = 0
    for r in reports:
        if r.health is None:
            print(msg("channels.disabled", lang, name=r.name, type=r.type))
            continue
        h = r.health
        bad += not h.ok
        exp = msg("channels.expires", lang, at=f"{h.expires_at.astimezone(cfg.tz):%Y-%m-%d %H:%M}") if h.expires_at else ""
        who = msg("channels.identity", lang, who=h.identity) if h.identity else ""
        print(msg("channels.ok" if h.ok else "channels.problem", lang, name=r.name, type=r.type, expires=exp, identity=who))
        for m in h.messages:
            print(f"  {localized(m, lang)}")
        if r.late:
            print(msg("channels.late", lang, count=len(r.late), first=f"{r.late[0].astimezone(cfg.tz):%Y-%m-%d %H:%M}"))
    return 1 if bad else 0


def _channels_conf(sp):
    sp.add_argument("action", choices=("check",), help="help.channels.action")
    sp.add_argument("--channel", help="help.opt.channel")


channels.configure = _channels_conf


@verb("site", "help.site")
def site(args) -> int:
    from pipeline.messages import text as msg

    cfg = load(args)
    lang = lang_of(args, cfg)
    with session(args, cfg) as s:
        done = s.rebuild_site(args.channel)
    if done.set_aside:
        print(msg("site.set-aside", lang, channel=done.channel, path=done.set_aside))
    print(msg("site.written", lang, channel=done.channel, count=len(done.written)))
    for post_id in done.skipped:
        print(msg("site.skipped", lang, post=post_id))
    return 0


def _site_conf(sp):
    sp.add_argument("action", choices=("rebuild",), help="help.site.action")
    sp.add_argument("--channel", help="help.site.channel")


site.configure = _site_conf
