"""Feed dates as Vietnamese government feeds actually write them.

feedparser returns nothing for ``Thứ 5, 28/05/2026 17:00:00 GMT+7`` and ``email.utils`` reads
``GMT+7`` as UTC (a silent seven-hour error), so dates are parsed here first and feedparser's
``*_parsed`` values are only a fallback for shapes this module does not know.

Forms understood (weekday names in any language are ignored):

- ISO 8601 / RFC 3339, with or without offset (``2026-05-28T17:00:00+07:00``, ``2026-05-28 17:00``);
- RFC 822 with any zone spelling: ``GMT``, ``UTC``, ``Z``, ``+0700``, ``+07:00``, ``GMT+7``,
  ``UTC+07:00``, ``ICT`` and the US zones ``email.utils`` knows;
- day-first numeric dates, the Vietnamese order: ``28/05/2026 17:00``, ``28-05-2026``,
  ``17:00 28/05/2026``, ``28 tháng 5 năm 2026``.

A date without a zone is in the feed's configured zone (``default_tz``); a date without a time is
midnight there. Results are always timezone-aware.
"""

from __future__ import annotations

import calendar
import re
import time
import unicodedata
from datetime import datetime, timedelta, timezone, tzinfo

__all__ = ["parse_date", "from_struct"]

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_name) if m})
_MONTHS["sept"] = 9

# Named zones. ICT (Indochina Time) is what some Vietnamese CMSs print for UTC+7.
_NAMED = {"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "ICT": 420,
          "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360,
          "PST": -480, "PDT": -420, "CET": 60, "CEST": 120, "JST": 540, "KST": 540, "SGT": 480,
          "HKT": 480, "WIB": 420}

_TIME = r"(?P<H>\d{1,2})[:hg](?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?|SA|CH))?"
_ZONE = (r"(?P<zone>(?:GMT|UTC|UT)?\s*(?P<sign>[+-])\s*(?P<zh>\d{1,2})(?::?(?P<zm>\d{2}))?"
         r"|(?P<zname>[A-Z]{2,4}|Z)\b)")
_DMY_NUM = r"(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4}|\d{2})"
_DMY_NAME = r"(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]{3,9})\.?,?\s+(?P<y>\d{4}|\d{2})"
_MDY_NAME = r"(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})"
_DMY_VI = r"(?P<d>\d{1,2})\s+[Tt]h[aá]ng\s+(?P<m>\d{1,2})(?:\s+n[aă]m|,|\s)\s*(?P<y>\d{4})"
_YMD = r"(?P<y>\d{4})[/.-](?P<m>\d{1,2})[/.-](?P<d>\d{1,2})"

# Date then optional time then optional zone (RFC 822 and Vietnamese CMS order) ...
_DATE_FIRST = [re.compile(rf"(?<!\d){d}(?:[T,\s|-]+(?:l[uú]c\s*)?{_TIME})?(?:\s*\(?{_ZONE}\)?)?")
               for d in (_DMY_NUM, _DMY_NAME, _MDY_NAME, _DMY_VI, _YMD)]
# ... or time first: "17:00 28/05/2026", "17:00 | 28/05/2026 (GMT+7)".
_TIME_FIRST = re.compile(rf"{_TIME}(?:\s*{_ZONE})?[\s,|-]+(?:ng[aà]y\s+)?{_DMY_NUM}(?:\s*\(?{_ZONE.replace('?P<', '?P<t')}\)?)?")


def parse_date(text: str | None, default_tz: tzinfo) -> datetime | None:
    """Parse a feed date; ``None`` when the text holds no date this module recognises."""
    if not text:
        return None
    s = unicodedata.normalize("NFC", text).strip()
    if not s:
        return None
    iso = _parse_iso(s, default_tz)
    if iso is not None:
        return iso
    m = _TIME_FIRST.search(s)
    if m:
        g = {k: v for k, v in m.groupdict().items() if v is not None}
        for k in ("zone", "sign", "zh", "zm", "zname"):
            if "t" + k in g and k not in g:
                g[k] = g["t" + k]
        return _build(g, default_tz)
    for rx in _DATE_FIRST:
        m = rx.search(s)
        if m:
            return _build(m.groupdict(), default_tz)
    return None


def from_struct(st: time.struct_time | None) -> datetime | None:
    """feedparser's ``*_parsed`` (a UTC ``struct_time``) as an aware UTC datetime.

    ``calendar.timegm``, not ``time.mktime``: the latter would read it in the server's zone.
    """
    if not st:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(st), tz=timezone.utc)
    except (OverflowError, ValueError):
        return None


def _parse_iso(s: str, default_tz: tzinfo) -> datetime | None:
    if not re.match(r"\d{4}-\d{2}-\d{2}(?:$|[T ]\d)", s) and not re.match(r"\d{8}T\d{4}", s):
        return None
    candidate = s.replace(" ", "T", 1) if len(s) > 10 else s
    # Python 3.11 reads "+0700" and "Z" but not "GMT+7"; those go to the general parser.
    try:
        dt = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=default_tz)


def _build(g: dict, default_tz: tzinfo) -> datetime | None:
    try:
        year = int(g["y"])
        if year < 100:
            year += 2000 if year < 70 else 1900
        if g.get("mon"):
            month = _MONTHS.get(g["mon"].lower().rstrip("."))
            if month is None:
                return None
        else:
            month = int(g["m"])
        day = int(g["d"])
        hour = int(g.get("H") or 0)
        minute = int(g.get("M") or 0)
        second = int(g.get("S") or 0)
        ampm = (g.get("ampm") or "").replace(".", "").upper()
        if ampm in ("PM", "CH") and hour < 12:
            hour += 12
        elif ampm in ("AM", "SA") and hour == 12:
            hour = 0
        if second == 60:  # leap second: the minute is what matters
            second = 59
        tz = _zone(g, default_tz)
        if tz is None:
            return None
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except (TypeError, ValueError):
        return None


def _zone(g: dict, default_tz: tzinfo) -> tzinfo | None:
    if g.get("sign"):
        hours = int(g["zh"])
        minutes = int(g.get("zm") or 0)
        if hours > 14 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        return timezone(-offset if g["sign"] == "-" else offset)
    name = g.get("zname")
    if name:
        name = name.upper()
        if name not in _NAMED:
            # An unknown abbreviation cannot be read right; better no date than a wrong one.
            return None
        return timezone(timedelta(minutes=_NAMED[name]))
    return default_tz
