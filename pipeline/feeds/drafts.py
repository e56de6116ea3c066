"""Draft files and duplicate detection for feed ingest.

Duplicates are recognised three ways: the same GUID (scoped by site, because numeric GUIDs of
two sites collide), the same normalised link, or the same folded title (``hoà`` = ``hòa``, case
and punctuation ignored) within ``window`` days. Three memories are consulted:

- items already accepted in this run (across feeds);
- the durable :class:`StateStore` (``ingest:seen:<feed name>``, see :class:`SeenIndex`), so an
  item whose draft a person deleted is not pulled again;
- the front matter of ``content/**/*.md`` (``source_guid``, ``source_link``, ``title``), so a
  draft that was edited, moved or published is still recognised even on a fresh ledger.

Draft files are written whole or not at all: a temporary file in the same folder, flushed and
fsynced, then hard-linked to its final name, which fails instead of overwriting (``-2``, ``-3``
are tried next).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

from pipeline.vietnamese import fold

log = logging.getLogger(__name__)

__all__ = ["normalize_link", "title_key", "guid_key", "SeenIndex", "scan_content", "write_draft",
           "render_draft"]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: the scan reads every post
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # the safe dumper either way; libyaml is 10x faster
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|zarsrc|gidzl|_ga)$", re.I)
_NON_WORD = re.compile(r"[^\w]+")


def normalize_link(url: str | None) -> str | None:
    """A link as a duplicate key: no scheme, no ``www.``, no fragment, no tracking parameters."""
    if not url:
        return None
    try:
        p = urlsplit(url.strip())
        host = (p.hostname or "").lower()
        port = p.port
    except ValueError:
        return url.strip()
    if host.startswith("www."):
        host = host[4:]
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(p.query, keep_blank_values=True) if not _TRACKING.match(k)])
    path = p.path.rstrip("/") or "/"
    return urlunsplit(("", host, path, query, ""))


def title_key(title: str | None) -> str | None:
    """A title as a duplicate key: folded (case, diacritics, tone style, đ) and punctuation-free."""
    if not title:
        return None
    key = " ".join(_NON_WORD.sub(" ", fold(title)).replace("_", " ").split())
    return key or None


def guid_key(guid: str | None, link: str | None, feed_url: str) -> str | None:
    """A GUID scoped by the site it came from; a URL-shaped GUID is its own scope."""
    if not guid or not guid.strip():
        return None
    guid = guid.strip()
    if re.match(r"https?://", guid, re.I):
        return normalize_link(guid)
    host = (urlsplit(link or feed_url).hostname or "").lower().removeprefix("www.")
    return f"{host}|{guid}"


@dataclass(frozen=True)
class Known:
    """One item already known (from content, from state or from this run)."""

    guid: str | None
    link: str | None
    title: str | None
    day: date | None


class SeenIndex:
    """Answers "is this item a duplicate, and of what?" across feeds, runs and content files.

    Durable memory is one state value per feed, ``ingest:seen:<feed name>``: a JSON list of
    ``[guid_key, link_key, title_key, day]`` for the newest :data:`REMEMBER` items drafted from it.
    One write per feed per changed run, not three per draft, because the ledger's state store
    commits every ``set`` to disk. Items older than that have long left any real feed.

    ``content_dir`` and the state values are read once, on first use, so a run where every feed
    answers 304 reads neither the content tree nor the memory.
    """

    REMEMBER = 2000

    def __init__(self, *, state: Any, content_dir: Path | None, site_tz: tzinfo, window_days: int = 3,
                 feed_names: Iterable[str] = ()):
        self.state = state
        self.content_dir = content_dir
        self.site_tz = site_tz
        self.window = timedelta(days=window_days)
        self.feed_names = list(feed_names)
        self._guids: set[str] = set()
        self._links: set[str] = set()
        self._titles: dict[str, list[date]] = {}
        self._memory: dict[str, list[list]] = {}
        self._pending: dict[str, list[list]] = {}
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.content_dir is not None:
            for known in scan_content(self.content_dir, self.site_tz):
                self._remember(known)
        for name in self.feed_names:
            rows = self._read_memory(name)
            self._memory[name] = rows
            for guid, link, title, day in rows:
                self._remember(Known(guid, link, title, _day(day)))

    def _read_memory(self, name: str) -> list[list]:
        raw = self.state.get(f"ingest:seen:{name}") if self.state is not None else None
        try:
            rows = json.loads(raw) if raw else []
        except ValueError:
            log.warning("Ignoring unreadable ingest memory of feed %s", name)
            return []
        return [r for r in rows if isinstance(r, list) and len(r) == 4] if isinstance(rows, list) else []

    def _remember(self, k: Known) -> None:
        if k.guid:
            self._guids.add(k.guid)
        if k.link:
            self._links.add(k.link)
        if k.title and k.day:
            self._titles.setdefault(k.title, []).append(k.day)

    def duplicate_of(self, guid: str | None, link: str | None, title: str | None, day: date) -> str | None:
        """Why the item is a duplicate (``"same GUID"``, ``"same link"``, ``"same title"``), or ``None``."""
        self._load()
        if guid and guid in self._guids:
            return "same GUID"
        if link and link in self._links:
            return "same link"
        if title and any(abs(day - d) <= self.window for d in self._titles.get(title, ())):
            return "same title"
        return None

    def add(self, feed: str, guid: str | None, link: str | None, title: str | None, day: date) -> None:
        """Remember an accepted item for the rest of the run; :meth:`commit` makes it durable."""
        self._load()
        self._remember(Known(guid, link, title, day))
        self._pending.setdefault(feed, []).append([guid, link, title, day.isoformat()])

    def commit(self, feed: str) -> None:
        """Store the items accepted from ``feed`` in this run (call after their drafts are written)."""
        pending = self._pending.pop(feed, None)
        if not pending or self.state is None:
            return
        rows = self._memory.get(feed)
        if rows is None:
            rows = self._read_memory(feed)
        rows = sorted(rows + pending, key=lambda r: str(r[3]), reverse=True)[: self.REMEMBER]
        self._memory[feed] = rows
        self.state.set(f"ingest:seen:{feed}", json.dumps(rows, ensure_ascii=False, separators=(",", ":")))


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def read_front_matter(path: Path) -> dict | None:
    """The YAML front matter of a Markdown file, or ``None`` (no front matter or unreadable)."""
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.readline().strip() != "---":
                return None
            lines = []
            for line in fh:
                if line.rstrip() in ("---", "..."):
                    break
                lines.append(line)
            else:
                return None
        data = yaml.load("".join(lines), Loader=_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        log.warning("Skipping %s for duplicate detection: %s", path, exc)
        return None
    return data if isinstance(data, dict) else None


_DATE_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2})")


def _known_day(meta: dict, path: Path, site_tz: tzinfo) -> date | None:
    for key in ("source_published", "publish_at", "date"):
        value = meta.get(key)
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=site_tz)).astimezone(site_tz).date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                dt = datetime.fromisoformat(value.strip())
            except ValueError:
                continue
            return (dt if dt.tzinfo else dt.replace(tzinfo=site_tz)).astimezone(site_tz).date()
    m = _DATE_PREFIX.match(path.name)
    return date.fromisoformat(m.group(1)) if m else None


def scan_content(content_dir: Path, site_tz: tzinfo) -> Iterable[Known]:
    """Every post and draft under ``content_dir`` as a :class:`Known` item."""
    if not content_dir.is_dir():
        return
    for path in content_dir.rglob("*.md"):
        meta = read_front_matter(path)
        if not meta:
            continue
        link = meta.get("source_link")
        link = normalize_link(link) if isinstance(link, str) else None
        guid = meta.get("source_guid")
        guid = guid_key(str(guid), link and ("http://" + link.lstrip("/")), "") if guid else None
        title = meta.get("title")
        yield Known(guid, link, title_key(title) if isinstance(title, str) else None,
                    _known_day(meta, path, site_tz))


def render_draft(front: dict, body: str) -> str:
    """Front matter (safe YAML, Unicode kept, key order kept) and body as one Markdown file."""
    head = yaml.dump(front, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, default_flow_style=False,
                     width=1000)
    return f"---\n{head}---\n\n{body.rstrip()}\n"


def write_draft(folder: Path, stem: str, text: str) -> Path:
    """Write ``text`` to ``folder/<stem>.md`` (or ``<stem>-2.md``...), atomically, never overwriting."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ingest-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        n = 1
        while True:
            target = folder / (f"{stem}.md" if n == 1 else f"{stem}-{n}.md")
            try:
                os.link(tmp, target)  # atomic and fails if the name exists: no overwrite, no race
                return target
            except FileExistsError:
                n += 1
            except OSError:
                # A filesystem without hard links: check, then rename (a tiny race, still whole files).
                if target.exists():
                    n += 1
                    continue
                os.replace(tmp, target)
                return target
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
