"""Read ``config.toml`` (tomllib), validate it against the declared schema in :mod:`pipeline.schema`,
collect every error with its dotted key, and return a frozen :class:`Config`.

Nothing falls back silently: a wrong value is an error that names the key, what was expected and
what was received; an unknown key is a warning with a "did you mean" suggestion.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline import paths, secrets
from pipeline import server as _server
from pipeline.durations import parse_duration
from pipeline.errors import ConfigError
from pipeline.messages import Detail
from pipeline.schema import (
    CHANNEL_COMMON,
    SCHEMA,
    SECRET_WORDS,
    Key,
    Section,
)

CONFIG_NAME = paths.CONFIG_NAME
SHIPPED_TEMPLATES = Path(paths.SHIPPED_TEMPLATES)


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    kind: str
    valid_from: date | None
    valid_to: date | None
    successor: str | None
    parent: str | None = None                 # header of the unit's own report (--unit)
    name_lines: tuple[str, ...] = ()
    number_symbol: str | None = None

    def in_force(self, day: date) -> bool:
        return (self.valid_from is None or day >= self.valid_from) and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class Organization:
    """Who issues the reports from ``valid_from`` to ``valid_to`` (``None`` = open): its header lines,
    place, and, when it has its own, number symbol, signature block and recipients."""

    name_lines: tuple[str, ...]
    place: str
    valid_from: date | None = None
    valid_to: date | None = None
    number_symbol: str | None = None
    signer_lines: tuple[str, ...] | None = None
    signer_name: str | None = None
    recipients: tuple[str, ...] | None = None

    def in_force(self, day: date) -> bool:
        return (self.valid_from is None or day >= self.valid_from) and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class ContentType:
    id: str
    label: str
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Channel:
    """One ``[channels.<name>]`` table. ``options`` holds the publisher's own options."""

    name: str
    type: str
    enabled: bool
    options: Mapping[str, Any]
    max_lateness: timedelta | None
    min_interval: timedelta
    max_per_day: int | None
    on_change: str
    template: str | None
    label: str


@dataclass(frozen=True)
class Blackout:
    start: datetime
    end: datetime
    reason: str
    channels: tuple[str, ...]  # empty = all


@dataclass(frozen=True)
class DaemonSettings:
    """``[daemon]``, durations parsed once (the schema declares the defaults)."""

    tick: timedelta
    lease: timedelta
    max_attempts: int
    retry_base: timedelta
    git_pull: bool
    ingest_every: timedelta
    workers: int
    health_port: int | None = None  # /healthz and /metrics on 127.0.0.1 (pipeline/health.py)


@dataclass(frozen=True)
class ReportSettings:
    """``[report]``: periods, where and when ``loa run`` writes reports, the document's signature
    block, and the targets per unit kind or unit."""

    periods: str
    out_dir: Path
    formats: tuple[str, ...]
    number_symbol: str
    signer_lines: tuple[str, ...]
    signer_name: str
    recipients: tuple[str, ...]
    targets: Mapping[str, Any]
    send_hour: int
    narrative_dir: Path | None = None


@dataclass(frozen=True)
class Config:
    """The validated configuration. ``root`` is the content repository (the folder of config.toml)."""

    root: Path
    path: Path | None
    site_name: str
    base_url: str
    tz: ZoneInfo
    language: str
    org_lines: tuple[str, ...]
    org_place: str
    units: Mapping[str, Unit]
    types: Mapping[str, ContentType]
    topics: Mapping[str, str]
    content_dir: Path
    max_file_bytes: int
    max_image_bytes: int
    board: tuple[str, ...]
    require_approval: tuple[str, ...]
    channels: Mapping[str, Channel]
    ledger_url: str | None
    blackouts: tuple[Blackout, ...]
    feeds: tuple[Mapping[str, Any], ...]
    report: ReportSettings
    tone_style: str | None
    proper_names: tuple[str, ...]
    daemon: DaemonSettings
    article_url: str
    preview_dir: Path
    warnings: tuple[tuple[str, str], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)
    #: hosts whose iframes article HTML may keep (``[site] iframe_hosts``), see :mod:`pipeline.htmlsafe`
    iframe_hosts: tuple[str, ...] = ()
    #: the server file (``LOA_SERVER_CONFIG``) the channels were approved against, see :mod:`pipeline.server`
    server: _server.ServerSettings | None = None
    #: the issuing organisation by date: ``[organization]`` itself, then its ``history`` entries
    organizations: tuple[Organization, ...] = ()

    def organization_at(self, day: date) -> Organization:
        """The organisation that issues a report dated ``day``: the last entry in force that day,
        else ``[organization]`` as written (an old config has no dates: always that one)."""
        for org in reversed(self.organizations):
            if org.in_force(day):
                return org
        return self.organizations[0] if self.organizations else Organization(self.org_lines, self.org_place)

    @property
    def templates_dirs(self) -> list[Path]:
        """Content repository's own templates first, then the ones shipped with Loa."""
        return [Path(d) for d in paths.templates_dirs(self.root)]


# ----------------------------------------------------------------------------------------
def find_config(start: Path | None = None, explicit: str | os.PathLike | None = None) -> Path | None:
    """The config file: ``--config PATH`` if given, else the nearest ``config.toml`` in ``start``
    (default: the current folder) or a folder above it (:func:`pipeline.paths.config_file`)."""
    found = paths.config_file(explicit, os.fspath(start) if start else None)
    return Path(found) if found else None


def load_config(path: str | os.PathLike | None = None, *, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file; ``ConfigError`` lists every error at once."""
    env = os.environ if env is None else env
    if path is None:
        raise ConfigError([("", Detail("config.no-file"))])
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([("", Detail("config.not-found", path=p))], str(p)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([("", Detail("config.not-utf8", reason=exc.reason, start=exc.start))], str(p)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([("", Detail("config.toml-syntax", detail=exc))], str(p)) from None
    return build_config(raw, p.parent.resolve(), p, env=env)


def build_config(raw: Mapping[str, Any], root: Path, path: Path | None = None, *,
                 env: Mapping[str, str] | None = None) -> Config:
    """Validate ``raw`` (a parsed config.toml) against the schema; every error at once."""
    v = _Validator()
    data = v.section(SCHEMA, raw, "")
    errors, warnings = v.errors, v.warnings

    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    try:
        tz = ZoneInfo(data["site"]["timezone"])
    except (ZoneInfoNotFoundError, ValueError, KeyError):
        errors.append(("site.timezone", Detail("config.bad-timezone", value=repr(data['site'].get('timezone')))))

    units = _units(data.get("units", []), errors)
    content = data["content"]
    topics = dict(content["topics"])
    channels = {name: _channel(name, ch, errors, warnings, env) for name, ch in data.get("channels", {}).items()}
    types = _types(content["types"], channels, errors)
    for c in data["editorial"]["require_approval"]:
        if c not in channels:
            errors.append(("editorial.require_approval", Detail("config.unknown-channel-of", value=repr(c), choices=", ".join(sorted(channels)))))
    blackouts = _blackouts(data.get("blackouts", []), tz, channels, errors)
    server = _server.load_server_settings(env or {}, errors, root)  # what the content repository cannot change
    for name, ch in channels.items():
        errors.extend(_server.check_channel(name, _publisher_class(ch.type), ch.options, env or {}, server))
        check = getattr(_publisher_class(ch.type), "config_problems", None)  # checks that need the units
        if check is not None and ch.enabled:
            errors.extend(check(name, ch.options, units, content["types"]))
    ledger_url = _server.ledger_url(env or {}, server, data["ledger"].get("url"), warnings)
    feeds = _feeds(data.get("feeds", []), units, topics, data["site"]["timezone"], errors)

    if errors:
        raise ConfigError(errors, str(path) if path else None, warnings)
    organizations = _organizations(data["organization"], errors)  # once every value has its type
    if errors:
        raise ConfigError(errors, str(path) if path else None, warnings)

    site, org, ed = data["site"], data["organization"], data["editorial"]
    return Config(
        root=root, path=path, site_name=site["name"], base_url=site["base_url"].rstrip("/"), tz=tz,
        language=site["language"], org_lines=tuple(org["name_lines"]), org_place=org["place"],
        units=MappingProxyType(units), types=MappingProxyType(types), topics=MappingProxyType(topics),
        content_dir=(root / content["dir"]), max_file_bytes=content["max_file_kb"] * 1024,
        max_image_bytes=content["max_image_kb"] * 1024, board=tuple(ed["board"]),
        require_approval=tuple(ed["require_approval"]), channels=MappingProxyType(channels),
        ledger_url=secrets.protect_url(ledger_url), server=server,
        blackouts=tuple(blackouts), feeds=tuple(feeds), report=_report(data["report"], root),
        tone_style=data["text"].get("tone_style"), proper_names=tuple(data["text"]["proper_names"]),
        daemon=_daemon(data["daemon"]), article_url=site["article_url"], preview_dir=root / data["preview"]["out_dir"],
        warnings=tuple(warnings), raw=raw, iframe_hosts=tuple(site["iframe_hosts"]),
        organizations=tuple(organizations),
    )


def _units(raw: list, errors: list) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for i, u in enumerate(raw):
        key = f"units[{i}]"
        if u["id"] in units:
            errors.append((f"{key}.id", Detail("config.duplicate-unit", value=repr(u['id']))))
        units[u["id"]] = Unit(u["id"], u["name"], u["kind"], u.get("valid_from"), u.get("valid_to"), u.get("successor"),
                              u.get("parent"), tuple(u.get("name_lines") or ()), u.get("number_symbol"))
        days = [u.get(k) for k in ("valid_from", "valid_to")]
        if all(isinstance(d, date) and not isinstance(d, datetime) for d in days) and days[1] < days[0]:
            errors.append((f"{key}.valid_to", Detail("config.valid-to-before-from")))
    for i, u in enumerate(raw):
        if u.get("successor") and u["successor"] not in units:
            errors.append((f"units[{i}].successor", Detail("config.unknown-successor", value=repr(u['successor']))))
    return units


def _organizations(org: Mapping[str, Any], errors: list) -> list[Organization]:
    """``[organization]`` (until its ``valid_to``) and its dated ``history`` entries, in date order;
    two entries in force on one day are an error."""
    out = [Organization(tuple(org["name_lines"]), org["place"], None, org.get("valid_to"))]
    for i, h in enumerate(org.get("history") or ()):
        opt = lambda k: tuple(h[k]) if h.get(k) is not None else None  # noqa: E731
        out.append(Organization(tuple(h["name_lines"]), h["place"], h["valid_from"], h.get("valid_to"),
                                h.get("number_symbol"), opt("signer_lines"), h.get("signer_name"), opt("recipients")))
        if h.get("valid_to") and h["valid_to"] < h["valid_from"]:
            errors.append((f"organization.history[{i}].valid_to", Detail("config.valid-to-before-from")))
    dated = sorted(out[1:], key=lambda o: o.valid_from)
    for before, after in zip([out[0]] + dated, dated):
        if before.valid_to is None or before.valid_to >= after.valid_from:
            if before is out[0] and before.valid_to is None:
                continue  # an undated [organization] is the fallback before the first entry
            errors.append(("organization.history", Detail("config.org-overlap", start=after.valid_from.isoformat())))
    return [out[0]] + dated


def _types(raw: Mapping[str, Any], channels: Mapping[str, Channel], errors: list) -> dict[str, ContentType]:
    types: dict[str, ContentType] = {}
    for tid, t in raw.items():
        chans = tuple(t.get("channels", ()))
        for c in chans:
            if c not in channels:
                errors.append((f"content.types.{tid}.channels", Detail("config.unknown-channel-of", value=repr(c),
                                                                       choices=", ".join(sorted(channels)) or "(none configured)")))
        types[tid] = ContentType(tid, t["label"], chans)
    return types


def _blackouts(raw: list, tz: ZoneInfo, channels: Mapping[str, Channel], errors: list) -> list[Blackout]:
    blackouts = []
    for i, b in enumerate(raw):
        start, end = _aware(b["start"], tz), _aware(b["end"], tz)
        if start and end and end <= start:
            errors.append((f"blackouts[{i}].end", Detail("config.end-before-start")))
        for c in b.get("channels", ()):
            if c not in channels:
                errors.append((f"blackouts[{i}].channels", Detail("config.unknown-channel", value=repr(c))))
        if start and end:
            blackouts.append(Blackout(start, end, b["reason"], tuple(b.get("channels", ()))))
    return blackouts


def _feeds(raw: list, units: Mapping[str, Unit], topics: Mapping[str, str], site_zone: str, errors: list) -> list:
    feeds = []
    for i, f in enumerate(raw):
        if f["unit"] not in units:
            errors.append((f"feeds[{i}].unit", Detail("config.unknown-unit", value=repr(f['unit']))))
        for t in f.get("topics", ()):
            if t not in topics:
                errors.append((f"feeds[{i}].topics", Detail("config.unknown-topic-of", value=repr(t), choices=", ".join(topics))))
        feeds.append(MappingProxyType(dict(f, timezone=f.get("timezone") or site_zone)))
    return feeds


def _daemon(d: Mapping[str, Any]) -> DaemonSettings:
    return DaemonSettings(tick=parse_duration(d["tick"]), lease=parse_duration(d["lease"]), max_attempts=d["max_attempts"],
                          retry_base=parse_duration(d["retry_base"]), git_pull=d["git_pull"],
                          ingest_every=parse_duration(d["ingest_every"]), workers=d["workers"],
                          health_port=d.get("health_port"))


def _report(r: Mapping[str, Any], root: Path) -> ReportSettings:
    return ReportSettings(periods=r["periods"], out_dir=root / r["out_dir"], formats=tuple(r["formats"]),
                          number_symbol=r["number_symbol"], signer_lines=tuple(r["signer_lines"]),
                          signer_name=r["signer_name"], recipients=tuple(r["recipients"]),
                          targets=MappingProxyType(dict(r["targets"])), send_hour=r["send_hour"],
                          narrative_dir=root / r["narrative_dir"])


def _aware(value: Any, tz: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    return None


def _channel(name: str, ch: dict, errors: list, warnings: list, env: Mapping[str, str] | None) -> Channel:
    import publishers

    key = f"channels.{name}"
    common = {k.name for k in CHANNEL_COMMON}
    v = _Validator()
    ch = dict(ch, **v.section(Section(CHANNEL_COMMON), {k: x for k, x in ch.items() if k in common}, key + "."))
    errors.extend(v.errors)
    ptype = ch.get("type")
    options = {k: v for k, v in ch.items() if k not in common}
    cls = None
    if ptype not in publishers.REGISTRY:
        errors.append((f"{key}.type", _one_of(publishers.known_types(), ptype)))
    else:
        try:
            cls = publishers.get(ptype)
        except ImportError as exc:  # an optional dependency of that channel is missing
            (errors if ch.get("enabled", True) else warnings).append(
                (f"{key}.type", Detail("config.type-unloadable", ptype=repr(ptype), detail=exc)))
    for opt, value in options.items():
        low = opt.lower()
        if not low.endswith("_env") and any(w in low for w in SECRET_WORDS):
            errors.append((f"{key}.{opt}", Detail("config.literal-secret", opt=opt)))
        elif low.endswith("_env") and isinstance(value, str) and (env or {}).get(value):
            secrets.register(env[value])  # the one redaction point knows it from now on
            if not secrets.check_value(env[value]):  # names the variable, never the value
                errors.append((f"{key}.{opt}", Detail("config.secret-control", var=value)))
    if cls is not None:
        known = {o.name: o for o in cls.options}
        for opt, value in list(options.items()):
            spec = known.get(opt)
            if spec is None:
                if not any(w in opt.lower() for w in SECRET_WORDS):
                    import difflib  # a hint for a mistake only: not loaded by a run without one
                    hint = difflib.get_close_matches(opt, list(known) + list(common), n=1)
                    warnings.append((f"{key}.{opt}", _unknown_key(hint)))
                continue
            if not isinstance(value, spec.type):
                errors.append((f"{key}.{opt}", _wrong_type(spec.type, value)))
            elif spec.choices and value not in spec.choices:
                errors.append((f"{key}.{opt}", _one_of(spec.choices, value, suggest=True)))
            elif spec.check is not None and (problem := spec.check(value)) is not None:
                errors.append((f"{key}.{opt}", problem))
        for spec in cls.options:  # defaults are the publisher's to apply (publishers.base.resolve_options)
            if spec.name not in options and spec.required and ch.get("enabled", True):
                errors.append((f"{key}.{spec.name}", Detail("config.required-for-type", ptype=repr(ptype), doc=spec.doc)))
    social = _is_social(cls, options)
    lateness = ch.get("max_lateness")
    if isinstance(lateness, str) and lateness.strip().lower() == "none":
        lateness = "none"  # no limit, in any case and spacing
    return Channel(
        name=name, type=ptype or "", enabled=ch.get("enabled", True), options=MappingProxyType(options),
        max_lateness=(_duration_or(lateness, None) if lateness not in (None, "none", "") else (timedelta(hours=24) if social and lateness is None else None)),
        min_interval=_duration_or(ch.get("min_interval", "0s"), timedelta(0)), max_per_day=ch.get("max_per_day"),
        on_change=ch.get("on_change", "update"), template=ch.get("template"), label=ch.get("label") or name,
    )


def _is_social(cls: Any, options: Mapping[str, Any]) -> bool:
    """Whether a channel gets the social defaults (24 h ``max_lateness``): a publisher with a
    ``social`` option (webhook) says so per channel, its default when not written; otherwise the
    class's ``social`` attribute (True unless the publisher is a portal)."""
    spec = next((o for o in getattr(cls, "options", ()) if o.name == "social"), None)
    if spec is not None:
        value = options.get("social", spec.default)
        return value if isinstance(value, bool) else bool(spec.default)
    return bool(getattr(cls, "social", True))


def _publisher_class(ptype: str) -> Any:
    """The channel type's publisher class, ``None`` when it is unknown or cannot load (already reported)."""
    import publishers

    try:
        return publishers.get(ptype)
    except (KeyError, ImportError):
        return None


def _duration_or(text: Any, fallback: timedelta | None) -> timedelta | None:
    """The duration, or ``fallback`` when it is not one (the validator has already reported it)."""
    try:
        return parse_duration(text)
    except ValueError:
        return fallback


def _tname(t: Any, lang: str = "en") -> str:
    if isinstance(t, tuple):
        return (" hoặc " if lang == "vi" else " or ").join(_tname(x, lang) for x in t)
    names = _TYPE_NAMES_VI if lang == "vi" else _TYPE_NAMES
    return names.get(t, getattr(t, "__name__", str(t)))


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "a table", float: "a number"}
_TYPE_NAMES_VI = {str: "một chuỗi văn bản", int: "một số nguyên", bool: "true hoặc false", list: "một danh sách",
                  dict: "một bảng", float: "một số"}


def _wrong_type(t: Any, value: Any) -> Detail:
    return Detail("config.wrong-type", expected_en=_tname(t), expected_vi=_tname(t, "vi"), value=repr(value))


def _unknown_key(hint: list[str]) -> Detail:
    return Detail("config.unknown-key", hint_en=f"; did you mean {hint[0]!r}?" if hint else "",
                  hint_vi=f"; có phải ý bạn là {hint[0]!r}?" if hint else "")


def _one_of(choices, value: Any, *, suggest: bool = False) -> Detail:
    import difflib  # a hint for a mistake only: not loaded by a run without one
    hint = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1) if suggest else []
    return Detail("config.expected-one-of", choices=", ".join(map(str, choices)), value=repr(value),
                  hint_en=f"; did you mean {hint[0]!r}?" if hint else "", hint_vi=f"; có phải ý bạn là {hint[0]!r}?" if hint else "")


class _Validator:
    """Walks raw TOML data along the declared schema, collecting errors and warnings."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []
        self.warnings: list[tuple[str, str]] = []

    def section(self, sec: Section, raw: Any, prefix: str) -> dict:
        out: dict[str, Any] = {}
        if not isinstance(raw, dict):
            self.errors.append((prefix.rstrip("."), Detail("config.expected-table", value=repr(raw))))
            raw = {}
        known = {k.name: k for k in sec.keys}
        for name, value in raw.items():
            dotted = f"{prefix}{name}"
            if name in known:
                continue
            if sec.open_keys is not None:  # a mapping of user-chosen names: validate each value
                out[name] = self.value(sec.open_keys, value, dotted)
                continue
            import difflib  # a hint for a mistake only: not loaded by a run without one
            hint = difflib.get_close_matches(name, list(known), n=1)
            self.warnings.append((dotted, _unknown_key(hint)))
        for k in sec.keys:
            dotted = f"{prefix}{k.name}"
            if k.name in raw:
                out[k.name] = self.value(k, raw[k.name], dotted)
            elif k.required:
                self.errors.append((dotted, Detail("config.required", doc=k.doc)))
            else:
                out[k.name] = _default(k)
        return out

    def in_range(self, k: Key, got: Any, written: Any, dotted: str, convert: Callable[[Any], Any]) -> None:
        """The key's declared range (``Key.min`` / ``Key.max``, converted like the value)."""
        if (k.min is not None and got < convert(k.min)) or (k.max is not None and got > convert(k.max)):
            self.errors.append((dotted, _range_detail(k, written)))

    def value(self, k: Key, value: Any, dotted: str) -> Any:
        if k.section is not None:
            if k.many:
                if not isinstance(value, list):
                    self.errors.append((dotted, Detail("config.expected-array", dotted=dotted, value=repr(value))))
                    return []
                return [self.section(k.section, item, f"{dotted}[{i}].") for i, item in enumerate(value)]
            return self.section(k.section, value, f"{dotted}.")
        if k.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, k.type) or (k.type is int and isinstance(value, bool)):
            self.errors.append((dotted, _wrong_type(k.type, value)))
            return _default(k)
        if k.item_type is not None and isinstance(value, list):
            bad = [x for x in value if not isinstance(x, k.item_type)]
            if bad:
                self.errors.append((dotted, Detail("config.expected-list-of", expected_en=_tname(k.item_type),
                                                   expected_vi=_tname(k.item_type, "vi"), value=repr(bad[0]))))
        if k.choices is not None:
            vals = value if isinstance(value, list) else [value]
            for x in vals:
                if x not in k.choices:
                    self.errors.append((dotted, _one_of(k.choices, x)))
        if k.duration and isinstance(value, str) and not (k.none_word and value.strip().lower() == "none"):
            try:
                self.in_range(k, parse_duration(value), value, dotted, parse_duration)
            except ValueError:
                self.errors.append((dotted, Detail("config.bad-duration", value=repr(value))))
        elif k.type is int and isinstance(value, int):
            self.in_range(k, value, value, dotted, int)
        if k.check is not None:
            msg = k.check(value)
            if msg:
                self.errors.append((dotted, msg))
        return value


def _range_detail(k: Key, value: Any) -> Detail:
    low, high = k.min, k.max
    if low is not None and high is not None:
        en, vi = f"from {low} to {high}", f"từ {low} đến {high}"
    elif low is not None:
        en, vi = f"at least {low}", f"ít nhất {low}"
    else:
        en, vi = f"at most {high}", f"nhiều nhất {high}"
    return Detail("config.out-of-range", value=repr(value), range_en=en, range_vi=vi)


def _default(k: Key) -> Any:
    if k.section is not None:
        if k.many:
            return []
        v = _Validator()
        return v.section(k.section, {}, "")
    d = k.default
    return list(d) if isinstance(d, (list, tuple)) else (dict(d) if isinstance(d, dict) else d)
