"""Offline activities (pano, áp phích, băng rôn, lễ hội, hội thi, biểu diễn) kept as YAML files.

Staff record what cannot be seen in the ledger under ``content/activities/**/*.yaml``; reports count
them per unit and kind. A file holds one activity (a mapping) or a list of them::

    date: 2024-03-02        # YYYY-MM-DD, the day it was put up / held
    unit: phuong-1          # a unit id from config.toml
    kind: pano              # one of KINDS
    count: 3                # positive whole number
    place: Đường Trần Phú   # optional
    note: Tuyên truyền DVCTT  # optional

:func:`read_activities` never raises for bad content: it returns what it could read and the problems as
``(path, line, code, args)`` tuples; ``MESSAGES[code]`` gives the Vietnamese and English text
(``str.format`` with ``args``).
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable
from zoneinfo import ZoneInfo

import yaml

from pipeline.frontmatter import yaml_refusal
from pipeline.messages_text import ACTIVITY_MESSAGES
from pipeline.models import Activity

log = logging.getLogger(__name__)

SITE_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")

KINDS: dict[str, str] = {
    "pano": "Pano",
    "ap-phich": "Áp phích",
    "bang-ron": "Băng rôn",
    "le-hoi": "Lễ hội",
    "hoi-thi": "Hội thi",
    "bieu-dien": "Biểu diễn văn nghệ",
}
REQUIRED = ("date", "unit", "kind", "count")

MESSAGES = ACTIVITY_MESSAGES  # the activity.* codes (messages_text.py)

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def message(code: str, lang: str = "vi", **args: Any) -> str:
    if code not in MESSAGES:  # yaml.anchor, yaml.too-deep, file.read-failed: shared with posts
        from pipeline.messages import text

        return text(code, lang, **args)
    vi, en = MESSAGES[code]
    return (vi if lang == "vi" else en).format(**args)


def read_activities(content_dir: str | Path, unit_ids: Iterable[str] | None = None, *,
                    tz: ZoneInfo = SITE_ZONE) -> tuple[list[Activity], list[tuple[str, int, str, dict]]]:
    """Read every ``activities/**/*.yaml`` (and ``.yml``) under ``content_dir``.

    Returns ``(activities, problems)``; an entry with any problem is left out of ``activities``.
    ``unit_ids`` (when given) are the known unit ids. ``Activity.date`` is midnight of the day in ``tz``.
    Paths in problems and activities are relative to ``content_dir``.
    """
    root = Path(content_dir)
    base = root / "activities"
    known = set(unit_ids) if unit_ids is not None else None
    found: list[Activity] = []
    problems: list[tuple[str, int, str, dict]] = []
    if not base.is_dir():
        return found, problems
    files = sorted(p for p in base.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    for path in files:
        rel = path.relative_to(root).as_posix()
        try:
            acts, probs = _read_file(path, rel, known, tz)
        except Exception as exc:  # noqa: BLE001 - one bad file must never stop the others
            log.error("Skipping %s: reading it failed", rel, exc_info=True)
            acts, probs = [], [(rel, 1, "file.read-failed", {"reason": " ".join(f"{type(exc).__name__}: {exc}".split())[:200]})]
        found.extend(acts)
        problems.extend(probs)
    found.sort(key=lambda a: (a.date, a.unit, a.kind, a.path))
    return found, problems


def _read_file(path: Path, rel: str, known: set[str] | None, tz: ZoneInfo) -> tuple[list[Activity], list[tuple[str, int, str, dict]]]:
    """One activity file: its activities and problems. Anchors, aliases and deep nesting are
    refused (:func:`pipeline.frontmatter.yaml_refusal`) before anything is composed, so that no
    "billion laughs" of aliases is ever expanded, not even by a message that shows a value."""
    found: list[Activity] = []
    problems: list[tuple[str, int, str, dict]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return found, [(rel, 1, "activity.yaml", {"error": _yaml_reason(exc)})]
    return parse_text(text, rel, known, tz)


def parse_text(text: str, rel: str, known: set[str] | None, tz: ZoneInfo = SITE_ZONE):
    """The activities and problems of one file's ``text`` (``rel`` names it in problems): the
    one validator, for files read by reports and for what the web console is about to write."""
    found: list[Activity] = []
    problems: list[tuple[str, int, str, dict]] = []
    try:
        guard = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
        try:
            refused = yaml_refusal(guard)
        finally:
            guard.dispose()
        if refused is not None:
            code, mark, args = refused
            return found, [(rel, mark.line + 1, code, args)]
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)  # only MarkedYAMLError has a position
        line = mark.line + 1 if mark is not None else 1
        return found, [(rel, line, "activity.yaml", {"error": _yaml_reason(exc)})]
    if node is None:
        return found, problems
    entries = node.value if isinstance(node, yaml.SequenceNode) else [node]
    for entry in entries:
        act, probs = _entry(rel, entry, known, tz)
        problems.extend(probs)
        if act is not None:
            found.append(act)
    return found, problems


def _yaml_reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    return " ".join(str(getattr(exc, "problem", None) or exc).split())


def _values(node: yaml.MappingNode) -> dict[str, tuple[Any, int]] | tuple[int, str, dict]:
    """Each key's value and 1-based line, or (line, code, args) of the first value YAML cannot build."""
    values: dict[str, tuple[Any, int]] = {}
    for key_node, value_node in node.value:
        try:
            value = yaml.SafeLoader(" ").construct_object(value_node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:
            # e.g. 2024-02-30 looks like a YAML date but is none: keep the text so the date check names it.
            if not isinstance(value_node, yaml.ScalarNode):
                return value_node.start_mark.line + 1, "activity.yaml", {"error": _yaml_reason(exc)}
            value = value_node.value
        values[str(key_node.value)] = (value, value_node.start_mark.line + 1)
    return values


def _day(raw: Any) -> date | None:
    """A YAML date, or ``YYYY-MM-DD`` text that is a real day."""
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if isinstance(raw, str) and _DATE_RE.match(raw.strip()):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            return None
    return None


def _entry(rel: str, node: yaml.Node, known: set[str] | None, tz: ZoneInfo):
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        return None, [(rel, line, "activity.yaml", {"error": "expected a mapping of date, unit, kind, count"})]
    values = _values(node)
    if isinstance(values, tuple):
        return None, [(rel, *values)]
    problems = []
    for key in REQUIRED:
        if key not in values or values[key][0] in (None, ""):
            problems.append((rel, line, "activity.missing", {"key": key}))

    day = None
    if "date" in values and values["date"][0] not in (None, ""):
        raw, ln = values["date"]
        day = _day(raw)
        if day is None:
            problems.append((rel, ln, "activity.date", {"value": raw}))

    unit = None
    if "unit" in values and values["unit"][0] not in (None, ""):
        raw, ln = values["unit"]
        unit = str(raw)
        if known is not None and unit not in known:
            problems.append((rel, ln, "activity.unit", {"value": unit}))

    kind = None
    if "kind" in values and values["kind"][0] not in (None, ""):
        raw, ln = values["kind"]
        kind = str(raw)
        if kind not in KINDS:
            problems.append((rel, ln, "activity.kind", {"value": kind, "expected": ", ".join(KINDS)}))

    count = None
    if "count" in values and values["count"][0] not in (None, ""):
        raw, ln = values["count"]
        # bool is an int subclass in Python: "count: yes" must not count as 1.
        if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
            count = raw
        else:
            problems.append((rel, ln, "activity.count", {"value": raw}))

    if problems:
        return None, problems
    place = values.get("place", ("", 0))[0]
    note = values.get("note", ("", 0))[0]
    return Activity(path=rel, date=datetime(day.year, day.month, day.day, tzinfo=tz), unit=unit,
                    kind=kind, count=count, place="" if place is None else str(place),
                    note="" if note is None else str(note)), []


def write_activity(content_dir: str | Path, values: dict, unit_ids: Iterable[str], *, tz: ZoneInfo = SITE_ZONE,
                   actor: str = "") -> tuple[str | None, list[tuple[str, int, str, dict]]]:
    """Write one activity (``values`` as a form gives them: text) as a new YAML file under
    ``activities/<year>/`` of ``content_dir``, after :func:`parse_text` found no problem in the
    very text written; returns ``(path relative to content_dir, [])`` or ``(None, problems)``
    and writes nothing. The file name is made from the validated date, unit and kind only, and
    the path is checked to stay inside ``activities/`` (a planted link is refused)."""
    from pipeline.paths import inside, plain_name, write_atomic

    entry: dict[str, Any] = {}
    for key in (*REQUIRED, "place", "note"):
        raw = values.get(key)
        value = " ".join(str(raw).split()) if raw is not None else ""
        if key == "count" and value.isdigit():
            entry[key] = int(value)
        elif value or key in REQUIRED:
            entry[key] = value
    who = " ".join(str(actor).split())[:80]
    text = (f"# ghi qua bảng điều khiển{f' bởi {who}' if who else ''}\n"
            + yaml.safe_dump(entry, allow_unicode=True, sort_keys=False))
    rel = "activities/new.yaml"
    acts, problems = parse_text(text, rel, set(unit_ids), tz)
    if problems or len(acts) != 1:
        return None, problems
    act = acts[0]
    if not (plain_name(act.unit) and plain_name(act.kind)):
        return None, [(rel, 1, "activity.unit", {"value": act.unit})]
    base = Path(content_dir) / "activities"
    year = f"{act.date.year:04d}"
    stem = f"{act.date.date().isoformat()}-{act.unit}-{act.kind}"
    for n in range(1, 1000):
        name = f"{stem}.yaml" if n == 1 else f"{stem}-{n}.yaml"
        target = inside(base, year, name)
        if not target.exists():
            break
    target.parent.mkdir(parents=True, exist_ok=True)
    inside(base, year, name)  # the folder just made must not be a link either
    write_atomic(target, text)
    return target.relative_to(Path(content_dir).resolve()).as_posix(), []
