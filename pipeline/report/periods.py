"""Reporting periods: keys such as ``2024-Q1`` -> aware [start, end) boundaries in the site zone.

Two modes:

* ``"decree09"`` (default): the cut-offs of Decree 09/2019/NĐ-CP Điều 12. Data run from the 15th of the
  month before the period to the 14th of its last month (Q1 2024 = 15/12/2023–14/3/2024, year 2024 =
  15/12/2023–14/12/2024, 9M = 15/12–14/9, month 2024-03 = 15/02–14/03). The 9-month period is not in
  the decree; provincial regimes add it with the same rule.
* ``"calendar"``: calendar months, quarters, halves and years.

Boundaries are whole days in the site zone: ``start`` is 00:00 of the first day (inclusive), ``end`` is
00:00 of the day after the last day (exclusive). A row belongs to the period when
``start <= first_published_at < end``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from pipeline.errors import UsageError
from pipeline.messages import Detail

SITE_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MODES = ("decree09", "calendar")
ACCEPTED = "YYYY-Q1…YYYY-Q4, YYYY-H1, YYYY-H2, YYYY-9M, YYYY or YYYY-MM (e.g. 2024-Q1, 2024-H1, 2024-9M, 2024, 2024-03)"
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}

# kind -> (first month, last month) for the index inside the year.
_KEY_RE = (
    (re.compile(r"^(\d{4})-[Qq]([1-4])$"), "quarter"),
    (re.compile(r"^(\d{4})-[Hh]([12])$"), "half"),
    (re.compile(r"^(\d{4})-9[Mm]$"), "9m"),
    (re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"), "month"),
    (re.compile(r"^(\d{4})$"), "year"),
)
# How many quarters a period is worth, for scaling per-quarter targets (month = 1/3, rounded up later).
QUARTERS = {"month": Fraction(1, 3), "quarter": Fraction(1), "half": Fraction(2), "9m": Fraction(3),
            "year": Fraction(4)}


@dataclass(frozen=True)
class Period:
    """One reporting period. ``months`` are the (first, last) calendar months it covers in its year."""

    key: str
    kind: str          # month | quarter | half | 9m | year
    year: int
    index: int         # month number, quarter 1-4, half 1-2, 0 for 9m and year
    mode: str
    tz: ZoneInfo
    start: datetime
    end: datetime

    @property
    def first_month(self) -> int:
        return _month_span(self.kind, self.index)[0]

    @property
    def last_month(self) -> int:
        return _month_span(self.kind, self.index)[1]

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        """The last day inside the period (the day before ``end``)."""
        return (self.end - timedelta(days=1)).date()

    @property
    def quarters(self) -> Fraction:
        """What the period is worth in quarters: month 1/3, quarter 1, half 2, 9 months 3, year 4."""
        return QUARTERS[self.kind]

    @property
    def label_vi(self) -> str:
        """Vietnamese name as used in report titles: ``quý I năm 2024``, ``tháng 3/2024``..."""
        if self.kind == "quarter":
            return f"quý {ROMAN[self.index]} năm {self.year}"
        if self.kind == "half":
            return f"6 tháng {'đầu' if self.index == 1 else 'cuối'} năm {self.year}"
        if self.kind == "9m":
            return f"9 tháng đầu năm {self.year}"
        if self.kind == "year":
            return f"năm {self.year}"
        return f"tháng {self.index}/{self.year}"

    @property
    def month_label_vi(self) -> str:
        """A month of a report's per-month table: ``Tháng 2 (15/01-14/02)`` under Decree 09, so items of
        15-31 January under "tháng 2" read as the rule, not an error; ``Tháng 2`` for calendar months.
        A span that crosses a year names it (``Tháng 1 (15/12/2023-14/01/2024)``)."""
        name = f"Tháng {self.index}" if self.kind == "month" else self.label_vi
        if self.mode != "decree09":
            return name
        a, b = self.first_day, self.last_day
        if a.year == b.year:
            return f"{name} ({a.day:02d}/{a.month:02d}-{b.day:02d}/{b.month:02d})"
        return f"{name} ({a.day:02d}/{a.month:02d}/{a.year}-{b.day:02d}/{b.month:02d}/{b.year})"

    @property
    def label_en(self) -> str:
        return {"quarter": f"Q{self.index} {self.year}", "half": f"H{self.index} {self.year}",
                "9m": f"9 months {self.year}", "year": str(self.year),
                "month": f"{self.year}-{self.index:02d}"}[self.kind]

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def previous(self) -> "Period":
        """The period just before: Q1 -> Q4 of last year, H2 -> H1, month -> month before, year -> year
        before. Nine months do not tile a year, so the 9M period before is last year's 9M."""
        y, i = self.year, self.index
        if self.kind == "quarter":
            y, i = (y - 1, 4) if i == 1 else (y, i - 1)
        elif self.kind == "half":
            y, i = (y - 1, 2) if i == 1 else (y, 1)
        elif self.kind == "month":
            y, i = (y - 1, 12) if i == 1 else (y, i - 1)
        else:
            y -= 1
        return make_period(self.kind, y, i, mode=self.mode, tz=self.tz)

    def same_period_last_year(self) -> "Period":
        """Cùng kỳ năm trước."""
        return make_period(self.kind, self.year - 1, self.index, mode=self.mode, tz=self.tz)

    def months(self) -> list["Period"]:
        """The month periods inside this one (same mode), for per-month charts."""
        first, last = _month_span(self.kind, self.index)
        return [make_period("month", self.year, m, mode=self.mode, tz=self.tz) for m in range(first, last + 1)]

    def days_prose(self) -> str:
        """``từ ngày 15/12/2023 đến ngày 14/3/2024`` (prose dates: no leading zeros)."""
        a, b = self.first_day, self.last_day
        return f"từ ngày {a.day}/{a.month}/{a.year} đến ngày {b.day}/{b.month}/{b.year}"


def _month_span(kind: str, index: int) -> tuple[int, int]:
    if kind == "quarter":
        return 3 * index - 2, 3 * index
    if kind == "half":
        return (1, 6) if index == 1 else (7, 12)
    if kind == "9m":
        return 1, 9
    if kind == "year":
        return 1, 12
    return index, index


def _midnight(d: date, tz: ZoneInfo) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=tz)


def make_period(kind: str, year: int, index: int = 0, *, mode: str = "decree09",
                tz: ZoneInfo = SITE_ZONE) -> Period:
    """Build a period from its parts; :func:`parse_period` is the usual entry point."""
    if mode not in MODES:
        raise UsageError(f"unknown period mode {mode!r}; expected one of: {', '.join(MODES)}")
    first, last = _month_span(kind, index)
    if mode == "decree09":
        # 15th of the month before the first month .. 14th of the last month (end = 15th, exclusive).
        sy, sm = (year - 1, 12) if first == 1 else (year, first - 1)
        start_day, end_day = date(sy, sm, 15), date(year, last, 15)
    else:
        ey, em = (year + 1, 1) if last == 12 else (year, last + 1)
        start_day, end_day = date(year, first, 1), date(ey, em, 1)
    key = {"quarter": f"{year}-Q{index}", "half": f"{year}-H{index}", "9m": f"{year}-9M",
           "year": f"{year}", "month": f"{year}-{index:02d}"}[kind]
    return Period(key=key, kind=kind, year=year, index=index, mode=mode, tz=tz,
                  start=_midnight(start_day, tz), end=_midnight(end_day, tz))


def parse_period(key: str, *, mode: str = "decree09", tz: ZoneInfo = SITE_ZONE) -> Period:
    """``"2024-Q1"`` -> :class:`Period`. Raises :class:`~pipeline.errors.UsageError` naming the accepted
    forms when the key is not one of them."""
    text = (key or "").strip()
    for regex, kind in _KEY_RE:
        m = regex.match(text)
        if m:
            year = int(m.group(1))
            if not 1900 <= year <= 9998:
                break
            index = int(m.group(2)) if kind in ("quarter", "half", "month") else 0
            return make_period(kind, year, index, mode=mode, tz=tz)
    raise UsageError(Detail("report.unknown-period", value=repr(key)))


def period_ending_before(moment: datetime, kind: str = "quarter", *, mode: str = "decree09",
                         tz: ZoneInfo = SITE_ZONE) -> Period:
    """The last period of ``kind`` whose end is at or before ``moment``: what the daemon reports on the
    morning after a cut-off."""
    local = moment.astimezone(tz)
    year = local.year + 1
    candidates = {"quarter": [4, 3, 2, 1], "half": [2, 1], "month": list(range(12, 0, -1)),
                  "9m": [0], "year": [0]}[kind]
    while year > local.year - 3:
        for i in candidates:
            p = make_period(kind, year, i, mode=mode, tz=tz)
            if p.end <= moment:
                return p
        year -= 1
    raise UsageError(f"no {kind} period ends before {moment.isoformat()}")
