"""Feed bytes -> :class:`Item` values, with feedparser doing the XML and this module the judgement.

- Encoding: the charset declared in ``Content-Type`` or the XML prolog must decode the bytes
  (Windows-1258 included); a feed whose bytes do not match any declaration is refused with one
  line rather than read as mojibake. Without a declaration the bytes must be UTF-8.
- feedparser gets the response headers (so a correct ``Content-Type`` is not "bozo") but no base
  URL, and its own sanitiser and URI resolver are off: :mod:`pipeline.feeds.sanitize` resolves
  item links against the feed's final URL and HTML against each *item's* link instead.
- A bozo feed with readable entries is used, with one warning; one without entries is an error.
- Dates come from :mod:`pipeline.feeds.dates` first, feedparser's ``*_parsed`` only as fallback.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Mapping

import feedparser

from pipeline.feeds.dates import from_struct, parse_date
from pipeline.feeds.sanitize import absolute_url, convert, html_to_text
from pipeline.vietnamese import nfc

__all__ = ["Item", "ParsedFeed", "FeedUnreadable", "parse_feed"]

_PROLOG = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.I)
_CHAR_REF = re.compile(r"&#(?:\d+|x[0-9a-fA-F]+);")
SUMMARY_MAX = 300


class FeedUnreadable(Exception):
    """The body is not a feed we can read. ``reason`` is one line. Internal to ingest."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Item:
    """One feed entry, cleaned: plain ``title`` and ``summary`` (NFC), Markdown ``body``,
    absolute ``link`` / ``image``, aware ``published`` (``None`` if the feed gave no readable date)."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    body: str
    image: str | None
    published: datetime | None


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    items: tuple[Item, ...]
    warnings: tuple[str, ...]
    encoding: str


def _declared(body: bytes, headers: Mapping[str, str]) -> list[str]:
    found = []
    m = _CHARSET.search(headers.get("content-type", ""))
    if m:
        found.append(m.group(1))
    m = _PROLOG.match(body[:512])
    if m:
        found.append(m.group(1).decode("ascii"))
    out: list[str] = []
    for name in found:
        try:
            canonical = codecs.lookup(name).name
        except LookupError:
            continue
        if canonical not in out:
            out.append(canonical)
    return out


def _choose_encoding(body: bytes, headers: Mapping[str, str]) -> str:
    if body.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16" if not body.startswith(codecs.BOM_UTF8) else "utf-8"
    declared = _declared(body, headers)
    # HTTP wins over the prolog when both decode (RFC 7303); when the header is wrong and the
    # prolog right, the prolog is the publisher's word, so it is taken.
    for name in declared:
        try:
            body.decode(name)
            return name
        except UnicodeDecodeError:
            continue
    if declared:
        raise FeedUnreadable(f"declared encoding {' / '.join(declared)} does not match the bytes "
                             "(the feed would read as garbled text)")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise FeedUnreadable("no encoding declared and the body is not UTF-8") from None
    return "utf-8"


def _bozo_line(exc: Any, n: int) -> str:
    where = ""
    if hasattr(exc, "getLineNumber"):
        try:
            where = f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}: "
        except Exception:  # noqa: BLE001 - SAX locators may be gone; the position is only a help
            where = ""
    what = str(getattr(exc, "getMessage", lambda: str(exc))())
    what = " ".join(what.split()).removeprefix("not well-formed ").strip("()")[:160]
    return f"feed is not well-formed XML ({where}{what}); {n} entr{'y' if n == 1 else 'ies'} read anyway"


def parse_feed(body: bytes, headers: Mapping[str, str], url: str, feed_tz: tzinfo) -> ParsedFeed:
    """Parse ``body`` fetched from ``url``; raise :class:`FeedUnreadable` when nothing is usable."""
    encoding = _choose_encoding(body, headers)
    mime = (headers.get("content-type") or "application/xml").split(";", 1)[0].strip() or "application/xml"
    fp_headers = dict(headers)
    fp_headers["content-type"] = f"{mime}; charset={encoding}"
    # No base for feedparser: it would join ``http:moc.gov.vn/x`` onto an http feed URL as a
    # relative path. Links are resolved (and repaired) by absolute_url against the final URL.
    fp_headers.pop("content-location", None)
    d = feedparser.parse(body, response_headers=fp_headers, sanitize_html=False, resolve_relative_uris=False)
    entries = d.get("entries") or []
    warnings: list[str] = []
    if d.get("bozo"):
        exc = d.get("bozo_exception")
        if not entries:
            if not d.get("version"):
                raise FeedUnreadable(f"not a feed: {' '.join(str(exc).split())[:160]}")
            raise FeedUnreadable(f"feed is not well-formed and no entry could be read ({str(exc)[:160]})")
        warnings.append(_bozo_line(exc, len(entries)))
    elif not d.get("version") and not entries:
        raise FeedUnreadable("not an RSS or Atom feed")
    feed = d.get("feed") or {}
    title = _plain(feed.get("title"), feed.get("title_detail")) or None
    items = tuple(_item(e, url, feed_tz) for e in entries)
    undated = sum(1 for i in items if i.published is None)
    if undated:
        warnings.append(f"{undated} entr{'y has' if undated == 1 else 'ies have'} no readable date; "
                        "dated by the time of this run")
    return ParsedFeed(title, items, tuple(warnings), encoding)


def _plain(text: str | None, detail: Mapping | None) -> str:
    if not text:
        return ""
    kind = (detail or {}).get("type", "text/plain")
    if "html" in kind or "<" in text:
        return html_to_text(text)
    if _CHAR_REF.search(text) or "&amp;" in text:  # double-escaped references in a plain title
        return html_to_text(text)
    return nfc(" ".join(text.split()))


def _truncate(text: str, limit: int = SUMMARY_MAX) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-–") + "…"


def _date(entry: Mapping, feed_tz: tzinfo) -> datetime | None:
    for key in ("published", "updated", "created"):
        dt = parse_date(entry.get(key), feed_tz)
        if dt is not None:
            return dt
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        dt = from_struct(entry.get(key))
        if dt is not None:
            return dt
    return None


def _image(entry: Mapping, base: str) -> str | None:
    """The item's declared image (media:thumbnail, media:content, image enclosure), if any."""
    candidates: list[str | None] = []
    for thumb in entry.get("media_thumbnail") or []:
        candidates.append(thumb.get("url"))
    for media in entry.get("media_content") or []:
        if media.get("medium") == "image" or str(media.get("type", "")).startswith("image/"):
            candidates.append(media.get("url"))
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            candidates.append(link.get("href"))
    for c in candidates:
        url = absolute_url(c, base, image=True)
        if url:
            return url
    return None


def _item(entry: Mapping, feed_url: str, feed_tz: tzinfo) -> Item:
    link = absolute_url(entry.get("link"), feed_url)
    base = link or feed_url
    contents = [c for c in entry.get("content") or [] if c.get("value")]
    content_html = max((c["value"] for c in contents), key=len) if contents else ""
    summary_html = entry.get("summary") or ""
    body_html = content_html or summary_html
    summary = _truncate(html_to_text(summary_html or content_html))
    title = _plain(entry.get("title"), entry.get("title_detail"))
    if not title:
        title = _truncate(summary, 120)
    guid = entry.get("id")
    body, body_image = convert(body_html, base)
    return Item(guid=nfc(str(guid)).strip() if guid else None, link=link, title=title, summary=summary,
                body=body, image=_image(entry, base) or body_image, published=_date(entry, feed_tz))
