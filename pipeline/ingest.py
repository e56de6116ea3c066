"""Feeds -> draft files in ``content/drafts/``. Never publishes anything.

One call, :func:`ingest`, runs every configured feed: fetch (conditional GET, bounded, in
parallel), parse, keyword filter, duplicate check, then one Markdown draft per new item, written
atomically. Each feed succeeds or fails on its own; the result is an :class:`IngestReport` with one
status per feed (``ok`` / ``not modified`` / ``error``) and human lines from ``report.lines()``.

State kept in the :class:`~publishers.base.StateStore` (all string values):

- ``ingest:http:<feed url>``: JSON ``{etag, last_modified, sha256, config}``, the validators
  sent as ``If-None-Match`` / ``If-Modified-Since`` next time; saved only after the feed's drafts
  are all written, so a crash never makes the next run skip items;
- ``ingest:seen:<feed name>``: JSON list of the items already drafted from that feed (newest 2000);
- ``ingest:status:<feed name>``: JSON ``{at, status, message, line, drafts, warnings}`` for
  ``loa status``.

A dry run fetches and reports what it would create, and writes neither files nor state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from slugify import slugify

from pipeline.feeds.drafts import SeenIndex, guid_key, normalize_link, render_draft, title_key, write_draft
from pipeline.feeds.fetch import DEFAULT_LIMITS, FetchFailed, FetchLimits, FetchResult, fetch
from pipeline.feeds.parse import FeedUnreadable, Item, parse_feed
from pipeline.feeds.sanitize import escape_markdown, md_url
from pipeline.messages import Detail  # lines are English text (logs, status) and catalogue codes (loa ingest)
from pipeline.vietnamese import fold

log = logging.getLogger(__name__)

__all__ = ["ingest", "IngestReport", "FeedReport", "FetchLimits", "DEFAULT_LIMITS"]

AUTHOR = "Loa ingest"
_FORMAT = 1  # bump when the draft format changes, so unchanged feeds are read again
OK, NOT_MODIFIED, ERROR = "ok", "not modified", "error"


@dataclass(frozen=True)
class FeedReport:
    """What happened to one feed in one run.

    ``status`` is ``"ok"``, ``"not modified"`` or ``"error"``; ``message`` is the one-line reason
    for an error (or a note for "not modified"); ``created`` the draft paths (would-be paths in a
    dry run); ``duplicates`` / ``filtered`` are ``(title, reason)`` pairs; ``bug`` is true when
    the error was an unexpected exception (logged with its traceback).
    """

    name: str
    url: str
    status: str
    message: str = ""
    warnings: tuple[str, ...] = ()
    created: tuple[Path, ...] = ()
    duplicates: tuple[tuple[str, str], ...] = ()
    filtered: tuple[tuple[str, str], ...] = ()
    bug: bool = False

    def line(self, dry_run: bool = False) -> str:
        if self.status == ERROR:
            return Detail("ingest.feed-error", name=self.name, message=self.message)
        if self.status == NOT_MODIFIED:
            return Detail("ingest.not-modified", name=self.name, why=f" ({self.message})" if self.message else "")
        n, dup = len(self.created), len(self.duplicates)
        return Detail("ingest.feed-ok", name=self.name, n=n, dup=dup, filtered=len(self.filtered),
                      done_vi="sẽ tạo" if dry_run else "đã tạo", done_en="would create" if dry_run else "created",
                      drafts_en="draft" if n == 1 else "drafts", dups_en="duplicate" if dup == 1 else "duplicates")


@dataclass(frozen=True)
class IngestReport:
    """The result of one :func:`ingest` run: one :class:`FeedReport` per configured feed, in order."""

    feeds: tuple[FeedReport, ...]
    dry_run: bool = False

    @property
    def created(self) -> tuple[Path, ...]:
        return tuple(p for f in self.feeds for p in f.created)

    @property
    def errors(self) -> tuple[FeedReport, ...]:
        return tuple(f for f in self.feeds if f.status == ERROR)

    @property
    def ok(self) -> bool:
        """True when no feed failed (the CLI exits non-zero otherwise)."""
        return not self.errors

    def lines(self, verbose: bool = False, relative_to: Path | None = None) -> list[str]:
        """Human lines: one status line per feed, its warnings, its drafts (shown relative to
        ``relative_to`` when given); with ``verbose`` also every duplicate and filtered item."""
        def show(p: Path) -> str:
            try:
                return str(p.relative_to(relative_to)) if relative_to else str(p)
            except ValueError:
                return str(p)

        out: list[str] = []
        for f in self.feeds:
            out.append(f.line(self.dry_run))
            out.extend(Detail("ingest.warning", name=f.name, warning=w) for w in f.warnings)
            out.extend(f"  + {show(p)}" for p in f.created)
            if verbose:
                out.extend(f"  = {t} ({why})" for t, why in f.duplicates)
                out.extend(f"  - {t} ({why})" for t, why in f.filtered)
        return out


@dataclass
class _Acc:
    """Mutable accumulator for one feed while it runs; frozen into a FeedReport at the end."""

    created: list[Path] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    filtered: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def ingest(feeds: Sequence[Mapping[str, Any]], *, content_dir: Path, state: Any, now: datetime,
           site_tz: tzinfo = ZoneInfo("Asia/Ho_Chi_Minh"), dry_run: bool = False,
           session: requests.Session | None = None, limits: FetchLimits = DEFAULT_LIMITS,
           dedup_days: int = 3) -> IngestReport:
    """Pull every feed in ``feeds`` into drafts under ``content_dir/drafts``.

    ``feeds`` are the validated config dicts: ``name``, ``url``, ``unit``, ``topics``,
    ``include``, ``exclude``, ``max_items`` (20), ``timezone`` (site zone), ``type`` ("news").
    ``state`` is a StateStore (``get``/``set`` of strings, durable). ``now`` is aware and dates
    undated items. Duplicates (same GUID, link, or folded title within ``dedup_days``) are
    dropped across feeds, runs and the existing content. Never raises for a feed's failure.
    """
    if now.tzinfo is None:
        raise ValueError("ingest() needs an aware 'now'")
    own_session = session is None
    session = session or requests.Session()
    seen = SeenIndex(state=state, content_dir=Path(content_dir), site_tz=site_tz, window_days=dedup_days,
                     feed_names=[f["name"] for f in feeds])
    prior = [_load_http_state(state, f) for f in feeds]
    try:
        fetched = _fetch_all(feeds, prior, session, limits)
        reports = []
        for feed, memo, outcome in zip(feeds, prior, fetched):
            rep = _run_feed(feed, memo, outcome, seen=seen, content_dir=Path(content_dir), state=state,
                            now=now, site_tz=site_tz, dry_run=dry_run)
            reports.append(rep)
            if not dry_run and state is not None:
                _save_status(state, rep, now)
    finally:
        if own_session:
            session.close()
    return IngestReport(tuple(reports), dry_run)


# -- fetching ---------------------------------------------------------------------------------

def _config_fingerprint(feed: Mapping[str, Any]) -> str:
    keys = ("unit", "topics", "include", "exclude", "max_items", "timezone", "type", "name")
    blob = json.dumps([_FORMAT] + [feed.get(k) for k in keys], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _load_http_state(state: Any, feed: Mapping[str, Any]) -> dict:
    raw = state.get(f"ingest:http:{feed['url']}") if state is not None else None
    try:
        memo = json.loads(raw) if raw else {}
    except ValueError:
        memo = {}
    # Changed filters or format: read the whole feed again, ignoring the validators.
    return memo if memo.get("config") == _config_fingerprint(feed) else {}


def _fetch_all(feeds, prior, session, limits) -> list[FetchResult | FetchFailed]:
    def one(args):
        feed, memo = args
        try:
            return fetch(feed["url"], session=session, limits=limits,
                         etag=memo.get("etag"), last_modified=memo.get("last_modified"))
        except FetchFailed as exc:
            return exc
        except Exception as exc:  # noqa: BLE001 - a bug here must still leave the other feeds running
            log.exception("Bug while fetching feed %s", feed["name"])
            return FetchFailed(feed["url"], f"internal error ({type(exc).__name__}: {exc}); see the log")

    jobs = list(zip(feeds, prior))
    if limits.workers <= 1 or len(jobs) <= 1:
        return [one(j) for j in jobs]
    # Threads only overlap the waiting on slow hosts; parsing and writing stay in config order,
    # so which of two duplicate items wins does not depend on network timing.
    with ThreadPoolExecutor(max_workers=min(limits.workers, len(jobs)), thread_name_prefix="ingest") as pool:
        return list(pool.map(one, jobs))


# -- one feed -----------------------------------------------------------------------------------

def _run_feed(feed, memo, outcome, *, seen, content_dir, state, now, site_tz, dry_run) -> FeedReport:
    name, url = feed["name"], feed["url"]
    if isinstance(outcome, FetchFailed):
        log.warning("Skipping feed %s: %s", name, outcome.reason)
        return FeedReport(name, url, ERROR, outcome.reason)
    if outcome.not_modified:
        return FeedReport(name, url, NOT_MODIFIED)
    digest = hashlib.sha256(outcome.body).hexdigest()
    if memo.get("sha256") == digest:
        # Servers without validators: the same bytes as last time need no parsing at all.
        return FeedReport(name, url, NOT_MODIFIED, "same content as last run")
    try:
        feed_tz = ZoneInfo(feed["timezone"]) if feed.get("timezone") else site_tz
    except (ZoneInfoNotFoundError, ValueError):
        return FeedReport(name, url, ERROR, f"unknown timezone {feed['timezone']!r}")
    acc = _Acc()
    try:
        parsed = parse_feed(outcome.body, outcome.headers, outcome.url, feed_tz)
        acc.warnings.extend(parsed.warnings)
        feed_title = parsed.title or name
        for item in _newest(parsed.items, feed.get("max_items") or 20, now):
            _consider(item, feed, feed_title, acc, seen=seen, content_dir=content_dir, now=now,
                      site_tz=site_tz, dry_run=dry_run)
    except FeedUnreadable as exc:
        log.warning("Skipping feed %s: %s", name, exc.reason)
        return FeedReport(name, url, ERROR, exc.reason, tuple(acc.warnings), tuple(acc.created))
    except OSError as exc:
        log.error("Feed %s stopped: cannot write a draft: %s", name, exc)
        return FeedReport(name, url, ERROR, f"cannot write a draft: {exc.strerror or exc}",
                          tuple(acc.warnings), tuple(acc.created), tuple(acc.duplicates), tuple(acc.filtered))
    except Exception as exc:  # noqa: BLE001 - a bug on one feed's content must not stop the others
        log.exception("Bug while ingesting feed %s", name)
        return FeedReport(name, url, ERROR, f"internal error ({type(exc).__name__}: {exc}); see the log",
                          tuple(acc.warnings), tuple(acc.created), bug=True)
    finally:
        if not dry_run:
            seen.commit(name)  # the drafts written so far are on disk: remember them, even after an error
    if not dry_run and state is not None:
        state.set(f"ingest:http:{url}", json.dumps({
            "etag": outcome.headers.get("etag"), "last_modified": outcome.headers.get("last-modified"),
            "sha256": digest, "config": _config_fingerprint(feed)}))
    return FeedReport(name, url, OK, "", tuple(acc.warnings), tuple(acc.created), tuple(acc.duplicates),
                      tuple(acc.filtered))


def _newest(items: Sequence[Item], max_items: int, now: datetime) -> list[Item]:
    return sorted(items, key=lambda i: i.published or now, reverse=True)[:max_items]


def _keyword_hit(keywords: Sequence[str], folded_text: str) -> str | None:
    for kw in keywords:
        key = fold(kw)
        if key and re.search(rf"(?<!\w){re.escape(key)}(?!\w)", folded_text):
            return kw
    return None


def _consider(item: Item, feed, feed_title, acc: _Acc, *, seen: SeenIndex, content_dir: Path, now: datetime,
              site_tz: tzinfo, dry_run: bool) -> None:
    text = fold(f"{item.title} {item.summary}")
    include, exclude = feed.get("include") or [], feed.get("exclude") or []
    if include and not _keyword_hit(include, text):
        acc.filtered.append((item.title, "no include keyword"))
        return
    hit = _keyword_hit(exclude, text) if exclude else None
    if hit:
        acc.filtered.append((item.title, f"exclude keyword {hit!r}"))
        return
    when = (item.published or now).astimezone(site_tz)
    link = normalize_link(item.link)
    guid = guid_key(item.guid, item.link, feed["url"])
    tkey = title_key(item.title)
    why = seen.duplicate_of(guid, link, tkey, when.date())
    if why:
        acc.duplicates.append((item.title, why))
        return
    stem = f"{when:%Y-%m-%d}-{slugify(item.title, max_length=60, word_boundary=True, save_order=True) or 'tin'}"
    folder = content_dir / "drafts"
    if dry_run:
        acc.created.append(folder / f"{stem}.md")
    else:
        text_out = _draft_text(item, feed, feed_title, when)
        acc.created.append(write_draft(folder, stem, text_out))
    seen.add(feed["name"], guid, link, tkey, when.date())


def _draft_text(item: Item, feed, feed_title: str, when: datetime) -> str:
    ident = item.guid or item.link or item.title
    front: dict[str, Any] = {
        # Same shape as pipeline.content.new_id (YYYYMMDD-6hex), but stable for the item.
        "id": f"{when:%Y%m%d}-" + hashlib.sha1(f"{feed['url']}\n{ident}".encode()).hexdigest()[:6],
        "title": item.title,
        "type": feed.get("type") or "news",
        "unit": feed.get("unit"),
        "author": AUTHOR,
        "status": "draft",
        "topics": list(feed.get("topics") or []),
        "summary": item.summary,
        "source": feed["name"],
        "source_title": feed_title,
        "source_link": item.link,
        "source_guid": item.guid,
        "source_published": item.published.astimezone(when.tzinfo).isoformat() if item.published else None,
        "source_image": item.image,
    }
    front = {k: v for k, v in front.items() if v is not None}
    credit = escape_markdown(feed_title)
    source_line = f"Nguồn: [{credit}]({md_url(item.link)})" if item.link else f"Nguồn: {credit}"
    body = f"{item.body}\n\n{source_line}" if item.body else source_line
    return render_draft(front, body)


def _save_status(state: Any, rep: FeedReport, now: datetime) -> None:
    # ``message`` is the detail after the status word (``loa status`` prints "<status>: <message>");
    # ``line`` the whole report line.
    if rep.status == OK:
        message = f"{len(rep.created)} new drafts, {len(rep.duplicates)} duplicates, {len(rep.filtered)} filtered"
    else:
        message = rep.message
    state.set(f"ingest:status:{rep.name}", json.dumps({
        "at": now.isoformat(), "status": rep.status, "message": message, "line": rep.line(),
        "drafts": len(rep.created), "warnings": list(rep.warnings)}, ensure_ascii=False))
