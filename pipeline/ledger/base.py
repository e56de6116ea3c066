"""The publication ledger contract: one row per (post, channel), an append-only event log, and the
small durable state the engine needs (kv, pauses, channel holds and throttles, publisher and feed
state).

The ledger is, with the content repository, the only truth: the scheduler keeps no state of its own
and re-derives everything from files + ledger after a restart. Exactly-once publishing rests on
:meth:`Ledger.claim`: a worker must win the claim (an atomic compare-and-set with a lease) before it
calls a vendor, and only the claim's owner may record the outcome.

Conventions for every method:

* every time is a timezone-aware :class:`~datetime.datetime` (a naive one raises ``ValueError``);
  times come back in UTC; ``now`` is always injected by the caller;
* every change is one transaction: it is either entirely written or not at all;
* :class:`~pipeline.errors.LedgerUnavailable` means the database could not be reached (skip the
  tick, nothing was half-written); :class:`~pipeline.errors.LedgerError` means the ledger refused
  the operation (lost claim, unknown row, schema from a newer Loa).

Thread-safety: a ``Ledger`` holds one connection guarded by a lock, so one object may be shared by
several threads (their calls are serialized). For parallel workers open one ``Ledger`` per thread
or process; never use one across ``fork()``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Collection, ContextManager, Iterable, Mapping, Sequence

from pipeline.errors import LedgerError

if TYPE_CHECKING:
    from pipeline.ledger.state import LedgerState

#: Row states; see the schema in the design notes.
STATES = ("pending", "claimed", "published", "failed", "retrying", "skipped", "in_doubt", "retracted")
#: What a claim does.
ACTIONS = ("create", "update", "retract")
#: ``record_failure`` kinds: ``transient`` -> ``retrying``, the others -> ``failed``.
ERROR_KINDS = ("transient", "permanent", "auth", "bug")
#: Event kinds accepted by :meth:`Ledger.add_event` (the ledger itself writes the same kinds).
EVENT_KINDS = ("claim", "send", "success", "failure", "update", "retract", "skip", "pause", "resume",
               "resolve", "in_doubt", "retry", "release", "claim_lost",
               # the web console (issue 18): accounts, sign-in, and the board's decisions
               "user", "login", "login_failed", "logout", "approve", "send_back",
               # an offline activity recorded from the console's form (detail: the file written)
               "activity")
#: Post metadata copied into the row by ``ensure``/``claim``/``skip`` (``meta`` mapping keys).
META_KEYS = ("title", "unit", "type", "author", "path", "git_commit", "topics", "publish_at")

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class ClaimLost(LedgerError):
    """The claim's owner no longer holds it (its lease ran out and another worker took it over):
    this worker's result for that item is not recorded. The item ends for this worker; its pass
    goes on."""


@dataclass(frozen=True, slots=True)
class Publication:
    """One ledger row: what Loa knows about one post on one channel.

    Field names are the ``publications`` table's column names (report SQL uses the same words).
    ``topics`` is a tuple of topic ids and ``extra`` the publisher's own memory (media ids,
    message kind); both are stored as JSON text. ``claimed_from`` is the state the current claim
    was taken from (restored by :meth:`Ledger.release`); it is ``None`` when nothing is claimed.

    Slots, not a ``__dict__``: the daemon keeps 60,000 rows between ticks (280 bytes each instead
    of 1.6 KB).
    """

    post_id: str
    channel: str
    channel_type: str
    state: str
    action: str | None
    version: str | None
    pending_version: str | None
    remote_id: str | None
    remote_url: str | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    error_kind: str | None
    claim_owner: str | None
    lease_until: datetime | None
    claimed_from: str | None
    first_published_at: datetime | None
    published_version_at: datetime | None
    retracted_at: datetime | None
    corrected_at: datetime | None
    updated_at: datetime
    publish_at: datetime | None
    title: str | None
    unit: str | None
    type: str | None
    author: str | None
    path: str | None
    git_commit: str | None
    topics: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @property
    def key(self) -> tuple[str, str]:
        """``(post_id, channel)``, the key of :meth:`Ledger.snapshot`."""
        return (self.post_id, self.channel)

    def lease_live(self, now: datetime) -> bool:
        """True while a claim holds this row (state ``claimed`` and its lease not yet expired)."""
        return self.state == "claimed" and self.lease_until is not None and self.lease_until >= now


class Snapshot(dict):
    """What :meth:`Ledger.snapshot` returns: ``{(post_id, channel): Publication}`` plus ``rev``,
    the ledger's change number when it was read. Every committed change to a row raises the
    number, so two snapshots of one ledger with the same ``rev`` hold the same rows (the planner
    then reuses its previous verdicts instead of deciding 40,000 settled pairs again)."""

    __slots__ = ("rev",)

    def __init__(self, rows: Mapping[tuple[str, str], Publication] = _EMPTY, rev: int | None = None):
        super().__init__(rows)
        self.rev = rev


#: Column order of ``publications`` as the implementations select it.
PUBLICATION_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Publication))


@dataclass(frozen=True)
class Event:
    """One line of the append-only ``events`` table. ``detail`` is the decoded JSON object."""

    id: int
    at: datetime
    post_id: str | None
    channel: str | None
    kind: str
    actor: str
    version: str | None
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class Pause:
    """A hold on one channel (``channel`` set) or on every channel (``channel is None``).

    Active while ``resumed_at`` is ``None``, ``since <= now`` and ``until`` is ``None`` or later.
    """

    id: int
    channel: str | None
    reason: str
    actor: str
    since: datetime
    until: datetime | None
    resumed_at: datetime | None
    resumed_by: str | None


@dataclass(frozen=True)
class Hold:
    """A channel held after an authentication failure: nothing is sent on it until a person fixes
    the credential and lifts the hold (``loa retry --channel C``).

    ``message`` is Loa's words, ``hint`` what to do, ``vendor`` the vendor's own words. ``since`` is
    when the hold was recorded (``None`` on a value not yet stored); :meth:`Ledger.hold` ignores it
    and stamps ``now``. ``codes``: the catalogue code and arguments of ``message`` and ``hint``
    (``{"reason": ..., "hint": ...}``, as ``publish.error_text`` keeps them) when they came from the
    catalogue: the ledger gives ``message`` and ``hint`` back as catalogue Details, which every front
    end shows in the reader's language.
    """

    message: str
    hint: str | None = None
    vendor: str | None = None
    since: datetime | None = None
    codes: dict | None = None


@dataclass(frozen=True)
class User:
    """A person who signs in to the web console; ``role`` one of ``pipeline.accounts.ROLES``."""

    name: str
    full_name: str
    role: str
    password_hash: str
    disabled_at: datetime | None
    created_at: datetime
    updated_at: datetime


def post_meta(post: Any, *, git_commit: str | None = None) -> dict[str, Any]:
    """The ``meta`` mapping for a :class:`pipeline.models.Post` (what reports need after the file is gone)."""
    return {"title": post.title, "unit": post.unit, "type": post.type, "author": post.author,
            "path": post.relpath, "git_commit": git_commit, "topics": list(post.topics),
            "publish_at": post.publish_at}


class Ledger(abc.ABC):
    """The publication ledger. Implementations: ``sqlite`` (default) and ``postgresql``.

    Open one with :func:`pipeline.ledger.open_ledger`, then call :meth:`migrate` once before use.
    """

    #: ``"sqlite"`` or ``"postgresql"``: which SQL dialect :meth:`query` speaks.
    dialect: str

    # -- lifecycle -------------------------------------------------------------------------------

    @abc.abstractmethod
    def migrate(self, now: datetime | None = None) -> int:
        """Bring the schema to the version this code knows and return that version.

        Idempotent; safe when several processes call it at once. Raises ``LedgerError`` when the
        database was written by a newer Loa (its schema version is higher than the code's).
        ``now`` stamps ``schema_migrations.applied_at`` (the wall clock when omitted).
        """

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The highest migration applied to the database (0 for an empty database)."""

    def backup(self, path: Any) -> int:
        """Write a consistent, verified copy of the ledger to the new file ``path`` (mode 0600),
        even while a daemon writes; return the copy's schema version. ``LedgerError`` when the
        copy fails its check, when ``path`` exists, or when the backend is backed up by its own
        tools (PostgreSQL: ``pg_dump``, docs/operations.md)."""
        raise LedgerError(f"loa backup copies only a SQLite ledger, not a {self.dialect} one; "
                          "see docs/operations.md")

    def restore(self, path: Any, *, owner: str, stamp: str) -> Any:
        """Replace the ledger with the verified copy ``path`` while no daemon holds it; the current
        ledger is kept aside under a name ending in ``stamp``, which is returned."""
        raise LedgerError(f"loa restore restores only a SQLite ledger, not a {self.dialect} one; "
                          "see docs/operations.md")

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection. The object must not be used afterwards."""

    @abc.abstractmethod
    def daemon_lock(self, owner: str) -> ContextManager[None]:
        """Hold while a daemon runs on this ledger.

        SQLite: only one daemon per database file; a second one raises ``LedgerLocked`` naming the
        holder. PostgreSQL: several daemons may share the database, but not the same ``owner``
        (worker ids must be unique, or lost-claim protection would be blind).
        """

    @abc.abstractmethod
    def named_lock(self, name: str, *, timeout: float = 60.0) -> ContextManager[None]:
        """Hold a lock called ``name`` shared by every process and thread using this ledger (for
        work that must never run twice at once, such as spending Zalo's single-use refresh token).

        Waits up to ``timeout`` seconds, then raises ``LedgerUnavailable``. Released when the block
        ends or the holder dies (SQLite: ``flock`` on a file next to the database; PostgreSQL: a
        session advisory lock on a connection of its own). Not re-entrant."""

    # -- rows -----------------------------------------------------------------------------------

    @abc.abstractmethod
    def ensure(self, post_id: str, channel: str, *, channel_type: str, meta: Mapping[str, Any],
               now: datetime) -> Publication:
        """Insert a ``pending`` row when (post_id, channel) is unknown; otherwise update
        ``channel_type`` and the metadata keys present in ``meta`` (:data:`META_KEYS`; an unknown
        key raises ``ValueError``). An unchanged row is not written (``updated_at`` stays)."""

    @abc.abstractmethod
    def ensure_many(self, items: Sequence[tuple[str, str, str, Mapping[str, Any]]], *,
                    now: datetime) -> int:
        """:meth:`ensure` for many ``(post_id, channel, channel_type, meta)`` in one transaction.

        Returns the number of rows inserted. Meant for a first run over a large repository."""

    @abc.abstractmethod
    def get(self, post_id: str, channel: str) -> Publication | None:
        """The row for (post_id, channel), or ``None``."""

    @abc.abstractmethod
    def rows(self, *, channel: str | None = None, states: Collection[str] | None = None,
             unit: str | None = None, since: datetime | None = None, until: datetime | None = None,
             post_id: str | None = None, by: str = "first_published_at") -> list[Publication]:
        """Rows matching every given filter, ordered by (post_id, channel).

        ``since`` (inclusive) and ``until`` (exclusive) apply to the time column ``by``:
        ``first_published_at`` (reports), ``published_version_at``, ``updated_at`` or ``publish_at``."""

    @abc.abstractmethod
    def snapshot(self) -> "Snapshot":
        """Every row keyed by ``(post_id, channel)``, as of one consistent read.

        The planner calls this every tick; it is built for 60,000+ rows (see ``bench/ledger.py``).
        The result is a new :class:`Snapshot` (a dict the caller may keep or change) on every call.
        Its ``rev`` is the invalidation key: equal ``rev`` from one ledger means equal rows, a
        different ``rev`` means something may have changed. Callers must compare ``rev`` and never
        rely on the identity of the snapshot or of its rows (an implementation may reuse unchanged
        row objects across calls, or not)."""

    # -- the claim protocol ----------------------------------------------------------------------

    @abc.abstractmethod
    def claim(self, post_id: str, channel: str, *, owner: str, action: str, version: str,
              lease: timedelta, now: datetime, allowed_states: Collection[str],
              meta: Mapping[str, Any] | None = None, send: Mapping[str, Any] | None = None) -> Publication | None:
        """Atomically take (post_id, channel) for ``owner`` before calling the vendor.

        ``send``: when given, a ``send`` event with this detail is written in the same transaction
        (the caller calls the vendor right after winning the claim).

        Succeeds only if the row's state is in ``allowed_states`` and no live lease holds it
        (``lease_until`` null or earlier than ``now``). An expired claim (state ``claimed``) is
        taken over only when ``"claimed"`` is in ``allowed_states``; the caller must then reconcile
        (the previous owner may have sent). On success the row becomes ``claimed`` with
        ``claim_owner``, ``lease_until = now + lease``, ``action``, ``pending_version = version``;
        ``attempts`` grows by one (restarting at 1 when ``version`` differs from the last attempt's);
        ``meta`` is copied as in :meth:`ensure`; a ``claim`` event is appended. Returns the claimed
        row, or ``None`` when the row is held or in another state. A missing row raises ``LedgerError``
        (call :meth:`ensure` first)."""

    @abc.abstractmethod
    def record_success(self, post_id: str, channel: str, *, owner: str, remote_id: str | None,
                       remote_url: str | None, version: str | None,
                       extra: Mapping[str, Any] | None, now: datetime,
                       send: Mapping[str, Any] | None = None) -> Publication:
        """Record the vendor's success for the claim held by ``owner``.

        ``send`` (here, in :meth:`record_failure` and :meth:`mark_in_doubt`): when given, a ``send``
        event with this detail is written first, in the same transaction: the engine records a
        send only once a request has left for the vendor, which it knows when the publisher returns.

        Raises ``LedgerError`` when ``owner`` no longer holds the claim (another worker took it
        over): another worker's result is never overwritten. State becomes ``published``
        (``retracted`` for a retract claim); ``version``, ``remote_id``/``remote_url`` (kept when
        ``None``), ``extra`` (kept when ``None``) are stored; ``first_published_at`` is set the first
        time only, ``published_version_at`` on every create/update, ``retracted_at`` on retract,
        ``corrected_at`` the first time ``extra`` has a true ``"correction"`` key. Claim, attempt and
        error fields are cleared. Appends ``success`` (create), ``update`` or ``retract``."""

    @abc.abstractmethod
    def record_success_and_claim(self, post_id: str, channel: str, *, owner: str, remote_id: str | None,
                                 remote_url: str | None, version: str | None,
                                 extra: Mapping[str, Any] | None, now: datetime,
                                 send: Mapping[str, Any] | None = None,
                                 claim: Mapping[str, Any]) -> tuple[Publication, Publication | None]:
        """:meth:`record_success` of one item, then :meth:`claim` of the next for the same
        ``owner`` (``claim``: the claim's other arguments, ``post_id`` and ``channel`` included), in
        one transaction: a worker going from one item to the next commits (a flush to disk) once
        instead of twice. Both happen or neither (``ClaimLost`` for the first, or any error, leaves
        the ledger as it was); every state a crash can leave is one that :meth:`record_success`
        followed by :meth:`claim` passes through. Returns both results."""

    @abc.abstractmethod
    def record_successes_and_claims(self, successes: Sequence[Mapping[str, Any]],
                                    claims: Sequence[Mapping[str, Any]]
                                    ) -> tuple[list[Publication], list[Publication | None]]:
        """:meth:`record_success` of each of ``successes`` (each its keyword arguments, ``post_id``
        and ``channel`` included), then :meth:`claim` of each of ``claims`` (likewise), in ONE
        transaction: a group commit (the engine records a whole group of a batching channel, and
        claims the next group, with one flush to disk). All happen or none (``ClaimLost`` for any
        success, or any error, leaves the ledger as it was); every state a crash can leave is one
        that the single calls in that order pass through. Either list may be empty (``[]``,
        ``claims``: the claims of a group alone). Returns both lists of results, in order.
        :meth:`record_success_and_claim` is the case of one each."""

    @abc.abstractmethod
    def record_failure(self, post_id: str, channel: str, *, owner: str, kind: str, message: str,
                       next_attempt_at: datetime | None, now: datetime,
                       send: Mapping[str, Any] | None = None) -> Publication:
        """Record a failed attempt of the claim held by ``owner`` (else ``LedgerError``).

        ``kind`` ``transient`` -> state ``retrying`` with ``next_attempt_at``; ``permanent``,
        ``auth``, ``bug`` -> ``failed``. ``last_error``/``error_kind`` keep the message; the claim is
        cleared; a ``failure`` event carries kind, message and the next attempt time."""

    @abc.abstractmethod
    def release(self, post_id: str, channel: str, *, owner: str, now: datetime,
                next_attempt_at: datetime | None = None, reason: str | None = None) -> Publication:
        """Give back the claim held by ``owner`` without having sent anything (or after a request
        the vendor refused for its rate limit: a throttle is not a failure).

        The state before the claim is restored and the attempt is not counted; ``release`` event
        with ``reason``. With ``next_attempt_at`` (a wait): state ``retrying`` until then, with
        ``reason`` in ``last_error`` and kind ``transient``, still without counting the attempt.
        ``ClaimLost`` when ``owner`` does not hold the claim."""

    @abc.abstractmethod
    def renew(self, post_id: str, channel: str, *, owner: str, lease: timedelta, now: datetime) -> bool:
        """Extend the live claim held by ``owner`` to ``now + lease`` (a send still in flight).

        True when renewed; False when ``owner`` no longer holds it (nothing is written). No event."""

    @abc.abstractmethod
    def mark_in_doubt(self, post_id: str, channel: str, *, owner: str, reason: str,
                      now: datetime, send: Mapping[str, Any] | None = None) -> Publication:
        """A claim ended without a known result and the vendor cannot be asked: state ``in_doubt``.

        Allowed for the claim's owner, or for anyone once the lease has expired. The row waits for
        :meth:`resolve`; ``reason`` goes to ``last_error`` and the ``in_doubt`` event."""

    @abc.abstractmethod
    def resolve(self, post_id: str, channel: str, *, published_url: str | None,
                remote_id: str | None = None, actor: str, now: datetime) -> Publication:
        """A person settles an ``in_doubt`` row (else ``LedgerError``).

        With ``published_url`` the doubtful send did happen: the row becomes ``published`` (or
        ``retracted`` for a retract) at ``pending_version``. With ``None`` it did not: back to
        ``pending`` with attempts reset, and the engine sends again. ``resolve`` event."""

    @abc.abstractmethod
    def retry(self, post_id: str | None = None, channel: str | None = None, *, actor: str,
              now: datetime) -> int:
        """Put ``failed`` and ``retrying`` rows (optionally of one post and/or channel) back to
        ``pending`` now, attempts and errors reset; one ``retry`` event each. Returns the count."""

    @abc.abstractmethod
    def skip(self, post_id: str, channel: str, *, reason: str, now: datetime,
             meta: Mapping[str, Any] | None = None, actor: str = "planner") -> Publication:
        """State ``skipped`` with ``reason`` in ``last_error`` (stale, refused by policy).

        Idempotent: skipping an already skipped row for the same reason writes nothing. A
        ``claimed`` row (live, or expired and not yet reconciled) is refused with ``LedgerError``;
        so is a missing row."""

    # -- events ---------------------------------------------------------------------------------

    @abc.abstractmethod
    def events(self, *, post_id: str | None = None, channel: str | None = None,
               since: datetime | None = None, kinds: Collection[str] | None = None,
               limit: int | None = None) -> list[Event]:
        """Events matching the filters, oldest first (``limit`` keeps the newest ones).

        The log is append-only: there is no API to change or delete an event, and the schema
        refuses UPDATE, DELETE and TRUNCATE on the table."""

    @abc.abstractmethod
    def add_event(self, kind: str, *, post_id: str | None = None, channel: str | None = None,
                  actor: str, detail: Mapping[str, Any] | None = None, now: datetime,
                  version: str | None = None) -> Event:
        """Append one event (``kind`` from :data:`EVENT_KINDS`, ``detail`` JSON-serialisable)."""

    # -- durable small state --------------------------------------------------------------------

    @abc.abstractmethod
    def kv_get(self, key: str) -> str | None:
        """The value stored under ``key``, or ``None``.

        The low-level primitive under the typed methods below. These key spaces belong to them;
        use the typed method, not the raw key: ``hold:{channel}`` (:meth:`holds`),
        ``throttle:{channel}`` (:meth:`throttles`), ``maybe-sent:{post_id}:{channel}``
        (:meth:`maybe_sent_key`), ``pub:{channel}:`` (:meth:`publisher_state`), ``ingest:``
        (:meth:`ingest_state`, :meth:`feed_statuses`), ``notify:`` (:meth:`notice`, :meth:`notices`)."""

    @abc.abstractmethod
    def kv_set(self, key: str, value: str | None, now: datetime) -> None:
        """Store ``value`` under ``key``; committed (durable) when this returns."""

    @abc.abstractmethod
    def holds(self) -> dict[str, Hold]:
        """Every held channel and its :class:`Hold`, read in one statement (``{}``: none)."""

    @abc.abstractmethod
    def hold(self, channel: str, hold: Hold, now: datetime) -> None:
        """Hold ``channel`` with ``hold``'s words (replacing an earlier hold); ``since`` becomes ``now``."""

    @abc.abstractmethod
    def lift_hold(self, channel: str, now: datetime) -> bool:
        """End the hold on ``channel``; True when there was one (False: nothing was written)."""

    @abc.abstractmethod
    def throttles(self) -> dict[str, datetime]:
        """Every channel whose vendor asked Loa to wait, and until when (UTC), in one statement.

        Waits that have already run out are included: the caller compares with its own ``now``."""

    @abc.abstractmethod
    def throttled_until(self, channel: str) -> datetime | None:
        """Until when ``channel``'s vendor asked Loa to wait (UTC, possibly past), or ``None``."""

    @abc.abstractmethod
    def throttle(self, channel: str, until: datetime | None, now: datetime) -> None:
        """Record that ``channel``'s vendor asked for a wait until ``until`` (``None``: forget it).

        The wait holds the whole channel; every engine sharing the ledger honours it."""

    @abc.abstractmethod
    def maybe_sent_key(self, post_id: str, channel: str) -> str | None:
        """The idempotency key of a create of (post_id, channel) whose request may have reached the
        vendor (a timeout after sending), or ``None``. While set, the next attempt looks the item
        up at the vendor before sending again."""

    @abc.abstractmethod
    def set_maybe_sent(self, post_id: str, channel: str, key: str | None, now: datetime) -> None:
        """Remember ``key`` as :meth:`maybe_sent_key` (``None``: the doubt is settled)."""

    def state_store(self, prefix: str, now_fn: Callable[[], datetime]) -> "LedgerState":
        """A durable :class:`~publishers.base.StateStore` over this ledger's kv table: key ``k`` is
        stored as ``prefix + k``; ``now_fn`` stamps each write. Prefer the named accessors
        :meth:`publisher_state` and :meth:`ingest_state`, which own their key spaces."""
        from pipeline.ledger.state import LedgerState
        return LedgerState(self, prefix, now_fn)

    def publisher_state(self, channel: str, now_fn: Callable[[], datetime]) -> "LedgerState":
        """The :class:`~publishers.base.StateStore` lent to ``channel``'s publisher (tokens, media
        ids): its keys live under ``pub:{channel}:``, so publishers cannot see each other's."""
        return self.state_store(f"pub:{channel}:", now_fn)

    def ingest_state(self, now_fn: Callable[[], datetime]) -> "LedgerState":
        """The :class:`~publishers.base.StateStore` for feed ingestion. :mod:`pipeline.ingest`
        writes whole keys (``ingest:http:<url>``, ``ingest:seen:<feed>``, ``ingest:status:<feed>``),
        so there is no prefix; a key outside ``ingest:`` raises ``ValueError``."""
        from pipeline.ledger.state import LedgerState
        return LedgerState(self, "", now_fn, namespace="ingest:")

    @abc.abstractmethod
    def feed_statuses(self) -> dict[str, dict[str, Any]]:
        """Each feed's last ingestion status, ``{feed name: {at, status, message, ...}}`` as
        :mod:`pipeline.ingest` wrote it (a value that is not a JSON object comes back as
        ``{"reason": text}``), read in one statement."""

    def content_pull(self) -> dict[str, Any] | None:
        """The outcome of the daemon's last ``git pull`` of the content repository (``ok``, ``at``,
        ``last_ok``, ``failing_since``, ``reason``), or ``None`` when none was recorded. Stored
        under the kv key ``content:git-pull``."""
        import json

        text = self.kv_get("content:git-pull")
        try:
            data = json.loads(text) if text else None
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def record_content_pull(self, outcome: Mapping[str, Any], now: datetime) -> None:
        """Store :meth:`content_pull`'s value."""
        import json

        self.kv_set("content:git-pull", json.dumps(dict(outcome), ensure_ascii=False), now)

    def last_tick(self) -> dict[str, Any] | None:
        """The daemon's last successful publishing tick (``at``: ISO time, ``owner``), or ``None``
        when no daemon has finished one. Stored under the kv key ``daemon:last-tick``; read by
        ``/healthz`` and ``/metrics`` (:mod:`pipeline.health`)."""
        import json

        text = self.kv_get("daemon:last-tick")
        try:
            data = json.loads(text) if text else None
        except ValueError:
            return None
        return data if isinstance(data, dict) and isinstance(data.get("at"), str) else None

    def record_tick(self, owner: str, now: datetime) -> None:
        """Store :meth:`last_tick`'s value: ``owner`` finished a tick at ``now``."""
        import json

        self.kv_set("daemon:last-tick", json.dumps({"at": now.isoformat(), "owner": owner}), now)

    # -- notifications (pipeline.notify): what was told to whom, so it is told once -------------

    def notice(self, key: str) -> dict[str, Any] | None:
        """The state of notification ``key`` (``state``: ``open``/``sent``/``resolved``, ``first``,
        ``last``, what was said), or ``None`` when it was never sent. Stored under ``notify:{key}``."""
        import json

        text = self.kv_get("notify:" + key)
        try:
            data = json.loads(text) if text else None
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def record_notice(self, key: str, state: Mapping[str, Any] | None, now: datetime) -> None:
        """Store :meth:`notice`'s value (``None``: forget it)."""
        import json

        self.kv_set("notify:" + key, None if state is None else json.dumps(dict(state), ensure_ascii=False), now)

    @abc.abstractmethod
    def notices(self) -> dict[str, dict[str, Any]]:
        """Every stored :meth:`notice`, ``{key: state}``, read in one statement."""

    @abc.abstractmethod
    def pause(self, channel: str | None, *, reason: str, actor: str, now: datetime,
              until: datetime | None = None) -> Pause:
        """Hold ``channel`` (``None``: every channel) from ``now`` until resumed or ``until``."""

    @abc.abstractmethod
    def resume(self, channel: str | None, *, actor: str, now: datetime) -> int:
        """End the active pauses of exactly ``channel`` (``None``: every pause, of all channels and
        of each one, so that "resumed all channels" is true).

        Returns how many were ended; each gets a ``resume`` event."""

    @abc.abstractmethod
    def active_pauses(self, now: datetime) -> list[Pause]:
        """Pauses in force at ``now``, oldest first."""

    # -- spacing and reports --------------------------------------------------------------------

    @abc.abstractmethod
    def sent_since(self, channel: str, since: datetime) -> int:
        """How many items were first published on ``channel`` at or after ``since`` (creates only:
        updates and retractions do not add a post to a feed). In-flight claims are not counted."""

    @abc.abstractmethod
    def last_sent_at(self, channel: str) -> datetime | None:
        """The latest ``first_published_at`` on ``channel``, or ``None``."""

    @abc.abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run one read-only statement (``?`` placeholders in both dialects) and return its rows.

        Writes are refused with ``LedgerError``. Datetime parameters may be passed directly; time
        columns come back as aware UTC datetimes on both backends (SQLite values in the stored
        ISO format are converted; computed strings such as ``substr(at, 1, 7)`` stay strings)."""

    # -- web console accounts (pipeline/ledger/_accounts.py) --------------------------------------

    @abc.abstractmethod
    def user_get(self, name: str) -> User | None:
        """The person signing in as ``name``, or ``None``."""

    @abc.abstractmethod
    def users(self) -> list[User]:
        """Every person, by name."""

    @abc.abstractmethod
    def user_add(self, name: str, *, full_name: str, role: str, password_hash: str, actor: str,
                 now: datetime) -> User:
        """Add a person (``KeyError`` when the name is taken); appends a ``user`` event."""

    @abc.abstractmethod
    def user_change(self, name: str, *, actor: str, now: datetime, password_hash: str | None = None,
                    disabled: bool | None = None) -> User:
        """New password and/or (dis)abled; ends the person's sessions when disabled or reset."""

    @abc.abstractmethod
    def web_session_start(self, token_hash: str, *, user_name: str, csrf: str, now: datetime,
                          expires_at: datetime) -> None:
        """Record a signed-in session (by the hash of its token); appends a ``login`` event."""

    @abc.abstractmethod
    def web_session(self, token_hash: str, now: datetime) -> tuple[User, str, datetime] | None:
        """``(user, csrf token, last seen)`` of a live session, else ``None``."""

    @abc.abstractmethod
    def web_session_touch(self, token_hash: str, *, now: datetime, expires_at: datetime) -> None:
        """The session was used now: it lives until ``expires_at``."""

    @abc.abstractmethod
    def web_session_end(self, token_hash: str, *, now: datetime) -> bool:
        """End a session (sign out); ``False`` when it was not live."""

    @abc.abstractmethod
    def login_attempt(self, account: str, ip: str, *, ok: bool, now: datetime) -> None:
        """Count one sign-in attempt; a failed one also appends a ``login_failed`` event."""

    @abc.abstractmethod
    def login_failures(self, account: str, ip: str, since: datetime) -> tuple[int, int]:
        """Failed sign-ins since ``since``: for ``account`` (after its last success), from ``ip``."""

    # -- the per-post problem cache (pipeline/checkcache.py) -------------------------------------

    @abc.abstractmethod
    def cached_problems(self, keys: Iterable[str]) -> dict[str, str]:
        """The stored entries of those ``keys`` that have one (``key -> stored problems``), read
        in bounded batches; never an error for a key that is absent."""

    @abc.abstractmethod
    def cache_problems(self, entries: Mapping[str, str], now: datetime, *, keep: int = 100_000) -> int:
        """Store ``entries`` (``key -> stored problems``; a key already stored gets the new value)
        in one transaction, then delete the entries written longest ago beyond ``keep``; return
        how many were deleted. Does not change the ledger's revision."""
