"""The declared schema of ``config.toml``: every key, its type, default and documentation.

:mod:`pipeline.config` validates against it; ``tests/test_docs.py`` fails when a key here is not
documented in ``docs/configuration.md``. Add a key here first, then document it.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any, Callable

from pipeline.messages import Detail, register

register({
    "config.out-of-range": ("{value} nằm ngoài khoảng cho phép: {range_vi}", "{value} is out of range: {range_en}"),
    "config.date-not-datetime": ("cần một ngày (2024-03-25), không kèm giờ, nhưng nhận được: {value}",
                                 "expected a date (2024-03-25) without a time but received: {value}"),
    "config.bad-placeholder": ("địa chỉ {value} không dùng được ({detail}); chỉ dùng các trường {fields}",
                               "cannot use the address {value} ({detail}); the fields are {fields}"),
})

SECRET_WORDS = ("token", "password", "secret", "api_key", "apikey", "access_key", "private_key")

UNIT_KINDS = ("department", "centre", "ward", "commune", "office")


@dataclass(frozen=True)
class Key:
    """One config key. ``section`` makes it a sub-table (``many`` = array of tables)."""

    name: str
    type: Any = str
    default: Any = None
    doc: str = ""
    required: bool = False
    choices: tuple | None = None
    item_type: Any = None
    section: "Section | None" = None
    many: bool = False
    duration: bool = False
    check: Callable[[Any], str | None] | None = None
    #: The range checked at load: numbers for integers, duration strings (``"1s"``) for durations;
    #: ``None`` = unbounded on that side. Documented in the generated reference.
    min: Any = None
    max: Any = None
    #: A duration key that also takes the word ``"none"`` (no limit).
    none_word: bool = False

    def range_text(self) -> str:
        """``" Range: 1 to 64."`` for the reference; empty when the key has no range."""
        if self.min is None and self.max is None:
            return ""
        low = "" if self.min is None else f"{self.min}"
        high = "" if self.max is None else f"{self.max}"
        if low and high:
            return f" Range: {low} to {high}."
        return f" At least {low}." if low else f" At most {high}."


@dataclass(frozen=True)
class Section:
    keys: tuple[Key, ...] = ()
    open_keys: Key | None = None  # for tables whose keys are names chosen by the user
    doc: str = ""


def _id(value: Any) -> str | None:
    if isinstance(value, str) and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", value):
        return Detail("config.bad-id", value=repr(value))
    return None


def _url(value: Any) -> str | None:
    if isinstance(value, str) and not re.match(r"https?://", value):
        return Detail("config.bad-url", value=repr(value))
    return None


#: The shortest ``daemon.lease``: the engine renews a claim every third of it while a send is in
#: flight, so a shorter lease would let one slow ledger write hand a live send to another worker.
MIN_LEASE_SECONDS = 30


def _lease(value: Any) -> str | None:
    import os
    from pipeline.durations import parse_duration
    try:
        seconds = parse_duration(value).total_seconds()
    except ValueError:
        return None  # reported as a bad duration already
    # LOA_MIN_LEASE_SECONDS exists for the crash and soak tests, which need leases of seconds
    try:
        least = float(os.environ.get("LOA_MIN_LEASE_SECONDS") or MIN_LEASE_SECONDS)
    except ValueError:
        least = MIN_LEASE_SECONDS
    if seconds < least:
        return f"{value!r} is too short: a lease must be at least {least:g}s"
    return None


#: The fields ``site.article_url`` may use; anything else would fail when the first link is built.
ARTICLE_URL_FIELDS = ("base_url", "type", "slug", "id", "year")


def _article_url(value: Any) -> str | None:
    import string

    if not isinstance(value, str):
        return None
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError as exc:  # a lone "{" or "}"
        return Detail("config.bad-placeholder", value=repr(value), detail=str(exc), fields=", ".join(ARTICLE_URL_FIELDS))
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in ARTICLE_URL_FIELDS or spec or conversion:
            return Detail("config.bad-placeholder", value=repr(value), detail=f"{{{name}}} is not a field",
                          fields=", ".join(ARTICLE_URL_FIELDS))
    return None


def _date_only(value: Any) -> str | None:
    # a TOML date-time is a datetime, which is also a date: compared with a day it would crash later
    if isinstance(value, _dt.datetime):
        return Detail("config.date-not-datetime", value=repr(value.isoformat()))
    return None


def _hosts(value: Any) -> str | None:
    for host in value if isinstance(value, list) else ():
        if isinstance(host, str) and not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", host):
            return Detail("config.bad-host", value=repr(host))
    return None


def _label(value: Any) -> str | None:
    """A channel's report label: printed in a document for signature, so plain, short text."""
    if isinstance(value, str) and (not value.strip() or len(value) > 80
                                   or any(ord(ch) < 32 or 0x7f <= ord(ch) < 0xa0 or 0x202a <= ord(ch) <= 0x202e
                                          or 0x2066 <= ord(ch) <= 0x2069 for ch in value)):
        return Detail("config.bad-label", value=repr(value))
    return None


def _inside_repo(value: Any) -> str | None:
    """A folder Loa reads from and writes to (``--draft-narrative``): never outside the repository."""
    import posixpath
    if isinstance(value, str) and (not value.strip() or value.startswith(("/", "\\")) or ":" in value
                                   or ".." in posixpath.normpath(value.replace("\\", "/")).split("/")):
        return Detail("config.path-outside", value=repr(value))
    return None


DATE = (_dt.date,)
DATETIME = (_dt.datetime, _dt.date)

UNIT = Section((
    Key("id", str, required=True, doc="Stable id used in posts (`unit: phuong-1`).", check=_id),
    Key("name", str, required=True, doc="Name as written on documents (`Phường 1`)."),
    Key("kind", str, required=True, choices=UNIT_KINDS, doc="department, centre, ward, commune or office."),
    Key("valid_from", DATE, check=_date_only, doc="First day the unit exists (TOML date). Empty = always existed."),
    Key("valid_to", DATE, check=_date_only, doc="Last day the unit exists (TOML date). Empty = still exists."),
    Key("successor", str, doc="Id of the unit that took over after `valid_to` (merger or rename)."),
    Key("parent", str, doc="The unit's parent body, the first header line of its own report (`--unit`); default: the issuing organisation's name at the report's date."),
    Key("name_lines", list, item_type=str, doc="Header lines of the unit's own report (`--unit`), as on its documents (`[\"ỦY BAN NHÂN DÂN\", \"PHƯỜNG VŨNG TÀU\"]`); default: the parent, then the unit's name."),
    Key("number_symbol", str, doc="Symbol after the number on the unit's own report (`BC-UBND`); default: `[report] number_symbol`."),
))

ORG_ENTRY = Section((
    Key("valid_from", DATE, required=True, check=_date_only, doc="First day this organisation issues the reports (TOML date)."),
    Key("valid_to", DATE, check=_date_only, doc="Last day (TOML date). Empty = still issues them."),
    Key("name_lines", list, required=True, item_type=str, doc="Agency name lines as on its documents."),
    Key("place", str, required=True, doc="Place name for its date line."),
    Key("number_symbol", str, doc="Symbol after the number; default: `[report] number_symbol`."),
    Key("signer_lines", list, item_type=str, doc="Its signature block lines; default: `[report] signer_lines`."),
    Key("signer_name", str, doc="Its signer; default: `[report] signer_name`."),
    Key("recipients", list, item_type=str, doc="Its `Nơi nhận:` lines; default: `[report] recipients`."),
))

CONTENT_TYPE = Key("<type>", section=Section((
    Key("label", str, required=True, doc="Label shown to readers (`Tin tức`, `Hướng dẫn`)."),
    Key("channels", list, default=[], item_type=str, doc="Channels a post of this type goes to unless it says otherwise."),
)))

CHANNEL_COMMON = (
    Key("type", str, required=True, doc="Publisher registry key: static_site, wordpress, facebook, zalo, telegram, mastodon."),
    Key("enabled", bool, default=True, doc="A disabled channel is rendered and previewed but never sent to."),
    Key("label", str, check=_label, doc="Name shown in previews and reports (`Trang Facebook`); default in reports: the Vietnamese name of the channel type (`Cổng Thông tin điện tử`, `Trang Facebook`, `Zalo OA`, `Telegram`, `Mastodon`)."),
    Key("max_lateness", str, duration=True, none_word=True, min="0s", max="3650d",
        doc="A post whose time passed longer ago than this is skipped, not sent (default 24h for social channels, none for the portal; \"none\" = unlimited)."),
    Key("min_interval", str, default="0s", duration=True, min="0s", max="30d", doc="Least time between two new items on this channel (e.g. \"10m\")."),
    Key("max_per_day", int, min=1, max=10000, doc="Most new items per day (site zone) on this channel."),
    Key("on_change", str, default="update", choices=("update", "ignore"), doc="What an edit after publishing does: update the item, or ignore."),
    Key("template", str, doc="Template folder under templates/ (default: the channel name if it exists, else the publisher's family)."),
)

# Channel tables accept CHANNEL_COMMON plus the publisher's own options (publishers/<type>.py).
CHANNEL = Key("<name>", dict, doc="One channel: the common keys plus the publisher's options.")

BLACKOUT = Section((
    Key("start", DATETIME, required=True, doc="Start (TOML date or local date-time, site zone)."),
    Key("end", DATETIME, required=True, doc="End (exclusive)."),
    Key("reason", str, required=True, doc="Why (national mourning, election silence, disaster)."),
    Key("channels", list, default=[], item_type=str, doc="Channels affected; empty = all."),
))

FEED = Section((
    Key("name", str, required=True, doc="Short name used in drafts and status.", check=_id),
    Key("url", str, required=True, doc="Feed address (RSS or Atom).", check=_url),
    Key("unit", str, required=True, doc="Unit that will own the drafts."),
    Key("topics", list, default=[], item_type=str, doc="Topics given to the drafts."),
    Key("include", list, default=[], item_type=str, doc="Keep only items containing one of these (diacritics-insensitive); empty = all."),
    Key("exclude", list, default=[], item_type=str, doc="Drop items containing any of these."),
    Key("max_items", int, default=20, min=1, max=1000, doc="At most this many new drafts per feed per run."),
    Key("timezone", str, doc="Zone for dates written without one (default: site zone)."),
    Key("type", str, default="news", doc="Post type of the drafts."),
))

REPORT = Section((
    Key("periods", str, default="decree09", choices=("decree09", "calendar"),
        doc="Cut-offs: Decree 09/2019 (15th of the month before to the 14th) or calendar periods."),
    Key("out_dir", str, default="reports", doc="Folder where `loa run` writes each period's report."),
    Key("formats", list, default=["docx", "html", "json"], item_type=str, doc="Formats `loa run` writes."),
    Key("number_symbol", str, default="BC-UBND", doc="Symbol after the number: `Số:      /BC-UBND`."),
    Key("signer_lines", list, default=["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"], item_type=str,
        doc="Signature block lines above the name."),
    Key("signer_name", str, default="", doc="Name of the signer (blank leaves room to write it)."),
    Key("recipients", list, default=["Sở Nội vụ;", "Lưu: VT, NV."], item_type=str, doc="`Nơi nhận:` lines."),
    Key("targets", dict, default={}, doc="Minimum items per quarter: `[report.targets.<unit kind or unit id>] <channel> = N`."),
    Key("send_hour", int, default=7, min=0, max=23, doc="Hour (site zone) on the morning after a cut-off when `loa run` writes the report."),
    Key("narrative_dir", str, default="narrative", check=_inside_repo, doc="Folder of the officials' own sections, one Markdown file per period (`narrative/2024-Q1.md`, `narrative/2024-Q1-phuong-1.md`): đánh giá chung, tồn tại/hạn chế, nguyên nhân, phương hướng, kiến nghị."),
))

SCHEMA = Section((
    Key("site", section=Section((
        Key("name", str, required=True, doc="Name of the e-portal."),
        Key("base_url", str, required=True, doc="Public address of the portal; links in social posts point here.", check=_url),
        Key("timezone", str, default="Asia/Ho_Chi_Minh", doc="Site zone: naive times in posts and config are read in it."),
        Key("language", str, default="vi", choices=("vi", "en"), doc="Language of messages and pages."),
        Key("article_url", str, default="{base_url}/{type}/{slug}.html", check=_article_url,
            doc="Address of a post's portal article, linked from social posts. Fields: {base_url}, {type}, {slug}, {id}, {year}. For WordPress with `/%postname%/` permalinks: \"{base_url}/{slug}/\"."),
        Key("iframe_hosts", list, default=[], item_type=str, check=_hosts,
            doc="Hosts whose `<iframe>` a post may embed (maps, video), e.g. [\"www.youtube.com\", \"www.google.com\"]; `https` only, exact host names. Empty: every iframe is removed."),
    ))),
    Key("organization", section=Section((
        Key("name_lines", list, required=True, item_type=str, doc="Agency name lines as on documents (`ỦY BAN NHÂN DÂN`, `THÀNH PHỐ VŨNG TÀU`)."),
        Key("place", str, required=True, doc="Place name for the date line (`Vũng Tàu`)."),
        Key("valid_to", DATE, check=_date_only, doc="Last day these name lines issue the reports (TOML date), when `history` says who issues them after. Empty = always."),
        Key("history", section=ORG_ENTRY, many=True, doc="Issuing organisations by date (after a merger): a report dated inside an entry's `valid_from`..`valid_to` carries that entry's header, place and signature block."),
    ))),
    Key("units", section=UNIT, many=True, doc="The units that write content."),
    Key("content", section=Section((
        Key("dir", str, default="content", doc="Folder of posts, relative to config.toml."),
        Key("max_file_kb", int, default=2048, min=1, max=1048576, doc="Largest post file accepted (KB)."),
        Key("max_image_kb", int, default=1024, min=1, max=1048576, doc="Largest image accepted (KB)."),
        Key("types", section=Section(open_keys=CONTENT_TYPE), doc="Post types."),
        Key("topics", section=Section(open_keys=Key("<topic>", str, doc="Label of the topic.")), doc="Topic taxonomy: id = label."),
    ))),
    Key("editorial", section=Section((
        Key("board", list, default=[], item_type=str, doc="Names of the editorial board members (who may approve)."),
        Key("require_approval", list, default=["portal"], item_type=str, doc="Channels whose posts need a board member's approval."),
    ))),
    Key("channels", section=Section(open_keys=CHANNEL), doc="Channels by name."),
    Key("ledger", section=Section((
        Key("url", str, doc="Ledger database: empty = SQLite `var/loa.db`; `postgresql+psycopg://...` for PostgreSQL. LOA_LEDGER_URL overrides."),
    ))),
    Key("blackouts", section=BLACKOUT, many=True, doc="Periods when nothing is published."),
    Key("feeds", section=FEED, many=True, doc="Feeds ingested into drafts."),
    Key("report", section=REPORT),
    Key("text", section=Section((
        Key("tone_style", str, choices=("traditional", "modern"), doc="Tone-mark placement `loa check --fix` applies (hòa vs hoà)."),
        Key("proper_names", list, default=[], item_type=str, doc="Names whose spelling is never changed by `--fix`."),
    ))),
    Key("daemon", section=Section((
        Key("tick", str, default="60s", duration=True, min="1s", max="1d", doc="Interval of the publishing tick of `loa run`."),
        Key("lease", str, default="5m", duration=True, check=_lease, max="1d",
            doc="How long a claim is held before it counts as in doubt (at least 30s; renewed while a send is in flight)."),
        Key("max_attempts", int, default=8, min=1, max=100, doc="Transient failures retried this many times, then the item fails."),
        Key("retry_base", str, default="30s", duration=True, min="1s", max="1d", doc="First retry delay; doubled each attempt, with jitter."),
        Key("git_pull", bool, default=False, doc="Run `git pull --ff-only` in the content repository before each tick."),
        Key("ingest_every", str, default="30m", duration=True, min="1m", max="7d", doc="Interval of feed ingestion in `loa run`."),
        Key("workers", int, default=4, min=1, max=64, doc="Channels sent to in parallel."),
        Key("health_port", int, min=1, max=65535,
            doc="Port on 127.0.0.1 where `loa run` serves `/healthz` and Prometheus `/metrics`. Empty: not served."),
    ))),
    Key("preview", section=Section((
        Key("out_dir", str, default="var/preview", doc="Folder `loa preview` writes to."),
    ))),
))


def iter_keys(section: Section = SCHEMA, prefix: str = ""):
    """Every documented dotted key (``site.timezone``, ``units.valid_to``, ``channels.<name>.type``)."""
    for k in section.keys:
        dotted = f"{prefix}{k.name}"
        yield dotted
        if k.section is not None:
            yield from iter_keys(k.section, dotted + ".")
    if section.open_keys is not None:
        ok = section.open_keys
        dotted = f"{prefix}{ok.name}"
        if ok.section is not None:
            yield from iter_keys(ok.section, dotted + ".")
        if ok is CHANNEL:
            for k in CHANNEL_COMMON:
                yield f"{dotted}.{k.name}"


def _fmt_default(k: Key) -> str:
    if k.required:
        return "required"
    if k.default in (None, [], {}, ""):
        return "—"
    if isinstance(k.default, bool):
        return "true" if k.default else "false"
    if isinstance(k.default, str):
        return f'"{k.default}"'
    return str(k.default).replace("'", '"')


def _type_name(k: Key) -> str:
    if k.section is not None:
        return "array of tables" if k.many else "table"
    t = k.type
    names = {str: "string", int: "integer", bool: "boolean", list: "array", dict: "table", float: "number"}
    if isinstance(t, tuple):
        return " or ".join("date" if x is _dt.date else "date-time" if x is _dt.datetime else names.get(x, str(x)) for x in t)
    return ("duration string" if k.duration else names.get(t, str(t)))


def reference_markdown() -> str:
    """The key reference tables of docs/configuration.md, generated from this schema."""
    rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]

    def walk(section: Section, prefix: str):
        for k in section.keys:
            dotted = f"{prefix}{k.name}"
            choices = f" One of: {', '.join(map(str, k.choices))}." if k.choices else ""
            rows.append(f"| `{dotted}` | {_type_name(k)} | {_fmt_default(k)} | {k.doc}{choices}{k.range_text()} |")
            if k.section is not None:
                walk(k.section, dotted + ".")
        if section.open_keys is not None:
            ok = section.open_keys
            dotted = f"{prefix}{ok.name}"
            rows.append(f"| `{dotted}` | {_type_name(ok)} | — | {ok.doc} |")
            if ok.section is not None:
                walk(ok.section, dotted + ".")
            if ok is CHANNEL:
                for k in CHANNEL_COMMON:
                    choices = f" One of: {', '.join(map(str, k.choices))}." if k.choices else ""
                    rows.append(f"| `{dotted}.{k.name}` | {_type_name(k)} | {_fmt_default(k)} | {k.doc}{choices}{k.range_text()} |")

    walk(SCHEMA, "")
    return "\n".join(rows) + "\n"


def channel_options_markdown() -> str:
    """Per channel type, the publisher's own options (from ``publishers/<type>.py``)."""
    import publishers

    out = []
    for t in publishers.known_types():
        try:
            cls = publishers.get(t)
        except ImportError:
            continue
        out.append(f"### `type = \"{t}\"`\n")
        out.append((cls.__doc__ or "").strip().split("\n")[0] + "\n")
        out.append("| option | type | default | meaning |\n| --- | --- | --- | --- |")
        for o in cls.options:
            ty = o.type if not isinstance(o.type, tuple) else o.type[0]
            k = Key(o.name, ty, default=o.default, required=o.required)
            choices = f"; one of: {', '.join(map(str, o.choices))}" if o.choices else ""
            if getattr(o.check, "describes", None):
                choices += f"; {o.check.describes}"
            out.append(f"| `channels.<name>.{o.name}` | {_type_name(k)} | {_fmt_default(k)} | {o.doc}{choices} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # python -m pipeline.schema > reference, used to refresh docs/configuration.md
    print(reference_markdown())
    print(channel_options_markdown())
