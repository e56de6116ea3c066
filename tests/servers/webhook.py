"""A slow, counting webhook receiver following publishers/webhook.py's documented contract.

It is the "local HTTP channel" of the delivery tests: it counts every create, keeps the
Idempotency-Key of each item, and can be slowed down or made to fail.
"""

from __future__ import annotations

import itertools

from tests.servers.base import Request, Response, VendorServer


class WebhookServer(VendorServer):
    def __init__(self, latency: float = 0.0, honour_keys: bool = True):
        super().__init__(latency)
        self.items: dict[str, dict] = {}
        self.by_key: dict[str, str] = {}
        self.creates = 0
        self.honour_keys = honour_keys
        self._ids = itertools.count(1)

    def handle(self, req: Request) -> Response:
        parts = [p for p in req.path.split("/") if p]
        if req.method == "POST" and parts == ["items"]:
            key = req.headers.get("idempotency-key")
            try:
                payload = req.json()  # a request cut short by a killed client is no create
            except ValueError:
                payload = None
            if not isinstance(payload, dict) or "post_id" not in payload:
                return Response(400, {"error": "invalid JSON body"})
            with self.lock:
                if self.honour_keys and key and key in self.by_key:
                    return Response(200, self.items[self.by_key[key]])
                self.creates += 1
                iid = str(next(self._ids))
                data = dict(payload, id=iid, url=f"{self.url}/items/{iid}", key=key, deleted=False)
                self.items[iid] = data
                if key:
                    self.by_key[key] = iid
            return Response(201, data)
        if req.method == "GET" and parts == ["items"]:
            key = req.query.get("key", [None])[0]
            with self.lock:
                found = [self.items[self.by_key[key]]] if key in self.by_key else []
            return Response(200, found)
        if len(parts) == 2 and parts[0] == "items":
            with self.lock:
                item = self.items.get(parts[1])
                if item is None or item["deleted"]:
                    return Response(404, {"error": "not found"})
                if req.method == "PUT":
                    item.update(req.json())
                    return Response(200, item)
                if req.method == "DELETE":
                    item["deleted"] = True
                    return Response(204, b"")
        return Response(404, {"error": "no route"})

    def live(self) -> list[dict]:
        with self.lock:
            return [i for i in self.items.values() if not i["deleted"]]
