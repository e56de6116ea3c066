"""Claim -> send -> record, with retries, spacing and reconciliation of lost results.

One pass (``loa publish`` or one daemon tick): read posts, take the ledger's snapshot, plan, then
send every due item. Channels proceed in parallel (one thread and one ledger connection per
channel); within a channel items go in ``publish_at`` order. Nothing here keeps state between
passes: files + ledger are the truth (docs/delivery.md).
"""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import threading
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Callable, Mapping

import publishers
from pipeline import plan as planmod
from pipeline.content import PostCache
from pipeline.errors import (LedgerError, LedgerUnavailable, PermanentPublishError, PublisherAuthError,
                             PublishError, RenderError, TransientPublishError)
from pipeline.ledger import post_meta
from pipeline.models import PublishResult
from pipeline.render import Renderer

log = logging.getLogger(__name__)

ALLOWED = {
    "create": ("pending", "retrying", "failed"),
    "update": ("published", "pending", "retrying", "failed"),
    "retract": ("published", "pending", "retrying", "failed"),
}
HOLD_PREFIX = "hold:"
MAYBE_SENT = "maybe-sent:"  # kv: a create whose request may have reached the vendor
THROTTLE_PREFIX = "throttle:"  # kv: the vendor asked this channel to wait until (ISO time)


def idempotency_key(post_id: str, channel: str, version: str) -> str:
    """Stable per (post, channel, content version): a retry of the same send reuses it."""
    return "loa-" + uuid.uuid5(uuid.NAMESPACE_URL, f"loa:{post_id}:{channel}:{version}").hex


def error_text(exc: PublishError) -> str:
    """What the ledger keeps of a vendor error: the vendor's words and what to do (JSON)."""
    return json.dumps({"reason": exc.reason, "vendor": exc.vendor_message, "hint": exc.hint,
                       "status": exc.status, "code": exc.code}, ensure_ascii=False)


class LedgerState:
    """A publisher's durable :class:`~publishers.base.StateStore`, kept in the ledger's kv table."""

    def __init__(self, ledger, prefix: str, now_fn: Callable[[], datetime]):
        self.ledger, self.prefix, self.now_fn = ledger, prefix, now_fn

    def get(self, key: str) -> str | None:
        return self.ledger.kv_get(self.prefix + key)

    def set(self, key: str, value: str) -> None:
        self.ledger.kv_set(self.prefix + key, value, self.now_fn())


@dataclass
class PassResult:
    sent: int = 0
    updated: int = 0
    retracted: int = 0
    skipped: int = 0
    settled: int = 0
    transient: int = 0
    permanent: int = 0
    bugs: int = 0
    in_doubt: int = 0
    held: int = 0
    lines: list[str] = field(default_factory=list)
    next_wakeup: datetime | None = None
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        if self.permanent or self.bugs:
            return 1
        if self.transient:
            return 75
        return 0

    def add(self, other: "PassResult") -> None:
        for f in ("sent", "updated", "retracted", "skipped", "settled", "transient", "permanent", "bugs", "in_doubt"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.lines.extend(other.lines)
        self.wake_at(other.next_wakeup)

    def wake_at(self, when: datetime | None) -> None:
        """Keep the earliest time the daemon must come back (a plan's wake-up or a retry's time)."""
        if when is not None and (self.next_wakeup is None or when < self.next_wakeup):
            self.next_wakeup = when


def git_commit(root) -> str | None:
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _lazy_index(posts) -> Callable:
    """resolved path -> Post, for links between posts; built on the first link only (resolving
    20,000 paths costs more than a whole idle tick)."""
    index: dict = {}

    def resolver(path):
        if not index:
            index.update((x.path.resolve(), x) for x in posts)
        return index.get(path)
    return resolver


class Engine:
    """Publishes due items. ``ledger_factory()`` opens a new ledger connection (one per thread).

    The planning ledger is kept open from one pass to the next (its snapshot is incremental: a
    tick reads only the rows written since the last one), like the posts (``PostCache``) and the
    settled verdicts (``plan.Memo``). Call :meth:`close` when done, or use ``with Engine(...)``.
    """

    def __init__(self, cfg, ledger_factory: Callable[[], object], *, owner: str | None = None,
                 env: Mapping[str, str] | None = None, now_fn: Callable[[], datetime] | None = None,
                 publisher_factory: Callable | None = None):
        self.cfg = cfg
        self.ledger_factory = ledger_factory
        self.owner = owner or f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.env = os.environ if env is None else env
        self.now_fn = now_fn or (lambda: datetime.now(timezone.utc))
        self.publisher_factory = publisher_factory or self._make_publisher
        self.posts = PostCache()
        self.memo = planmod.Memo()
        self._planning = None  # the ledger plans are made with, kept between passes
        self.stop = threading.Event()
        d = cfg.daemon
        from pipeline.durations import parse_duration

        self.lease = parse_duration(d.get("lease", "5m"))
        self.max_attempts = int(d.get("max_attempts", 8))
        self.retry_base = parse_duration(d.get("retry_base", "30s")).total_seconds()
        self.workers = int(d.get("workers", 4))

    def close(self) -> None:
        """Close the planning ledger (a later pass opens a new one)."""
        if self._planning is not None:
            self._planning.close()
            self._planning = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- wiring ---------------------------------------------------------------------------
    def _make_publisher(self, channel, ledger):
        cls = publishers.get(channel.type)
        return cls(channel.name, channel.options, env=self.env,
                   state=LedgerState(ledger, f"pub:{channel.name}:", self.now_fn), site=self.cfg)

    def _unthrottled(self, ledger, now: datetime, work: list, result: PassResult) -> list:
        """``work`` minus the channels whose vendor asked for a wait that has not run out (each
        pass makes new publishers, which do not remember it); the daemon comes back at its end."""
        out, until = [], {}
        for d in work:
            if d.channel not in until:
                v = ledger.kv_get(THROTTLE_PREFIX + d.channel)
                until[d.channel] = datetime.fromisoformat(v) if v else None
            t = until[d.channel]
            if t is not None and t > now:
                result.wake_at(t)
                continue
            out.append(d)
        return out

    def holds(self, ledger) -> dict[str, str]:
        out = {}
        for name in self.cfg.channels:
            v = ledger.kv_get(HOLD_PREFIX + name)
            if v:
                out[name] = json.loads(v).get("message", v)
        return out

    def make_plan(self, ledger, now: datetime, *, only_channel=None, only_post=None):
        posts, problems = self.posts.read_all(self.cfg)
        rows = ledger.snapshot()
        local = now.astimezone(self.cfg.tz)
        day_start = datetime.combine(local.date(), time(0, 0), self.cfg.tz)
        sent_today, last_sent = {}, {}
        for name, ch in self.cfg.channels.items():
            if ch.max_per_day is not None:
                sent_today[name] = ledger.sent_since(name, day_start)
            if ch.min_interval > timedelta(0):
                last_sent[name] = ledger.last_sent_at(name)
        p = planmod.plan(posts, self.cfg, rows, now, pauses=ledger.active_pauses(now), holds=self.holds(ledger),
                         sent_today=sent_today, last_sent=last_sent, only_channel=only_channel, only_post=only_post,
                         memo=self.memo)
        return p, posts, problems

    # -- one pass -------------------------------------------------------------------------
    def run_pass(self, *, now: datetime | None = None, dry_run: bool = False, only_channel: str | None = None,
                 only_post: str | None = None) -> PassResult:
        now = now or self.now_fn()
        result = PassResult(dry_run=dry_run)
        if self._planning is None:
            self._planning = self.ledger_factory()
        ledger = self._planning
        try:
            p, posts, _problems = self.make_plan(ledger, now, only_channel=only_channel, only_post=only_post)
            result.next_wakeup = p.next_wakeup()
            missing, skips = self._missing_rows(p), p.of(planmod.SKIP)
            work = self._unthrottled(ledger, now, p.of(planmod.DUE, planmod.DOUBT), result)
            # `git rev-parse` is a process: an idle tick (nothing to write) does not start it
            commit = git_commit(self.cfg.root) if (missing or skips or work) and not dry_run else None
            if missing and not dry_run:
                ledger.ensure_many([(d.post_id, d.channel, self.cfg.channels[d.channel].type,
                                     post_meta(d.post, git_commit=commit)) for d in missing], now=now)
            for d in skips:
                result.skipped += 1
                result.lines.append(f"skip {d.post_id} {d.channel}: {d.reason}")
                if not dry_run:
                    ledger.skip(d.post_id, d.channel, reason=d.reason, now=now, meta=post_meta(d.post, git_commit=commit))
            result.held = len(p.of(planmod.HELD))
            if dry_run:
                for d in work:
                    result.lines.append(f"would {d.action or 'reconcile'} {d.post_id} on {d.channel}" + (f" ({d.reason})" if d.reason else ""))
                return result
        except LedgerUnavailable:
            # start the next pass on a fresh connection (the snapshot is read whole again)
            self.close()
            raise
        if not work:
            return result
        renderer = self._renderer_for(posts)
        jobs: dict[str, list] = {}
        for d in sorted(work, key=lambda d: (d.post.publish_at or now, d.post_id)):
            try:
                rendering = renderer.render(d.post, d.channel) if d.action != "retract" or d.kind == planmod.DOUBT else None
            except RenderError as exc:
                result.bugs += 1
                result.lines.append(f"render failed {d.post_id} {d.channel}: {exc.reason}")
                continue
            jobs.setdefault(d.channel, []).append((d, rendering))
        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(jobs)))) as pool:
            futures = [pool.submit(self._run_channel, ch, items, commit) for ch, items in jobs.items()]
            for f in futures:
                result.add(f.result())
        return result

    @staticmethod
    def _missing_rows(p) -> list:
        """Decisions on ready posts that have no ledger row yet (``ensure_many`` writes them)."""
        items = []
        for d in p.active():  # a DONE pair never needs a row
            if d.post is None or d.row is not None or d.post.status != "ready":
                continue
            if d.kind in (planmod.DONE,) or d.reason in ("channel-disabled", "retracted-before-publishing"):
                continue
            items.append(d)
        return items

    # -- one channel ----------------------------------------------------------------------
    def _renderer_for(self, posts) -> Renderer:
        """One renderer (compiled templates, Markdown instance) for as long as the templates are
        unchanged: building it costs more than rendering a small batch, and the daemon passes often."""
        sig = []
        for d in self.cfg.templates_dirs:
            for f in sorted(d.rglob("*")):
                if f.is_file():
                    st = f.stat()
                    sig.append((str(f), st.st_mtime_ns, st.st_size))
        sig = tuple(sig)
        if getattr(self, "_renderer", None) is None or self._renderer_sig != sig:
            self._renderer, self._renderer_sig = Renderer(self.cfg, resolver=_lazy_index(posts)), sig
        else:
            self._renderer.resolver = _lazy_index(posts)
            self._renderer._resolved.clear()
        return self._renderer

    def _run_channel(self, name: str, items: list, commit: str | None) -> PassResult:
        res = PassResult()
        channel = self.cfg.channels[name]
        ledger = self.ledger_factory()
        pub = None
        try:
            try:
                pub = self.publisher_factory(channel, ledger)
                creates = [r for d, r in items if r is not None and d.action == "create" and d.kind == planmod.DUE]
                if creates and hasattr(pub, "prefetch"):
                    try:
                        pub.prefetch(creates)
                    except TransientPublishError:
                        pass  # only a speed-up: each send looks its item up itself
            except PublisherAuthError as exc:
                self._hold(ledger, channel, exc, res)
                return res
            except PublishError as exc:
                res.transient += 1
                res.lines.append(f"{name}: {exc.reason}; left for the next run")
                return res
            for d, rendering in items:
                if self.stop.is_set():
                    res.lines.append(f"stopping: {name} left for the next run")
                    break
                if not self._one(ledger, pub, channel, d, rendering, commit, res):
                    break  # channel held (auth), or the vendor asked it to wait
        except LedgerUnavailable:
            res.transient += 1
            res.lines.append(f"ledger unavailable: {name} stopped for this run")
        finally:
            if pub is not None:
                pub.close()
            ledger.close()
        return res

    def _one(self, ledger, pub, channel, d, rendering, commit, res: PassResult) -> bool:
        post, now = d.post, self.now_fn()
        meta = post_meta(post, git_commit=commit)
        version = post.source_hash
        takeover = d.kind == planmod.DOUBT
        action = d.action or (d.row.action if d.row is not None else "create") or "create"
        key = idempotency_key(post.id, channel.name, version)
        maybe_key = f"{MAYBE_SENT}{post.id}:{channel.name}"
        look_first = takeover or (action == "create" and ledger.kv_get(maybe_key) is not None)
        # an ordinary send records its 'send' event in the claim's own transaction (one commit less)
        row = ledger.claim(post.id, channel.name, owner=self.owner, action=action, version=version,
                           lease=self.lease, now=now, allowed_states=("claimed",) if takeover else ALLOWED[action],
                           meta=meta, send=None if look_first else {"action": action, "key": key})
        if row is None:
            return True  # another worker has it
        previous = PublishResult(row.remote_id, row.remote_url, dict(row.extra or {})) if row.remote_id else None
        try:
            if look_first:
                settled = self._reconcile(ledger, pub, channel, row, rendering, key, action, res)
                if settled:
                    ledger.kv_set(maybe_key, None, self.now_fn())
                    return True
                if action == "create" and not pub.can_lookup:
                    return True
            if look_first:
                ledger.add_event("send", post_id=post.id, channel=channel.name, actor=self.owner,
                                 detail={"action": action, "key": key}, now=self.now_fn())
            if action == "create":
                result = pub.publish(rendering, key=key)
            elif action == "update":
                if previous is None:
                    result = pub.publish(rendering, key=key)
                elif (previous.extra or {}).get("rendering_hash") == rendering.hash:
                    result = previous  # nothing the channel shows has changed
                else:
                    result = pub.update(rendering, previous)
            else:
                if previous is not None:
                    pub.retract(previous, post.retracted or "retracted")
                result = previous or PublishResult(post.id)
            extra = dict(result.extra or {})
            if rendering is not None:
                extra["rendering_hash"] = rendering.hash
            if post.correction:
                extra["correction"] = post.correction
            ledger.record_success(post.id, channel.name, owner=self.owner, remote_id=result.remote_id,
                                  remote_url=result.remote_url, version=version, extra=extra, now=self.now_fn())
            if action == "create" and ledger.kv_get(maybe_key):
                ledger.kv_set(maybe_key, None, self.now_fn())
            setattr(res, {"create": "sent", "update": "updated", "retract": "retracted"}[action],
                    getattr(res, {"create": "sent", "update": "updated", "retract": "retracted"}[action]) + 1)
            res.lines.append(f"{action} {post.id} on {channel.name}: {result.remote_url or result.remote_id}")
            return True
        except TransientPublishError as exc:
            if exc.maybe_sent and action == "create":
                # the vendor may have it: the next attempt looks it up first (or holds it for a person)
                ledger.kv_set(maybe_key, key, self.now_fn())
            attempts = row.attempts
            if attempts >= self.max_attempts:
                ledger.record_failure(post.id, channel.name, owner=self.owner, kind="permanent",
                                      message=error_text(exc), next_attempt_at=None, now=self.now_fn())
                res.permanent += 1
                res.lines.append(f"gave up {post.id} on {channel.name} after {attempts} attempts: {exc.reason}")
                return True
            delay = exc.retry_after if exc.retry_after is not None else self._backoff(attempts)
            next_at = self.now_fn() + timedelta(seconds=delay)
            ledger.record_failure(post.id, channel.name, owner=self.owner, kind="transient", message=error_text(exc),
                                  next_attempt_at=next_at, now=self.now_fn())
            # the plan was made before this retry existed: the daemon's wake-up must know it, or a
            # throttled item waits for the next regular tick instead of the vendor's retry_after
            res.wake_at(next_at)
            res.transient += 1
            res.lines.append(f"retry {post.id} on {channel.name} in {delay:.0f}s: {exc.reason}")
            if exc.retry_after is None:
                # an HTTP error for this item: go on with the others; no connection at all: the
                # server is down, the rest of the channel waits for the next tick
                return exc.status is not None
            if not exc.holds_channel:  # this item's own wait (still processing): the others go on
                return True
            # a wait the vendor asked for (flood control, Page usage, a rate bucket) holds the whole
            # channel until then: its other items neither spend an attempt on it now nor are sent
            # by the next pass before it has run out
            ledger.kv_set(THROTTLE_PREFIX + channel.name, next_at.isoformat(), self.now_fn())
            return False
        except PublisherAuthError as exc:
            ledger.record_failure(post.id, channel.name, owner=self.owner, kind="auth", message=error_text(exc),
                                  next_attempt_at=None, now=self.now_fn())
            self._hold(ledger, channel, exc, res)
            return False
        except PermanentPublishError as exc:
            if exc.code == "in_doubt":
                ledger.mark_in_doubt(post.id, channel.name, owner=self.owner, reason=exc.reason, now=self.now_fn())
                res.in_doubt += 1
                res.lines.append(f"IN DOUBT {post.id} on {channel.name}: {exc.reason}")
                return True
            ledger.record_failure(post.id, channel.name, owner=self.owner, kind="permanent", message=error_text(exc),
                                  next_attempt_at=None, now=self.now_fn())
            res.permanent += 1
            res.lines.append(f"failed {post.id} on {channel.name}: {exc.reason}" + (f" ({exc.vendor_message})" if exc.vendor_message else ""))
            return True
        except (LedgerUnavailable, LedgerError):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug: recorded with its traceback, never retried
            tb = traceback.format_exc()
            log.exception("Bug while sending %s to %s", post.id, channel.name)
            ledger.record_failure(post.id, channel.name, owner=self.owner, kind="bug",
                                  message=json.dumps({"reason": f"{type(exc).__name__}: {exc}", "traceback": tb[-4000:]}),
                                  next_attempt_at=None, now=self.now_fn())
            res.bugs += 1
            res.lines.append(f"BUG {post.id} on {channel.name}: {type(exc).__name__}: {exc}")
            return True

    def _hold(self, ledger, channel, exc: PublishError, res: PassResult) -> None:
        """An authentication failure holds the whole channel: one loud message, no retry storm."""
        ledger.kv_set(HOLD_PREFIX + channel.name, json.dumps({"message": exc.reason, "hint": exc.hint,
                                                              "vendor": exc.vendor_message}, ensure_ascii=False), self.now_fn())
        res.permanent += 1
        res.lines.append(f"CHANNEL {channel.name} HELD: {exc.reason}" + (f" — {exc.hint}" if exc.hint else ""))
        log.error("Channel %s held: %s", channel.name, exc.reason)

    def _reconcile(self, ledger, pub, channel, row, rendering, key, action, res) -> bool:
        """A claim expired without a result. Ask the vendor when it can be asked; settle or hold."""
        post_id = row.post_id
        if action in ("update", "retract"):
            return False  # redoing an edit or a removal is harmless: send again
        if not pub.can_lookup:
            ledger.mark_in_doubt(post_id, channel.name, owner=self.owner,
                                 reason=f"the result of a send was lost and {channel.type} cannot be asked; "
                                        f"check the channel and run loa resolve", now=self.now_fn())
            res.in_doubt += 1
            res.lines.append(f"IN DOUBT {post_id} on {channel.name}: run `loa resolve {post_id} {channel.name} --published URL | --not-published`")
            return True
        found = pub.lookup(rendering, key)
        if found is None:
            res.lines.append(f"reconciled {post_id} on {channel.name}: not there, sending")
            return False
        extra = dict(found.extra or {})
        extra["rendering_hash"] = rendering.hash
        ledger.record_success(post_id, channel.name, owner=self.owner, remote_id=found.remote_id,
                              remote_url=found.remote_url, version=row.pending_version, extra=extra, now=self.now_fn())
        res.settled += 1
        res.lines.append(f"reconciled {post_id} on {channel.name}: already published at {found.remote_url or found.remote_id}")
        return True

    def _backoff(self, attempts: int) -> float:
        base = self.retry_base * (2 ** max(0, attempts - 1))
        return min(base, 6 * 3600) * random.uniform(0.75, 1.25)
