"""The report's annex "Phụ lục: Nhật ký phê duyệt tin, bài": who approved each post published in
the period, when and through which front end, and the posts the board sent back, with the comment.

Each fact is read from the one place that records it (docs/reports.md, "The approval annex"):

* an approval given in the web console, and every sent-back post, is an event in the ledger
  (``approve`` / ``send_back``, :meth:`pipeline.app.Session.approve` and ``send_back``): the board
  member's name as written into ``approved_by``, the signed-in account, the time, the comment;
* an approval given with ``loa approve`` is only the post's front matter (``approved_by``,
  ``approved_hash``): it runs on a board member's PC without the server's ledger, so its time is
  not known to Loa (the commit that carries it is its record).

Nothing here says whether a post *is* approved (:mod:`pipeline.approval` decides that); the annex
lists what was recorded. Like every figure, it covers posts first published in the period (the
unit filter applies to their ledger rows) and events before the period's end (and ``as_of``), so
re-running the report gives the same console rows; a front-matter approval is the file's current one.

A post sent only to the ward loudspeaker has no row of its own: its rows are its broadcast items
(``<post>@<station>@<slot>``, :mod:`pipeline.bulletin`), and it counts from its first broadcast.

Bounded by the approval events: the events are found through ``ix_events_kind_at`` (migration 4),
each checked against the post's rows by primary key, never a pass over the period's publications.
Only when an approved post has no row of its own are the period's broadcast items read, through
the loudspeaker channels' own index ranges.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Mapping

from pipeline.bulletin import SEP, TYPE, parse_item_id
from pipeline.report.aggregate import _Where, _is_pg, _rows, _ts, _when

APPROVAL_EVENTS = ("approve", "send_back")
CONSOLE, CLI = "console", "cli"
_CHUNK = 2_000  # ids per statement on SQLite (at most 32,766 parameters)


@dataclass(frozen=True)
class AuditRow:
    """One approval or send-back of a post published in the period (times in the site zone).

    ``action`` ``approve`` or ``send_back``; ``by`` the board member as the board spells the name
    (``approved_by``); ``account`` the console's signed-in account (``None`` for ``loa approve``);
    ``at`` when (``None``: ``loa approve``, not recorded by Loa); ``frontend`` ``console`` or ``cli``;
    ``version`` the approved (or returned) content's ``approved_hash``."""

    post_id: str
    title: str
    unit: str
    unit_name: str
    published: datetime
    action: str
    by: str
    account: str | None
    at: datetime | None
    frontend: str
    comment: str | None
    version: str | None


def _events(ledger, period, as_of, units) -> list[tuple]:
    """``approve`` and ``send_back`` events before the period's end (and ``as_of``), oldest first, each
    with its post's first publication in the period (in ``units``), unit and title: ``(id, at, post_id,
    kind, actor, version, detail, first, unit, title)``; ``first`` is ``None`` when the post has no
    row of its own first published in the period (another period's post, or a loudspeaker-only one).

    One look at the post's rows per event, by primary key (PostgreSQL: a LATERAL aggregate; SQLite:
    correlated aggregates, its range hidden (+) from the planner, which would otherwise walk the
    whole period through the first_published_at index for each event)."""
    pg = _is_pg(ledger)
    w = _Where(ledger, "p.first_published_at" if pg else "+p.first_published_at", period, as_of, units)
    w.sql = w.sql.replace(" unit IN", " p.unit IN")
    kinds = ", ".join("?" * len(APPROVAL_EVENTS))
    params = [*APPROVAL_EVENTS, _ts(ledger, period.end)]
    at_cond = "e.at < ?"
    if as_of is not None:
        at_cond += " AND e.at <= ?"
        params.append(_ts(ledger, as_of))
    cols = "e.id, e.at, e.post_id, e.kind, e.actor, e.version, e.detail"
    where = f"e.kind IN ({kinds}) AND {at_cond} AND e.post_id IS NOT NULL"
    if pg:
        sql = (f"SELECT {cols}, p.first, p.unit, p.title FROM events e CROSS JOIN LATERAL (SELECT "
               f"MIN(p.first_published_at) AS first, MIN(p.unit) AS unit, MIN(p.title) AS title FROM publications p "
               f"WHERE p.post_id = e.post_id AND {w.sql}) p WHERE {where} ORDER BY e.at, e.id")
        return ledger.query(sql, w.params + params)
    one = f"FROM publications p WHERE p.post_id = e.post_id AND {w.sql}"
    sql = (f"SELECT * FROM (SELECT {cols}, (SELECT MIN(p.first_published_at) {one}) AS first, "
           f"(SELECT MIN(p.unit) {one}) AS unit, (SELECT MIN(p.title) {one}) AS title FROM events e WHERE {where}) "
           f"ORDER BY at, id")
    return ledger.query(sql, w.params * 3 + params)


def _published(ledger, post_ids: Iterable[str], period, as_of, units, tz) -> dict[str, tuple]:
    """``{post id: (first publication in the period, unit, title)}`` for the posts among ``post_ids``
    first published in the period (in ``units``), by primary key, one row per post."""
    pg = _is_pg(ledger)
    # by primary key: the range is hidden from the planner (an expression on PostgreSQL, ``+`` on
    # SQLite), which would otherwise read the period's rows through the first_published_at index and
    # filter them by id (PostgreSQL: 0.24 s for 10,000 ids in a quarter of 124,000 rows)
    w = _Where(ledger, "(first_published_at + INTERVAL '0 second')" if pg else "+first_published_at", period,
               as_of, units)
    ids = sorted(set(post_ids))
    out: dict[str, tuple] = {}
    # PostgreSQL: one array parameter (``= ANY``); psycopg prepares a statement seen five times, and
    # the generic plan of an ``IN`` list of 400 parameters took 0.2 s a chunk (bench/report.py)
    size = 1_000 if pg else _CHUNK  # larger arrays make PostgreSQL scan the table instead
    for i in range(0, len(ids), size):
        chunk = ids[i:i + size]
        ids_sql, ids_params = ("= ANY(?)", [chunk]) if pg else (f"IN ({', '.join('?' * len(chunk))})", chunk)
        sql = (f"SELECT post_id, MIN(first_published_at), MIN(unit), MIN(title) FROM publications "
               f"WHERE {w.sql} AND post_id {ids_sql} GROUP BY post_id")
        for post_id, first, unit, title in ledger.query(sql, w.params + ids_params):
            out[post_id] = (_when(first, tz), unit or "", title or post_id)
    return out


def _broadcast_only(ledger, post_ids: set[str], period, as_of, units, tz) -> dict[str, tuple]:
    """:func:`_published` for the posts among ``post_ids`` that went out only as loudspeaker
    items: ``{post id: (first broadcast, unit, title)}`` when that first broadcast is in the period.

    The period's broadcast items (in ``units``) name the candidates: the loudspeaker channels are
    found by a loose index scan of the channels (one seek each, as the report's comparison columns
    walk them), and each one's items in the period by a range of its (channel, first_published_at)
    index, never a read of the period's other rows. A candidate whose items began before the period
    (a repeat running over its start) is left out, found by one look at its items before the period:
    its primary key's range on SQLite (binary order), ``LIKE`` on PostgreSQL (whose order depends on
    the database's collation) within the loudspeaker channels' rows before the period."""
    if not post_ids:
        return {}
    channels = [c for (c,) in _rows(ledger, (
        "WITH RECURSIVE k(v) AS (SELECT MIN(channel) FROM publications UNION ALL "
        "SELECT (SELECT MIN(channel) FROM publications WHERE channel > k.v) FROM k WHERE k.v IS NOT NULL) "
        "SELECT k.v FROM k WHERE k.v IS NOT NULL AND "
        "(SELECT channel_type FROM publications WHERE channel = k.v LIMIT 1) = ?"), [TYPE])]
    w = _Where(ledger, "first_published_at", period, as_of, units)
    found: dict[str, tuple] = {}
    for channel in channels:
        sql = f"SELECT post_id, first_published_at, unit, title FROM publications WHERE channel = ? AND {w.sql}"
        for item, first, unit, title in _rows(ledger, sql, [channel, *w.params]):
            parsed = parse_item_id(item)
            if parsed is None or parsed[0] not in post_ids:
                continue
            when = _when(first, tz)
            if parsed[0] not in found or when < found[parsed[0]][0]:
                found[parsed[0]] = (when, unit or "", title or parsed[0])
    pg = _is_pg(ledger)
    for post_id in sorted(found):
        if pg:
            escaped = post_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            match, params = "post_id LIKE ?", [f"{escaped}{SEP}%"]
        else:  # '@' + 1 is 'A': the ids that start with "<post>@", by the primary key
            match, params = "post_id > ? AND post_id < ?", [post_id + SEP, post_id + chr(ord(SEP) + 1)]
        own = ledger.query("SELECT 1 FROM publications WHERE post_id = ? AND first_published_at IS NOT NULL LIMIT 1",
                           [post_id])  # published on a channel of its own, in another period: counted there
        earlier = list(own) or ledger.query(
            f"SELECT 1 FROM publications WHERE {match} AND channel IN ({', '.join('?' * len(channels))}) AND "
            f"first_published_at < ? LIMIT 1", [*params, *channels, _ts(ledger, period.start)])
        if list(earlier):
            del found[post_id]
    return found


def _detail(value) -> dict:
    if isinstance(value, dict):
        return value
    try:
        found = json.loads(value or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def approval_audit(ledger, period, *, tz, as_of: datetime | None = None, units: list[str] | None = None,
                   names: Mapping[str, str] | None = None,
                   front_matter: Mapping[str, tuple[str, str | None]] | None = None) -> tuple[AuditRow, ...]:
    """The annex's rows, by the post's first publication, then time (a ``loa approve`` row first).

    ``units``: the unit ids the report covers (``None``: all); ``names``: unit id -> name;
    ``front_matter``: ``{post id: (approved_by, approved_hash)}`` of the posts whose file carries an
    approval now. A front-matter approval is listed as ``loa approve``'s unless a console ``approve``
    event of the same post and content version is listed (the console writes the same keys)."""
    names = names or {}
    front_matter = front_matter or {}
    events = _events(ledger, period, as_of, units)
    published: dict[str, tuple] = {}
    for e in events:
        if e[7] is not None and e[2] not in published:
            published[e[2]] = (_when(e[7], tz), e[8] or "", e[9] or e[2])
    published.update(_published(ledger, set(front_matter) - set(published), period, as_of, units, tz))
    unseen = {e[2] for e in events} | set(front_matter)
    published.update(_broadcast_only(ledger, unseen - set(published), period, as_of, units, tz))
    rows: list[AuditRow] = []
    console_versions = set()
    for _id, at, post_id, kind, actor, version, detail, *_post in events:
        if post_id not in published:
            continue  # not first published in the period
        first, unit, title = published[post_id]
        d = _detail(detail)
        if kind == "approve":
            console_versions.add((post_id, version))
        rows.append(AuditRow(post_id, title, unit, names.get(unit, unit), first, kind, actor,
                             d.get("account"), _when(at, tz), CONSOLE, d.get("comment") if kind == "send_back" else None,
                             version))
    for post_id, (by, version) in front_matter.items():
        if post_id in published and by and (post_id, version) not in console_versions:
            first, unit, title = published[post_id]
            rows.append(AuditRow(post_id, title, unit, names.get(unit, unit), first, "approve", by, None, None,
                                 CLI, None, version))
    return tuple(sorted(rows, key=lambda r: (r.published, r.post_id, r.at is not None, r.at or r.published)))


__all__ = ["AuditRow", "approval_audit", "APPROVAL_EVENTS"]
