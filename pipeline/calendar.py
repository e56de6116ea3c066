"""The editorial calendar and a post's page, as data: what the web console shows.

A stage: it decides nothing. :meth:`pipeline.app.Session.calendar` hands it the plan's decisions
(the one state decision, :meth:`pipeline.app.Session.plan`) with the word each one is shown by
(:func:`pipeline.app.channel_state`); this module places them in days, filters them and adds the
blackouts and pauses as bands. :func:`post_history` orders a post's ledger events for its page.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Callable, Iterable, Mapping

VIEWS = ("month", "week")

#: The states a calendar entry is shown in, in the legend's order (``app.channel_state`` words).
STATES = ("scheduled", "due", "waiting", "awaiting-approval", "held", "published", "failed", "in-doubt",
          "skipped", "retracted", "expired", "disabled", "draft")


@dataclass(slots=True)  # not frozen: a month holds thousands, and a frozen init costs 3x; never changed once built
class Entry:
    """One post on one channel at its time: the published time when it went out, else the time
    the plan gives it (``Decision.at``), else its ``publish_at``."""

    post_id: str
    title: str
    channel: str
    at: datetime
    state: str
    reason: str
    url: str | None
    unit: str | None
    type: str | None
    topics: tuple[str, ...]
    path: str | None
    #: a scheduled post on a channel that publishes only what the board approved, not yet approved
    #: at its current content: the plan holds it when it falls due (``awaiting-approval``)
    unapproved: bool = False


@dataclass(frozen=True)
class Band:
    """A blackout (from the config) or a pause (from the ledger) over ``start``..``end``
    (``end`` ``None``: until resumed); ``channels`` empty means every channel."""

    kind: str  # "blackout" | "pause"
    start: datetime
    end: datetime | None
    reason: str
    channels: tuple[str, ...]
    actor: str | None = None


@dataclass(frozen=True)
class Calendar:
    view: str
    start: datetime
    end: datetime
    days: list[date]
    entries: list[Entry]
    bands: list[Band]
    filters: Mapping[str, str | None] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    by_day: Mapping[date, list[Entry]] = field(default_factory=dict)

    def on(self, day: date, tz=None) -> list[Entry]:
        """The entries of ``day`` (site zone), in time order."""
        return self.by_day.get(day, [])

    def bands_on(self, day: date, tz) -> list[Band]:
        start = datetime.combine(day, time(0), tz)
        end = start + timedelta(days=1)
        return [b for b in self.bands if b.start < end and (b.end is None or b.end > start)]


def window(view: str, anchor: date, tz) -> tuple[datetime, datetime, list[date]]:
    """The time span of the ``view`` holding ``anchor`` (site zone): a week from Monday, or a
    month shown as whole weeks (Monday first, as Vietnamese calendars print it)."""
    if view not in VIEWS:
        raise ValueError(f"view {view!r}: expected one of {list(VIEWS)}")
    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        last = first + timedelta(days=7)
    else:
        month_start = anchor.replace(day=1)
        next_month = (month_start + timedelta(days=32)).replace(day=1)
        first = month_start - timedelta(days=month_start.weekday())
        last = next_month + timedelta(days=(7 - next_month.weekday()) % 7)
    days = [first + timedelta(days=i) for i in range((last - first).days)]
    return datetime.combine(first, time(0), tz), datetime.combine(last, time(0), tz), days


def shift(view: str, anchor: date, step: int) -> date:
    """The anchor of the previous (``-1``) or next (``1``) week or month."""
    if view == "week":
        return anchor + timedelta(days=7 * step)
    month = anchor.month - 1 + step
    return date(anchor.year + month // 12, month % 12 + 1, 1)


def _time_of(d, row) -> datetime | None:
    if row is not None:
        published = row.first_published_at
        if published is not None:
            return published
    if d.at is not None:
        return d.at
    if d.post is not None:
        return d.post.publish_at
    return row.publish_at if row is not None else None


class TimeIndex:
    """The finished (``done``) decisions of one plan, by time: a calendar view then looks only at
    the few hundred of its window instead of every pair. Valid for as long as the decisions at
    those places are the same: the caller keys it on the content's revision and the ledger
    snapshot's ``rev`` (a done decision's time is its row's or its post's)."""

    def __init__(self, decisions: list):
        found = []
        for i, d in enumerate(decisions):
            if d.kind == "done":
                at = _time_of(d, d.row)
                if at is not None:
                    found.append((at, i))
        found.sort(key=lambda x: x[0].timestamp())
        self.times = [t for t, _ in found]
        self.places = [i for _, i in found]

    def between(self, start: datetime, end: datetime) -> list[int]:
        return self.places[bisect_left(self.times, start):bisect_left(self.times, end)]


def _entry(d, word: str, at: datetime) -> Entry:
    row, post = d.row, d.post
    url = getattr(row, "remote_url", None) if word in ("published", "retracted") else None
    if post is not None:
        return Entry(d.post_id, post.title, d.channel, at, word, d.reason, url, post.unit, post.type,
                     tuple(post.topics), post.relpath)
    return Entry(d.post_id, getattr(row, "title", None) or d.post_id, d.channel, at, word, d.reason, url,
                 getattr(row, "unit", None), getattr(row, "type", None), tuple(getattr(row, "topics", ()) or ()),
                 getattr(row, "path", None))


def _wanted(e: Entry, filters: Mapping[str, str | None]) -> bool:
    if filters.get("unit") and e.unit != filters["unit"]:
        return False
    if filters.get("type") and e.type != filters["type"]:
        return False
    if filters.get("topic") and filters["topic"] not in e.topics:
        return False
    return not filters.get("channel") or e.channel == filters["channel"]


def build_calendar(decisions: Iterable, state_of: Callable[[object], str], *, view: str, anchor: date, tz,
                   blackouts: Iterable = (), pauses: Iterable = (),
                   filters: Mapping[str, str | None] | None = None,
                   unapproved: Callable[[object], Iterable[str]] | None = None) -> Calendar:
    """The calendar of the ``view`` holding ``anchor``: each decision whose time falls in it and
    that passes ``filters`` (unit, type, topic, channel), shown by ``state_of(decision)``; the
    blackouts and pauses that overlap it as bands (a channel filter keeps those of that channel
    and those of every channel). ``unapproved(post)``: the channels still waiting for the board's
    approval of ``post``, asked only for the entries still to go out."""
    filters = {k: v for k, v in (filters or {}).items() if v}
    start, end, days = window(view, anchor, tz)
    entries = []
    for d in decisions:  # the time first: a month holds a few hundred of 60,000 pairs
        at = _time_of(d, d.row)
        if at is None or not start <= at < end:
            continue
        word = state_of(d)
        e = _entry(d, word, at) if word != "draft" else None
        if e is None or (filters and not _wanted(e, filters)):
            continue
        if unapproved is not None and d.post is not None and word in ("scheduled", "waiting", "due") \
                and d.channel in unapproved(d.post):
            e.unapproved = True
        entries.append(e)
    # by instant: times come in the site zone (posts) and in UTC (ledger rows), and comparing
    # datetimes of two zones asks each zone for its offset at every comparison
    entries.sort(key=lambda e: (e.at.timestamp(), e.title, e.channel))
    counts: dict[str, int] = {}
    by_day: dict[date, list[Entry]] = {}
    for e in entries:
        counts[e.state] = counts.get(e.state, 0) + 1
        by_day.setdefault(e.at.astimezone(tz).date(), []).append(e)
    channel = filters.get("channel")
    bands = [b for b in (*(Band("blackout", b.start, b.end, b.reason, tuple(b.channels)) for b in blackouts),
                         *pauses)
             if b.start < end and (b.end is None or b.end > start)
             and (not channel or not b.channels or channel in b.channels)]
    return Calendar(view, start, end, days, entries, bands, filters, counts, by_day)


def pause_bands(rows: Iterable[tuple]) -> list[Band]:
    """Bands for the ledger's pauses, as rows ``(id, channel, reason, actor, since, until,
    resumed_at)``: from ``since`` to the earlier of ``until`` and ``resumed_at`` (``None``: still
    paused, with no end set)."""
    bands = []
    for _id, channel, reason, actor, since, until, resumed in rows:
        ends = [t for t in (until, resumed) if t is not None]
        bands.append(Band("pause", since, min(ends) if ends else None, reason or "", (channel,) if channel else (),
                          actor))
    return sorted(bands, key=lambda b: b.start)


@dataclass(frozen=True)
class PostPage:
    """What a post's page shows: the post, each channel's rendering and its decision's word, the
    ledger's rows and events for it, its check problems, and its approval."""

    post: object | None
    post_id: str
    renderings: list
    render_errors: list
    states: Mapping[str, tuple[str, str]]  # channel -> (word, reason)
    rows: Mapping[str, object]
    history: list
    problems: list
    approved_by: str | None
    approved: bool
    approval_needed: tuple[str, ...]
    changed_since_approval: tuple[str, ...] | None


def post_history(events: Iterable) -> list:
    """A post's events, newest first (the page reads from the latest)."""
    return sorted(events, key=lambda e: (e.at, e.id), reverse=True)
