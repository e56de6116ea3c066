"""Vietnamese date formats, as Jinja2 filters and plain functions.

- ``ngay``: ``ngày 05 tháng 01 năm 2024`` — the administrative form of Decree 30/2020: a leading
  zero for days below 10 and for months 1 and 2 (``ngày 12 tháng 3 năm 2024``).
- ``dmy``: ``25/3/2024`` — the form used in prose.
- ``thu``: weekday name, ``thứ Hai`` … ``Chủ nhật``.
- ``gio``: ``08:00``.
Every filter first converts the time to the site zone.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from zoneinfo import ZoneInfo

WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


def _local(value, tz: ZoneInfo | None):
    if isinstance(value, datetime) and value.tzinfo and tz:
        return value.astimezone(tz)
    return value


def ngay(value: date, tz: ZoneInfo | None = None) -> str:
    d = _local(value, tz)
    day = f"{d.day:02d}" if d.day < 10 else str(d.day)
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    return f"ngày {day} tháng {month} năm {d.year}"


def dmy(value: date, tz: ZoneInfo | None = None) -> str:
    d = _local(value, tz)
    return f"{d.day}/{d.month}/{d.year}"


def thu(value: date, tz: ZoneInfo | None = None) -> str:
    return WEEKDAYS[_local(value, tz).weekday()]


def gio(value: datetime, tz: ZoneInfo | None = None) -> str:
    d = _local(value, tz)
    return f"{d.hour:02d}:{d.minute:02d}"  # what %H:%M gives, without strftime


def install_filters(env, tz: ZoneInfo) -> None:
    # a post's time goes through several filters in several templates: each result is kept
    local = functools.lru_cache(maxsize=2048)(lambda v: _local(v, tz))
    env.filters["ngay"] = functools.lru_cache(maxsize=2048)(lambda v: ngay(local(v)))
    env.filters["dmy"] = functools.lru_cache(maxsize=2048)(lambda v: dmy(local(v)))
    env.filters["thu"] = functools.lru_cache(maxsize=2048)(lambda v: thu(local(v)))
    env.filters["gio"] = functools.lru_cache(maxsize=2048)(lambda v: gio(local(v)))
    env.filters["iso"] = functools.lru_cache(maxsize=2048)(lambda v: local(v).isoformat())
