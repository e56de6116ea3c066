"""Given posts, the ledger's rows and ``now``: what is due, held, stale, blacked out, throttled.

Pure: no I/O, no clock. The application layer (:meth:`pipeline.app.Session.plan`) gathers its
inputs and calls it for every front end: ``loa publish`` and each daemon tick (to act), ``loa
status``, ``loa preview`` and ``loa channels check`` (to explain). Every (post, channel) pair gets
exactly one :class:`Decision`.

The rules are written down for people in ``docs/delivery.md``; keep both in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Callable, Collection, Iterable, Mapping

from pipeline.checks import is_approved
from pipeline.models import Post

#: Channel types whose items are composed, not the posts themselves (pipeline/bulletin.py): a
#: post's plan leaves them out; the application layer plans their items with ``composed=True``.
COMPOSED_TYPES = frozenset({"loudspeaker"})

# Decision kinds
DUE = "due"              # act now (action create / update / retract)
SCHEDULED = "scheduled"  # publish_at in the future
WAITING = "waiting"      # spacing or retry backoff: due later at `at`
HELD = "held"            # needs a person or a config change (reason says what)
SKIP = "skip"            # record as skipped now (stale)
DOUBT = "in_doubt"       # a claim expired without a result: reconcile
INFLIGHT = "inflight"    # another worker holds a live claim
DONE = "done"            # nothing to do
#: HELD reasons that are not "held for a person": counted elsewhere (failed, in doubt) or nothing
#: to do (a draft, a channel switched off). `loa status` lists and `loa publish` counts the others.
NOT_WAITING_FOR_A_PERSON = ("draft", "failed", "in_doubt", "channel-disabled")


@dataclass(frozen=True, slots=True)  # slots: a daemon keeps one per (post, channel) between ticks
class Decision:
    post: Post | None
    post_id: str
    channel: str
    kind: str
    action: str | None = None
    reason: str = ""
    at: datetime | None = None  # when it becomes due (scheduled / waiting)
    row: object | None = None


@dataclass
class Plan:
    decisions: list[Decision] = field(default_factory=list)
    #: Ascending indices of the decisions that are not ``DONE`` (``None``: not known). Most pairs
    #: are done; the engine's questions (what is due, held, next) only look at these.
    live: list[int] | None = None
    #: The ledger snapshot's ``rev`` the plan was made from (``None``: rows without one).
    rev: int | None = None
    #: Ascending indices of the decisions that are not settled (see ``_SETTLED``): the only ones a
    #: later plan over the same posts and rows decides again.
    unsettled: list[int] = field(default_factory=list)
    #: What a later plan needs to keep this one's settled verdicts (``reuse``): the posts and the
    #: blocked files it was made from, each post's decisions (relpath -> (first, end) index) and
    #: the (post id, channel) of each decision.
    posts: object = None
    blocked: Collection[str] = frozenset()
    spans: dict[str, tuple[int, int]] | None = None
    pairs: list[tuple[str, str]] | None = None

    def of(self, *kinds: str) -> list[Decision]:
        if self.live is None or DONE in kinds:
            return [d for d in self.decisions if d.kind in kinds]
        ds = self.decisions
        return [ds[i] for i in self.live if ds[i].kind in kinds]

    def active(self) -> list[Decision]:
        """Every decision that is not ``DONE``, in plan order."""
        if self.live is None:
            return [d for d in self.decisions if d.kind != DONE]
        ds = self.decisions
        return [ds[i] for i in self.live]

    def merged_into(self, first: "Plan") -> "Plan":
        """``first``'s decisions followed by this plan's, as one plan (the composed channels' items
        after the posts'); ``first`` is left as it is, for its reuse by the next plan."""
        n = len(first.decisions)
        live = None if first.live is None or self.live is None else first.live + [i + n for i in self.live]
        return Plan(first.decisions + self.decisions, live, first.rev,
                    first.unsettled + [i + n for i in self.unsettled])

    def next_wakeup(self) -> datetime | None:
        """Earliest time something scheduled or waiting becomes due (for the daemon's wake-up job)."""
        times = [d.at for d in self.active() if d.kind in (SCHEDULED, WAITING) and d.at is not None]
        return min(times) if times else None


def active_blackout(cfg, channel: str, now: datetime):
    for b in cfg.blackouts:
        if b.start <= now < b.end and (not b.channels or channel in b.channels):
            return b
    return None


# Verdicts that depend only on the post, the row, the config and whether the file is blocked
# (never on now, pauses, holds, throttles or spacing): done because published at the current
# version, retracted, a draft, retracted before publishing; held because the channel is switched off.
_SETTLED = frozenset(("", "retracted", "draft", "retracted-before-publishing"))


def _settled(d: Decision) -> bool:
    return d.kind == DONE and d.reason in _SETTLED or d.kind == HELD and d.reason == "channel-disabled"


def plan(posts: Iterable[Post], cfg, rows: Mapping[tuple[str, str], object], now: datetime, *,
         pauses: Iterable[object] = (), holds: Mapping[str, str] | None = None,
         throttles: Mapping[str, datetime] | None = None, blocked: Collection[str] = frozenset(),
         sent_today: Mapping[str, int] | None = None, last_sent: Mapping[str, datetime | None] | None = None,
         only_channel: str | None = None, only_post: str | None = None, reuse: Plan | None = None,
         leases_at: datetime | None = None, composed: bool = False,
         approved: Callable[[Post], bool] | None = None) -> Plan:
    """Decide, for every post and channel, what happens at ``now``. Pure: no I/O, no clock, and
    the arguments are not modified.

    ``rows``: ledger snapshot {(post_id, channel): Publication}, with ``rev`` when it has one.
    ``pauses``: active pauses. ``holds``: channel -> message for channels held after an
    authentication failure. ``throttles``: channel -> until when its vendor asked it to wait.
    ``blocked``: the files (``Post.relpath``) with a check error: nothing of theirs is created,
    updated or retracted anywhere until they are fixed.
    ``sent_today`` / ``last_sent``: per channel, for ``max_per_day`` / ``min_interval``.
    ``leases_at``: the real time, against which claims' leases are judged (``now`` by default;
    ``loa publish --now`` moves only ``now``, while leases are always written in real time).

    ``reuse``: a plan made by an earlier call *with the same config and filters* (``only_channel``,
    ``only_post``, ``composed``). Its settled verdicts, which depend on the post, the row and
    whether the file is blocked only, are kept where they still hold: when the posts are the same
    list, ``blocked`` the same and ``rows.rev`` the rev that plan was made from, only its unsettled
    pairs are decided again; otherwise a pair is decided again unless its post is the same object
    (its file unchanged: :class:`pipeline.content.PostCache`), not blocked, and its row the same.
    The result is the plan a call without ``reuse`` makes (tests/test_plan.py compares them).

    ``composed``: ``posts`` are broadcast items (:func:`pipeline.bulletin.item_posts`) and only
    channels of a ``COMPOSED_TYPES`` type are decided; otherwise those channels are left out.

    ``approved(post)``: :func:`pipeline.checks.is_approved` of ``post`` with ``cfg`` (the default),
    from wherever the caller keeps it (the session's, worked out ahead: tests/test_plan.py
    compares the plans).
    """
    gates = _Gates(cfg, now, pauses, holds or {}, throttles or {}, blocked, leases_at or now, approved)
    rev = getattr(rows, "rev", None)
    if reuse is not None and rev is not None and reuse.rev == rev and reuse.posts is posts and reuse.blocked == blocked:
        out = _redecide(reuse, cfg, now, gates)  # nothing changed but the time: what time can change
        _apply_spacing(out, cfg, now, sent_today or {}, last_sent or {})
        return out
    out = Plan(live=[], rev=rev, posts=posts, blocked=blocked)
    seen = _decide_all(out, posts, cfg, rows, now, gates, reuse, only_channel, only_post, composed)
    # rows whose post file is gone: never treated as a retraction; in pair order, not the snapshot's
    # (a long-lived ledger's snapshot keeps its rows in another order than a fresh one reads them)
    skip = {n for n, c in cfg.channels.items() if c.type in COMPOSED_TYPES}
    gone = [(pair, row) for pair, row in (() if composed else rows.items())
            if pair not in seen and pair[1] not in skip]  # a broadcast of a past slot is not a post that is gone
    for pair, row in sorted(gone, key=lambda g: g[0]):
        if (only_channel and pair[1] != only_channel) or (only_post and pair[0] != only_post):
            continue
        if getattr(row, "state", None) in ("published",):
            out.live.append(len(out.decisions))
            out.unsettled.append(len(out.decisions))
            out.decisions.append(Decision(None, pair[0], pair[1], HELD, reason="deleted", row=row))
    _apply_spacing(out, cfg, now, sent_today or {}, last_sent or {})
    return out


def _decide_all(out: Plan, posts: Iterable[Post], cfg, rows, now: datetime, gates: "_Gates", reuse: Plan | None,
                only_channel: str | None, only_post: str | None, composed: bool = False) -> set[tuple[str, str]]:
    """Every (post, channel) pair into ``out``; returns the pairs seen. A post that is the same
    object in ``reuse`` (so the same channels pass the same filters) and is not blocked keeps
    each of its settled verdicts whose row is unchanged (the same object, or equal), without
    deciding it again: the daemon's plan after an edit decides the edited post's pairs and those
    whose rows moved, not the site's."""
    decisions, live, unsettled = out.decisions, out.live, out.unsettled
    usable = reuse is not None and reuse.spans is not None and reuse.pairs is not None
    prev, prev_pairs, spans = (reuse.decisions, reuse.pairs, reuse.spans) if usable else ((), (), {})
    out.spans, out.pairs = mine, pairs = {}, []
    blocked = gates.blocked
    for post in posts:
        if only_post and post.id != only_post:
            continue
        first, span = len(decisions), spans.get(post.relpath)
        if span is not None and span[0] < span[1] and prev[span[0]].post is post and post.relpath not in blocked:
            for m in range(*span):  # the same post: its channels are those of its earlier decisions
                d, pair = prev[m], prev_pairs[m]
                row = rows.get(pair)
                if not ((d.row is row or d.row == row) and _settled(d)):
                    d = _decide(post, cfg.channels[d.channel], row, cfg, now, gates)
                    if not _settled(d):
                        unsettled.append(len(decisions))
                if d.kind != DONE:
                    live.append(len(decisions))
                decisions.append(d)
                pairs.append(pair)
        else:
            for ch in post.channels:
                channel = cfg.channels.get(ch)
                if channel is None or (only_channel and ch != only_channel) or (channel.type in COMPOSED_TYPES) != composed:
                    continue
                if composed and post.extra.get("composed_for") != ch:  # an item is decided on its own channel only
                    continue
                pair = (post.id, ch)
                d = _decide(post, channel, rows.get(pair), cfg, now, gates)
                if d.kind != DONE:
                    live.append(len(decisions))
                if not _settled(d):
                    unsettled.append(len(decisions))
                decisions.append(d)
                pairs.append(pair)
        mine[post.relpath] = (first, len(decisions))
    return set(pairs)


def _redecide(reuse: Plan, cfg, now: datetime, gates: "_Gates") -> Plan:
    """``reuse`` with its unsettled pairs decided again (the posts and rows are the same)."""
    out = Plan(list(reuse.decisions), [], reuse.rev, reuse.unsettled, reuse.posts, reuse.blocked, reuse.spans, reuse.pairs)
    for i in reuse.unsettled:
        d = out.decisions[i]
        if d.post is not None:  # (a row whose file is gone depends on the row alone)
            d = out.decisions[i] = _decide(d.post, cfg.channels[d.channel], d.row, cfg, now, gates)
        if d.kind != DONE:
            out.live.append(i)
    again = set(reuse.unsettled)
    still = [i for i in reuse.live if i not in again]  # settled but not done (a channel switched off)
    if still:
        out.live = sorted(out.live + still)
    return out


class _Gates:
    """Reasons a due item must wait although its time has come: a hold, a pause, a vendor's
    requested wait, a blackout."""

    def __init__(self, cfg, now: datetime, pauses: Iterable[object], holds: Mapping[str, str],
                 throttles: Mapping[str, datetime], blocked: Collection[str], leases_at: datetime,
                 approved: Callable[[Post], bool] | None = None):
        self.cfg, self.now, self.holds, self.throttles, self.blocked = cfg, now, holds, throttles, blocked
        self.leases_at = leases_at
        self.approved = approved or (lambda post: is_approved(post, cfg))
        self.paused_all = next((p for p in pauses if getattr(p, "channel", None) is None), None)
        self.paused = {p.channel: p for p in pauses if getattr(p, "channel", None)}

    def __call__(self, D, channel):
        if channel.name in self.holds:
            from pipeline.messages import Detail  # "auth: <the hold's words>", which keep their catalogue code

            return D(HELD, reason=Detail("plan.reason-auth", detail=self.holds[channel.name]))
        p = self.paused.get(channel.name) or self.paused_all
        if p is not None:
            return D(HELD, reason=f"paused: {p.reason}")
        return self.throttled(D, channel) or self.blackout(D, channel)

    def throttled(self, D, channel):
        until = self.throttles.get(channel.name)
        if until is not None and until > self.now:
            return D(WAITING, reason="vendor-wait", at=until)
        return None

    def blackout(self, D, channel):
        b = active_blackout(self.cfg, channel.name, self.now)
        if b is not None:
            return D(WAITING, reason=f"blackout: {b.reason}", at=b.end)
        return None


def _decide(post: Post, channel, row, cfg, now: datetime, gate: "_Gates") -> Decision:
    D = lambda kind, action=None, reason="", at=None: Decision(post, post.id, channel.name, kind, action, reason, at, row)  # noqa: E731
    state = getattr(row, "state", None)
    # once out there (first success recorded), an item stays out there until retracted
    published = row is not None and row.first_published_at is not None and state != "retracted"

    # claims in flight or lost
    if state == "claimed":
        if row.lease_until is not None and row.lease_until >= gate.leases_at:
            from pipeline.messages import Detail  # "being sent by <owner>", in the reader's language when shown

            return D(INFLIGHT, row.action, Detail("plan.reason-sending", owner=row.claim_owner))
        return gate.throttled(D, channel) or D(DOUBT, row.action, "claim expired without a result")
    if state == "in_doubt":
        return D(HELD, row.action, "in_doubt")
    if state == "retracted":
        return D(DONE, reason="retracted")
    if not channel.enabled:
        return D(HELD, reason="channel-disabled")
    # a file with a check error changes nothing anywhere (a published version stays as it is)
    if post.relpath in gate.blocked and (published or (post.status == "ready" and not post.retracted)):
        return D(HELD, "retract" if post.retracted else "update" if published else "create", "check-errors")

    # retraction wins over everything once something is out there
    if post.retracted:
        if published:
            return gate(D, channel) or D(DUE, "retract", post.retracted)
        return D(DONE, reason="retracted-before-publishing")

    if post.status != "ready":
        return D(HELD if published else DONE, reason="draft")
    if post.publish_at is None:
        return D(HELD, reason="no-publish-time")
    if post.publish_at > now and not published:
        return D(SCHEDULED, "create", at=post.publish_at)
    if post.expire_at is not None and post.expire_at <= now and not published:
        return D(HELD, reason="expired")
    if channel.name in cfg.require_approval and not gate.approved(post):
        return D(HELD, "update" if published else "create", "awaiting-approval")

    if (state in (None, "pending") or _rescheduled(post, row)) and not published:
        late = now - post.publish_at
        if channel.max_lateness is not None and late > channel.max_lateness:
            return D(SKIP, "create", _stale(post.publish_at, channel.max_lateness))
        return gate(D, channel) or D(DUE, "create", "rescheduled" if state == "skipped" else "")
    if state == "skipped":
        return D(DONE, reason="skipped")
    if state == "published" or (state == "pending" and published):
        if row.version == post.source_hash or channel.on_change == "ignore":
            return D(DONE)
        return gate(D, channel) or D(DUE, "update", "content changed")
    return _after_failure(D, post, channel, row, now, gate, published)


def _rescheduled(post: Post, row) -> bool:
    """A skipped row whose post now has a later ``publish_at`` than the one it was skipped for
    (staff moved it): it is scheduled again, and the stale rule is judged from the new time."""
    if getattr(row, "state", None) != "skipped":
        return False
    skipped_for = row.publish_at or row.updated_at
    return skipped_for is not None and post.publish_at > skipped_for


def _after_failure(D, post: Post, channel, row, now: datetime, gate: "_Gates", published: bool) -> Decision:
    """A row that is retrying or failed: when to try again, if at all."""
    action = row.action or ("update" if published else "create")
    if row.state == "retrying":
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            return D(WAITING, action, "retry", at=row.next_attempt_at)
        return gate(D, channel) or D(DUE, action, "retry")
    if row.state == "failed":
        if row.error_kind == "auth" and channel.name not in gate.holds:
            # the hold was lifted (loa retry / credentials fixed): try again
            return gate(D, channel) or D(DUE, action, "retry after auth fix")
        if row.pending_version != post.source_hash and row.error_kind in ("permanent", "bug"):
            return gate(D, channel) or D(DUE, action, "content changed after a failure")
        return D(HELD, action, "failed")
    return D(DONE, reason=f"state {row.state}")


def _apply_spacing(p: Plan, cfg, now: datetime, sent_today: Mapping[str, int], last_sent: Mapping[str, datetime | None]) -> None:
    """New items beyond a channel's ``min_interval`` / ``max_per_day`` wait their turn, in
    ``publish_at`` order. Updates and retractions are not new items and are not spaced."""
    by_channel: dict[str, list[int]] = {}
    ds = p.decisions
    for i in (p.live if p.live is not None else range(len(ds))):
        d = ds[i]
        if d.kind == DUE and d.action == "create":
            by_channel.setdefault(d.channel, []).append(i)
    for ch, idxs in by_channel.items():
        channel = cfg.channels[ch]
        idxs.sort(key=lambda i: (p.decisions[i].post.publish_at, p.decisions[i].post_id))
        allowed = len(idxs)
        next_at = None
        if channel.max_per_day is not None:
            left = max(0, channel.max_per_day - sent_today.get(ch, 0))
            if left < allowed:
                allowed = left
                local = now.astimezone(cfg.tz)
                next_at = datetime.combine(local.date() + timedelta(days=1), time(0, 0), cfg.tz)
        if channel.min_interval > timedelta(0):
            last = last_sent.get(ch)
            if last is not None and now - last < channel.min_interval:
                allowed, next_at = 0, last + channel.min_interval
            elif allowed > 1:
                allowed, next_at = 1, now + channel.min_interval
        for n, i in enumerate(idxs):
            if n >= allowed:
                d = p.decisions[i]
                p.decisions[i] = Decision(d.post, d.post_id, d.channel, WAITING, d.action,
                                          "spacing", next_at, d.row)


def _stale(due: datetime, lateness: timedelta) -> str:
    """A stale post's skip reason: "stale: due <ISO time>, more than <lateness> ago" in English, a
    catalogue Detail so that loa publish, status and preview say it in the reader's language."""
    from pipeline.durations import vi_words
    from pipeline.messages import Detail
    from pipeline.vndates import dmy, gio

    return Detail("plan.reason-stale", due_en=due.isoformat(), lateness_en=str(lateness),
                  due_vi=f"{gio(due)} {dmy(due)}", lateness_vi=vi_words(lateness))
