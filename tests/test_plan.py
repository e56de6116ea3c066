"""``plan()`` with a reused plan equals ``plan()`` from scratch: the fast path for a tick where
only the time moved, and the reuse of settled verdicts after a ledger change, are differential-
tested against a fresh session's plan over random passes, pauses, edits and times."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

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
