"""The report's section "Trên hệ thống thông tin cơ sở": bulletins and broadcast minutes per
loudspeaker station in the period, from the ledger's broadcast items (docs/loudspeaker.md).

A broadcast item's row is ``<post>@<station>@<slot>`` on a ``loudspeaker`` channel; it counts in
the period of its first publication, like every item. A *bulletin* is one (station, slot) with at
least one item (each emergency broadcast is a bulletin of its own); its minutes are the measured
audio durations (the estimate where there was no audio), without the opening and closing formulas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from pipeline.bulletin import EMERGENCY, TYPE, parse_item_id
from pipeline.report.aggregate import _rows, _ts


@dataclass(frozen=True)
class StationRow:
    station: str
    name: str
    bulletins: int
    broadcasts: int
    emergencies: int
    minutes: float


def grassroots(ledger, period, *, as_of: datetime | None = None, names: Mapping[str, str] | None = None,
               stations: set[str] | None = None) -> tuple[StationRow, ...]:
    """One row per station with a broadcast in ``period`` (``stations``: only these)."""
    end = min(period.end, as_of) if as_of is not None else period.end
    sql = ("SELECT post_id, unit, extra FROM publications WHERE channel_type = ? AND first_published_at >= ? "
           "AND first_published_at < ? AND retracted_at IS NULL")
    per: dict[str, dict] = {}
    for post_id, _unit, extra in _rows(ledger, sql, [TYPE, _ts(ledger, period.start), _ts(ledger, end)]):
        parsed = parse_item_id(post_id)
        if parsed is None or (stations is not None and parsed[1] not in stations):
            continue
        _post, station, slot = parsed
        data = extra if isinstance(extra, dict) else json.loads(extra or "{}")
        s = per.setdefault(station, {"slots": set(), "n": 0, "e": 0, "seconds": 0.0})
        s["slots"].add(slot if slot != EMERGENCY else f"{slot}:{post_id}")
        s["n"] += 1
        s["e"] += slot == EMERGENCY
        s["seconds"] += float(data.get("seconds") or 0)
    names = names or {}
    return tuple(StationRow(st, names.get(st, st), len(v["slots"]), v["n"], v["e"], round(v["seconds"] / 60, 1))
                 for st, v in sorted(per.items()))


def stations_of(cfg, unit: str | None = None) -> dict[str, str]:
    """Station id -> its name, from every loudspeaker channel of the config; with ``unit``, only
    the stations serving that ward."""
    out = {}
    for ch in cfg.channels.values():
        if ch.type == TYPE:
            for sid, st in dict(ch.options.get("stations") or {}).items():
                if unit is None or unit in ((st or {}).get("wards") or ()):
                    out[sid] = (st or {}).get("name") or sid
    return out
