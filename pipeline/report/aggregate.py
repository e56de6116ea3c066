"""Count what the ledger recorded in a period. Every count is a GROUP BY in the database.

Rules (the report is *frozen*: the same period gives the same numbers whenever it is re-run):

* An item is a (post, channel) pair; it belongs to the period whose ``[start, end)`` holds its
  ``first_published_at``. Later edits and retractions never subtract from it; they are listed.
* ``retracted`` / ``corrected`` count pairs whose ``retracted_at`` / ``corrected_at`` fall in the period.
* ``failed_open`` counts pairs in state ``failed`` whose last change came before the period's end.
* ``as_of=T`` shows the ledger as it was at T: only times ``<= T`` count, and open failures are read
  from the ``events`` table (the last outcome event at or before T was a failure).

Python only sums the grouped rows the database returns (type x channel x unit x topics, a few
thousand at most), never the publication rows themselves: one pass over the table grouped, the months
and the comparisons from the indexes, retractions and corrections, distinct posts, open failures, plus
the first page of items. bench/README.md has the timings and where the time goes.
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Iterator, Mapping
from zoneinfo import ZoneInfo

from pipeline.activities import KINDS
from pipeline.errors import UsageError
from pipeline.report.model import (ActivityRow, Comparison, Item, Report, Totals, UnitRow, date_short_vi,
                                   frozen_map)
from pipeline.report.periods import Period

log = logging.getLogger(__name__)
UTC = timezone.utc
ITEMS_LIMIT = 500
# Event kinds that change a row's state; the last one at or before T says whether the pair was failed
# at T (a ``failure`` whose detail kind is not ``transient``, which leaves the row ``retrying``).
STATE_EVENTS = ("claim", "success", "update", "retract", "failure", "retry", "release", "skip", "resolve",
                "in_doubt")
ITEM_PAGE = 500


# --- database helpers -------------------------------------------------------------------------------

def _is_pg(ledger) -> bool:
    return str(ledger.dialect).lower().startswith("postg")


def _ts(ledger, moment: datetime):
    """A time as the ledger stores it: ISO UTC text in SQLite (so text order is time order), a
    ``timestamptz`` in PostgreSQL."""
    utc = moment.astimezone(UTC)
    return utc if _is_pg(ledger) else utc.isoformat(timespec="microseconds")


def _when(value, tz: ZoneInfo) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz)


def _rows(ledger, sql: str, params: Iterable[Any] = ()) -> Iterator[tuple]:
    for row in ledger.query(sql, list(params)):
        yield tuple(row.values()) if isinstance(row, Mapping) else tuple(row)


class _Where:
    """``col in [start, end)`` (and ``<= as_of``) plus the unit filter, with its parameters."""

    def __init__(self, ledger, col: str, period: Period, as_of: datetime | None, units: list[str] | None,
                 prefix: str = "", start: datetime | None = None):
        self.sql = f"{prefix}{col} >= ? AND {prefix}{col} < ?"
        self.params: list[Any] = [_ts(ledger, start or period.start), _ts(ledger, period.end)]
        if as_of is not None:
            self.sql += f" AND {prefix}{col} <= ?"
            self.params.append(_ts(ledger, as_of))
        if units is not None:
            self.sql += f" AND {prefix}unit IN ({', '.join('?' * len(units)) or 'NULL'})"
            self.params.extend(units)


# --- the queries --------------------------------------------------------------------------------------

def _scan(ledger, period: Period, as_of, units) -> list[tuple]:
    """The one pass over ``publications`` behind the period's own counts: rows grouped by type x
    channel x unit x topics, ``(type, channel, unit, topics, n)``.

    Topics are grouped as the stored JSON text (few distinct lists) and split afterwards in Python, so
    no JSON function is needed in SQL. The month is not a key (the months come from the index, see
    :func:`_months`): grouped by a time expression, PostgreSQL expects a group per row and sorts a
    million rows on disk, where with these four keys it expects a few thousand groups and hashes them.
    On SQLite the time range is hidden from the planner (``+column``) so that it reads the covering
    index ``ix_publications_report`` (type, channel, unit, topics, first_published_at) in its order and
    groups without sorting: a sort of every row of a dense period was most of the report's time.
    """
    col = "first_published_at" if _is_pg(ledger) else "+first_published_at"
    w = _Where(ledger, col, period, as_of, units)
    # The bare columns, in the order of ix_publications_report: SQLite then reads that covering index
    # in order and groups as it goes (no sort, no table read); a NULL type or unit counts as "".
    sql = (f"SELECT type, channel, unit, topics, COUNT(*) FROM publications WHERE {w.sql} "
           f"GROUP BY type, channel, unit, topics")
    return [(typ or "", ch, unit or "", topics, n) for typ, ch, unit, topics, n in _rows(ledger, sql, w.params)]


def _months(ledger, period: Period, as_of, units) -> list[int]:
    """Items per month of the period: a count of each month's range of the first_published_at index
    (no table row is read unless units are chosen)."""
    counts, params = [], []
    for m in period.months():
        w = _Where(ledger, "first_published_at", m, as_of, units)
        counts.append(f"(SELECT COUNT(*) FROM publications WHERE {w.sql})")
        params += w.params
    for row in _rows(ledger, f"SELECT {', '.join(counts)}", params):
        return [int(n or 0) for n in row]
    return [0] * len(counts)


def _changes(ledger, period: Period, as_of, units) -> list[tuple]:
    """Per unit, the pairs retracted and corrected inside the period, whenever they were published:
    ``(unit, retracted, corrected)``. Few rows match; no index is needed for them."""
    ret = _Where(ledger, "retracted_at", period, as_of, None)
    cor = _Where(ledger, "corrected_at", period, as_of, None)
    where, where_p = f"(({ret.sql}) OR ({cor.sql}))", ret.params + cor.params
    if units is not None:
        where += f" AND unit IN ({', '.join('?' * len(units)) or 'NULL'})"
        where_p += list(units)
    sql = (f"SELECT COALESCE(unit, ''), SUM(CASE WHEN {ret.sql} THEN 1 ELSE 0 END), "
           f"SUM(CASE WHEN {cor.sql} THEN 1 ELSE 0 END) FROM publications WHERE {where} GROUP BY 1")
    return list(_rows(ledger, sql, ret.params + cor.params + where_p))


def _comparisons(ledger, prev: Period, year_ago: Period, as_of, units) -> tuple[dict, dict, dict, dict]:
    """by_unit and by_channel of the previous period and of the same period a year earlier.

    A loose index scan: the distinct units (channels) are walked one index seek at a time (a recursive
    MIN(key) > previous), and each one's rows in each period are counted by a range seek on the
    (unit, first_published_at) or (channel, first_published_at) index. The cost is a few seeks per
    unit, not a read of the index: the same whether the ledger holds a thousand rows or a million."""
    out: list[dict[str, int]] = []
    for key in ("unit", "channel"):
        counts, params = [], []
        for period in (prev, year_ago):
            w = _Where(ledger, "first_published_at", period, as_of, units)
            counts.append(f"(SELECT COUNT(*) FROM publications WHERE {key} = k.v AND {w.sql})")
            params += w.params
        nulls = []
        for period in (prev, year_ago):
            w = _Where(ledger, "first_published_at", period, as_of, units)
            nulls.append(f"(SELECT COUNT(*) FROM publications WHERE {key} IS NULL AND {w.sql})")
            params += w.params
        sql = (f"WITH RECURSIVE k(v) AS (SELECT MIN({key}) FROM publications UNION ALL "
               f"SELECT (SELECT MIN({key}) FROM publications WHERE {key} > k.v) FROM k WHERE k.v IS NOT NULL) "
               f"SELECT k.v, {', '.join(counts)} FROM k WHERE k.v IS NOT NULL "
               f"UNION ALL SELECT NULL, {', '.join(nulls)}")
        before, year = defaultdict(int), defaultdict(int)
        for k, n_prev, n_year in _rows(ledger, sql, params):
            if n_prev:
                before[k or ""] += int(n_prev)
            if n_year:
                year[k or ""] += int(n_year)
        out += [dict(before), dict(year)]
    prev_unit, year_unit, prev_channel, year_channel = out
    return prev_unit, prev_channel, year_unit, year_channel


def _topics_of(text) -> list[str]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return []
    return [str(t) for t in value] if isinstance(value, list) else []


def _distinct_posts(ledger, period: Period, as_of, units) -> int:
    col = "first_published_at" if _is_pg(ledger) else "+first_published_at"  # see _scan
    w = _Where(ledger, col, period, as_of, units)
    # PostgreSQL sorts for COUNT(DISTINCT), a million rows on disk past work_mem; grouped first, it
    # walks the primary key in post order instead (half the time). SQLite's distinct B-tree is cheaper.
    sql = (f"SELECT COUNT(*) FROM (SELECT post_id FROM publications WHERE {w.sql} GROUP BY post_id) d" if _is_pg(ledger)
           else f"SELECT COUNT(DISTINCT post_id) FROM publications WHERE {w.sql}")
    for (n,) in _rows(ledger, sql, w.params):
        return int(n or 0)
    return 0


def _failed_open(ledger, period: Period, as_of, units) -> dict[str, int]:
    """Per unit: pairs in state ``failed`` whose failure came before the period's end; with ``as_of``,
    pairs whose last state change at or before T was a non-transient failure (from ``events``)."""
    unit_sql, unit_params = "", []
    if units is not None:
        unit_sql = f" AND p.unit IN ({', '.join('?' * len(units)) or 'NULL'})"
        unit_params = list(units)
    # GROUP BY an expression, not the bare column: grouping by ``unit`` lets SQLite pick the
    # (unit, first_published_at) index for its order and fetch every row through it.
    if as_of is None:
        sql = ("SELECT COALESCE(p.unit, ''), COUNT(*) FROM publications p WHERE p.state = 'failed' "
               f"AND p.updated_at < ?{unit_sql} GROUP BY 1")
        params = [_ts(ledger, period.end)] + unit_params
    else:
        kinds = ", ".join(f"'{k}'" for k in STATE_EVENTS)
        failure_kind = ("(e.detail::jsonb ->> 'kind')" if _is_pg(ledger)
                        else "json_extract(CASE WHEN json_valid(e.detail) THEN e.detail ELSE '{}' END, '$.kind')")
        sql = ("SELECT COALESCE(p.unit, ''), COUNT(*) FROM publications p JOIN ("
               "SELECT post_id, channel, MAX(id) AS last_id FROM events "
               f"WHERE at <= ? AND post_id IS NOT NULL AND kind IN ({kinds}) GROUP BY post_id, channel) l "
               "ON l.post_id = p.post_id AND l.channel = p.channel JOIN events e ON e.id = l.last_id "
               f"WHERE e.kind = 'failure' AND COALESCE({failure_kind}, '') <> 'transient' AND e.at < ?"
               f"{unit_sql} GROUP BY 1")
        params = [_ts(ledger, as_of), _ts(ledger, period.end)] + unit_params
    return {unit: int(n or 0) for unit, n in _rows(ledger, sql, params)}


_ITEM_COLS = "post_id, channel, first_published_at, unit, title, type, remote_url, retracted_at, corrected_at"


def _item(rows: list[tuple], names, as_of, tz) -> Item:
    first = min(rows, key=lambda r: (_when(r[2], UTC), r[1]))

    def seen(value):
        moment = _when(value, tz)
        return moment if moment is not None and (as_of is None or moment <= as_of) else None

    retracted = [m for m in (seen(r[7]) for r in rows) if m]
    corrected = [m for m in (seen(r[8]) for r in rows) if m]
    return Item(date=_when(first[2], tz), post_id=first[0], unit=first[3] or "",
                unit_name=names.get(first[3], first[3] or ""), title=first[4] or first[0], type=first[5] or "",
                channels=tuple(r[1] for r in rows), links=frozen_map({r[1]: r[6] for r in rows if r[6]}),
                retracted_at=min(retracted) if retracted else None,
                corrected_at=min(corrected) if corrected else None)


def _item_stream(ledger, period, as_of, units, names, tz, page_size: int = ITEM_PAGE):
    """Every post of the period in order of its first publication, a page at a time, with bounded memory.

    A page is found through the first_published_at index: the pairs that are the first of their post
    in the period (no earlier pair of the same post), after the last one of the previous page
    (keyset, so each page costs the same); then all pairs of those posts by primary key.
    """
    wq = _Where(ledger, "first_published_at", period, as_of, units, prefix="q.")
    first_of_post = (f"NOT EXISTS (SELECT 1 FROM publications q WHERE q.post_id = p.post_id AND {wq.sql} AND "
                     "(q.first_published_at < p.first_published_at OR (q.first_published_at = "
                     "p.first_published_at AND q.channel < p.channel)))")

    def stream() -> Iterator[Item]:
        after: tuple | None = None
        page_no = 0
        while True:
            page_no += 1
            # After the first page the range starts at the last row seen, so the index walk starts
            # there too and every page costs the same.
            w = _Where(ledger, "first_published_at", period, as_of, units, prefix="p.",
                       start=after[1] if after else None)
            sql = f"SELECT p.post_id, p.first_published_at FROM publications p WHERE {w.sql} AND {first_of_post}"
            params = w.params + wq.params
            if after is not None:
                sql += " AND (p.first_published_at > ? OR p.post_id > ?)"
                params += [_ts(ledger, after[1]), after[0]]
            # The page number makes each statement's text unique: psycopg prepares a statement it has
            # seen five times, and PostgreSQL then plans it once for any range (a scan of the whole
            # period per page, a hundred times slower) instead of for this page's range.
            sql += f" ORDER BY p.first_published_at, p.post_id LIMIT ? /* page {page_no} */"
            page = [(r[0], _when(r[1], UTC)) for r in _rows(ledger, sql, params + [page_size])]
            if not page:
                return
            yield from _items_for(ledger, [r[0] for r in page], period, as_of, units, names, tz, page_no)
            if len(page) < page_size:
                return
            after = page[-1]
    return stream


def _items_for(ledger, post_ids: list[str], period, as_of, units, names, tz, page_no: int = 0) -> list[Item]:
    # By primary key: on SQLite the range is hidden (+) so the planner does not walk the whole period
    # through the first_published_at index for every chunk of ids.
    w = _Where(ledger, "first_published_at" if _is_pg(ledger) else "+first_published_at", period, as_of, units)
    by_post: dict[str, list[tuple]] = defaultdict(list)
    for i in range(0, len(post_ids), 400):
        chunk = post_ids[i:i + 400]
        sql = (f"SELECT {_ITEM_COLS} FROM publications WHERE {w.sql} "
               f"AND post_id IN ({', '.join('?' * len(chunk))}) ORDER BY post_id, channel /* page {page_no}.{i} */")
        for row in _rows(ledger, sql, w.params + chunk):
            by_post[row[0]].append(row)
    return [_item(by_post[p], names, as_of, tz) for p in post_ids if by_post.get(p)]


def _items_preview(ledger, period, as_of, units, names, tz, limit: int) -> tuple[list[Item], bool]:
    """The first ``limit`` posts (by first publication) and whether there are more."""
    items: list[Item] = []
    for item in _item_stream(ledger, period, as_of, units, names, tz, page_size=limit + 1)():
        if len(items) == limit:
            return items, True
        items.append(item)
    return items, False


# --- units, targets, assembly ----------------------------------------------------------------------------

def _day(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _unit_dicts(units: Iterable[Any]) -> list[dict]:
    out = []
    for u in units:
        d = dict(u) if isinstance(u, Mapping) else {k: getattr(u, k) for k in
                                                     ("id", "name", "kind", "valid_from", "valid_to", "successor")}
        d["valid_from"], d["valid_to"] = _day(d.get("valid_from")), _day(d.get("valid_to"))
        out.append(d)
    return out


def _filter_ids(units: list[dict], unit_filter: str) -> list[str]:
    """The unit and every unit that became it (mergers and renames), so its history adds up."""
    ids = {u["id"] for u in units}
    if unit_filter not in ids:
        raise UsageError(f"unknown unit {unit_filter!r}; expected one of: {', '.join(sorted(ids)) or '(none configured)'}")
    chosen = {unit_filter}
    grew = True
    while grew:
        grew = False
        for u in units:
            if u.get("successor") in chosen and u["id"] not in chosen:
                chosen.add(u["id"])
                grew = True
    return [u["id"] for u in units if u["id"] in chosen]


def _status(u: dict, period: Period) -> str:
    vf, vt = u.get("valid_from"), u.get("valid_to")
    first, last = period.first_day, period.last_day
    if (vf and vf > last) or (vt and vt < first):
        return "inactive"
    began, ended = bool(vf and vf > first), bool(vt and vt < last)
    if began and ended:
        return "partial"
    if began:
        return "started"
    if ended:
        return "ended"
    return "later" if vt else "active"


def _targets_for(u: dict, targets: Mapping, period: Period) -> dict[str, int]:
    """Per-quarter minimums (unit id overrides unit kind) scaled to the period and to the months of it
    the unit existed: ceil(per_quarter x months / 3)."""
    per_quarter = dict(targets.get(u.get("kind"), {}) or {})
    per_quarter.update(targets.get(u["id"], {}) or {})
    if not per_quarter:
        return {}
    vf, vt = u.get("valid_from"), u.get("valid_to")
    months = sum(1 for m in period.months()
                 if not ((vf and vf > m.last_day) or (vt and vt < m.first_day)))
    return {ch: math.ceil(int(n) * months / 3) for ch, n in per_quarter.items() if int(n) > 0 and months}


def build_report(ledger, period: Period, *, units: list, unit_filter: str | None = None,
                 targets: Mapping | None = None, activities: Iterable = (), org: Mapping | None = None,
                 as_of: datetime | None = None, tz: ZoneInfo | None = None, now: datetime | None = None,
                 labels: Mapping | None = None, items_limit: int = ITEMS_LIMIT,
                 narrative: Mapping[str, str] | None = None) -> Report:
    """Aggregate the ledger for ``period`` into a :class:`Report`.

    ``units``: dicts (or config ``Unit`` values) with id, name, kind, valid_from, valid_to, successor;
    ``unit_filter``: a unit id, the report then covers it and the units merged into it. ``targets``:
    ``{unit kind or id: {channel: minimum per quarter}}``; ``activities``: ``pipeline.models.Activity``;
    ``org``: :func:`pipeline.report.issuer`; ``labels``: ``{"channels"|"types"|"topics": {key: label}}``;
    ``narrative``: :func:`pipeline.report.narrative.read_narrative`. Keep the ledger open while writing.
    """
    tz = tz or period.tz
    if as_of is not None and as_of.tzinfo is None:
        raise UsageError("as_of must be a timezone-aware time")
    now = (now or datetime.now(tz)).astimezone(tz)
    unit_list = _unit_dicts(units)
    names = {u["id"]: u.get("name") or u["id"] for u in unit_list}
    chosen = _filter_ids(unit_list, unit_filter) if unit_filter else None
    prev, year_ago = period.previous(), period.same_period_last_year()
    f = _figures(ledger, period, as_of, chosen)
    # (a year's previous period is the same period last year: both columns then hold the same figures)
    prev_unit, prev_channel, year_unit, year_channel = _comparisons(ledger, prev, year_ago, as_of, chosen)
    for unit, n in _failed_open(ledger, period, as_of, chosen).items():
        f.changes[unit][2] += n
    changes = {u: v for u, v in f.changes.items() if any(v)}
    total = sum(f.by_channel.values())
    rows = _unit_rows(unit_list, chosen, period, names, f.unit_channel, targets or {}, prev_unit, year_unit, changes,
                      with_figures=set(f.by_unit) | set(prev_unit) | set(year_unit) | set(changes))
    seen = set(f.by_channel) | set(prev_channel) | set(year_channel)
    for r in rows:
        seen |= set(r.targets)
    channel_order = list((labels or {}).get("channels", {}))
    channels = tuple([c for c in channel_order if c in seen] + sorted(seen - set(channel_order)))
    month_labels = [m.month_label_vi for m in period.months()]
    preview, capped = _items_preview(ledger, period, as_of, chosen, names, tz, items_limit) if total else ([], False)
    if not total:
        log.info("Report %s: nothing was published in the period", period.key)
    return Report(
        period=period, generated_at=now, as_of=as_of, org=frozen_map(org), unit_filter=unit_filter,
        channels=channels,
        totals=Totals(items=total, posts=_distinct_posts(ledger, period, as_of, chosen) if total else 0,
                      by_channel=frozen_map(_sorted(f.by_channel)),
                      by_unit=frozen_map(_sorted(f.by_unit)), by_type=frozen_map(_sorted(f.by_type)),
                      by_topic=frozen_map(_sorted(f.topics)),
                      retracted=sum(v[0] for v in changes.values()),
                      corrected=sum(v[1] for v in changes.values()),
                      failed_open=sum(v[2] for v in changes.values())),
        per_month=tuple((month_labels[i], f.per_month.get(i, 0)) for i in range(len(month_labels))),
        units=tuple(rows),
        previous=Comparison(prev, sum(prev_unit.values()), frozen_map(_sorted(prev_channel)),
                            frozen_map(_sorted(prev_unit))),
        year_ago=Comparison(year_ago, sum(year_unit.values()), frozen_map(_sorted(year_channel)),
                            frozen_map(_sorted(year_unit))),
        activities=tuple(_activities(activities, period, as_of, chosen, names)), items=tuple(preview),
        items_capped=capped, labels=_labels(labels),
        item_source=_item_stream(ledger, period, as_of, chosen, names, tz),
        succession=succession_notes(unit_list, period, names, chosen), narrative=frozen_map(narrative),
    )


def _labels(labels: Mapping | None) -> Mapping:
    """The config's labels, with every activity kind's own label where the config gives none."""
    out = {k: dict(v) for k, v in (labels or {}).items()}
    out.setdefault("activities", {}).update({k: v for k, v in KINDS.items() if k not in out["activities"]})
    return frozen_map({k: frozen_map(v) for k, v in out.items()})


class _Figures:
    """The period's counts, by channel, unit, type, month bucket, (unit, channel) and topic, and
    per unit [retracted, corrected, failed and still open]."""

    def __init__(self) -> None:
        self.by_channel, self.by_unit, self.by_type = defaultdict(int), defaultdict(int), defaultdict(int)
        self.per_month, self.unit_channel, self.topics = defaultdict(int), defaultdict(int), defaultdict(int)
        self.changes: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])


def _figures(ledger, period: Period, as_of: datetime | None, chosen) -> _Figures:
    f = _Figures()
    for typ, channel, unit, topic_list, n in _scan(ledger, period, as_of, chosen):
        n = int(n)
        f.by_channel[channel] += n
        f.by_unit[unit] += n
        f.by_type[typ] += n
        f.unit_channel[(unit, channel)] += n
        for topic in _topics_of(topic_list):
            f.topics[topic] += n
    if f.by_channel:
        f.per_month.update(enumerate(_months(ledger, period, as_of, chosen)))
    for unit, retracted, corrected in _changes(ledger, period, as_of, chosen):
        f.changes[unit][0] += int(retracted or 0)
        f.changes[unit][1] += int(corrected or 0)
    return f


def _unit_rows(unit_list, chosen, period: Period, names, unit_channel, targets, prev_unit, year_unit, changes, *,
               with_figures: set) -> list[UnitRow]:
    """Which units to show: those in force during the period, plus any with figures in it or in
    the periods compared with (old wards after a merger), so every column adds up to its total."""
    rows: list[UnitRow] = []
    listed = set()
    for u in unit_list:
        if chosen is not None and u["id"] not in chosen:
            continue
        status = _status(u, period)
        if status == "inactive" and u["id"] not in with_figures:
            continue
        listed.add(u["id"])
        rows.append(_unit_row(u, status, names, unit_channel, targets, period, prev_unit, year_unit, changes))
    for uid in sorted(with_figures - listed, key=str):
        u = {"id": uid, "name": uid or "(không ghi đơn vị)", "kind": "", "valid_from": None, "valid_to": None,
             "successor": None}
        rows.append(_unit_row(u, "unknown", names, unit_channel, targets, period, prev_unit, year_unit, changes))
        log.warning("Report %s: unit %r is in the ledger but not in the config; listed as is", period.key, uid)
    return rows


def _sorted(d: Mapping[str, int]) -> dict[str, int]:
    """Largest first, then by key, so every format lists them in the same order."""
    return dict(sorted(d.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def _unit_row(u, status, names, unit_channel, targets, period, prev_unit, year_unit, changes) -> UnitRow:
    uid = u["id"]
    by_ch = {ch: n for (unit, ch), n in unit_channel.items() if unit == uid}
    tg = _targets_for(u, targets, period) if status not in ("inactive", "unknown") else {}
    shares = {ch: by_ch.get(ch, 0) * 100.0 / t for ch, t in tg.items()}
    behind = tuple(sorted(ch for ch, t in tg.items() if by_ch.get(ch, 0) < t))
    r, c, f = changes.get(uid, (0, 0, 0))
    succ = u.get("successor")
    return UnitRow(id=uid, name=u.get("name") or uid, kind=u.get("kind") or "", status=status,
                   valid_from=u.get("valid_from"), valid_to=u.get("valid_to"), successor=succ,
                   successor_name=names.get(succ) if succ else None, items=sum(by_ch.values()),
                   by_channel=frozen_map(by_ch), targets=frozen_map(tg), shares=frozen_map(shares),
                   behind=behind, previous=prev_unit.get(uid, 0), year_ago=year_unit.get(uid, 0),
                   retracted=r, corrected=c, failed_open=f)


def _near(day: date, period: Period) -> bool:
    """Whether a unit change on ``day`` (its first day under the new shape) is within the period, the
    previous one (whose figures the report compares with) or the month after it (a report written
    just before a merger that takes effect)."""
    prev = period.previous()
    return prev.first_day <= day <= period.last_day + timedelta(days=31)


def succession_notes(units: list[dict], period: Period, names: Mapping[str, str], chosen=None) -> tuple[str, ...]:
    """The unit changes (mergers, renames, units that ceased or began) near the period, each said once:
    the wards that merged into one new ward in one sentence, not one note per ward."""
    merged: dict[tuple[str, date], list[str]] = defaultdict(list)
    ended: dict[date, list[str]] = defaultdict(list)
    started: dict[date, list[str]] = defaultdict(list)
    has_predecessor = {u.get("successor") for u in units if u.get("successor")}
    for u in units:
        if chosen is not None and u["id"] not in chosen:
            continue
        vt, vf = u.get("valid_to"), u.get("valid_from")
        if vt and _near(vt + timedelta(days=1), period):
            day = vt + timedelta(days=1)
            (merged[(u["successor"], day)] if u.get("successor") else ended[day]).append(names.get(u["id"], u["id"]))
        if vf and _near(vf, period) and u["id"] not in has_predecessor:
            started[vf].append(names.get(u["id"], u["id"]))
    notes = []
    for (succ, day), olds in sorted(merged.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        verb = "hợp nhất thành" if len(olds) > 1 else "chuyển thành"
        notes.append(f"Từ ngày {date_short_vi(day)}, {', '.join(olds)} {verb} {names.get(succ, succ)}.")
    for day, olds in sorted(ended.items()):
        notes.append(f"{', '.join(olds)} kết thúc hoạt động từ ngày {date_short_vi(day)}.")
    for day, news in sorted(started.items()):
        notes.append(f"{', '.join(news)} bắt đầu hoạt động từ ngày {date_short_vi(day)}.")
    if notes:
        notes.append("Số liệu của mỗi đơn vị được tính trong thời gian đơn vị hoạt động.")
    return tuple(notes)


def _activities(activities, period: Period, as_of, chosen, names) -> list[ActivityRow]:
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for a in activities:
        if not period.contains(a.date) or (as_of is not None and a.date > as_of):
            continue
        if chosen is not None and a.unit not in chosen:
            continue
        sums[(a.unit, a.kind)][0] += a.count
        sums[(a.unit, a.kind)][1] += 1
    kinds = list(KINDS)
    order = sorted(sums, key=lambda k: (k[0], kinds.index(k[1]) if k[1] in KINDS else 99, k[1]))
    return [ActivityRow(unit=u, unit_name=names.get(u, u), kind=k, label=KINDS.get(k, k),
                        count=sums[(u, k)][0], entries=sums[(u, k)][1]) for u, k in order]


__all__ = ["build_report", "ITEMS_LIMIT"]
