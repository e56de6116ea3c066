"""Claim -> send -> record, with retries, spacing and reconciliation of lost results.

The stage under one publishing pass: given the plan the application layer made
(:meth:`pipeline.app.Session.plan`), send every due item. Channels proceed in parallel (one thread
and one ledger connection per channel); within a channel items go in ``publish_at`` order. The
engine keeps nothing between passes: files + ledger are the truth (docs/delivery.md).

What becomes of an item after a vendor error is read off the error's class
(:class:`pipeline.errors.PublishError`: ``outcome``, ``holds_channel``) by one handler,
:meth:`Engine._failed`; each item ends in one :class:`Outcome`.
"""

from __future__ import annotations

import enum
import json
import logging
import random
import subprocess
import threading
import traceback
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Mapping

import publishers
from pipeline import plan as planmod
from pipeline import secrets
from pipeline.errors import InDoubtPublishError, LedgerError, PublishError, RenderError, TransientPublishError
from pipeline.ledger import Hold, post_meta
from pipeline.ledger.base import ClaimLost
from pipeline.messages import Detail, as_data  # a line is its English text (logs) and its catalogue code (loa publish)
from pipeline.models import PublishResult

log = logging.getLogger(__name__)

ALLOWED = {
    "create": ("pending", "retrying", "failed", "skipped"),  # skipped: a stale post rescheduled (plan.py)
    "update": ("published", "pending", "retrying", "failed"),
    "retract": ("published", "pending", "retrying", "failed"),
}


class Outcome(enum.Enum):
    """What one item came to in a pass; :class:`PassResult` counts them."""

    SENT = "sent"
    UPDATED = "updated"
    RETRACTED = "retracted"
    SETTLED = "settled"  # a lost result found at the vendor
    RETRY = "transient"
    FAILED = "permanent"
    IN_DOUBT = "in_doubt"
    BUG = "bugs"


_DONE = {"create": Outcome.SENT, "update": Outcome.UPDATED, "retract": Outcome.RETRACTED}
_ACTION = {"create": "send", "update": "update", "retract": "retract"}


def idempotency_key(post_id: str, channel: str, version: str) -> str:
    """Stable per (post, channel, content version): a retry of the same send reuses it."""
    return "loa-" + uuid.uuid5(uuid.NAMESPACE_URL, f"loa:{post_id}:{channel}:{version}").hex


def is_throttle(exc: PublishError) -> bool:
    """A rate limit (Loa's own gate, or the vendor's 429 / flood control / remaining 0): a wait,
    never a failure; no attempt is spent on it."""
    return isinstance(exc, TransientPublishError) and not exc.maybe_sent and (
        getattr(exc, "throttle", False) or exc.status == 429)


def error_text(exc: PublishError) -> str:
    """What the ledger keeps of a vendor error: the vendor's words and what to do (JSON), every
    field through the one redaction point (:mod:`pipeline.secrets`), before it is encoded."""
    data = {"reason": exc.reason, "vendor": exc.vendor_message, "hint": exc.hint, "status": exc.status, "code": exc.code}
    codes = _codes(exc)
    if codes:  # a catalogue message: loa status shows it in the reader's language (status._err)
        data["codes"] = codes
    return json.dumps(secrets.redact_data(data), ensure_ascii=False)


def _codes(exc: PublishError) -> dict:
    """The catalogue code and arguments of an error's reason and hint, when they are Details."""
    return {k: as_data(v) for k, v in (("reason", exc.reason), ("hint", exc.hint)) if isinstance(v, Detail)}


@dataclass(frozen=True)
class ItemOutcome:
    """One item's outcome in a pass, as data for a log line (``loa run`` logs one per item).

    ``action``: send, update, retract, settle, skip, hold (an item held for a person), hold-channel
    (the whole channel held; ``post_id`` the item that met the refusal, or ``-``), retry, wait, fail,
    in_doubt, bug;
    ``link``: where the item is now (its remote URL or id), when there is one."""

    action: str
    post_id: str
    channel: str
    link: str | None
    line: str


@dataclass
class PassResult:
    """What one pass did: a count per :class:`Outcome`, the lines to show, when to come back."""

    counts: Counter = field(default_factory=Counter)
    held: int = 0  # decisions held for a person or a config change
    skipped: int = 0
    lines: list[str] = field(default_factory=list)
    items: list[ItemOutcome] = field(default_factory=list)
    next_wakeup: datetime | None = None
    dry_run: bool = False

    def count(self, outcome: Outcome, line: str, item: tuple[str, str, str, str | None] | None = None) -> None:
        """Count ``outcome`` and show ``line``; ``item`` is ``(action, post_id, channel, link)``."""
        self.counts[outcome] += 1
        self.lines.append(line)
        if item is not None:
            self.items.append(ItemOutcome(*item, line))

    sent = property(lambda self: self.counts[Outcome.SENT])
    updated = property(lambda self: self.counts[Outcome.UPDATED])
    retracted = property(lambda self: self.counts[Outcome.RETRACTED])
    settled = property(lambda self: self.counts[Outcome.SETTLED])
    transient = property(lambda self: self.counts[Outcome.RETRY])
    permanent = property(lambda self: self.counts[Outcome.FAILED])
    in_doubt = property(lambda self: self.counts[Outcome.IN_DOUBT])
    bugs = property(lambda self: self.counts[Outcome.BUG])

    @property
    def exit_code(self) -> int:
        if self.counts[Outcome.FAILED] or self.counts[Outcome.BUG]:
            return 1
        if self.counts[Outcome.RETRY]:
            return 75
        return 0

    def add(self, other: "PassResult") -> None:
        self.counts.update(other.counts)
        self.lines.extend(other.lines)
        self.items.extend(other.items)
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


@dataclass(frozen=True)
class _Item:
    """One claimed item on its way to the vendor."""

    decision: planmod.Decision
    rendering: object | None
    row: object  # the claimed ledger row
    action: str
    key: str  # idempotency key
    look_first: bool  # a lost result: ask the vendor before anything is sent
    #: the lost requests of a create, as (key, version) to look up: older versions first (see _lost_requests)
    lost: tuple[tuple[str, str], ...] = ()

    @property
    def post(self):
        return self.decision.post


class _Heartbeat:
    """One per channel worker: renews the leases of the items being sent (a group, for a
    batching channel) every third of ``daemon.lease``, so a slow vendor answer never lets another
    worker take a live send over."""

    def __init__(self, ledger, channel: str, owner: str, lease: timedelta, clock: Callable[[], datetime]):
        self.ledger, self.channel, self.owner, self.lease, self.clock = ledger, channel, owner, lease, clock
        self.interval = max(lease.total_seconds() / 3, 0.05)
        self._items: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"loa-lease-{channel}", daemon=True)
        self._thread.start()

    def watch(self, post_ids) -> None:
        """Renew these items' leases from now on (``()``: none)."""
        with self._lock:
            self._items = tuple(post_ids)

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            with self._lock:
                items = self._items
            for post_id in items:
                self._renew(post_id)

    def _renew(self, post_id: str) -> None:
        try:
            if not self.ledger.renew(post_id, self.channel, owner=self.owner, lease=self.lease, now=self.clock()):
                with self._lock:
                    if post_id in self._items:
                        log.warning("Lease of %s on %s could not be renewed: the claim was lost",
                                    post_id, self.channel)
        except LedgerError as exc:  # the next beat tries again
            log.warning("Lease of %s on %s not renewed this time: %s", post_id, self.channel, exc)
        except Exception:  # noqa: BLE001 - a heartbeat must never die silently mid-pass
            log.exception("Lease heartbeat of %s on %s", post_id, self.channel)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


class Engine:
    """Sends the due items of one plan. ``ledger_factory()`` opens a ledger connection (one per
    channel thread); ``clock()`` is the current time; ``stop`` set means: start no new item."""

    def __init__(self, cfg, ledger_factory: Callable[[], object], *, owner: str, clock: Callable[[], datetime],
                 env: Mapping[str, str], publisher_factory: Callable | None = None,
                 stop: threading.Event | None = None):
        self.cfg = cfg
        self.ledger_factory = ledger_factory
        self.owner = owner
        self.clock = clock
        self.env = env
        self.publisher_factory = publisher_factory or self.publisher
        self.stop = stop or threading.Event()
        d = cfg.daemon
        self.lease, self.max_attempts, self.workers = d.lease, d.max_attempts, d.workers
        self.retry_base = d.retry_base.total_seconds()

    def publisher(self, channel, ledger):
        """The channel's publisher, its durable state kept in the ledger."""
        cls = publishers.get(channel.type)
        return cls(channel.name, channel.options, env=self.env,
                   state=ledger.publisher_state(channel.name, self.clock), site=self.cfg)

    # -- one pass -------------------------------------------------------------------------
    def run_pass(self, p: planmod.Plan, ledger, renderer: Callable[[], object], *, now: datetime,
                 dry_run: bool = False) -> PassResult:
        """Record what the plan skips, then send what it says is due (``renderer()`` is asked
        only when there is something to send)."""
        result = PassResult(dry_run=dry_run, next_wakeup=p.next_wakeup(), held=sum(d.reason not in planmod.NOT_WAITING_FOR_A_PERSON for d in p.of(planmod.HELD)))
        missing, skips, work = _missing_rows(p), p.of(planmod.SKIP), p.of(planmod.DUE, planmod.DOUBT)
        commit = git_commit(self.cfg.root) if (missing or skips or work) and not dry_run else None
        if missing and not dry_run:
            ledger.ensure_many([(d.post_id, d.channel, self.cfg.channels[d.channel].type,
                                 post_meta(d.post, git_commit=commit)) for d in missing], now=now)
        for d in skips:
            result.skipped += 1
            result.lines.append(Detail("pass.skip", post=d.post_id, channel=d.channel, reason=d.reason))
            result.items.append(ItemOutcome("skip", d.post_id, d.channel, None, result.lines[-1]))
            if not dry_run:
                ledger.skip(d.post_id, d.channel, reason=d.reason, now=now, meta=post_meta(d.post, git_commit=commit))
        # not lines: `loa publish` counts them; the daemon logs each once. A pair held because its channel
        # is switched off waits for no one (not counted either): no item, 74,000 at 20,000 posts every tick
        for d in (d for d in p.of(planmod.HELD) if d.reason != "channel-disabled"):
            result.items.append(ItemOutcome("hold", d.post_id, d.channel, d.row.remote_url if d.row else None,
                                            f"held {d.post_id} on {d.channel}: {d.reason}"))
        if dry_run:
            for d in work:
                result.lines.append(Detail(f"pass.would-{d.action or 'reconcile'}", post=d.post_id, channel=d.channel,
                                           why=f" ({d.reason})" if d.reason else ""))
            return result
        if not work:
            return result
        jobs = self._render(work, renderer(), now, result)
        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(jobs)))) as pool:
            futures = [pool.submit(self._run_channel, ch, items, commit) for ch, items in jobs.items()]
            for f in futures:
                result.add(f.result())
        return result

    def _render(self, work: list, renderer, now: datetime, result: PassResult) -> dict[str, list]:
        jobs: dict[str, list] = {}
        for d in sorted(work, key=lambda d: (d.post.publish_at or now, d.post_id)):
            try:
                rendering = renderer.render(d.post, d.channel) if d.action != "retract" or d.kind == planmod.DOUBT else None
            except RenderError as exc:
                result.count(Outcome.BUG, Detail("pass.render-failed", post=d.post_id, channel=d.channel,
                                                           reason=exc.reason))
                continue
            jobs.setdefault(d.channel, []).append((d, rendering))
        return jobs

    # -- one channel ----------------------------------------------------------------------
    def _run_channel(self, name: str, items: list, commit: str | None) -> PassResult:
        res = PassResult()
        channel = self.cfg.channels[name]
        ledger = self.ledger_factory()
        pub = None
        beat = _Heartbeat(ledger, name, self.owner, self.lease, self.clock)
        try:
            try:
                pub = self.publisher_factory(channel, ledger)
                _prefetch(pub, items)
            except PublishError as exc:
                if exc.holds_channel and exc.outcome != "retry":
                    self._hold(ledger, channel, exc, res)
                else:
                    res.count(Outcome.RETRY, Detail("pass.left", channel=name, reason=exc.reason))
                return res
            n = max(1, int(getattr(pub, "batch", 1) or 1))  # items sent before one durable point (group commit)
            ahead = None  # the group's claims, when they were made with the previous group's successes
            for start in range(0, len(items), n):
                group = items[start:start + n]
                items[start:start + n] = [None] * len(group)  # no rendering kept past its group (memory, 20,000 posts)
                if self.stop.is_set() and not (ahead and any(ahead)):  # a claimed item is sent: it has begun
                    res.lines.append(Detail("pass.stopping", channel=name))
                    break
                go, ahead = self._group(ledger, pub, channel, group, commit, res, beat, ahead,
                                        items[start + n:start + 2 * n])
                if not go:
                    break  # the channel is held (auth), or its vendor asked it to wait
        except LedgerError as exc:
            if not exc.exit_code == 75:  # LedgerUnavailable: this channel stops for this pass
                raise
            res.count(Outcome.RETRY, Detail("pass.ledger-unavailable", channel=name))
        finally:
            beat.stop()
            if pub is not None:
                pub.close()
            ledger.close()
        return res

    def _group(self, ledger, pub, channel, group: list, commit, res: PassResult, beat: _Heartbeat,
               claimed: list | None = None, following: list | None = None) -> tuple[bool, list | None]:
        """Claim a group of ``pub.batch`` items (unless ``claimed``: their claims, made with the
        previous group's successes), send each, then :meth:`_settle`: flush, record the successes
        and claim the ``following`` group in one transaction. With a batch of 1 this is claim ->
        send -> record with the next claim, item by item. Returns False when the channel's other
        items must wait, and the following group's claims when they were made."""
        items = self._claim_group(ledger, channel, group, commit) if claimed is None else claimed
        live = [item for item in items if item is not None]  # None: another worker has it
        if not live:
            return True, None
        beat.watch(item.post.id for item in live)
        sent, go = [], True
        try:
            for k, item in enumerate(live):
                go, done = self._attempt(ledger, pub, channel, item, res)
                if done is not None:
                    sent.append(done)
                if not go:  # held, or asked to wait: the group's items not sent yet go back unsent
                    self._release(ledger, channel, live[k + 1:])
                    break
            ok, ahead = self._settle(ledger, pub, channel, sent, following if go else None, commit, res)
        finally:
            beat.watch(())
        return go and ok, ahead

    def _attempt(self, ledger, pub, channel, item: _Item, res: PassResult) -> tuple[bool, tuple | None]:
        """Send one claimed item (reconciled first when its result was lost): ``(go, (item,
        result, success) or None)``; an error is recorded for this item alone, as its class says."""
        try:
            try:
                if item.look_first:
                    if self._reconcile(ledger, pub, channel, item, res) is not None:
                        return True, None
                result = self._send(pub, item)
                return True, (item, result, self._success(item, result))
            except PublishError as exc:
                return self._failed(ledger, channel, item, exc, res), None
            except LedgerError:
                raise
            except Exception as exc:  # noqa: BLE001 - a bug: recorded with its traceback, never retried
                self._bug(ledger, channel, item, exc, res)
        except ClaimLost as exc:
            self._lost(ledger, channel, item, exc, res)
        return True, None

    def _success(self, item: _Item, result: PublishResult) -> dict:
        """``record_success``'s arguments for a sent item."""
        post = item.post
        extra = dict(result.extra or {})
        if item.rendering is not None:
            extra["rendering_hash"] = item.rendering.hash
        if post.correction:
            extra["correction"] = post.correction
        return dict(post_id=post.id, channel=item.row.channel, owner=self.owner, remote_id=result.remote_id,
                    remote_url=result.remote_url, version=post.source_hash, extra=extra, now=self.clock(),
                    send=_sent(item))

    def _settle(self, ledger, pub, channel, sent: list, following: list | None, commit,
                res: PassResult) -> tuple[bool, list | None]:
        """The group's durable point: ``pub.flush()``, then every success of the group and the
        claims of the ``following`` group (unless a stop was asked) in ONE ledger transaction.
        A flush that fails records each send as a retry (sent again: the channel is one that
        batches, where a second write is harmless). When the transaction fails (``ClaimLost``:
        one item was taken over; or an error that may be a next item's, a missing row), each
        success is recorded alone, so only a lost one is reported lost, and the next group is
        claimed on its own turn. Returns (go, the following group's claims or ``None``)."""
        if sent and hasattr(pub, "flush"):  # a stand-in that is no Publisher has none
            try:
                pub.flush()
            except PublishError as exc:
                return self._unflushed(ledger, channel, sent, exc, res), None
        claims, makers = [], []
        for d, rendering in (following or []) if not self.stop.is_set() else []:
            args, make = self._claiming(ledger, channel, d, rendering, commit)
            if sent:
                args["now"] = sent[-1][2]["now"]
            claims.append(args)
            makers.append(make)
        if not sent and not claims:
            return True, None
        try:
            _done, rows = ledger.record_successes_and_claims([s for *_, s in sent], claims)
        except LedgerError as exc:
            if exc.exit_code == 75 and not isinstance(exc, ClaimLost):
                raise
            for item, result, success in sent:
                self._guarded(ledger, channel, item, res, self._recorded, result, success)
            return True, None
        except Exception:  # noqa: BLE001 - the group again item by item: a bug is its item's
            for item, result, success in sent:
                self._guarded(ledger, channel, item, res, self._recorded, result, success)
            return True, None
        for item, result, _success in sent:
            self._guarded(ledger, channel, item, res, self._done, result)
        return True, ([make(row) if row is not None else None for make, row in zip(makers, rows)] if claims else None)

    def _unflushed(self, ledger, channel, sent: list, exc: PublishError, res: PassResult) -> bool:
        """A group's flush failed: no success of it is recorded; each send is recorded as a retry
        that looks its item up first (written, maybe whole, not durable). A refusal that is no
        retry (the site's manifest found unusable: it holds the channel) is recorded as that retry
        too, never as the item's own failure, and holds the channel once. False: the channel waits."""
        retry = exc if isinstance(exc, TransientPublishError) else TransientPublishError(
            channel.name, None, exc.reason, hint=exc.hint, maybe_sent=True)
        go = True
        for item, _result, _success in sent:
            go = self._guarded(ledger, channel, item, res, self._retry_later, retry) is not False and go
        if exc.holds_channel and exc.outcome != "retry":
            self._hold(ledger, channel, exc, res)
            return False
        return go

    def _guarded(self, ledger, channel, item: _Item, res: PassResult, step: Callable, *args):
        """``step(ledger, channel, item, *args, res)`` for one item of a group; a lost claim or
        a bug ends that item alone, as when it is sent."""
        try:
            try:
                return step(ledger, channel, item, *args, res)
            except LedgerError:
                raise
            except Exception as exc:  # noqa: BLE001 - a bug: recorded with its traceback, never retried
                self._bug(ledger, channel, item, exc, res)
        except ClaimLost as exc:
            self._lost(ledger, channel, item, exc, res)
        return None

    def _recorded(self, ledger, channel, item: _Item, result: PublishResult, success: dict, res: PassResult) -> None:
        """One sent item's success, recorded alone."""
        ledger.record_success(**success)
        self._done(ledger, channel, item, result, res)

    def _done(self, ledger, channel, item: _Item, result: PublishResult, res: PassResult) -> None:
        """A recorded success: its maybe-sent mark goes, its line is counted."""
        post, action = item.post, item.action
        # only this claim's owner sets a maybe-sent key (a failed send), so one read at the claim is enough
        if action == "create" and item.look_first and ledger.maybe_sent_key(post.id, channel.name):
            ledger.set_maybe_sent(post.id, channel.name, None, self.clock())
        res.count(_DONE[action], Detail(f"pass.done-{action}", post=post.id, channel=channel.name,
                                        link=result.remote_url or result.remote_id),
                  (_ACTION[action], post.id, channel.name, result.remote_url or result.remote_id))

    def _release(self, ledger, channel, items: list) -> None:
        """Give back claims of a group that were not sent (the channel was held mid-group)."""
        for item in items:
            try:
                ledger.release(item.post.id, channel.name, owner=self.owner, now=self.clock())
            except ClaimLost as exc:  # taken over meanwhile: the new owner has it
                log.warning("Claim of %s on %s not given back: %s", item.post.id, channel.name, exc)

    def _lost(self, ledger, channel, item: _Item, exc: ClaimLost, res: PassResult) -> None:
        """Another worker took this claim over (its lease ran out): this item ends here for this
        worker, recorded as such; the rest of the pass goes on. The new owner reconciles it."""
        log.error("Lost the claim on %s on %s: %s", item.post.id, channel.name, exc)
        ledger.add_event("claim_lost", post_id=item.post.id, channel=channel.name, actor=self.owner,
                         version=item.row.pending_version,
                         detail={"action": item.action, "key": item.key, "reason": str(exc)}, now=self.clock())
        res.count(Outcome.IN_DOUBT, Detail("pass.claim-lost", post=item.post.id, channel=channel.name))

    def _claim_group(self, ledger, channel, group: list, commit) -> list:
        """Claim a group's items in one transaction: each its :class:`_Item`, or ``None`` (another worker has it)."""
        made = [self._claiming(ledger, channel, d, rendering, commit) for d, rendering in group]
        _done, rows = ledger.record_successes_and_claims([], [args for args, _make in made])
        return [make(row) if row is not None else None for (_args, make), row in zip(made, rows)]

    def _claiming(self, ledger, channel, d, rendering, commit) -> tuple[dict, Callable]:
        """The ledger's claim arguments for decision ``d``, and what makes its :class:`_Item` of the claimed row."""
        post = d.post
        version = post.source_hash
        action = d.action or (d.row.action if d.row is not None else "create") or "create"
        key = idempotency_key(post.id, channel.name, version)
        takeover = d.kind == planmod.DOUBT
        stored = ledger.maybe_sent_key(post.id, channel.name) if action == "create" else None
        look_first = takeover or stored is not None
        lost = _lost_requests(ledger, d, channel.name, version, stored) if look_first and action == "create" else ()
        # the 'send' event is written with the outcome, once a request has left (a throttle sends nothing)
        args = dict(post_id=post.id, channel=channel.name, owner=self.owner, action=action, version=version,
                    lease=self.lease, now=self.clock(), allowed_states=("claimed",) if takeover else ALLOWED[action],
                    meta=post_meta(post, git_commit=commit))
        return args, lambda row: _Item(d, rendering, row, action, key, look_first, lost)

    @staticmethod
    def _send(pub, item: _Item) -> PublishResult:
        row, rendering, post = item.row, item.rendering, item.post
        previous = PublishResult(row.remote_id, row.remote_url, dict(row.extra or {})) if row.remote_id else None
        if item.action == "create" or (item.action == "update" and previous is None):
            return pub.publish(rendering, key=item.key)
        if item.action == "update":
            if (previous.extra or {}).get("rendering_hash") == rendering.hash:
                return previous  # nothing the channel shows has changed
            return pub.update(rendering, previous)
        if previous is not None:
            pub.retract(previous, post.retracted or "retracted")
        return previous or PublishResult(post.id)

    # -- the one error handler -------------------------------------------------------------
    def _failed(self, ledger, channel, item: _Item, exc: PublishError, res: PassResult) -> bool:
        """Record a vendor error as its class says (``outcome``, ``holds_channel``); False when
        the channel's other items must wait."""
        post_id, now = item.post.id, self.clock()
        if is_throttle(exc):
            return self._throttled(ledger, channel, item, exc, res)
        if exc.outcome == "in_doubt":
            ledger.mark_in_doubt(post_id, channel.name, owner=self.owner, reason=error_text(exc), now=now,
                                 send=_sent(item))
            res.count(Outcome.IN_DOUBT, Detail("pass.in-doubt", post=post_id, channel=channel.name, reason=exc.reason),
                      ("in_doubt", post_id, channel.name, item.row.remote_url))
            return True
        if exc.outcome == "retry":
            return self._retry_later(ledger, channel, item, exc, res)
        ledger.record_failure(post_id, channel.name, owner=self.owner, kind=exc.kind, message=error_text(exc),
                              next_attempt_at=None, now=now, send=_sent(item))
        if exc.holds_channel:
            self._hold(ledger, channel, exc, res, post_id)
            return False
        res.count(Outcome.FAILED, Detail("pass.failed", post=post_id, channel=channel.name, reason=exc.reason,
                                         vendor=f" ({exc.vendor_message})" if exc.vendor_message else ""),
                  ("fail", post_id, channel.name, item.row.remote_url))
        return True

    def _retry_later(self, ledger, channel, item: _Item, exc: TransientPublishError, res: PassResult) -> bool:
        post_id, action = item.post.id, item.action
        if exc.maybe_sent and action == "create":
            # the vendor may have it: the next attempt looks it up first (or holds it for a person)
            ledger.set_maybe_sent(post_id, channel.name, item.key, self.clock())
        attempts = item.row.attempts
        if attempts >= self.max_attempts:
            ledger.record_failure(post_id, channel.name, owner=self.owner, kind="permanent",
                                  message=error_text(exc), next_attempt_at=None, now=self.clock(), send=_sent(item))
            res.count(Outcome.FAILED, Detail("pass.gave-up", post=post_id, channel=channel.name, attempts=attempts,
                                             reason=exc.reason),
                      ("fail", post_id, channel.name, item.row.remote_url))
            return True
        delay = exc.retry_after if exc.retry_after is not None else self._backoff(attempts)
        next_at = self.clock() + timedelta(seconds=delay)
        ledger.record_failure(post_id, channel.name, owner=self.owner, kind="transient", message=error_text(exc),
                              next_attempt_at=next_at, now=self.clock(), send=_sent(item))
        # the plan was made before this retry existed: the daemon's wake-up must know it, or a
        # throttled item waits for the next regular tick instead of the vendor's retry_after
        res.wake_at(next_at)
        res.count(Outcome.RETRY, Detail("pass.retry", post=post_id, channel=channel.name, delay=f"{delay:.0f}", reason=exc.reason),
                  ("retry", post_id, channel.name, item.row.remote_url))
        if exc.retry_after is None:
            # an HTTP error for this item: go on with the others; no connection at all: the
            # server is down, the rest of the channel waits for the next tick
            return exc.status is not None
        if not exc.holds_channel:  # this item's own wait (still processing): the others go on
            return True
        # a wait the vendor asked for (flood control, Page usage, a rate bucket) holds the whole
        # channel until then: its other items neither spend an attempt on it now nor are sent
        # by the next pass before it has run out
        ledger.throttle(channel.name, next_at, self.clock())
        return False

    def _throttled(self, ledger, channel, item: _Item, exc: TransientPublishError, res: PassResult) -> bool:
        """A rate limit, Loa's own or the vendor's: nothing was done. The claim goes back to the
        state it came from without spending an attempt, no ``send`` is recorded, and the whole
        channel waits (the vendor's wait, else ``daemon.retry_base``). False: the channel's other
        items wait too."""
        delay = exc.retry_after if exc.retry_after is not None else self.retry_base
        next_at = self.clock() + timedelta(seconds=max(delay, 0.001))
        ledger.release(item.post.id, channel.name, owner=self.owner, now=self.clock(), next_attempt_at=next_at,
                       reason=error_text(exc))
        ledger.throttle(channel.name, next_at, self.clock())
        res.wake_at(next_at)
        res.count(Outcome.RETRY, Detail("pass.wait", post=item.post.id, channel=channel.name, delay=f"{delay:.0f}",
                                        reason=exc.reason), ("wait", item.post.id, channel.name, item.row.remote_url))
        return False

    def _bug(self, ledger, channel, item: _Item, exc: Exception, res: PassResult) -> None:
        post_id = item.post.id
        tb = traceback.format_exc()
        log.exception("Bug while sending %s to %s", post_id, channel.name)
        reason = secrets.redact(f"{type(exc).__name__}: {exc}")  # a bug's text may quote a credential
        ledger.record_failure(post_id, channel.name, owner=self.owner, kind="bug",
                              message=json.dumps({"reason": reason, "traceback": secrets.redact(tb)[-4000:]}),
                              next_attempt_at=None, now=self.clock())
        res.count(Outcome.BUG, Detail("pass.bug", post=post_id, channel=channel.name, reason=reason), ("bug", post_id, channel.name, None))

    def _hold(self, ledger, channel, exc: PublishError, res: PassResult, post_id: str | None = None) -> None:
        """An authentication failure holds the whole channel: one loud message, no retry storm."""
        words = secrets.redact_data([exc.reason, exc.hint, exc.vendor_message])
        ledger.hold(channel.name, Hold(*words, codes=secrets.redact_data(_codes(exc)) or None), self.clock())
        res.count(Outcome.FAILED, Detail("pass.held", channel=channel.name, reason=exc.reason,
                                         hint=Detail("pass.held.hint", hint=exc.hint) if exc.hint else ""),
                  ("hold-channel", post_id or "-", channel.name, None))
        log.error("Channel %s held: %s", channel.name, exc.reason)

    def _reconcile(self, ledger, pub, channel, item: _Item, res: PassResult) -> Outcome | None:
        """A claim expired without a result, or a create may have reached the vendor. Ask the
        vendor when it can be asked: settled, held for a person, or ``None``: send it."""
        post_id, row, rendering = item.post.id, item.row, item.rendering
        if item.action in ("update", "retract"):
            return None  # redoing an edit or a removal is harmless: send again
        if not pub.can_lookup:
            return self._for_a_person(ledger, channel, item, res, "pass.result-lost")
        for key, version in item.lost:  # each under the key it carried: the post may have been edited since
            found = pub.lookup(rendering, key)
            if found is not None:
                break
        else:
            if not getattr(pub, "lookup_finds_edited", True) and any(v != row.pending_version for _k, v in item.lost):
                # searched for the new text only (Facebook): a lost send of the earlier version may be there
                return self._for_a_person(ledger, channel, item, res, "pass.result-edited")
            res.lines.append(Detail("pass.absent", post=post_id, channel=channel.name))
            return None
        extra = dict(found.extra or {})
        if version == row.pending_version:
            extra["rendering_hash"] = rendering.hash
        # the vendor has it, so a request did leave (a worker that lost its result): its send, found. Found
        # under an older version's key, it shows that version: recorded at it, without this rendering's
        # hash, so the plan updates it to the current one (plan._decide; _send skips no update then)
        ledger.record_success(post_id, channel.name, owner=self.owner, remote_id=found.remote_id,
                              remote_url=found.remote_url, version=version, extra=extra, now=self.clock(),
                              send={**_sent(item), "key": key, "found_by_lookup": True})
        ledger.set_maybe_sent(post_id, channel.name, None, self.clock())
        res.count(Outcome.SETTLED, Detail("pass.settled", post=post_id, channel=channel.name,
                                          link=found.remote_url or found.remote_id),
                  ("settle", post_id, channel.name, found.remote_url or found.remote_id))
        return Outcome.SETTLED

    def _for_a_person(self, ledger, channel, item: _Item, res: PassResult, why: str) -> Outcome:
        """A lost result the channel cannot settle (``why``: a catalogue code): held in doubt until a
        person says with ``loa resolve`` whether the item is there; never sent again by itself."""
        post_id = item.post.id
        lost = InDoubtPublishError(channel.name, post_id, Detail(why, type=channel.type),
                                   hint=Detail("pass.result-lost.fix"))
        ledger.mark_in_doubt(post_id, channel.name, owner=self.owner, reason=error_text(lost), now=self.clock())
        ledger.set_maybe_sent(post_id, channel.name, None, self.clock())  # loa resolve decides now
        res.count(Outcome.IN_DOUBT, Detail("pass.in-doubt-resolve", post=post_id, channel=channel.name),
                  ("in_doubt", post_id, channel.name, None))
        return Outcome.IN_DOUBT

    def _backoff(self, attempts: int) -> float:
        base = self.retry_base * (2 ** max(0, attempts - 1))
        return min(base, 6 * 3600) * random.uniform(0.75, 1.25)


def _prefetch(pub, items: list) -> None:
    """Let the publisher prepare the channel's new items at once (WordPress: one slug lookup per 50)."""
    creates = [r for d, r in items if r is not None and d.action == "create" and d.kind == planmod.DUE]
    if creates and hasattr(pub, "prefetch"):
        try:
            pub.prefetch(creates)
        except PublishError as exc:  # only a speed-up: each send looks its item up itself,
            if exc.holds_channel and exc.outcome != "retry":  # and a refusal is recorded on it
                raise


def _lost_requests(ledger, d, channel: str, version: str, stored: str | None) -> tuple[tuple[str, str], ...]:
    """The requests of a create whose result was lost, as ``(key, version)``: the maybe-sent one
    (``stored``, the key a failed request carried) and, for a takeover, the one the previous owner
    claimed (the row's ``pending_version`` before this claim). Either may be of a version older
    than ``version`` (the post edited since): it is looked up under its own key, and those of
    older versions come first, so a vendor whose lookup ignores the key (by slug, by text) is
    taken to show an older one, which costs at most an update, never a second send."""
    post_id, row = d.post_id, d.row
    lost: dict[str, str] = {}
    if d.kind == planmod.DOUBT and row is not None and row.pending_version:
        lost[idempotency_key(post_id, channel, row.pending_version)] = row.pending_version
    if stored is not None and stored not in lost:
        lost[stored] = _version_of(ledger, post_id, channel, stored, (version, getattr(row, "pending_version", None)))
    lost = lost or {idempotency_key(post_id, channel, version): version}
    return tuple(sorted(lost.items(), key=lambda kv: kv[1] == version))


def _version_of(ledger, post_id: str, channel: str, key: str, likely: tuple) -> str:
    """The version whose idempotency key is ``key``: one of the ``likely`` ones, else one a claim of
    this pair was made at (the event log keeps every claim). ``""`` when none is (not a version: the
    plan then updates the item, which is harmless)."""
    for version in likely:
        if version and idempotency_key(post_id, channel, version) == key:
            return version
    for event in reversed(ledger.events(post_id=post_id, channel=channel, kinds=("claim",))):
        if event.version and idempotency_key(post_id, channel, event.version) == key:
            return event.version
    return ""


def _sent(item: _Item) -> dict:
    """The ``send`` event's detail, written with the outcome of a request that left."""
    return {"action": item.action, "key": item.key}


def _missing_rows(p: planmod.Plan) -> list:
    """Decisions on ready posts that have no ledger row yet (``ensure_many`` writes them)."""
    items = []
    for d in p.active():  # a DONE pair never needs a row
        if d.post is None or d.row is not None or d.post.status != "ready":
            continue
        if d.reason in ("channel-disabled", "retracted-before-publishing"):
            continue
        items.append(d)
    return items
