"""Benchmark: the ward loudspeaker's bulletins (issue 20).

    python bench/loudspeaker.py [--posts 20000] [--wards 20] [--speech-items 6] [--calibrate]

Composition: 20,000 posts (in memory, one year, 70 % news / 30 % guides, a third from the city
and the rest from 20 wards, bodies of 0.6-1.5 KB with numbers, dates and money) and 20 stations
(one per ward, slots 06:00 and 17:30, 15 minutes each). The seven days before are composed first
(untimed), so the repeat rules have a history; then one day's bulletins are composed and timed:
:func:`pipeline.bulletin.compose` at each slot's composing time, the items as posts, and their
state decided by :func:`pipeline.plan.plan` (the path ``loa run`` takes), without speech. "cold"
makes every reading-time estimate (the script of each candidate post); "warm" has them (a daemon
keeps them per post version). Target: <= 1 s.

Speech: eSpeak NG makes the audio of ``--speech-items`` bulletin items; the table gives the
seconds of computing per minute of audio. ``--calibrate`` prints the syllables a minute eSpeak NG
reads per ``-s`` word (publishers/speech/espeak.py's 1.27).

No other publishing tool composes loudspeaker bulletins, so the table has the target alone.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import bulletin, spoken  # noqa: E402
from pipeline import plan as planmod  # noqa: E402
from pipeline.config import build_config  # noqa: E402
from pipeline.models import Post  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SENTENCES = [
    "UBND {unit} thông báo lịch tiếp nhận hồ sơ trực tuyến từ ngày {d}/{m}/2024 đến hết ngày {d2}/{m}/2024.",
    "Lệ phí cấp bản sao trích lục là {fee}.000 đồng một bản, nộp trực tuyến được giảm {pct}%.",
    "Người dân đăng nhập Cổng DVC quốc gia bằng tài khoản VNeID mức 2 để nộp hồ sơ.",
    "Bộ phận Một cửa làm việc từ 7h30 đến 11h30 và từ 13h30 đến 17h00 các ngày trong tuần.",
    "Trong quý I, phường đã tiếp nhận {n} hồ sơ, trong đó {k} hồ sơ trực tuyến toàn trình.",
    "Mọi thắc mắc xin liên hệ số điện thoại 0254 3852 {ph} để được hướng dẫn.",
    "Tổ công nghệ số cộng đồng hỗ trợ bà con tại nhà văn hóa khu phố {kp} vào sáng thứ bảy.",
]
STEPS = "1. Đăng nhập bằng tài khoản VNeID.\n2. Chọn thủ tục cần thực hiện.\n3. Điền tờ khai và nộp hồ sơ.\n"


def config(wards: int):
    units = [{"id": "ubnd", "name": "Văn phòng UBND", "kind": "office"}] + [
        {"id": f"phuong-{i}", "name": f"Phường {i}", "kind": "ward"} for i in range(1, wards + 1)]
    stations = {f"p{i}": {"name": f"Đài truyền thanh Phường {i}", "wards": [f"phuong-{i}"]} for i in range(1, wards + 1)}
    raw = {"site": {"name": "Cổng", "base_url": "https://x.example.gov.vn"},
           "organization": {"name_lines": ["UBND"], "place": "Vũng Tàu"}, "units": units,
           "content": {"types": {"news": {"label": "Tin", "channels": ["loudspeaker"]},
                                 "guide": {"label": "Hướng dẫn", "channels": ["loudspeaker"]}},
                       "topics": {"cchc": "CCHC"}},
           "editorial": {"board": ["A"], "require_approval": []},
           "channels": {"loudspeaker": {"type": "loudspeaker", "engine": "none", "slots": ["06:00", "17:30"],
                                        "minutes": 15, "stations": stations,
                                        "repeat": {"guide": {"times": 3, "days": 3}}}}}
    return build_config(raw, Path(tempfile.gettempdir()), env={})


def posts(n: int, wards: int, rng: random.Random) -> list[Post]:
    start = datetime(2024, 1, 1, 6, 0, tzinfo=VN)
    out = []
    for i in range(n):
        unit = "ubnd" if rng.random() < 1 / 3 else f"phuong-{rng.randint(1, wards)}"
        kind = "guide" if rng.random() < 0.3 else "news"
        body = " ".join(rng.choice(SENTENCES).format(
            unit=unit, d=rng.randint(1, 14), d2=rng.randint(15, 28), m=rng.randint(1, 12), fee=rng.randint(5, 50),
            pct=rng.randint(10, 50), n=rng.randint(100, 3000), k=rng.randint(50, 900), ph=rng.randint(100, 999),
            kp=rng.randint(1, 9)) for _ in range(rng.randint(4, 9)))
        body = body + "\n\n" + (STEPS if kind == "guide" else "")
        when = start + timedelta(minutes=int(i * 366 * 24 * 60 / n))
        out.append(Post(path=Path(f"/x/{i}.md"), relpath=f"{i}.md", id=f"p{i:05d}", title=f"Thông báo số {i}",
                        type=kind, unit=unit, author="A", publish_at=when, expire_at=None, topics=("cchc",),
                        channels=("loudspeaker",), status="ready", summary="", body=body, body_line=8, slug=f"p{i}",
                        image=None, image_path=None, image_alt=None, image_hash=None, social=MappingProxyType({}),
                        approved_by=None, approved_hash=None, correction=None, correction_at=None, retracted=None,
                        source_hash=f"h{i}", lines=MappingProxyType({})))
    return out


class _Row:
    """A broadcast item as the ledger would hold it once sent."""

    state, action, claim_owner, lease_until, next_attempt_at = "published", "create", None, None, None
    error_kind, pending_version = None, None

    def __init__(self, version, at):
        self.version, self.first_published_at = version, at


def day(cfg, all_posts, rows: dict, day0: datetime, estimate) -> tuple[int, int]:
    """Compose and decide every slot of ``day0``'s day; the items become published rows."""
    ch = cfg.channels["loudspeaker"]
    s = bulletin.settings("loudspeaker", ch.options)
    items = decided = 0
    for hh, mm in ((5, 45), (17, 15)):
        now = day0.replace(hour=hh, minute=mm)
        hist = bulletin.history(rows, "loudspeaker", VN)
        found = bulletin.compose(all_posts, s, cfg.units, hist, now, VN, estimate)
        vposts = bulletin.item_posts(found, s)
        p = planmod.plan(vposts, cfg, rows, now, composed=True)
        items += len(found)
        decided += len(p.of(planmod.DUE))
        for d in p.of(planmod.DUE):
            rows[(d.post_id, "loudspeaker")] = _Row(d.post.source_hash, now)
    return items, decided


def estimator(cfg):
    from publishers.loudspeaker import spoken_options

    opts = spoken_options(cfg.channels["loudspeaker"].options, cfg)
    cache = {}

    def estimate(post):
        if post.id not in cache:
            cache[post.id] = spoken.reading_seconds(spoken.script_of(post.body, post.title, opts), words_per_minute=150)
        return cache[post.id]
    return estimate, cache


def speech(cfg, all_posts, n: int) -> tuple[float, float] | None:
    from publishers.loudspeaker import spoken_options
    from publishers.speech.espeak import EspeakEngine

    if not shutil.which("espeak-ng") or n <= 0:
        return None
    eng = EspeakEngine({}, wpm=150)
    opts = spoken_options(cfg.channels["loudspeaker"].options, cfg)
    work = audio = 0.0
    with tempfile.TemporaryDirectory() as d:
        for i, post in enumerate(all_posts[:n]):
            script = spoken.script_of(post.body, post.title, opts)
            t = time.perf_counter()
            a = eng.synthesize(script, Path(d) / f"i{i}")
            work += time.perf_counter() - t
            audio += a.seconds
    return work, audio


def calibrate(cfg, all_posts) -> None:
    import subprocess
    import wave

    from publishers.loudspeaker import spoken_options

    opts = spoken_options(cfg.channels["loudspeaker"].options, cfg)
    with tempfile.TemporaryDirectory() as d:
        for rate in (110, 130, 150, 175):
            words = secs = 0.0
            for post in all_posts[:12]:
                script = spoken.script_of(post.body, post.title, opts)
                subprocess.run(["espeak-ng", "-v", "vi", "-s", str(rate), "-w", f"{d}/c.wav", "--stdin"],
                               input=script.encode(), check=True)
                with wave.open(f"{d}/c.wav") as w:
                    secs += w.getnframes() / w.getframerate()
                words += len(re.findall(r"\w+", script))
            print(f"-s {rate}: {words * 60 / secs:.1f} syllables a minute, {words * 60 / secs / rate:.3f} per -s word")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--wards", type=int, default=20)
    ap.add_argument("--speech-items", type=int, default=6)
    ap.add_argument("--calibrate", action="store_true")
    a = ap.parse_args(argv)
    cfg = config(a.wards)
    all_posts = posts(a.posts, a.wards, random.Random(20))
    if a.calibrate:
        calibrate(cfg, all_posts)
        return 0
    estimate, cache = estimator(cfg)
    rows: dict = {}
    target = datetime(2024, 6, 12, 0, 0, tzinfo=VN)
    for k in range(7, 0, -1):  # the week before: the repeat rules' history (untimed)
        day(cfg, all_posts, rows, target - timedelta(days=k), estimate)
    results = []
    for label, keep in (("cold (estimates made)", False), ("warm (estimates kept)", True)):
        rows_copy = dict(rows)
        if not keep:
            cache.clear()
        t, c = time.perf_counter(), time.process_time()
        items, due = day(cfg, all_posts, rows_copy, target, estimate)
        results.append((label, time.perf_counter() - t, time.process_time() - c, items, due, len(cache)))
    print(f"{a.posts} posts, {a.wards} stations, slots 06:00 and 17:30 (15 min), one day: 12 June 2024\n")
    print("| composition of one day's bulletins, no speech | seconds | CPU s | items | scripts estimated | target |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, secs, cpu, items, due, made in results:
        print(f"| {label} | {secs:.3f} | {cpu:.3f} | {items} | {made} | ≤ 1 s |")
    sp = speech(cfg, all_posts, a.speech_items)
    if sp is None:
        print("\nspeech: " + ("not asked (--speech-items 0)" if a.speech_items <= 0 else "espeak-ng is not installed"))
    else:
        work, audio = sp
        print(f"\n| speech (eSpeak NG, -v vi) | items | audio min | compute s | s per audio min |")
        print("| --- | ---: | ---: | ---: | ---: |")
        print(f"| {a.speech_items} bulletin items | {a.speech_items} | {audio / 60:.2f} | {work:.2f} | {work / (audio / 60):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
