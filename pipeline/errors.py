"""The whole exception hierarchy of Loa, and nothing else.

Handling policy lives on the classes, so callers never build ``isinstance`` ladders and never
parse messages: the CLI's one error boundary reads ``exit_code``; the publishing engine's one
handler reads a :class:`PublishError`'s ``outcome`` (what the ledger records for the item) and
``holds_channel`` (whether the channel's other items wait too). Every exception keeps its
structured arguments as attributes.

Anything raised in Loa that is *not* a :class:`LoaError` is a bug: the engine records it with its
traceback, never retries it, and the command exits non-zero.
"""

from __future__ import annotations


class LoaError(Exception):
    """Base class. Never raised directly. Exit code 1."""

    exit_code = 1


class ConfigError(LoaError):
    """Raised by :mod:`pipeline.config` when ``config.toml`` is unusable.

    ``errors`` is a list of ``(dotted_key, message)`` pairs: every error found, not just the first;
    ``warnings`` the warnings found with them (an unknown key's "did you mean" often explains an error).
    """

    exit_code = 2

    def __init__(self, errors: list[tuple[str, str]], path: str | None = None,
                 warnings: list[tuple[str, str]] | None = None):
        self.errors = list(errors)
        self.warnings = list(warnings or ())
        self.path = path
        self._args = (self.errors, path, self.warnings)
        lines = [f"{path or 'config.toml'}: {key}: {msg}" if key else f"{path or 'config.toml'}: {msg}"
                 for key, msg in self.errors]
        super().__init__("\n".join(lines))

    def __reduce__(self):  # rebuilt from its errors (a worker process may raise it)
        return (ConfigError, self._args)


class UsageError(LoaError):
    """Raised by the CLI for a wrong command line (unknown post, bad option value). Exit code 2."""

    exit_code = 2


class RenderError(LoaError):
    """A rendering failed: template missing or broken, or a channel's limit exceeded.

    Raised by :mod:`pipeline.render`.
    """

    def __init__(self, post_id: str, channel: str, reason: str):
        self.post_id = post_id
        self.channel = channel
        self.reason = reason
        from pipeline.messages import Detail  # late: the catalogue is not needed to import the errors

        super().__init__(Detail("render.failed", post=post_id, channel=channel, reason=reason))


class PublishError(LoaError):
    """Raised only through :meth:`publishers.base.Publisher.publish` and its siblings.

    The engine's policy, read off the class (and, for ``holds_channel``, the instance):

    ``outcome``
        what becomes of the item: ``"retry"`` (backoff, then again), ``"failed"`` (a person or a
        content change is needed), ``"in_doubt"`` (the vendor may have it and cannot be asked:
        held for ``loa resolve``).
    ``kind``
        the word the ledger records as the item's error kind (``transient``, ``permanent``, ``auth``).
    ``holds_channel``
        the channel's other items wait too: until ``retry_after`` for a vendor's rate limit, until a
        person lifts the hold for an authentication failure.

    ``vendor_message`` is the vendor's own words; ``hint`` says what a person should do.
    """

    kind = "permanent"
    outcome = "failed"
    holds_channel = False

    def __init__(self, channel: str, post_id: str | None, reason: str, *,
                 vendor_message: str | None = None, hint: str | None = None,
                 status: int | None = None, code: str | None = None):
        self.channel = channel
        self.post_id = post_id
        self.reason = reason
        self.vendor_message = vendor_message
        self.hint = hint
        self.status = status
        self.code = code
        super().__init__(f"{channel}: {post_id or '-'}: {reason}")


class TransientPublishError(PublishError):
    """Timeouts, 5xx, 429, vendor throttle codes: retried with backoff.

    ``retry_after`` is the vendor's requested wait in seconds, or ``None``. ``holds_channel`` says
    whether that wait is for the whole channel (a rate limit, flood control: the default when
    ``retry_after`` is given), so that no other item is sent before it runs out, or for this item
    alone (its image or article still being processed), so that the others go on.
    """

    kind = "transient"
    outcome = "retry"

    def __init__(self, channel: str, post_id: str | None, reason: str, *,
                 retry_after: float | None = None, maybe_sent: bool = False, holds_channel: bool | None = None,
                 throttle: bool = False, **kw):
        super().__init__(channel, post_id, reason, **kw)
        self.retry_after = retry_after
        self.holds_channel = retry_after is not None if holds_channel is None else holds_channel
        #: A rate limit, not a failure: Loa's own gate sent nothing, or the vendor refused the
        #: request for its rate limit (429, flood control, remaining 0) without doing the work. The
        #: engine gives the claim back without spending an attempt and the channel waits
        #: ``retry_after``; the item can never fail from throttling alone.
        self.throttle = throttle
        #: True when the request may have reached the vendor (read timeout, connection lost while
        #: waiting for the answer): the engine looks the item up before sending it again.
        self.maybe_sent = maybe_sent


class PermanentPublishError(PublishError):
    """The vendor refused the item (4xx, policy): not retried until the content changes or ``loa retry``."""

    kind = "permanent"


class PublisherAuthError(PermanentPublishError):
    """401/403 or an expired token: the whole channel is held, one loud message, no retry storm."""

    kind = "auth"
    holds_channel = True


class InDoubtPublishError(PermanentPublishError):
    """The vendor may have received the item and cannot be asked (no lookup, or a lookup that
    cannot tell): sending again could post it twice, so the item is held for ``loa resolve``."""

    kind = "permanent"
    outcome = "in_doubt"


class LedgerError(LoaError):
    """The ledger refused an operation (corrupt row, migration from the future)."""


class LedgerUnavailable(LedgerError):
    """The ledger's database cannot be reached: the whole tick is skipped, nothing is half-written."""

    exit_code = 75


class LedgerLocked(LedgerError):
    """Another daemon already runs on this SQLite ledger."""

    exit_code = 2
