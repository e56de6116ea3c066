"""``plan()`` with a reused plan equals ``plan()`` from scratch: the fast path for a tick where
only the time moved, and the reuse of settled verdicts after a ledger change, are differential-
tested against a fresh session's plan over random passes, pauses, edits and times."""

from __future__ import annotations

import os
import random
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline.app import Session
from pipeline.config import load_config
from pipeline.ledger import open_ledger
from pipeline.models import PublishResult
from tests.repo import make_repo, post, small_config

VN = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2024, 3, 25, 6, 0, tzinfo=VN)

CONFIG = small_config(["a", "b"]) + """
[channels.a]
type = "webhook"
url = "http://127.0.0.1:9/a"
social = true
min_interval = "30m"
max_lateness = "6h"
[channels.b]
type = "webhook"
url = "http://127.0.0.1:9/b"
max_per_day = 3
"""


class Flaky:
    can_lookup = False

    def __init__(self, rng):
        self.rng = rng

    def publish(self, rendering, key):
        from pipeline.errors import PermanentPublishError, TransientPublishError

        roll = self.rng.random()
        if roll < 0.15:
            raise TransientPublishError("x", rendering.post_id, "busy", status=503)
        if roll < 0.2:
            raise PermanentPublishError("x", rendering.post_id, "refused")
        return PublishResult(f"r-{rendering.post_id}", None)

    def update(self, rendering, previous):
        return previous

    def retract(self, previous, reason):
        pass

    def close(self):
        pass


def _posts(rng: random.Random) -> dict[str, str]:
    out = {}
    for i in range(24):
        at = T0 + timedelta(hours=rng.randint(-12, 30), minutes=rng.choice([0, 15, 30]))
        extra = {}
        if rng.random() < 0.15:
            extra["expire_at"] = (at + timedelta(hours=rng.randint(1, 8))).strftime("%Y-%m-%d %H:%M")
        out[f"news/p{i}.md"] = post(id=f"p{i}", title=f"Bài số {i}", publish_at=at.strftime("%Y-%m-%d %H:%M"),
                                    status="draft" if rng.random() < 0.1 else "ready", **extra)
    return out


def test_a_long_lived_sessions_plan_equals_a_fresh_one(tmp_path):
    rng = random.Random(20240325)
    root = make_repo(tmp_path, _posts(rng), config=CONFIG)
    cfg = load_config(root / "config.toml", env={})
    factory = lambda: open_ledger(None, root)  # noqa: E731
    now = T0
    kept = Session.open(cfg, ledger_factory=factory, env={}, publisher_factory=lambda ch, lg: Flaky(rng))
    try:
        compared = 0
        for step in range(60):
            now += timedelta(minutes=rng.choice([1, 7, 30, 90, 240]))
            roll = rng.random()
            if roll < 0.35:
                kept.publish(now)
            elif roll < 0.45:
                kept.pause("a" if rng.random() < 0.5 else None, reason="thử", actor="it")
            elif roll < 0.55:
                kept.resume(None, actor="it")
            elif roll < 0.62:
                i = rng.randrange(24)
                path = root / f"content/news/p{i}.md"
                path.write_text(path.read_text(encoding="utf-8") + f"\nSửa lần {step}.\n", encoding="utf-8")
            for _ in range(rng.choice([1, 2])):  # twice: the second time only the clock may differ
                cached = kept.plan(now)
                with Session(cfg, factory, env={}) as fresh:
                    expected = fresh.plan(now)
                assert cached.decisions == expected.decisions, (step, now)
                assert sorted(cached.live) == sorted(expected.live)
                assert cached.next_wakeup() == expected.next_wakeup()
                compared += 1
        kinds = {d.kind for d in cached.decisions}
        assert compared >= 60 and len(kinds) >= 3, kinds
    finally:
        kept.close()


def test_a_settled_pair_whose_row_changed_is_decided_again(tmp_path):
    """Another process may change a published row while the posts stay the same (a takeover, a
    version written by an older release): the reused plan must not keep the old verdict."""
    import dataclasses

    from pipeline import plan as planmod
    from pipeline.ledger import Snapshot

    rng = random.Random(3)
    root = make_repo(tmp_path, _posts(rng), config=CONFIG)
    cfg = load_config(root / "config.toml", env={})
    factory = lambda: open_ledger(None, root)  # noqa: E731
    now = T0 + timedelta(days=2)
    with Session.open(cfg, ledger_factory=factory, env={}, publisher_factory=lambda ch, lg: Flaky(random.Random(1))) as s:
        for k in range(8):
            s.publish(now + timedelta(hours=k))
        posts = s.content().posts
        rows = s.ledger.snapshot()
    first = planmod.plan(posts, cfg, rows, now)
    settled = [d for d in first.decisions if d.kind == planmod.DONE and d.reason == "" and d.row is not None]
    assert settled
    changed = dict(rows)
    for d in settled[:3]:
        changed[(d.post_id, d.channel)] = dataclasses.replace(d.row, version="an older version")
    changed = Snapshot(changed, rev=rows.rev + 1)
    reused = planmod.plan(posts, cfg, changed, now, reuse=first)
    assert reused.decisions == planmod.plan(posts, cfg, changed, now).decisions
    assert {(d.post_id, d.channel) for d in reused.of(planmod.DUE)} >= {(d.post_id, d.channel) for d in settled[:3]}


CONFIG_MORE = CONFIG + """
[channels.c]
type = "webhook"
url = "http://127.0.0.1:9/c"
enabled = false
[[blackouts]]
start = 2024-03-26T00:00:00
end = 2024-03-27T00:00:00
reason = "Quốc tang"
channels = ["a"]
"""


def _change_content(rng: random.Random, content, step: int) -> None:
    """One change staff could make: an edit, a retraction, a post made draft, a check error made or
    fixed, a rename, a deletion, a new post."""
    files = sorted(content.rglob("*.md"))
    path = rng.choice(files)
    text = path.read_text(encoding="utf-8")
    roll = rng.random()
    if roll < 0.3:
        path.write_text(text + f"\nSửa lần {step}.\n", encoding="utf-8")
    elif roll < 0.4:
        path.write_text(text.replace("status: ready", f"retracted: Gỡ lần {step}\nstatus: ready", 1), encoding="utf-8")
    elif roll < 0.5:
        path.write_text(text.replace("status: ready", "status: draft", 1), encoding="utf-8")
    elif roll < 0.65:  # an unknown topic: an error, so the file is blocked; or fixed again
        bad = "- khong-co-chu-de" in text
        path.write_text(text.replace("- khong-co-chu-de", "- cchc") if bad else text.replace("- cchc", "- khong-co-chu-de", 1),
                        encoding="utf-8")
    elif roll < 0.72:  # another post's id: both files are blocked (the other one unchanged); or its own again
        ids = sorted(f.stem for f in files if f.stem.startswith("p"))
        path.write_text(re.sub(r"(?m)^id: .*$", f"id: {rng.choice(ids) if rng.random() < 0.7 else path.stem}", text, count=1),
                        encoding="utf-8")
    elif roll < 0.78:
        path.rename(path.with_name(f"moi-{step}.md"))
    elif roll < 0.85 and len(files) > 4:
        path.unlink()
    else:
        at = T0 + timedelta(hours=rng.randint(-6, 40))
        (content / f"news/them-{step}.md").write_text(post(id=f"them-{step}", title=f"Bài thêm {step}",
                                                           publish_at=at.strftime("%Y-%m-%d %H:%M"), channels=["a", "b", "c"]),
                                                      encoding="utf-8")


@pytest.mark.parametrize("seed", [17, 18, 19])
def test_a_long_lived_plan_over_changing_content_equals_a_fresh_one(tmp_path, seed, _reasons=set()):
    """The plan kept between ticks while the content changes too (each changed post decided again,
    the others' settled verdicts kept): a fresh session's plan, pair by pair, at every step; with
    edits, retractions, drafts, check errors coming and going, renames, deletions, new posts,
    passes that fail at random, pauses, a blackout, spacing and a channel switched off."""
    rng = random.Random(seed)
    root = make_repo(tmp_path, _posts(rng), config=CONFIG_MORE)
    cfg = load_config(root / "config.toml", env={})
    factory = lambda: open_ledger(None, root)  # noqa: E731
    now = T0
    kept = Session.open(cfg, ledger_factory=factory, env={}, publisher_factory=lambda ch, lg: Flaky(rng),
                        clock=lambda: now)  # pauses start at the test's time
    try:
        for step in range(100):
            now += timedelta(minutes=rng.choice([1, 7, 30, 90, 240]))
            roll = rng.random()
            if roll < 0.3:
                kept.publish(now)
            elif roll < 0.38:
                kept.pause("a" if rng.random() < 0.5 else None, reason="thử", actor="it")
            elif roll < 0.41:
                kept.resume(None, actor="it")
            else:
                for _ in range(rng.choice([1, 1, 2])):
                    _change_content(rng, root / "content", step)
                    os.utime(root / "content/news", ns=(step * 10**9 + 10**18,) * 2)  # the folder's listing moves
            for _ in range(rng.choice([1, 2])):
                cached = kept.plan(now)
                with Session(cfg, factory, env={}) as fresh:
                    expected = fresh.plan(now)
                assert cached.decisions == expected.decisions, (step, now)
                assert cached.live == expected.live and sorted(cached.unsettled) == sorted(expected.unsettled)
                assert cached.next_wakeup() == expected.next_wakeup()
                _reasons.update(str(d.reason).split(":")[0] for d in cached.decisions)
        if seed == 19:  # the three sequences together went through every kind of verdict
            assert {"check-errors", "retracted", "draft", "channel-disabled", "paused", "spacing", "blackout"} <= _reasons
    finally:
        kept.close()
