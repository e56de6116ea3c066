"""The ward loudspeaker's bulletins: which post goes into which station's slot (docs/loudspeaker.md).

Pure: no I/O, no clock. Before each broadcast slot (``lead`` before it) :func:`compose` picks, for
every station of a ``loudspeaker`` channel, the due posts for its ward(s) (the ward's own and the
city's), ordered by priority, each with its estimated reading time, and fills the slot's minutes;
what does not fit is left for the next slot. A post is in a station's bulletin at most ``times``
times over ``days`` days from its first broadcast (``repeat`` per post type), once per slot, and
it waits at most ``max_wait`` for its first. ``priority: emergency`` goes
out at once, outside the slots, once per station.

Each chosen (post, station, slot) is one broadcast *item*, a ledger row of its own: its id is
``<post id>@<station>@<YYYYMMDDTHHMM>`` (``@khan`` for the emergency broadcast), so the engine's
claim -> send -> record makes it exactly once, as for any channel. :func:`item_posts` turns the
items into posts with that id for :func:`pipeline.plan.plan`, the one state decision.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from pipeline.durations import parse_duration
from pipeline.messages import Detail
from pipeline.models import Post

TYPE = "loudspeaker"
SEP = "@"
EMERGENCY = "khan"
RANK = {"emergency": 0, "priority": 1, "normal": 2}
WARD_KINDS = ("ward", "commune")
DEFAULTS: Mapping[str, Any] = MappingProxyType({
    "slots": ("06:00", "17:30"), "minutes": 15, "lead": "30m", "wpm": 150, "reserve_seconds": 30,
    "repeat": {"guide": {"times": 3, "days": 3}}, "engine": "espeak-ng", "drop_dir": "var/loudspeaker",
    "hundred_zero": "linh", "emergency_within": "24h", "max_wait": "7d",
})
#: Seconds left in a bulletin below which it takes nothing more (a title and one sentence last longer)
CLOSED_BELOW = 10.0
#: Items tried that did not fit, after which a bulletin is full (shorter ones later in line may fit before)
MAX_MISSES = 3
_SLOT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_STATION_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class Station:
    id: str
    name: str
    wards: tuple[str, ...]
    slots: tuple[time, ...]
    minutes: float


@dataclass(frozen=True)
class Repeat:
    times: int
    days: int

    @property
    def gap(self) -> timedelta:
        """Least time between two broadcasts of one post on one station (an hour's tolerance)."""
        return max(timedelta(0), timedelta(days=self.days) / self.times - timedelta(hours=1))


@dataclass(frozen=True)
class Settings:
    """One loudspeaker channel's composition settings, from its options."""

    channel: str
    stations: tuple[Station, ...]
    repeat: Mapping[str, Repeat]
    lead: timedelta
    wpm: int
    reserve_seconds: float
    emergency_within: timedelta
    max_wait: timedelta  # a post not yet aired this long after publication is no longer composed

    def repeat_for(self, post_type: str) -> Repeat:
        return self.repeat.get(post_type) or Repeat(1, 1)


@dataclass(frozen=True)
class Item:
    """One broadcast: ``post`` in ``station``'s bulletin of ``slot`` (``None``: emergency, at once)."""

    post: Post
    station: str
    slot: datetime | None
    seconds: float
    priority: str

    @property
    def id(self) -> str:
        return item_id(self.post.id, self.station, self.slot)


def item_id(post_id: str, station: str, slot: datetime | None) -> str:
    return f"{post_id}{SEP}{station}{SEP}{slot.strftime('%Y%m%dT%H%M') if slot is not None else EMERGENCY}"


def parse_item_id(value: str) -> tuple[str, str, str] | None:
    """``(post id, station, slot key)`` of a broadcast item id; ``None`` for a post's own id."""
    parts = value.rsplit(SEP, 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def slot_of(key: str, tz) -> datetime | None:
    """The slot time of a slot key (``None`` for the emergency broadcast)."""
    if key == EMERGENCY:
        return None
    return datetime.strptime(key, "%Y%m%dT%H%M").replace(tzinfo=tz)


def priority_of(post: Post) -> str:
    return str(post.extra.get("priority") or "normal")


# -- settings and their validation ------------------------------------------------------------
def settings(name: str, options: Mapping[str, Any]) -> Settings:
    """The settings of channel ``name`` (options already validated by :func:`problems`)."""
    o = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    stations = []
    for sid, st in (o.get("stations") or {}).items():
        slots = tuple(sorted(_parse_slot(s) for s in st.get("slots", o["slots"])))
        stations.append(Station(sid, st.get("name") or sid, tuple(st.get("wards", ())), slots,
                                float(st.get("minutes", o["minutes"]))))
    repeat = {t: Repeat(int(r.get("times", 1)), int(r.get("days", 1))) for t, r in dict(o["repeat"]).items()}
    return Settings(name, tuple(stations), MappingProxyType(repeat), parse_duration(o["lead"]), int(o["wpm"]),
                    float(o["reserve_seconds"]), parse_duration(o["emergency_within"]), parse_duration(o["max_wait"]))


def _parse_slot(text: str) -> time:
    m = _SLOT.match(text)
    return time(int(m.group(1)), int(m.group(2)))


def problems(name: str, options: Mapping[str, Any], units: Mapping[str, Any], types: Iterable[str]) -> list[tuple[str, Detail]]:
    """Every error of a loudspeaker channel's options, each with its dotted key."""
    key = f"channels.{name}"
    out: list[tuple[str, Detail]] = []
    stations = options.get("stations")
    if not isinstance(stations, dict) or not stations:
        return [(f"{key}.stations", Detail("loudspeaker.no-stations"))]
    out += _slot_problems(f"{key}.slots", options.get("slots"))
    for sid, st in stations.items():
        sk = f"{key}.stations.{sid}"
        if not _STATION_ID.match(sid):
            out.append((sk, Detail("loudspeaker.bad-station-id", value=repr(sid))))
        if not isinstance(st, dict):
            out.append((sk, Detail("config.expected-table", value=repr(st))))
            continue
        for k in st:
            if k not in ("name", "wards", "slots", "minutes"):
                out.append((f"{sk}.{k}", Detail("loudspeaker.unknown-station-key", choices="name, wards, slots, minutes")))
        wards = st.get("wards")
        if not isinstance(wards, list) or not wards:
            out.append((f"{sk}.wards", Detail("loudspeaker.no-wards")))
        else:
            for w in wards:
                u = units.get(w) if isinstance(w, str) else None
                if u is None:
                    known = ", ".join(sorted(uid for uid, x in units.items() if x.kind in WARD_KINDS)) or "-"
                    out.append((f"{sk}.wards", Detail("loudspeaker.unknown-ward", value=repr(w), choices=known)))
                elif u.kind not in WARD_KINDS:
                    out.append((f"{sk}.wards", Detail("loudspeaker.not-a-ward", value=repr(w), kind=u.kind)))
        out += _slot_problems(f"{sk}.slots", st.get("slots"))
        out += _minutes_problem(f"{sk}.minutes", st.get("minutes"))
    out += _minutes_problem(f"{key}.minutes", options.get("minutes"))
    out += _speech_problems(f"{key}.speech", options.get("speech"))
    drop = options.get("drop_dir")
    if isinstance(drop, str) and (drop.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", drop) or ":" in drop):
        out.append((f"{key}.drop_dir", Detail("loudspeaker.drop-outside", value=repr(drop))))
    for k, low, high in (("wpm", 60, 400), ("reserve_seconds", 0, 600)):
        v = options.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not low <= v <= high):
            out.append((f"{key}.{k}", Detail("config.out-of-range", value=repr(v), range_en=f"from {low} to {high}",
                                             range_vi=f"từ {low} đến {high}")))
    out += _repeat_problems(f"{key}.repeat", options.get("repeat"), set(types))
    out += _glossary_problems(f"{key}.glossary", options.get("glossary"))
    for k in ("lead", "emergency_within", "max_wait"):
        v = options.get(k)
        if v is not None:
            try:
                parse_duration(v)
            except (ValueError, TypeError):
                out.append((f"{key}.{k}", Detail("config.bad-duration", value=repr(v))))
    return out


def _glossary_problems(key: str, glossary: Any) -> list:
    """Words, not numbers or tables, and no word that holds its own abbreviation ("KP" = "khu phố
    KP" would be expanded again by each pass: docs/loudspeaker.md, "The glossary")."""
    if not isinstance(glossary, dict):
        return []  # the option's type is checked with every option's
    out = []
    for abbr, words in glossary.items():
        if not abbr.strip() or not isinstance(words, str) or not words.strip():
            out.append((f"{key}.{abbr}", Detail("loudspeaker.bad-glossary", value=repr(words))))
        elif re.search(rf"(?<!\w){re.escape(abbr)}(?!\w)", words):
            out.append((f"{key}.{abbr}", Detail("loudspeaker.glossary-loop", value=repr(words), abbr=abbr)))
    return out


def _slot_problems(key: str, slots: Any) -> list:
    if slots is None:
        return []
    if not isinstance(slots, list) or not slots:
        return [(key, Detail("loudspeaker.bad-slots", value=repr(slots)))]
    bad = [s for s in slots if not isinstance(s, str) or not _SLOT.match(s)]
    if bad:
        return [(key, Detail("loudspeaker.bad-slot", value=repr(bad[0])))]
    if len(set(slots)) != len(slots):
        return [(key, Detail("loudspeaker.duplicate-slot"))]
    return []


_VOICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+_-]{0,40}$")
SPEECH_KEYS = ("voice", "format", "speed", "poll_seconds", "poll_timeout")


def _speech_problems(key: str, table: Any) -> list:
    """The ``speech`` table: known keys only, a voice that is a name (never a path), wav or mp3."""
    if not isinstance(table, dict):
        return []  # absent, or the type check has reported it
    out = []
    for k, v in table.items():
        if k not in SPEECH_KEYS:
            out.append((f"{key}.{k}", Detail("loudspeaker.unknown-station-key", choices=", ".join(SPEECH_KEYS))))
        elif k == "voice" and not (isinstance(v, str) and _VOICE.match(v)):
            out.append((f"{key}.voice", Detail("loudspeaker.bad-voice", value=repr(v))))
        elif k == "format" and v not in ("wav", "mp3"):
            out.append((f"{key}.format", Detail("config.expected-one-of", choices="wav, mp3", value=repr(v),
                                                hint_en="", hint_vi="")))
        elif k == "speed" and (isinstance(v, bool) or v not in (-3, -2, -1, 0, 1, 2, 3)):
            out.append((f"{key}.speed", Detail("config.expected-one-of", choices="-3 .. 3", value=repr(v),
                                               hint_en="", hint_vi="")))
        elif k in ("poll_seconds", "poll_timeout") and (isinstance(v, bool) or not isinstance(v, (int, float))
                                                        or not 0 < v <= 3600):
            out.append((f"{key}.{k}", Detail("config.out-of-range", value=repr(v), range_en="above 0, at most 3600",
                                             range_vi="lớn hơn 0, tối đa 3600")))
    return out


def _minutes_problem(key: str, minutes: Any) -> list:
    if minutes is None:
        return []
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 1 <= minutes <= 240:
        return [(key, Detail("config.out-of-range", value=repr(minutes), range_en="from 1 to 240", range_vi="từ 1 đến 240"))]
    return []


def _repeat_problems(key: str, repeat: Any, types: set[str]) -> list:
    if repeat is None:
        return []
    if not isinstance(repeat, dict):
        return [(key, Detail("config.expected-table", value=repr(repeat)))]
    out = []
    for t, r in repeat.items():
        if t not in types:
            out.append((f"{key}.{t}", Detail("loudspeaker.unknown-type", value=repr(t), choices=", ".join(sorted(types)))))
        if not isinstance(r, dict) or set(r) - {"times", "days"}:
            out.append((f"{key}.{t}", Detail("loudspeaker.bad-repeat", value=repr(r))))
            continue
        for k in ("times", "days"):
            v = r.get(k, 1)
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 60:
                out.append((f"{key}.{t}.{k}", Detail("config.out-of-range", value=repr(v), range_en="from 1 to 60",
                                                     range_vi="từ 1 đến 60")))
    return out


# -- composition ------------------------------------------------------------------------------
def history(rows: Mapping[tuple[str, str], Any], channel: str, tz) -> dict[tuple[str, str], list[tuple[str, Any]]]:
    """The channel's broadcast rows by (post id, station): ``[(slot key, row)]``."""
    out: dict[tuple[str, str], list[tuple[str, Any]]] = {}
    for (pid, ch), row in rows.items():
        if ch != channel:
            continue
        parsed = parse_item_id(pid)
        if parsed is not None:
            out.setdefault((parsed[0], parsed[1]), []).append((parsed[2], row))
    return out


def current_slot(station: Station, now: datetime, lead: timedelta, tz) -> datetime | None:
    """The slot whose bulletin is being composed at ``now`` (``lead`` before it, until it starts)."""
    local = now.astimezone(tz)
    for day in (local.date(), local.date() + timedelta(days=1)):
        for t in station.slots:
            start = datetime.combine(day, t, tz)
            if start - lead <= now < start:
                return start
    return None


def _served(post: Post, units: Mapping[str, Any], by_ward: Mapping[str, list[str]], all_ids: list[str]) -> list[str]:
    unit = units.get(post.unit)
    if unit is not None and unit.kind in WARD_KINDS:
        return by_ward.get(post.unit, [])
    return all_ids  # the city's posts go to every station


# Composition is one pass over the posts, then one fill per station; splitting it would pass the
# same six values around for no clarity.
def compose(posts: Iterable[Post], s: Settings, units: Mapping[str, Any], hist: Mapping, now: datetime, tz,
            estimate: Callable[[Post], float]) -> list[Item]:
    """The broadcast items to decide at ``now``: each station's bulletin for the slot being
    composed (the items already in the ledger for it first, then new ones while the slot's minutes
    last) and the emergency broadcasts. ``hist``: :func:`history`. ``estimate(post)``: seconds."""
    slots = {st.id: current_slot(st, now, s.lead, tz) for st in s.stations}
    by_ward: dict[str, list[str]] = {}
    for st in s.stations:
        for w in st.wards:
            by_ward.setdefault(w, []).append(st.id)
    all_ids = [st.id for st in s.stations]
    longest = max((r.days for r in s.repeat.values()), default=1)
    window = max(timedelta(days=longest) + s.max_wait, s.emergency_within)
    fixed: dict[str, list[Item]] = {sid: [] for sid in all_ids}
    candidates: dict[str, list[Item]] = {sid: [] for sid in all_ids}
    emergencies: list[Item] = []
    for post in posts:
        if s.channel not in post.channels or post.publish_at is None:
            continue
        if post.publish_at > now or now - post.publish_at > window + s.lead:
            continue
        prio = priority_of(post)
        live = post.status == "ready" and not post.retracted and (post.expire_at is None or post.expire_at > now)
        rep = s.repeat_for(post.type)
        for sid in _served(post, units, by_ward, all_ids):
            past = hist.get((post.id, sid), ())
            if prio == "emergency" and (any(k == EMERGENCY for k, _ in past) or (
                    live and now - post.publish_at <= s.emergency_within)):
                emergencies.append(Item(post, sid, None, 0.0, prio))
            slot = slots[sid]
            if slot is None:
                continue
            key = slot.strftime("%Y%m%dT%H%M")
            if any(k == key for k, _ in past):
                fixed[sid].append(Item(post, sid, slot, estimate(post), prio))
                continue
            if not live:
                continue
            aired = [slot_of(k, tz) for k, row in past if k != EMERGENCY and _aired(row)]
            if len(aired) >= rep.times or any(abs(slot - t) < rep.gap for t in aired):
                continue
            if slot > (min(aired) + timedelta(days=rep.days) if aired else post.publish_at + s.max_wait):
                continue  # the repeat rule's days are over, or it waited too long for a first place
            candidates[sid].append(Item(post, sid, slot, 0.0, prio))
    out = list(emergencies)
    for st in s.stations:
        out.extend(_fill(st, fixed[st.id], candidates[st.id], s, estimate))
    return out


def _aired(row: Any) -> bool:
    """A broadcast that went out (or may have: a claim in flight, in doubt)."""
    return getattr(row, "first_published_at", None) is not None or getattr(row, "state", None) in ("claimed", "in_doubt")


def _fill(st: Station, fixed: list[Item], candidates: list[Item], s: Settings, estimate) -> list[Item]:
    """The slot's bulletin: what is already in it, then by priority and time while minutes last
    (an item that does not fit is passed over for a shorter one after it, until ``MAX_MISSES`` did
    not fit or less than ``CLOSED_BELOW`` seconds are left); an item longer than the whole slot goes
    alone into an otherwise empty bulletin."""
    capacity = st.minutes * 60 - s.reserve_seconds
    used = sum(i.seconds for i in fixed)
    chosen = list(fixed)
    misses = 0
    for item in sorted(candidates, key=lambda i: (RANK.get(i.priority, 2), i.post.publish_at, i.post.id)):
        if chosen and (capacity - used < CLOSED_BELOW or misses >= MAX_MISSES):
            break  # the bulletin is full: the rest wait for the next slot without being read now
        seconds = estimate(item.post)
        if used + seconds <= capacity or not chosen:
            chosen.append(dataclasses.replace(item, seconds=seconds))
            used += seconds
        else:
            misses += 1
    chosen.sort(key=lambda i: (RANK.get(i.priority, 2), i.post.publish_at, i.post.id))
    return chosen


def item_posts(items: Iterable[Item], s: Settings) -> list[Post]:
    """Each item as a post of its own for the plan: its id, due ``lead`` before its slot (at once
    for an emergency), decided on this channel only (``extra["composed_for"]``). Its channel list
    stays the post's, so the board's approval of the post (which binds the list) holds for it."""
    out = []
    for it in items:
        due = it.post.publish_at if it.slot is None else max(it.post.publish_at, it.slot - s.lead)
        extra = dict(it.post.extra)
        extra["loudspeaker"] = MappingProxyType({"station": it.station, "slot": it.slot, "seconds": it.seconds,
                                                 "priority": it.priority, "post_id": it.post.id,
                                                 "published": it.post.publish_at.isoformat()})
        extra["composed_for"] = s.channel
        out.append(dataclasses.replace(it.post, id=it.id, publish_at=due, expire_at=None, extra=MappingProxyType(extra)))
    return out
