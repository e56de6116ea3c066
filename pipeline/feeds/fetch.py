"""Fetching one feed over HTTP, defensively. This module is the edge where ``requests`` is known.

Government hosts time out, redirect in circles, answer HTML error pages with 200, or send far more
than a feed. :func:`fetch` bounds all of that (connect/read/total timeouts, a size cap checked
while streaming, a redirect limit followed by hand) and turns every failure into one
:class:`FetchFailed` whose ``reason`` is a single line a person can act on. It sends a clear
User-Agent and the conditional-GET validators it is given, so an unchanged feed costs one small
304 answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urljoin, urlsplit

import requests

__all__ = ["FetchLimits", "FetchResult", "FetchFailed", "fetch", "DEFAULT_LIMITS"]

USER_AGENT = "Loa/0.1 feed ingest"


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on one feed fetch.

    ``connect_timeout`` / ``read_timeout``: seconds, passed to requests (read = silence between
    bytes); ``total_timeout``: wall-clock seconds for the whole fetch, so a server trickling bytes
    cannot hold a run; ``max_bytes``: body cap after decompression (a gzip bomb counts in full);
    ``max_redirects``: hops followed; ``workers``: feeds fetched at the same time.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 90.0
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    workers: int = 4
    user_agent: str = USER_AGENT


DEFAULT_LIMITS = FetchLimits()


@dataclass(frozen=True)
class FetchResult:
    """A feed answer: ``status`` 200 with ``body``, or 304 (``not_modified``) with an empty body.

    ``url`` is the final URL after redirects (the base for relative links); ``headers`` have
    lower-case names.
    """

    url: str
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class FetchFailed(Exception):
    """One feed could not be fetched. ``reason`` is one line; ``url`` the URL that failed.

    Internal to ingest: :mod:`pipeline.ingest` turns it into the feed's error status line and goes
    on with the next feed; it never reaches the CLI.
    """

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def fetch(url: str, *, session: requests.Session, limits: FetchLimits = DEFAULT_LIMITS,
          etag: str | None = None, last_modified: str | None = None) -> FetchResult:
    """GET ``url`` within ``limits``; send ``If-None-Match`` / ``If-Modified-Since`` when given.

    Returns a 200 or 304 :class:`FetchResult`; raises :class:`FetchFailed` for anything else.
    """
    started = time.monotonic()
    headers = {"User-Agent": limits.user_agent,
               "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    seen: list[str] = []
    for _hop in range(limits.max_redirects + 1):
        scheme = urlsplit(current).scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchFailed(url, f"cannot fetch a {scheme or 'relative'} URL: {current}")
        resp = _get(session, current, headers, limits, url)
        try:
            if resp.is_redirect or resp.status_code in (301, 302, 303, 307, 308):
                location = resp.headers.get("Location")
                if not location:
                    raise FetchFailed(url, f"HTTP {resp.status_code} redirect without a Location header")
                seen.append(current)
                current = urljoin(current, location)
                if current in seen:
                    raise FetchFailed(url, f"redirect loop ({len(seen)} hops, back to {current})")
                continue
            if resp.status_code == 304:
                return FetchResult(current, 304, b"", _lower(resp.headers), time.monotonic() - started)
            if resp.status_code != 200:
                raise FetchFailed(url, f"HTTP {resp.status_code} {resp.reason or ''}".rstrip()
                                  + (f" from {current}" if current != url else ""))
            body = _read_capped(resp, limits, url, started)
            return FetchResult(current, 200, body, _lower(resp.headers), time.monotonic() - started)
        finally:
            resp.close()
    raise FetchFailed(url, f"more than {limits.max_redirects} redirects (last: {current})")


def _get(session: requests.Session, current: str, headers: dict, limits: FetchLimits,
         url: str) -> requests.Response:
    try:
        return session.get(current, headers=headers, stream=True, allow_redirects=False,
                           timeout=(limits.connect_timeout, limits.read_timeout))
    except requests.exceptions.SSLError as exc:
        raise FetchFailed(url, f"TLS certificate of {urlsplit(current).hostname} not accepted ({_short(exc)}); "
                               "add the missing intermediate certificate to the CA bundle "
                               "rather than disabling verification") from None
    except requests.exceptions.ConnectTimeout:
        raise FetchFailed(url, f"no connection within {limits.connect_timeout:g} s") from None
    except requests.exceptions.ReadTimeout:
        raise FetchFailed(url, f"no answer within {limits.read_timeout:g} s") from None
    except requests.exceptions.ConnectionError as exc:
        raise FetchFailed(url, f"cannot connect to {urlsplit(current).netloc}: {_short(exc)}") from None
    except requests.exceptions.RequestException as exc:
        raise FetchFailed(url, f"request failed: {_short(exc)}") from None


def _read_capped(resp: requests.Response, limits: FetchLimits, url: str, started: float) -> bytes:
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes:
        raise FetchFailed(url, f"body of {_mb(int(declared))} refused: over the {_mb(limits.max_bytes)} limit")
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in resp.iter_content(chunk_size=64 * 1024):
            size += len(chunk)
            if size > limits.max_bytes:
                raise FetchFailed(url, f"body refused: more than the {_mb(limits.max_bytes)} limit")
            if time.monotonic() - started > limits.total_timeout:
                raise FetchFailed(url, f"body not complete within {limits.total_timeout:g} s")
            chunks.append(chunk)
    except requests.exceptions.RequestException as exc:
        if isinstance(exc.__context__, TimeoutError) or "timed out" in str(exc).lower():
            raise FetchFailed(url, f"body stalled: nothing for {limits.read_timeout:g} s") from None
        raise FetchFailed(url, f"body cut off: {_short(exc)}") from None
    return b"".join(chunks)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _short(exc: BaseException) -> str:
    """The innermost useful words of a requests/urllib3 exception, on one line."""
    text = str(exc)
    for marker in ("Caused by ", "] "):
        if marker in text:
            text = text.rsplit(marker, 1)[-1]
    text = text.strip("()'\" ")
    return " ".join(text.split())[:200] or type(exc).__name__
