"""A generic JSON webhook channel (registry key ``webhook``): another CMS, an intranet, a relay.

Options: ``url`` (collection endpoint), ``token_env`` (optional bearer token), ``timeout``.

Contract Loa expects from the receiving service (documented in docs/channels.md):

- ``POST {url}`` with the item as JSON and an ``Idempotency-Key`` header -> 201 ``{"id", "url"}``;
  the same key sent again returns the item already created (200) instead of a second one.
- ``GET {url}?key=<Idempotency-Key>`` -> 200 ``[items]`` (empty list when unknown): lookup.
- ``PUT {url}/{id}`` -> 200 item; ``DELETE {url}/{id}`` -> 204 (404 = already gone).
- 429 / 5xx with optional ``Retry-After``: transient; 401/403: auth; other 4xx: permanent.
"""

from __future__ import annotations

from pipeline.errors import PublisherAuthError
from pipeline.messages import Detail
from pipeline.models import PublishResult, Rendering
from publishers import http
from publishers.base import ChannelHealth, OptionSpec, Publisher, http_url


class WebhookPublisher(Publisher):
    """JSON webhook. Key ``webhook``; options url, token_env, timeout, social."""

    type = "webhook"
    family = "portal"
    limits = {"article": None}
    options = (
        OptionSpec("url", str, required=True, doc="Collection endpoint receiving the items", check=http_url),
        OptionSpec("token_env", str, doc="Environment variable holding a bearer token (optional).", secret_env=True),
        OptionSpec("timeout", (int, float), default=30, doc="Seconds to wait for an answer."),
        OptionSpec("social", bool, default=False, doc="Treat as a social channel (24 h max_lateness by default)."),
    )
    can_lookup = True
    lookup_note = "GET {url}?key=<Idempotency-Key> finds an item whose answer was lost"

    def __init__(self, name, options, **kw):
        super().__init__(name, options, **kw)
        self.url = self.opts["url"].rstrip("/")
        self.session = http.new_session()
        self.timeout = (5.0, float(self.opts["timeout"]))
        if self.opts["token_env"]:
            self.session.headers["Authorization"] = f"Bearer {self.secret('token_env')}"

    def _call(self, method: str, url: str, post_id: str | None, **kw):
        with http.translate(self.name, post_id):
            resp = self.session.request(method, url, timeout=self.timeout, **kw)
        if resp.status_code >= 400:
            cls = http.classify_status(resp.status_code)
            text = resp.text[:300]
            http.raise_for(cls, self.name, post_id, Detail("webhook.http", status=resp.status_code),  # vi/en when shown
                           vendor_message=text, status=resp.status_code,
                           retry_after=http.parse_retry_after(resp.headers.get("Retry-After"), self.clock()),
                           hint=(Detail("webhook.check-token") if cls is PublisherAuthError else None))
        return resp

    def _payload(self, r: Rendering) -> dict:
        pub = r.extra.get("publish_at")
        return {"post_id": r.post_id, "title": r.title, "body": r.body, "link": r.link, "kind": r.kind,
                "slug": r.extra.get("slug"), "summary": r.extra.get("summary"), "unit": r.extra.get("unit"),
                "topics": list(r.extra.get("topics") or []), "publish_at": pub.isoformat() if pub else None,
                "version": r.source_hash}

    def _result(self, data: dict) -> PublishResult:
        return PublishResult(str(data["id"]), data.get("url"))

    def _send(self, rendering, key):
        resp = self._call("POST", self.url, rendering.post_id, json=self._payload(rendering), headers={"Idempotency-Key": key})
        return self._result(resp.json())

    def _update(self, rendering, previous):
        resp = self._call("PUT", f"{self.url}/{previous.remote_id}", rendering.post_id, json=self._payload(rendering))
        return self._result(resp.json())

    def _retract(self, previous, reason):
        with http.translate(self.name, None):
            resp = self.session.delete(f"{self.url}/{previous.remote_id}", timeout=self.timeout)
        if resp.status_code in (200, 204, 404, 410):
            return
        self._call("DELETE", f"{self.url}/{previous.remote_id}", None)

    def _lookup(self, rendering, key):
        items = self._call("GET", self.url, rendering.post_id, params={"key": key}).json()
        return self._result(items[0]) if items else None

    def _check(self):
        self._call("GET", self.url, None, params={"key": "loa-channel-check"})
        return ChannelHealth(self.name, True, (Detail("webhook.answers", url=self.url),))
