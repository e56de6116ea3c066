"""``loa status`` names each loudspeaker item's station and slot (pipeline/status.py presents the
item id ``<post>@<station>@<slot>`` the plan decided; it decides nothing)."""

from __future__ import annotations

from pipeline.status import broadcast, render_status
from tests.test_loudspeaker import Repo, at, news


def test_status_shows_the_station_and_the_slot_of_each_broadcast_item(tmp_path):
    r = Repo(tmp_path, {"a.md": news(1, unit="phuong-1"), "e.md": news(2, unit="phuong-2", priority="emergency",
                                                                       when="2024-03-10 17:00")})
    with r.session(at(10, 17, 10)) as s:
        st = s.status(at(10, 17, 10))
    items = [x for key in ("upcoming", "due", "held") for x in st[key] if x["channel"] == "loudspeaker"]
    shown = {(x["title"], x["broadcast"]["station"], x["broadcast"]["slot"]) for x in items}
    assert ("Tin số 1", "p1", at(10, 17, 30).isoformat()) in shown
    assert ("Tin số 2", "p2", None) in shown
    assert all(x["broadcast"] is None for key in ("upcoming", "due") for x in st[key] if x["channel"] == "portal")
    vi, en = render_status(st, r.cfg, "vi"), render_status(st, r.cfg, "en")
    assert "Tin số 1 — Đài truyền thanh Phường 1, buổi phát 10/03/2024 17:30" in vi
    assert "Tin số 2 — Đài truyền thanh Phường 2, phát khẩn cấp" in vi
    assert "Tin số 1 — Đài truyền thanh Phường 1, slot 10/03/2024 17:30" in en
    assert "Tin số 2 — Đài truyền thanh Phường 2, emergency broadcast" in en


def test_a_posts_own_id_and_an_unknown_station_are_shown_as_they_are(tmp_path):
    r = Repo(tmp_path, {"a.md": news(1)})
    assert broadcast("20240311-000001", r.cfg) is None
    assert broadcast("20240311-000001@p9@20240310T1730", r.cfg) == {
        "station": "p9", "station_name": "p9", "slot": at(10, 17, 30).isoformat(), "emergency": False}
    assert broadcast("x@p1@not-a-slot", r.cfg)["slot"] is None
