"""A small threaded HTTP server base for the vendor stand-ins.

A vendor server subclasses :class:`VendorServer` and implements ``handle(req) -> Response``.
The base gives: a background thread on 127.0.0.1 with a free port, a request log for assertions,
and fault injection (``inject(...)`` queues faults consumed by the next matching requests:
a status with a body, a delay, a dropped connection).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit


class FakeClock:
    """Time that moves only when told: ``clock()`` is an aware datetime (what a publisher's ``clock``
    returns), ``clock.seconds()`` a float (what a vendor server's ``monotonic`` returns) and
    ``clock.sleep(s)`` moves both forward, so a test waits for a vendor without sleeping."""

    def __init__(self, start: datetime | None = None):
        self.start = start or datetime.now(timezone.utc)
        self.elapsed = 0.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds())

    def seconds(self) -> float:
        with self._lock:
            return self.elapsed

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, seconds
        with self._lock:
            self.slept.append(seconds)
            self.elapsed += seconds


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A parameter from the query, a form body or a JSON body, in that order."""
        if name in self.query:
            return self.query[name][0]
        ctype = self.headers.get("content-type", "")
        if "application/json" in ctype:
            data = self.json() or {}
            v = data.get(name, default) if isinstance(data, dict) else default
            return v if v is None or isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list)) else str(v)
        if "application/x-www-form-urlencoded" in ctype:
            f = self.form()
            if name in f:
                return f[name][0]
        return default


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes/str as is
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        if isinstance(self.body, (dict, list, bool, int)) or self.body is None:
            return json.dumps(self.body, ensure_ascii=False).encode(), "application/json; charset=utf-8"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return self.body, "application/octet-stream"


@dataclass
class Fault:
    """One injected fault: ``status`` + ``body`` answer, ``delay`` seconds before answering,
    ``drop`` closes the connection without an answer; ``after`` lets the real handler run first
    (the vendor did the work, then the answer is lost)."""

    match: Callable[[Request], bool]
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    after: bool = False


class VendorServer:
    """Base: start()/stop(), ``url``, ``requests`` log, ``inject()`` faults.

    ``monotonic`` (seconds) and ``wall`` (epoch seconds) are the server's clocks for rate limits,
    expiries and processing delays; :meth:`use_clock` points both at a :class:`FakeClock` shared
    with the publisher under test."""

    def __init__(self, latency: float = 0.0):
        self.latency = latency
        self.monotonic: Callable[[], float] = time.monotonic
        self.wall: Callable[[], float] = time.time
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def use_clock(self, clock: FakeClock) -> None:
        """Run on ``clock``'s fake time from now on."""
        self.monotonic = clock.seconds
        self.wall = lambda: clock().timestamp()

    # -- to override ---------------------------------------------------------------------
    def handle(self, req: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "VendorServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # keep test output clean
                pass

            def _do(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                              {k.lower(): v for k, v in self.headers.items()}, body)
                with server.lock:
                    server.requests.append(req)
                    fault = next((f for f in server.faults if f.match(req)), None)
                    if fault:
                        server.faults.remove(fault)
                if server.latency:
                    time.sleep(server.latency)
                if fault and fault.delay:
                    time.sleep(fault.delay)
                if fault and fault.after:
                    server.handle(req)  # the vendor did the work; the answer is then lost or replaced
                if fault and fault.drop:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if fault and fault.status is not None:
                    resp = Response(fault.status, fault.body, dict(fault.headers))
                elif fault and fault.after:
                    return
                else:
                    resp = server.handle(req)
                data, ctype = resp.encode()
                self.send_response(resp.status)
                self.send_header("Content-Type", resp.headers.pop("Content-Type", ctype))
                self.send_header("Content-Length", str(len(data)))
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                # headers and body in one write: two small writes cost ~40 ms each on loopback (Nagle)
                self._headers_buffer.append(b"\r\n")
                self._headers_buffer.append(data)
                self.flush_headers()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _do

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- helpers -------------------------------------------------------------------------
    def inject(self, match: Callable[[Request], bool] | str | None = None, **kw) -> None:
        """Queue a fault for the next request matching ``match`` (a callable, a path substring, or any)."""
        if match is None:
            fn = lambda r: True  # noqa: E731
        elif isinstance(match, str):
            fn = lambda r, s=match: s in r.path  # noqa: E731
        else:
            fn = match
        with self.lock:
            self.faults.append(Fault(fn, **kw))

    def calls(self, method: str | None = None, path_contains: str = "") -> list[Request]:
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method) and path_contains in r.path]
