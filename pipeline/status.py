"""``loa status``, presented: what goes out soon, what is held and why, what failed and what to
do, what is in doubt. The data comes from :meth:`pipeline.app.Session.status`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from pipeline import plan as planmod

def reason_text(reason: str, lang: str = "vi") -> str:
    """A plan decision's ``reason`` for people, from the catalogue (``reason.<code>``); a reason
    with a detail ("paused: Quốc tang") keeps it; a catalogue Detail is shown in ``lang``; any other
    reason as it is."""
    from pipeline.messages import CATALOGUE, Detail, localized, text

    code, _, detail = reason.partition(": ")
    if isinstance(reason, Detail) and "detail" in reason.args:  # a held channel's words, in the reader's language
        detail = localized(reason.args["detail"], lang)
    if f"reason.{code}" in CATALOGUE:
        return text(f"reason.{code}", lang, detail=detail)
    return localized(reason, lang)  # a reason that is a catalogue Detail (a stale post's) in the reader's words


def broadcast(post_id: str, cfg) -> dict | None:
    """Where and when a loudspeaker item (``<post>@<station>@<slot>``, pipeline/bulletin.py) goes
    out: ``{"station", "station_name", "slot" (ISO, site zone; None for an emergency), "emergency"}``;
    ``None`` for a post's own id. Read from the id and the config's station names; decides nothing."""
    from pipeline.bulletin import EMERGENCY, TYPE, parse_item_id, slot_of

    parsed = parse_item_id(post_id)
    if parsed is None:
        return None
    _post, station, key = parsed
    names = [dict(ch.options.get("stations") or {}).get(station) for ch in cfg.channels.values() if ch.type == TYPE]
    name = next(((st or {}).get("name") for st in names if st and st.get("name")), None) or station
    try:
        slot = slot_of(key, cfg.tz)
    except ValueError:  # an id Loa did not make: shown as it is
        slot = None
    return {"station": station, "station_name": name, "slot": slot.isoformat() if slot else None,
            "emergency": key == EMERGENCY}


def _err(text: str | None) -> dict:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {"reason": text}
    if not isinstance(data, dict):
        return {"reason": text}
    from pipeline.messages import from_data

    codes = data.pop("codes", None)
    for k, v in (codes.items() if isinstance(codes, dict) else ()):
        if k in ("reason", "hint"):  # a catalogue message (publish.error_text), shown in the reader's language
            data[k] = from_data(v, data.get(k))
    return data


def error_words(last_error: str | None, lang: str = "vi") -> str:
    """A ledger row's ``last_error`` for people, in ``lang`` (a notification, the console's post
    page): the reason in the catalogue's words (:func:`reason_text`), the vendor's own words quoted
    as said, and what to do; "" when there is none. A bug's traceback is left to the logs."""
    from pipeline.messages import localized, text as msg

    e = _err(last_error)
    words = [reason_text(e["reason"], lang)] if e.get("reason") else []
    if e.get("vendor"):
        words.append(f"{msg('status.vendor', lang)}: {e['vendor']}")
    if e.get("hint"):
        words.append(f"{msg('status.hint', lang)}: {localized(e['hint'], lang)}")
    return "; ".join(words)


def build_status(cfg, p: planmod.Plan, now: datetime, *, days: int, problems: list, holds: dict, pauses: list,
                 troubled: list, feeds: dict, lang: str | None = None, pull: dict | None = None) -> dict:
    """The status as data (``loa status --format json``), from the plan every front end shares and
    the ledger's held channels, pauses, troubled rows and feed statuses; ``pull`` the daemon's last
    ``git pull`` outcome (``Session.content_pull``) when ``daemon.git_pull`` is on."""
    horizon = now + timedelta(days=days)
    errors: dict[str, list[str]] = {}
    for x in problems:
        if x.severity.value == "error" and len(errors.setdefault(x.path, [])) < 3:
            errors[x.path].append(x.format(lang or cfg.language))
    upcoming, held, due = [], [], []
    def item(d) -> dict:  # made only for the decisions shown (a big calendar has thousands beyond the horizon)
        title = d.post.title if d.post else (getattr(d.row, "title", None) or d.post_id)
        return {"post": d.post_id, "channel": d.channel, "title": title, "reason": d.reason,
                "at": d.at.isoformat() if d.at else None, "path": d.post.relpath if d.post else getattr(d.row, "path", None),
                "broadcast": broadcast(d.post_id, cfg)}

    for d in p.active():
        if (d.kind == planmod.SCHEDULED and d.at and d.at <= horizon) or d.kind == planmod.WAITING:
            upcoming.append(item(d))
        elif d.kind == planmod.DUE:
            due.append(dict(item(d), action=d.action))
        elif d.kind == planmod.HELD and d.reason not in planmod.NOT_WAITING_FOR_A_PERSON:
            shown = item(d)
            if d.reason == "check-errors":
                shown["problems"] = errors.get(d.post.relpath, [])
            held.append(shown)
    upcoming.sort(key=lambda x: x["at"] or "")
    known = {d.post.relpath for d in p.decisions if d.post is not None} if errors else set()
    unusable = [{"path": path, "problems": lines} for path, lines in sorted(errors.items()) if path not in known
                and not path.startswith(("content/activities/", "activities/"))]
    rows = _troubled(troubled, cfg)
    return {"now": now.isoformat(), "upcoming": upcoming, "due": due, "held": held, "failed": rows["failed"],
            "retrying": rows["retrying"], "in_doubt": rows["in_doubt"],
            "holds": {name: {"message": h.message, "hint": h.hint, "vendor": h.vendor} for name, h in holds.items()},
            "pauses": [{"channel": x.channel, "reason": x.reason, "by": x.actor, "since": x.since.isoformat()} for x in pauses],
            "unusable": unusable, "content_problems": len(problems),
            "content_errors": sum(x.severity.value == "error" for x in problems), "feeds": _feed_lines(cfg, feeds),
            "content_stale": _content_stale(pull)}


def _troubled(troubled: list, cfg) -> dict[str, list[dict]]:
    """The failed, retrying and in-doubt rows, with the vendor's words and what to do."""
    out: dict[str, list[dict]] = {"failed": [], "retrying": [], "in_doubt": []}
    for r in troubled:
        e = _err(r.last_error)
        out[r.state].append({"post": r.post_id, "channel": r.channel, "title": r.title, "kind": r.error_kind,
                             "attempts": r.attempts, "reason": e.get("reason"), "vendor": e.get("vendor"),
                             "hint": e.get("hint"), "broadcast": broadcast(r.post_id, cfg),
                             "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None})
    return out


def _feed_lines(cfg, feeds: dict) -> dict[str, str]:
    out = {}
    for f in cfg.feeds:
        e = feeds.get(f["name"])
        if e:
            detail = e.get("message") or e.get("reason") or ""
            out[f["name"]] = f"{e.get('status', '')}{': ' + detail if detail else ''} ({str(e.get('at', ''))[:16]})"
    return out


def _content_stale(pull: dict | None) -> dict | None:
    """``{"since", "reason"}`` while the daemon's pull fails: the content is as of ``since`` (the
    last good pull, else when the failures began)."""
    if not pull or pull.get("ok"):
        return None
    return {"since": pull.get("last_ok") or pull.get("failing_since"), "last_ok": pull.get("last_ok"),
            "failing_since": pull.get("failing_since"), "reason": pull.get("reason") or ""}


def _alarms(st: dict, lang: str, when) -> list[str]:
    """The lines at the top: stale content, held channels, pauses."""
    from pipeline.messages import localized, text as msg

    out = []
    stale = st.get("content_stale")
    if stale:
        out.append(msg("status.stale", lang, since=when(stale["since"]) if stale.get("since") else "?", reason=stale["reason"]))
    for name, e in st["holds"].items():
        out.append(msg("status.hold", lang, channel=name, message=localized(e.get("message", ""), lang)) +
                   (f" — {localized(e['hint'], lang)}" if e.get("hint") else ""))
    for p in st["pauses"]:
        out.append(msg("status.pause", lang, channel=p["channel"] or msg("cli.all-channels", lang), reason=p["reason"], by=p["by"]))
    return out


def _title(x: dict, lang: str, when) -> str:
    """An item's title, with the station and the slot for a loudspeaker item."""
    from pipeline.messages import text as msg

    b = x.get("broadcast")
    if not b:
        return x["title"]
    if b["emergency"] or not b["slot"]:
        return msg("status.broadcast-emergency" if b["emergency"] else "status.broadcast-station", lang,
                   title=x["title"], station=b["station_name"])
    return msg("status.broadcast", lang, title=x["title"], station=b["station_name"], slot=when(b["slot"]))


def render_status(st: dict, cfg, lang: str = "vi") -> str:
    """``loa status`` as text in ``lang``; every heading, label and reason from the catalogue."""
    from pipeline.messages import text as msg

    out = []

    def h(code, n):
        out.append(f"\n== {msg(code, lang)} ({n}) ==")

    def when(iso):
        if not iso:
            return ""
        return datetime.fromisoformat(iso).astimezone(cfg.tz).strftime("%d/%m/%Y %H:%M")

    out.extend(_alarms(st, lang, when))
    h("status.upcoming", len(st["upcoming"]))
    for x in st["upcoming"]:
        why = f" [{reason_text(x['reason'], lang)}]" if x["reason"] else ""
        out.append(f"  {when(x['at'])}  {x['channel']:9} {_title(x, lang, when)}{why}")
    if st["due"]:
        h("status.due", len(st["due"]))
        for x in st["due"]:
            out.append(f"  {x['channel']:9} {reason_text('action-' + (x['action'] or 'reconcile'), lang):9} {_title(x, lang, when)}")
    h("status.held", len(st["held"]))
    for x in st["held"]:
        out.append(f"  {x['channel']:9} {_title(x, lang, when)} — {reason_text(x['reason'], lang)} ({x['path']})")
        for line in x.get("problems", ()):
            out.append(f"      {line}")
    if st.get("unusable"):
        h("status.unusable", len(st["unusable"]))
        for x in st["unusable"]:
            out.append(f"  {x['path']}")
            for line in x["problems"]:
                out.append(f"      {line}")
    _troubled_lines(st, lang, h, when, out)
    if st["feeds"]:
        h("status.feeds", len(st["feeds"]))
        for name, line in st["feeds"].items():
            word, sep, rest = line.partition(":") if ":" in line.split(" (")[0] else line.partition(" (")
            out.append(f"  {name}: {reason_text('feed-' + word, lang)}{sep}{rest}")
    return "\n".join(out).lstrip("\n")


def _troubled_lines(st: dict, lang: str, h, when, out: list[str]) -> None:
    """Failed (with the vendor's words, what to do, and the command once fixed), retrying, in doubt."""
    from pipeline.messages import localized, text as msg

    h("status.failed", len(st["failed"]))
    for x in st["failed"]:
        out.append(f"  {x['channel']:9} {_title(x, lang, when)} — {localized(x['reason'], lang)}")
        if x.get("vendor"):
            out.append(f"      {msg('status.vendor', lang)}: {x['vendor']}")
        if x.get("hint"):
            out.append(f"      {msg('status.hint', lang)}: {localized(x['hint'], lang)}")
        out.append(f"      {msg('status.when-fixed', lang)}: loa retry {x['post']} --channel {x['channel']}")
    h("status.retrying", len(st["retrying"]))
    for x in st["retrying"]:
        out.append(f"  {x['channel']:9} {_title(x, lang, when)} — {localized(x['reason'], lang)} "
                   f"({msg('status.attempt', lang, attempts=x['attempts'], at=when(x['next_attempt_at']))})")
    h("status.in-doubt", len(st["in_doubt"]))
    for x in st["in_doubt"]:
        out.append(f"  {x['channel']:9} {_title(x, lang, when)} — {reason_text(x['reason'] or '', lang)}")
        if x.get("vendor"):
            out.append(f"      {msg('status.vendor', lang)}: {x['vendor']}")
        if x.get("hint"):
            out.append(f"      {msg('status.hint', lang)}: {localized(x['hint'], lang)}")
        out.append(f"      loa resolve {x['post']} {x['channel']} --published URL | --not-published")
