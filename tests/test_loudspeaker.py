"""The ward loudspeaker channel (issue 20): config, bulletin composition, exactly-once items in the
ledger, eSpeak NG audio, the drop folder, the push, the report section."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline import bulletin
from pipeline.app import Session
from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.ledger import open_ledger
from tests.repo import CONFIG_HEAD, make_repo, post
from tests.servers.webhook import WebhookServer

VN = ZoneInfo("Asia/Ho_Chi_Minh")
HEAD = CONFIG_HEAD + """
[[units]]
id = "ubnd"
name = "Văn phòng UBND"
kind = "office"
[[units]]
id = "phuong-2"
name = "Phường 2"
kind = "ward"
[content.types.news]
label = "Tin tức"
channels = ["portal", "loudspeaker"]
[content.types.guide]
label = "Hướng dẫn"
channels = ["portal", "loudspeaker"]
[content.topics]
cchc = "Cải cách hành chính"
[editorial]
board = ["Lê Thị Mai"]
require_approval = []
[channels.portal]
type = "static_site"
"""
CHANNEL = """
[channels.loudspeaker]
type = "loudspeaker"
engine = "{engine}"
minutes = {minutes}
slots = ["06:00", "17:30"]
drop_dir = "var/loa"
docx = {docx}
{extra}
[channels.loudspeaker.repeat]
guide = {{ times = 3, days = 3 }}
[channels.loudspeaker.stations.p1]
name = "Đài truyền thanh Phường 1"
wards = ["phuong-1"]
[channels.loudspeaker.stations.p2]
name = "Đài truyền thanh Phường 2"
wards = ["phuong-2"]
"""
BODY = ("UBND phường hướng dẫn người dân nộp hồ sơ trực tuyến trên Cổng DVC quốc gia. "
        "Lệ phí 8.000 đồng, hạn chót ngày 15/3/2024.\n\n"
        "1. Đăng nhập bằng tài khoản VNeID.\n2. Chọn thủ tục cần làm.\n3. Nộp hồ sơ và theo dõi kết quả.\n")


def config(engine="none", minutes=5, docx="false", extra=""):
    return HEAD + CHANNEL.format(engine=engine, minutes=minutes, docx=docx, extra=extra)


def at(day, hh, mm=0):
    return datetime(2024, 3, day, hh, mm, tzinfo=VN)


class Repo:
    def __init__(self, tmp_path, posts, *, approval=(), **kw):
        text = config(**kw).replace("require_approval = []", f"require_approval = {json.dumps(list(approval))}")
        self.root = make_repo(tmp_path, posts, config=text)
        self.cfg = load_config(self.root / "config.toml", env={})

    def ledger(self):
        lg = open_ledger(None, self.root)
        lg.migrate()
        return lg

    def session(self, now):
        return Session(self.cfg, self.ledger, owner="t", clock=lambda: now, env={})

    def publish(self, now, **kw):
        with self.session(now) as s:
            return s.publish(now=now, **kw)

    def rows(self):
        lg = self.ledger()
        try:
            return [r for r in lg.rows() if r.channel == "loudspeaker"]
        finally:
            lg.close()


def news(i, unit="ubnd", when="2024-03-10 07:00", **kw):
    kw.setdefault("body", BODY)
    return post(id=f"2024031{i % 10}-{i:06x}", title=f"Tin số {i}", unit=unit, publish_at=when, **kw)


# -- config -------------------------------------------------------------------------------------
def test_config_errors_name_their_dotted_keys(tmp_path):
    bad = HEAD + """
[channels.loudspeaker]
type = "loudspeaker"
engine = "festival"
slots = ["6h", "17:30"]
minutes = 0
wpm = 0
drop_dir = "../../etc"
speech = { voice = "/tmp/evil", program = "sh" }
[channels.loudspeaker.repeat]
guide = { times = 0, days = 3 }
notice = { times = 1 }
[channels.loudspeaker.stations.p1]
wards = ["ubnd", "phuong-9"]
slots = ["06:00", "06:00"]
colour = "red"
"""
    root = make_repo(tmp_path, {}, config=bad)
    with pytest.raises(ConfigError) as e:
        load_config(root / "config.toml", env={})
    keys = {k for k, _ in e.value.errors}
    assert {"channels.loudspeaker.engine", "channels.loudspeaker.wpm", "channels.loudspeaker.drop_dir",
            "channels.loudspeaker.speech.voice", "channels.loudspeaker.speech.program", "channels.loudspeaker.slots", "channels.loudspeaker.minutes",
            "channels.loudspeaker.repeat.guide.times", "channels.loudspeaker.repeat.notice",
            "channels.loudspeaker.stations.p1.wards", "channels.loudspeaker.stations.p1.slots",
            "channels.loudspeaker.stations.p1.colour"} <= keys, keys
    text = str(e.value)
    assert "ubnd" in text and "phuong-9" in text
    from pipeline.messages import localized

    wards = [localized(d, "vi") for k, d in e.value.errors if k == "channels.loudspeaker.stations.p1.wards"]
    unknown = next(w for w in wards if "phuong-9" in w)  # says where units are declared and which exist
    assert "[[units]]" in unknown and "phuong-1, phuong-2" in unknown, unknown


def test_a_bad_priority_in_front_matter_is_an_error(tmp_path):
    from pipeline.app import Session as S

    r = Repo(tmp_path, {"a.md": news(1, priority="urgent")})
    with S(r.cfg, r.ledger, owner="t", env={}) as s:
        codes = [p.code for p in s.check().problems]
    assert "front.bad-priority" in codes


# -- composition (pure) ---------------------------------------------------------------------------
def _settings(minutes=5, **kw):
    opts = {"stations": {"p1": {"wards": ["phuong-1"]}, "p2": {"wards": ["phuong-2"]}}, "minutes": minutes,
            "repeat": {"guide": {"times": 3, "days": 3}}, **kw}
    return bulletin.settings("loudspeaker", opts)


class _Unit:
    def __init__(self, kind):
        self.kind = kind


UNITS = {"ubnd": _Unit("office"), "phuong-1": _Unit("ward"), "phuong-2": _Unit("ward")}


def _posts(tmp_path, texts):
    r = Repo(tmp_path, texts)
    with r.session(at(1, 0)) as s:
        return r, list(s.content().posts)


def test_a_ward_hears_its_own_posts_and_the_citys_not_another_wards(tmp_path):
    _, posts = _posts(tmp_path, {"a.md": news(1), "b.md": news(2, unit="phuong-1"), "c.md": news(3, unit="phuong-2")})
    items = bulletin.compose(posts, _settings(), UNITS, {}, at(10, 17, 10), VN, lambda p: 30.0)
    by_station = {}
    for i in items:
        by_station.setdefault(i.station, []).append(i.post.id)
    assert sorted(by_station["p1"]) == sorted([posts[0].id, posts[1].id] if posts[1].unit == "phuong-1" else [])
    assert {p.unit for p in posts if p.id in by_station["p2"]} == {"ubnd", "phuong-2"}
    assert all(i.slot == at(10, 17, 30) for i in items)


def test_nothing_is_composed_outside_the_lead_before_a_slot(tmp_path):
    _, posts = _posts(tmp_path, {"a.md": news(1)})
    assert bulletin.compose(posts, _settings(), UNITS, {}, at(10, 12, 0), VN, lambda p: 30.0) == []
    assert bulletin.compose(posts, _settings(), UNITS, {}, at(10, 17, 30), VN, lambda p: 30.0) == []  # it has begun


def test_priority_first_and_what_does_not_fit_waits_for_the_next_slot(tmp_path):
    texts = {f"n{i}.md": news(i, when=f"2024-03-10 0{i}:00") for i in range(1, 6)}
    texts["p.md"] = news(9, when="2024-03-10 09:00", priority="priority")
    _, posts = _posts(tmp_path, texts)
    s = _settings(minutes=2)  # 120 s - 30 s reserved: three items of 30 s
    items = [i for i in bulletin.compose(posts, s, UNITS, {}, at(10, 17, 10), VN, lambda p: 30.0) if i.station == "p1"]
    ids = [i.post.id for i in items]
    assert len(ids) == 3
    assert ids[0] == next(p.id for p in posts if p.extra.get("priority") == "priority")
    assert [p.publish_at.hour for p in posts if p.id in ids[1:]] == [1, 2]  # the oldest normal ones
    # the next slot: those aired count, the others come now
    hist = {(i.post.id, "p1"): [(i.slot.strftime("%Y%m%dT%H%M"), _Aired())] for i in items}
    later = [i.post.id for i in bulletin.compose(posts, s, UNITS, hist, at(11, 5, 40), VN, lambda p: 30.0)
             if i.station == "p1"]
    assert set(later).isdisjoint(ids) and len(later) == 3


class _Aired:
    first_published_at = datetime(2024, 1, 1, tzinfo=VN)
    state = "published"


def test_a_guide_three_times_over_three_days_once_per_slot(tmp_path):
    _, posts = _posts(tmp_path, {"g.md": news(1, type="guide", when="2024-03-10 05:00")})
    s, hist, aired = _settings(), {}, []
    t = at(10, 5, 45)
    while t < at(16, 0):
        for i in bulletin.compose(posts, s, UNITS, hist, t, VN, lambda p: 30.0):
            key = i.slot.strftime("%Y%m%dT%H%M")
            if i.station == "p1" and key not in [k for k, _ in hist.get((i.post.id, "p1"), [])]:
                aired.append(i.slot)
                hist.setdefault((i.post.id, "p1"), []).append((key, _Aired()))
        t += timedelta(minutes=10)
    assert aired == [at(10, 6), at(11, 6), at(12, 6)]


def test_an_emergency_goes_out_at_once_outside_the_slots(tmp_path):
    _, posts = _posts(tmp_path, {"e.md": news(1, when="2024-03-10 11:00", priority="emergency")})
    items = bulletin.compose(posts, _settings(), UNITS, {}, at(10, 11, 5), VN, lambda p: 30.0)
    assert {(i.station, i.slot) for i in items} == {("p1", None), ("p2", None)}
    assert all(i.id.endswith("@khan") for i in items)


# -- publishing: ledger, drop folder ----------------------------------------------------------------
def test_each_post_station_slot_is_one_ledger_item_sent_once(tmp_path):
    r = Repo(tmp_path, {"a.md": news(1), "b.md": news(2, unit="phuong-2")})
    first = r.publish(at(10, 17, 5))
    assert first.sent >= 3, first.lines
    rows = {x.post_id: x for x in r.rows()}
    assert sorted(rows) == sorted(
        [f"{p}@p1@20240310T1730" for p in ("20240311-000001",)] +
        [f"{p}@p2@20240310T1730" for p in ("20240311-000001", "20240312-000002")])
    assert all(x.state == "published" for x in rows.values())
    again = r.publish(at(10, 17, 15))
    assert again.sent == 0
    folder = r.root / "var/loa/p2/20240310T1730"
    manifest = json.loads((folder / "bulletin.json").read_text())
    assert [i["id"] for i in manifest["items"]] == sorted(i for i in rows if "@p2@" in i)
    item = json.loads((folder / "20240311-000001.json").read_text())
    assert item["priority"] == "normal" and item["slot"] == "2024-03-10T17:30:00+07:00"
    assert item["wards"] == ["phuong-2"] and item["audio"] is None and "chưa có âm thanh" in item["audio_missing"]
    assert "phát thanh viên" in item["audio_missing"] and '"none"' in item["audio_missing"]
    script = (folder / "20240311-000001.txt").read_text()
    assert "tám nghìn đồng" in script and "http" not in script
    opening = (folder / "opening.txt").read_text()
    assert "Đài truyền thanh Phường hai" in opening  # the station's name read aloud too
    # the formulas are read aloud like the items: the slot's time in words, no digits
    assert "mười bảy giờ ba mươi phút" in opening and not re.search(r"\d", opening), opening


def test_a_hostile_formula_template_fails_its_item_naming_the_file(tmp_path):
    """A content repository's opening formula reaching Python's internals: the sandbox refuses it,
    the item fails (nothing delivered half) and the error names the template file to fix."""
    r = Repo(tmp_path, {"a.md": news(1)})
    tpl = r.root / "templates/loudspeaker/opening.txt"
    tpl.parent.mkdir(parents=True, exist_ok=True)
    tpl.write_text('{{ station.__class__.__mro__[1].__subclasses__() }}', encoding="utf-8")
    r.publish(at(10, 17, 5))
    rows = r.rows()
    assert not list((r.root / "var/loa").rglob("*.*")), "nothing is delivered for a failed item"
    assert rows and all(x.state == "failed" for x in rows), [(x.post_id, x.state) for x in rows]
    assert all("templates/loudspeaker/opening.txt" in (x.last_error or "") for x in rows), [x.last_error for x in rows]
    assert "unsafe" in rows[0].last_error
    # loa channels check says it before any slot: the channel is not ok, and the file is named
    with r.session(at(10, 17, 5)) as s:
        report = next(c for c in s.check_channels() if c.name == "loudspeaker")
    assert not report.health.ok
    assert any("templates/loudspeaker/opening.txt" in line for line in report.health.messages), report.health.messages
    tpl.unlink()
    with r.session(at(10, 17, 5)) as s:
        report = next(c for c in s.check_channels() if c.name == "loudspeaker")
    assert report.health.ok and any("Đây là Đài truyền thanh Phường một" in m for m in report.health.messages)


def _sample_guides() -> list[str]:
    """The bodies of the sample content's how-to guides (content/guide/)."""
    from tests.repo import ROOT

    out = []
    for f in sorted((ROOT / "content/guide").rglob("*.md")):
        text = f.read_text(encoding="utf-8")
        body = text.split("\n---\n", 1)[1] if text.startswith("---\n") else text
        out.append(re.sub(r"\]\((?!https?:)[^)]*\)", "](https://portal.example.gov.vn/)", body))  # links to other posts
    return out


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng is not installed")
def test_espeak_audio_lasts_within_20_percent_of_the_estimate(tmp_path):
    """In CI (espeak-ng is in .ci/run's packages) the sample guides' bulletin gets real audio."""
    guides = _sample_guides()[:4]  # four of the six keep the test to a few seconds
    assert len(guides) == 4
    texts = {f"g{i}.md": news(i, type="guide", body=b) for i, b in enumerate(guides)}
    r = Repo(tmp_path, texts | {"a.md": news(99)}, engine="espeak-ng", minutes=60)
    r.publish(at(10, 17, 5))
    items = [json.loads(p.read_text()) for p in (r.root / "var/loa/p1/20240310T1730").glob("2*.json")]
    assert len(items) == len(guides) + 1
    for item in items:
        assert item["audio"].endswith(".wav")
    manifest = json.loads((r.root / "var/loa/p1/20240310T1730/bulletin.json").read_text())
    assert manifest["opening_audio"] == "opening.wav" and manifest["closing_audio"] == "closing.wav"
    for item in items:
        ratio = item["duration_seconds"] / item["estimated_seconds"]
        assert 0.8 <= ratio <= 1.2, (item["duration_seconds"], item["estimated_seconds"])


def test_push_to_the_information_source_system_once_per_item(tmp_path):
    with WebhookServer() as server:
        r = Repo(tmp_path, {"a.md": news(1, priority="priority")}, extra=f'push_url = "{server.url}/items"')
        r.publish(at(10, 17, 5))
        r.publish(at(10, 17, 6))
        assert server.creates == 2
        got = sorted(server.items.values(), key=lambda i: i["station"])
        assert [i["station"] for i in got] == ["p1", "p2"]
        assert got[0]["priority"] == "priority" and got[0]["slot"] == "2024-03-10T17:30:00+07:00"
        assert "tám nghìn đồng" in got[0]["script"]


def _schema_problems(body: dict, schema: dict) -> list[str]:
    """The subset of JSON Schema docs/schemas/loudspeaker-push.schema.json uses (checked by
    jsonschema too when it is installed; it is not one of Loa's dependencies)."""
    types = {"string": str, "number": (int, float), "array": list, "null": type(None), "object": dict}
    out = [f"missing {k}" for k in schema["required"] if k not in body]
    out += [f"extra {k}" for k in body if k not in schema["properties"]]
    for k, rule in schema["properties"].items():
        v = body.get(k)
        if "enum" in rule and v not in rule["enum"]:
            out.append(f"{k}: {v!r} not in {rule['enum']}")
        kinds = rule.get("type")
        if kinds and not isinstance(v, tuple(types[t] for t in ([kinds] if isinstance(kinds, str) else kinds))):
            out.append(f"{k}: {v!r} is not {kinds}")
        if "pattern" in rule and isinstance(v, str) and not re.search(rule["pattern"], v):
            out.append(f"{k}: {v!r} does not match {rule['pattern']}")
    return out


def test_the_push_body_follows_its_documented_json_schema_at_the_three_levels(tmp_path):
    from tests.repo import ROOT

    schema = json.loads((ROOT / "docs/schemas/loudspeaker-push.schema.json").read_text(encoding="utf-8"))
    posts = {"n.md": news(1), "p.md": news(2, priority="priority"),
             "e.md": news(3, when="2024-03-10 16:50", priority="emergency")}
    with WebhookServer() as server:
        r = Repo(tmp_path, posts, extra=f'push_url = "{server.url}/items"')
        r.publish(at(10, 17, 5))
        got = [req.json() for req in server.calls("POST", "/items")]  # the bodies as sent
    assert len(got) == 8  # city posts: three in each station's 17:30 bulletin, and the emergency at once on each
    assert {i["priority"] for i in got} == {"normal", "priority", "emergency"}
    assert any(i["slot"] is None and i["id"].endswith("@khan") for i in got)  # the emergency, at once
    for body in got:
        assert _schema_problems(body, schema) == [], body
    try:
        import jsonschema
    except ImportError:
        return
    for body in got:
        jsonschema.validate(body, schema)
    with pytest.raises(jsonschema.ValidationError):  # the schema does refuse
        jsonschema.validate({**got[0], "priority": "urgent"}, schema)


def test_the_report_counts_bulletins_and_minutes_per_station(tmp_path):
    from pipeline.report import write_report

    r = Repo(tmp_path, {"a.md": news(1), "b.md": news(2, unit="phuong-2"),
                        "e.md": news(3, when="2024-03-11 10:00", priority="emergency")})
    r.publish(at(10, 17, 5))   # the 17:30 bulletins: p1 one item, p2 two
    r.publish(at(11, 10, 1))   # the emergency at once, on both stations
    r.publish(at(11, 17, 5))   # the emergency post again, first in the next bulletin (news: once in the slots)
    seconds = {x.post_id: x.extra["seconds"] for x in r.rows()}
    with r.session(at(20, 0)) as s:
        rep = s.report("2024-Q1")
        out = write_report(rep, "md", tmp_path / "r.md")
    rows = {g.station: g for g in rep.grassroots}
    assert (rows["p1"].bulletins, rows["p1"].broadcasts, rows["p1"].emergencies) == (3, 3, 1)
    assert (rows["p2"].bulletins, rows["p2"].broadcasts, rows["p2"].emergencies) == (3, 4, 1)
    assert rows["p2"].minutes == round(sum(v for k, v in seconds.items() if "@p2@" in k) / 60, 1) > 0
    text = out.read_text()
    assert "Trên hệ thống thông tin cơ sở" in text and "Đài truyền thanh Phường 2" in text
    with r.session(at(20, 0)) as s:
        assert s.report("2024-Q2").grassroots == ()
        assert [g.station for g in s.report("2024-Q1", unit="phuong-1").grassroots] == ["p1"]


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng is not installed")
def test_the_preview_shows_the_script_and_plays_its_audio(tmp_path):
    from pipeline.preview import build_preview

    r = Repo(tmp_path, {"a.md": news(1)}, engine="espeak-ng")
    with r.session(at(10, 17, 5)) as s:  # inside the 17:30 composing window: broadcast items are decided too
        build_preview(s, r.root / "out", now=at(10, 17, 5), jobs=1)
    page = next((r.root / "out").glob("**/20240311-000001*.html")).read_text()
    assert "<audio controls" in page and "tám nghìn đồng" in page
    src = page.split('<audio controls preload="none" src="../', 1)[1].split('"', 1)[0]
    from publishers.speech import wav_seconds

    assert wav_seconds(r.root / "out" / src) > 5


def test_the_announcer_gets_a_large_print_docx(tmp_path):
    docx = pytest.importorskip("docx")
    r = Repo(tmp_path, {"a.md": news(1)}, docx="true")
    r.publish(at(10, 17, 5))
    path = r.root / "var/loa/p1/20240310T1730/20240311-000001.docx"
    doc = docx.Document(str(path))
    assert doc.styles["Normal"].font.size.pt == 20
    text = "\n".join(p.text for p in doc.paragraphs)
    assert text.startswith("Tin số 1") and "tám nghìn đồng" in text
    item = json.loads(path.with_suffix(".json").read_text())
    assert item["docx"] == path.name
    # under the title, a small line not to be read: the slot, the level and the estimated reading time
    note = doc.paragraphs[1]
    est = round(item["estimated_seconds"])
    assert note.text == (f"Không đọc dòng này. Đài truyền thanh Phường 1: phát lúc 17:30 ngày 10/3/2024 · mức thường"
                         f" · đọc khoảng {est // 60} phút {est % 60} giây"), note.text
    assert note.runs[0].italic and note.runs[0].font.size.pt == 12



from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.test_config import _toml  # noqa: E402 - its TOML writer

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_SCALAR = st.one_of(st.integers(min_value=-10**6, max_value=10**6), _TEXT, st.booleans(),
                    st.floats(allow_nan=False, allow_infinity=False), st.dates())
_ANY = st.one_of(_SCALAR, st.lists(_SCALAR, max_size=3), st.dictionaries(_TEXT, _SCALAR, max_size=2),
                 st.dictionaries(_TEXT, st.dictionaries(_TEXT, _SCALAR, max_size=2), max_size=2))


def _fuzz_config(key: str, value) -> str:
    raw = tomllib.loads(config(engine="none"))
    ch = raw["channels"]["loudspeaker"]
    if key.startswith("stations."):
        ch["stations"]["p1"][key.split(".", 1)[1]] = value
    else:
        ch[key] = value
    return _toml(raw)


OPTION_KEYS = ["slots", "minutes", "lead", "repeat", "wpm", "reserve_seconds", "max_wait", "emergency_within",
               "engine", "speech", "drop_dir", "glossary", "hundred_zero", "stations", "stations.wards",
               "stations.slots", "stations.minutes", "stations.name"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(OPTION_KEYS), _ANY)
def test_no_loudspeaker_option_value_raises_anything_but_config_error(tmp_path_factory, key, value):
    root = tmp_path_factory.mktemp("ls")
    (root / "config.toml").write_text(_fuzz_config(key, value), encoding="utf-8")
    try:
        cfg = load_config(root / "config.toml", env={})
    except ConfigError:
        return
    s = bulletin.settings("loudspeaker", cfg.channels["loudspeaker"].options)  # a valid config composes
    assert 60 <= s.wpm <= 400 and s.stations and all(st.slots and st.wards for st in s.stations)


def test_a_retraction_before_the_slot_takes_the_item_out_of_the_bulletin(tmp_path):
    with WebhookServer() as server:
        r = Repo(tmp_path, {"a.md": news(1), "b.md": news(2)}, extra=f'push_url = "{server.url}/items"')
        r.publish(at(10, 17, 0))
        folder = r.root / "var/loa/p1/20240310T1730"
        assert len(json.loads((folder / "bulletin.json").read_text())["items"]) == 2
        text = (r.root / "content/b.md").read_text()
        (r.root / "content/b.md").write_text(text.replace("status: ready", "status: ready\nretracted: Thông tin chưa chính xác"))
        r.publish(at(10, 17, 10))
        items = json.loads((folder / "bulletin.json").read_text())["items"]
        assert [i["id"] for i in items] == ["20240311-000001@p1@20240310T1730"]
        assert not list(folder.glob("20240312-000002.*"))
        assert sorted(i["station"] for i in server.live()) == ["p1", "p2"]  # b deleted at the push system
        assert {x.post_id: x.state for x in r.rows()}["20240312-000002@p1@20240310T1730"] == "retracted"


def test_an_edit_before_the_slot_replaces_the_item(tmp_path):
    with WebhookServer() as server:
        r = Repo(tmp_path, {"a.md": news(1)}, extra=f'push_url = "{server.url}/items"')
        r.publish(at(10, 17, 0))
        path = r.root / "content/a.md"
        path.write_text(path.read_text().replace("8.000 đồng", "12.000 đồng"))
        res = r.publish(at(10, 17, 10))
        assert res.updated == 3, res.lines  # the portal and the two stations
        script = (r.root / "var/loa/p1/20240310T1730/20240311-000001.txt").read_text()
        assert "mười hai nghìn đồng" in script and "tám nghìn" not in script
        live = server.live()
        assert len(live) == 2 and all("mười hai nghìn đồng" in i["script"] for i in live)


def test_a_replay_composes_the_past_bulletins(tmp_path):
    r = Repo(tmp_path, {"g.md": news(1, type="guide", when="2024-03-10 05:00")})
    with r.session(at(30, 0)) as s:
        s.replay(at(20, 0))
    slots = sorted(x.post_id.rsplit("@", 1)[1] for x in r.rows() if "@p1@" in x.post_id and x.state == "published")
    assert slots == ["20240310T0600", "20240311T0600", "20240312T0600"]  # a guide: three times over three days


def test_a_shorter_item_after_one_that_does_not_fit_still_gets_the_room(tmp_path):
    texts = {f"n{i}.md": news(i, when=f"2024-03-10 0{i}:00") for i in range(1, 7)}
    _, posts = _posts(tmp_path, texts)
    length = {p.id: s for p, s in zip(sorted(posts, key=lambda p: p.publish_at), (60, 50, 20, 70, 10, 70))}
    s = _settings(minutes=2)  # 90 s of room
    items = [i for i in bulletin.compose(posts, s, UNITS, {}, at(10, 17, 10), VN, lambda p: length[p.id])
             if i.station == "p1"]
    assert [length[i.post.id] for i in items] == [60, 20, 10]  # 50 and 70 passed over; then the room is used up
    length.update({k: 70 for k, v in length.items() if v == 10})  # three misses close the bulletin
    again = [length[i.post.id] for i in bulletin.compose(posts, s, UNITS, {}, at(10, 17, 10), VN, lambda p: length[p.id])
             if i.station == "p1"]
    assert again == [60, 20]


def test_without_espeak_the_script_and_manifest_still_go_out(tmp_path, monkeypatch):
    import publishers.speech.espeak as espeak

    monkeypatch.setattr(espeak.shutil, "which", lambda name: None)
    r = Repo(tmp_path, {"a.md": news(1)}, engine="espeak-ng")
    assert r.publish(at(10, 17, 5)).sent == 3  # the portal and both stations
    item = json.loads((r.root / "var/loa/p1/20240310T1730/20240311-000001.json").read_text())
    assert item["audio"] is None and "chưa cài espeak-ng" in item["audio_missing"]
    assert (r.root / "var/loa/p1/20240310T1730/20240311-000001.txt").exists()
    with r.session(at(10, 17, 6)) as s:
        report = next(c for c in s.check_channels() if c.name == "loudspeaker")
    assert any("espeak-ng" in line for line in report.health.messages)


def test_the_boards_approval_of_a_post_holds_for_its_broadcasts(tmp_path):
    from pipeline.approval import approval_front, set_front_keys

    r = Repo(tmp_path, {"a.md": news(1), "b.md": news(2)}, approval=["loudspeaker"])
    with r.session(at(1, 0)) as s:
        post_a = next(p for p in s.content().posts if p.id.endswith("000001"))
    path = r.root / "content/a.md"
    path.write_text(set_front_keys(path.read_text(), approval_front(post_a, "Lê Thị Mai", r.cfg)))
    r.publish(at(10, 17, 5))
    states = {x.post_id: x.state for x in r.rows()}
    assert {k: v for k, v in states.items() if v == "published"} == {
        "20240311-000001@p1@20240310T1730": "published", "20240311-000001@p2@20240310T1730": "published"}
    with r.session(at(10, 17, 6)) as s:
        held = [d for d in s.plan(at(10, 17, 6)).of("held") if d.channel == "loudspeaker"]
    assert {d.reason for d in held} == {"awaiting-approval"} and len(held) == 2  # b, on both stations


def test_the_reports_channel_tables_name_the_loudspeaker_in_vietnamese(tmp_path):
    """A report's columns by channel say what an official writes (it said ``loudspeaker``)."""
    from pipeline.report import channel_labels

    r = Repo(tmp_path, {"a.md": news(1)})
    assert channel_labels(r.cfg.channels)["loudspeaker"] == "Đài truyền thanh cơ sở"


def test_the_docx_note_of_an_emergency_says_at_once():
    from publishers.loudspeaker import _docx_note

    note = _docx_note(type("S", (), {"name": "Đài Phường 1"})(), {"slot": None, "priority": "emergency", "seconds": 75.4})
    assert note == "Không đọc dòng này. Đài Phường 1: phát ngay, ngoài giờ phát · mức khẩn cấp · đọc khoảng 1 phút 15 giây"


def test_the_opening_speaks_for_the_most_urgent_item_whatever_the_order_sent(tmp_path):
    """An emergency re-aired in a slot leads that bulletin, and its opening says so even when a
    normal item of the same bulletin was delivered after it (the formulas were those of the item
    sent last)."""
    posts = {"e.md": news(1, when="2024-03-10 08:00", priority="emergency"), "n.md": news(2, when="2024-03-10 09:00")}
    r = Repo(tmp_path, posts)
    r.publish(at(10, 17, 5))
    folder = r.root / "var/loa/p1/20240310T1730"
    assert sorted(p.name for p in folder.glob("2*.json")) == ["20240311-000001.json", "20240312-000002.json"]
    assert (folder / "opening.txt").read_text().startswith("Thông báo khẩn.")
    assert json.loads((folder / "bulletin.json").read_text())["opening"].startswith("Thông báo khẩn.")
    quiet = Repo(tmp_path / "b", {"n.md": news(2, when="2024-03-10 09:00")})
    quiet.publish(at(10, 17, 5))
    assert not (quiet.root / "var/loa/p1/20240310T1730/opening.txt").read_text().startswith("Thông báo khẩn")


def test_each_emergency_is_a_bulletin_of_its_own(tmp_path):
    """Two emergencies on one station: two folders, each bulletin.json with its one item (one
    ``khan`` folder listed every emergency the station ever had, to be played again)."""
    posts = {"e1.md": news(1, when="2024-03-10 09:00", priority="emergency"),
             "e2.md": news(2, when="2024-03-10 11:00", priority="emergency")}
    r = Repo(tmp_path, posts)
    r.publish(at(10, 9, 5))
    r.publish(at(10, 11, 5))
    station = r.root / "var/loa/p1"
    assert sorted(p.name for p in station.iterdir()) == ["khan-20240311-000001", "khan-20240312-000002"]
    for folder, pid in ((station / "khan-20240311-000001", "20240311-000001"), (station / "khan-20240312-000002", "20240312-000002")):
        items = json.loads((folder / "bulletin.json").read_text())["items"]
        assert [i["id"] for i in items] == [f"{pid}@p1@khan"]
        assert (folder / "opening.txt").read_text().startswith("Thông báo khẩn.")
    assert r.publish(at(10, 11, 10)).sent == 0  # found where it was written: sent once


def test_glossary_entries_are_words_without_their_own_abbreviation(tmp_path):
    from pipeline.messages import localized

    extra = 'glossary = { "KP" = "khu phố KP", "TDP" = 3, "ĐVHC" = "đơn vị hành chính" }'
    root = make_repo(tmp_path, {}, config=config(extra=extra))
    with pytest.raises(ConfigError) as e:
        load_config(root / "config.toml", env={})
    found = {k: localized(d, "vi") for k, d in e.value.errors}
    assert set(found) == {"channels.loudspeaker.glossary.KP", "channels.loudspeaker.glossary.TDP"}, found
    assert "bỏ KP khỏi cách đọc" in found["channels.loudspeaker.glossary.KP"]
    assert '"KP" = "khu phố"' in found["channels.loudspeaker.glossary.TDP"]
