"""The console's queries in the application layer: the calendar shows every post at its time in
the state the plan gives it (after a real publish, a retraction, a failure), blackouts and pauses
as bands; a post's page holds its renderings, its ledger history and its approval; activities are
written as the same YAML the reports read."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from pipeline import app
from pipeline import calendar as cal
from pipeline.activities import read_activities
from pipeline.config import load_config
from tests.repo import make_repo, post

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 3, 26, 9, 0, tzinfo=VN)


@pytest.fixture
def repo(tmp_path):
    make_repo(tmp_path, {
        "news/a.md": post(id="a", title="Đã đăng <b>in đậm</b>", channels=["portal"],
                          approved_by="Lê Thị Mai"),
        "news/b.md": post(id="b", title="Chờ duyệt", publish_at="2024-03-27 08:00", channels=["portal"]),
        "news/c.md": post(id="c", title="Tháng sau", publish_at="2024-04-10 08:00", channels=["portal"]),
    })
    return tmp_path


URL: dict[str, str] = {}  # the ledger of the running test (both backends for some tests)


def session(root, now=NOW):
    cfg = load_config(root / "config.toml", env={"LOA_LEDGER_URL": URL["url"]} if URL else {})
    return app.Session.open(cfg, clock=lambda: now)


@pytest.fixture
def both(ledger_url):
    """The test runs on SQLite and on PostgreSQL."""
    URL["url"] = ledger_url
    yield ledger_url
    URL.clear()


def approve(root, path, by="Lê Thị Mai"):
    with session(root) as s:
        _post, front = s.approve(root / "content" / path, by)
        assert isinstance(front, dict), front


def test_calendar_month_shows_real_states_from_the_ledger(repo):
    approve(repo, "news/a.md")
    with session(repo, datetime(2024, 3, 25, 8, 1, tzinfo=VN)) as s:
        s.publish()
    with session(repo) as s:
        month = s.calendar("month", date(2024, 3, 1))
        by_id = {e.post_id: e for e in month.entries}
        assert by_id["a"].state == "published" and by_id["a"].url
        # the plan holds it for approval only once due; until then it is scheduled, and unapproved
        assert (by_id["b"].state, by_id["b"].unapproved, by_id["a"].unapproved) == ("scheduled", True, False)
        assert "c" not in by_id  # April: not in March's view...
        assert month.start.date() == date(2024, 2, 26) and month.end.date() == date(2024, 4, 1)
        april = s.calendar("month", date(2024, 4, 1))
        assert [e.post_id for e in april.entries] == ["c"] and april.entries[0].state == "scheduled"
        # a week: Monday to Sunday
        week = s.calendar("week", date(2024, 3, 27))
        assert [d.isoformat() for d in week.days][0] == "2024-03-25" and len(week.days) == 7
        assert {e.post_id for e in week.entries} == {"a", "b"}
        # filters
        assert s.calendar("month", date(2024, 3, 1), filters={"unit": "phuong-2"}).entries == []
        assert len(s.calendar("month", date(2024, 3, 1), filters={"channel": "portal", "topic": "cchc"}).entries) == 2


def test_calendar_bands_for_blackouts_and_pauses(repo, both):
    with session(repo) as s:
        s.pause("portal", reason="Quốc tang", actor="it")
        month = s.calendar("month", date(2024, 3, 1))
        pauses = [b for b in month.bands if b.kind == "pause"]
        assert [(b.reason, b.channels, b.end) for b in pauses] == [("Quốc tang", ("portal",), None)]
        assert month.bands_on(date(2024, 3, 28), VN) and not month.bands_on(date(2024, 3, 1), VN)
    with session(repo, datetime(2024, 3, 27, 9, 0, tzinfo=VN)) as s:
        s.resume("portal", actor="it")
        ended = [b for b in s.calendar("month", date(2024, 3, 1)).bands if b.kind == "pause"]
        assert len(ended) == 1 and ended[0].end is not None
        # the blackouts of the sample config, in their month
        for b in s.cfg.blackouts:
            view = s.calendar("month", b.start.astimezone(VN).date())
            assert any(x.kind == "blackout" and x.reason == b.reason for x in view.bands)


def test_post_page_holds_renderings_history_and_approval(repo, both):
    approve(repo, "news/a.md")
    with session(repo, datetime(2024, 3, 25, 8, 1, tzinfo=VN)) as s:
        s.publish()
    with session(repo) as s:
        page = s.post_page("a")
        assert page.states["portal"][0] == "published" and page.approved
        assert [r.channel for r in page.renderings] == ["portal"]
        kinds = [e.kind for e in page.history]
        assert "success" in kinds and "claim" in kinds
        assert page.history[0].at >= page.history[-1].at  # newest first
        b = s.post_page("b")
        assert not b.approved and b.approval_needed == ("portal",) and b.changed_since_approval is None
        assert s.post_page("nope") is None
    # the post changes after approval: the page names what changed
    path = repo / "content/news/a.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Sáng 25/3", "Chiều 25/3"), encoding="utf-8")
    with session(repo) as s:
        page = s.post_page("a")
        assert not page.approved and "body" in page.changed_since_approval
    # the file no longer parses: the page is the ledger's, with the file's problems (not "file gone")
    path.write_text(path.read_text(encoding="utf-8").replace("title:", "title: [", 1), encoding="utf-8")
    with session(repo) as s:
        page = s.post_page("a")
        assert page.post is None and page.states["portal"][1] == "deleted"
        assert page.problems and {x.path for x in page.problems} == {"content/news/a.md"}
        assert any(x.code.startswith("front.") for x in page.problems)


def test_failed_and_retracted_are_shown_as_such(repo):
    approve(repo, "news/a.md")
    with session(repo, datetime(2024, 3, 25, 8, 1, tzinfo=VN)) as s:
        s.publish()
        s.ledger.ensure("z", "portal", channel_type="static_site", now=NOW,
                        meta={"title": "Bài đã xóa", "unit": "phuong-1", "publish_at": NOW})
    path = repo / "content/news/a.md"
    path.write_text(path.read_text(encoding="utf-8").replace("status: ready", "status: ready\nretracted: Sai số liệu"),
                    encoding="utf-8")
    approve(repo, "news/a.md")
    with session(repo) as s:
        s.publish()
        entries = {e.post_id: e for e in s.calendar("month", date(2024, 3, 1)).entries}
        assert entries["a"].state == "retracted"


def test_activity_form_writes_the_file_reports_read(repo):
    with session(repo) as s:
        rel, problems = s.add_activity({"date": "2024-03-02", "unit": "phuong-1", "kind": "pano", "count": "3",
                                        "place": "Đường Trần Phú"}, actor="lan")
        assert problems == [] and rel == "activities/2024/2024-03-02-phuong-1-pano.yaml"
        again, _ = s.add_activity({"date": "2024-03-02", "unit": "phuong-1", "kind": "pano", "count": "1"}, actor="lan")
        assert again.endswith("-2.yaml")
        bad, problems = s.add_activity({"date": "2024-02-30", "unit": "../../etc", "kind": "x", "count": "0"}, actor="lan")
        assert bad is None and {p[2] for p in problems} == {"activity.date", "activity.unit", "activity.kind",
                                                             "activity.count"}
        # each one written is an event with the person; the refused one is not
        recorded = [(e.actor, e.detail["path"]) for e in s.ledger.events(kinds=("activity",))]
        assert sorted(recorded) == sorted([("lan", "content/" + rel), ("lan", "content/" + again)])
    with session(repo) as s:
        listed, unreadable = s.activities()
        assert len(listed) == 2 and unreadable == []
    acts, problems = read_activities(repo / "content", {"phuong-1"}, tz=VN)
    assert problems == [] and sorted((a.count, a.place) for a in acts) == [(1, ""), (3, "Đường Trần Phú")]


def test_a_calendar_date_out_of_range_is_ignored():
    from pipeline.web.routes_calendar import day_of

    assert day_of("2024-03-25") == date(2024, 3, 25)
    for value in ("9999-12-31", "0001-01-01", "2024-02-30", "abc", "", None, "２０２４-01-01"):
        assert day_of(value) is None, value


def test_calendar_windows():
    start, end, days = cal.window("month", date(2024, 2, 14), VN)
    assert days[0] == date(2024, 1, 29) and days[-1] == date(2024, 3, 3) and len(days) % 7 == 0
    assert cal.shift("month", date(2024, 12, 5), 1) == date(2025, 1, 1)
    assert cal.shift("month", date(2024, 1, 5), -1) == date(2023, 12, 1)
    assert cal.shift("week", date(2024, 1, 5), -1) == date(2023, 12, 29)
    with pytest.raises(ValueError):
        cal.window("year", date(2024, 1, 1), VN)


def test_the_time_index_gives_what_looking_at_every_decision_gives(repo):
    approve(repo, "news/a.md")
    with session(repo, datetime(2024, 3, 25, 8, 1, tzinfo=VN)) as s:
        s.publish()
    with session(repo) as s:
        for view, day in (("month", date(2024, 3, 1)), ("week", date(2024, 3, 25)), ("month", date(2024, 4, 1))):
            for _ in range(2):  # the second time from the kept index
                fast = s.calendar(view, day)
                full = cal.build_calendar(s.plan().decisions, app.channel_state, view=view, anchor=day, tz=VN,
                                          blackouts=s.cfg.blackouts,
                                          unapproved=lambda post, w=s._unapproved(): w(post.relpath, post))
                assert fast.entries == full.entries and fast.entries


def test_content_max_age_trusts_the_files_briefly_but_not_after_its_own_write(repo):
    with session(repo) as s:
        s.content_max_age = 60.0
        assert s.post_page("b").post.title == "Chờ duyệt"
        path = repo / "content/news/b.md"
        path.write_text(path.read_text(encoding="utf-8").replace("Chờ duyệt", "Đổi tên"), encoding="utf-8")
        assert s.post_page("b").post.title == "Chờ duyệt"  # within the minute: not looked at again
        _post, front = s.approve(path, "Lê Thị Mai")
        assert isinstance(front, dict)
        assert s.post_page("b").post.title == "Đổi tên" and s.post_page("b").approved
        s.content_max_age = 0.0
        path.write_text(path.read_text(encoding="utf-8").replace("Đổi tên", "Lần nữa"), encoding="utf-8")
        assert s.post_page("b").post.title == "Lần nữa"
