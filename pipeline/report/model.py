"""The report as a frozen value, plus the Vietnamese number and date formats every output uses.

:func:`pipeline.report.aggregate.build_report` produces a :class:`Report`; each format module turns it
into a file. Counts are plain ints; shares are floats in percent (``None`` when there is nothing to
compare with). ``Report.iter_items()`` streams every item from the ledger (the ledger must still be open);
``Report.items`` is only the first ``items_limit`` of them, for the formats people read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping

from pipeline.report.periods import Period

EMPTY: Mapping[str, Any] = MappingProxyType({})


def frozen_map(d: Mapping | None) -> Mapping:
    return MappingProxyType(dict(d or {}))


def format_number_vi(value: int | float | None, decimals: int = 0, *, percent: bool = False) -> str:
    """Vietnamese number format: thousands dot, decimal comma (``1.234``, ``98,5%``).

    Trailing zero decimals are dropped (``100%`` not ``100,0%``); ``None`` prints as ``-``.
    """
    if value is None:
        return "-"
    if decimals == 0 and not percent:
        text = f"{round(value):,}".replace(",", ".")
    else:
        d = 1 if percent and decimals == 0 else decimals
        raw = f"{value:,.{d}f}"
        whole, _, frac = raw.partition(".")
        frac = frac.rstrip("0")
        text = whole.replace(",", ".") + ("," + frac if frac else "")
    return text + ("%" if percent else "")


def format_change_vi(current: int, before: int) -> str:
    """``tăng 12,5%`` / ``giảm 3%`` / ``bằng`` / ``-`` (nothing to compare with)."""
    pct = change_pct(current, before)
    if pct is None:
        return "-"
    if pct == 0:
        return "bằng"
    return f"{'tăng' if pct > 0 else 'giảm'} {format_number_vi(abs(pct), percent=True)}"


def change_pct(current: int, before: int) -> float | None:
    if not before:
        return None
    return (current - before) * 100.0 / before


def date_header_vi(day: date) -> str:
    """Decree 30 header date: ``ngày 05 tháng 01 năm 2024`` (leading zero for days < 10 and months 1-2)."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def date_short_vi(day: date | datetime | None) -> str:
    """Prose date ``15/3/2024`` (no leading zeros)."""
    if day is None:
        return ""
    return f"{day.day}/{day.month}/{day.year}"


@dataclass(frozen=True)
class Totals:
    """Counts of published (post, channel) pairs; every ``by_*`` maps a key to a count."""

    items: int
    posts: int
    by_channel: Mapping[str, int]
    by_unit: Mapping[str, int]
    by_type: Mapping[str, int]
    by_topic: Mapping[str, int]
    retracted: int
    corrected: int
    failed_open: int


@dataclass(frozen=True)
class Comparison:
    """The same counts for another period (kỳ trước, cùng kỳ năm trước)."""

    period: Period
    items: int
    by_channel: Mapping[str, int]
    by_unit: Mapping[str, int]


@dataclass(frozen=True)
class UnitRow:
    """One unit as it was during the period. ``status``: ``active`` (whole period), ``ended`` (ceased
    inside it), ``started`` (began inside it), ``partial`` (both), ``later`` (ceased after it),
    ``inactive`` (not in force, listed for its comparison figures), ``unknown`` (not in the config)."""

    id: str
    name: str
    kind: str
    status: str
    valid_from: date | None
    valid_to: date | None
    successor: str | None
    successor_name: str | None
    items: int
    by_channel: Mapping[str, int]
    targets: Mapping[str, int]
    shares: Mapping[str, float]
    behind: tuple[str, ...]
    previous: int
    year_ago: int
    retracted: int
    corrected: int
    failed_open: int

    @property
    def note_vi(self) -> str:
        """Why the unit looks the way it does (merger, rename), for every format."""
        succ = self.successor_name or self.successor
        parts = []
        if self.valid_from and self.status in ("started", "partial"):
            parts.append(f"hoạt động từ {date_short_vi(self.valid_from)}")
        if self.valid_to and self.status in ("ended", "partial", "later", "inactive"):
            parts.append(f"hoạt động đến {date_short_vi(self.valid_to)}")
        if succ and self.valid_to:
            parts.append(f"chuyển thành/sáp nhập vào {succ}")
        if self.status == "unknown":
            parts.append("không có trong cấu hình")
        return "; ".join(parts)

    @property
    def short_note_vi(self) -> str:
        """The table's "Ghi chú" cell: only when the unit changed inside the period or is listed for
        its comparison figures; the merger itself is said once under the table (``Report.succession``)."""
        if self.status == "unknown":
            return "không có trong cấu hình"
        parts = []
        if self.valid_from and self.status in ("started", "partial"):
            parts.append(f"từ {date_short_vi(self.valid_from)}")
        if self.valid_to and self.status in ("ended", "partial", "inactive"):
            parts.append(f"đến {date_short_vi(self.valid_to)}")
        return "; ".join(parts)


@dataclass(frozen=True)
class ActivityRow:
    """Offline activities of one kind for one unit (pano, áp phích...): ``count`` summed, ``entries`` files."""

    unit: str
    unit_name: str
    kind: str
    label: str
    count: int
    entries: int


@dataclass(frozen=True)
class Item:
    """One post published in the period with the channels it reached (times in the site zone)."""

    date: datetime
    post_id: str
    unit: str
    unit_name: str
    title: str
    type: str
    channels: tuple[str, ...]
    links: Mapping[str, str]
    retracted_at: datetime | None
    corrected_at: datetime | None


@dataclass(frozen=True)
class Report:
    period: Period
    generated_at: datetime
    as_of: datetime | None
    org: Mapping[str, Any]
    unit_filter: str | None
    channels: tuple[str, ...]
    totals: Totals
    per_month: tuple[tuple[str, int], ...]
    units: tuple[UnitRow, ...]
    previous: Comparison
    year_ago: Comparison
    activities: tuple[ActivityRow, ...]
    items: tuple[Item, ...]
    items_capped: bool
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    item_source: Callable[[], Iterator[Item]] | None = field(default=None, compare=False, repr=False)
    #: unit changes near the period, each said once (:func:`pipeline.report.aggregate.succession_notes`)
    succession: tuple[str, ...] = ()
    #: the official's sections by key (``danh_gia``, ``ton_tai``...), from the period's Markdown file
    narrative: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: bulletins and broadcast minutes per loudspeaker station (:mod:`pipeline.report.grassroots`)
    grassroots: tuple = ()
    #: the annex of approvals and send-backs (:mod:`pipeline.report.audit`)
    audit: tuple = ()

    def iter_items(self) -> Iterator[Item]:
        """Every item of the period, streamed from the ledger (not capped)."""
        if self.item_source is None:
            return iter(self.items)
        return self.item_source()

    @property
    def behind(self) -> tuple[UnitRow, ...]:
        return tuple(u for u in self.units if u.behind)

    @property
    def empty(self) -> bool:
        return self.totals.items == 0 and not self.activities

    def label(self, group: str, key: str) -> str:
        """Display label for a channel / type / topic / activity kind, falling back to the key."""
        return self.labels.get(group, EMPTY).get(key, key)
