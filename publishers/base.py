"""The publisher contract: one class per channel type, registered by name in ``publishers/__init__.py``.

The engine (``pipeline/publish.py``) calls only the public methods below. They enforce the
invariants and call one protected hook each, which implementations override::

    publish(rendering, key)          -> _send(rendering, key)            -> PublishResult
    update(rendering, previous)      -> _update(rendering, previous)     -> PublishResult
    retract(previous, reason)        -> _retract(previous, reason)       -> None
    lookup(rendering, key)           -> _lookup(rendering, key)          -> PublishResult | None
    check()                          -> _check()                         -> ChannelHealth

Error contract: a hook raises only :class:`pipeline.errors.PublishError` subclasses
(``TransientPublishError``, ``PermanentPublishError``, ``PublisherAuthError``) for outcomes it
understands; :mod:`publishers.http` maps HTTP outcomes and ``requests`` exceptions to them.
Anything else escaping a hook is a bug: the engine records its traceback and does not retry.

``key`` is the idempotency key the engine derives from the ledger row (post id, channel, content
version). A publisher that the vendor lets look items up (WordPress by slug, Mastodon by
Idempotency-Key within its hour) sets ``can_lookup = True`` and implements ``_lookup``; the
engine then settles an in-doubt claim by asking. Otherwise the item is held for a person.

Options: ``self.opts`` is the channel's options resolved once, in the constructor, against the
class's :class:`OptionSpec` declarations: every declared option is present, an absent (or ``None``)
value is the declared default, and a value outside ``choices`` or refused by ``check`` is a
:class:`pipeline.errors.ConfigError` naming every such key. Implementations read options there
and nowhere else.

Time: a publisher asks ``self.clock()`` (an aware ``datetime``) what time it is and waits with
``self.sleep(seconds)``; both are constructor arguments with real-time defaults, so tests drive a
fake clock instead of sleeping.

Secrets: options ending in ``_env`` name an environment variable; the publisher reads the value
with ``self.secret(option)`` and must never put it in a message, a log line or an exception.
Every value Loa must not show is registered with :mod:`pipeline.secrets`, the one redaction
point: ``secret()`` registers what it reads, the state store registers the token, secret and
password fields of the JSON objects stored in it or loaded from it (Zalo's rotating
tokens), and ``self.protect(value)`` registers any other credential a publisher obtains.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Callable, ClassVar, Mapping, Protocol

from pipeline import secrets
from pipeline.errors import ConfigError, PermanentPublishError, PublishError
from pipeline.models import PublishResult, Rendering

log = logging.getLogger(__name__)


class StateStore(Protocol):
    """Durable key/value storage the engine lends a publisher (backed by the ledger).

    ``set`` must be durable when it returns: Zalo's rotating refresh token is stored before it is
    used, so a crash can never lose it.
    """

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...


class MemoryState:
    """A :class:`StateStore` in memory, for previews and tests."""

    def __init__(self) -> None:
        self._d: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self._d.get(key)

    def set(self, key: str, value: str) -> None:
        self._d[key] = value


class _ProtectedState:
    """The state store a publisher sees: credential fields of the JSON objects stored or loaded
    are registered with :mod:`pipeline.secrets` before the publisher can use them."""

    def __init__(self, inner: StateStore):
        self._inner = inner

    def get(self, key: str) -> str | None:
        value = self._inner.get(key)
        secrets.register_stored(value)
        return value

    def set(self, key: str, value: str) -> None:
        secrets.register_stored(value)
        self._inner.set(key, value)

    def __getattr__(self, name: str) -> Any:  # a store's own extras (locks, ...) stay reachable
        return getattr(self._inner, name)


@dataclass(frozen=True)
class ChannelHealth:
    """Result of ``loa channels check`` for one channel.

    ``ok`` false means publishing cannot work; ``expires_at`` is when the credential stops
    working (``None`` = unknown or never); ``messages`` are the lines shown to the IT officer.
    """

    channel: str
    ok: bool
    messages: tuple[str, ...] = ()
    expires_at: datetime | None = None
    identity: str | None = None


@dataclass(frozen=True)
class OptionSpec:
    """One per-channel option a publisher accepts (declared schema, checked by ``pipeline.config``)."""

    name: str
    type: type | tuple[type, ...]
    required: bool = False
    default: Any = None
    doc: str = ""
    secret_env: bool = False
    choices: tuple = ()  # the only values accepted, when the vendor knows only a few
    check: Callable[[Any], str | None] | None = None  # a message (a catalogue Detail) for a bad value, else None


def http_url(value: Any) -> str | None:
    """``OptionSpec.check`` for an address Loa sends requests to: http(s) with a host name."""
    from urllib.parse import urlsplit

    from pipeline.messages import Detail

    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a malformed IPv6 address or port
        ok = False
    return None if ok else Detail("config.bad-url", value=repr(value))


http_url.describes = "an http:// or https:// address"  # for the reference table (python -m pipeline.schema)

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]


def utc_now() -> datetime:
    """The real clock: now, timezone-aware, in UTC (the default ``clock`` of every publisher)."""
    return datetime.now(timezone.utc)


def resolve_options(name: str, specs: tuple[OptionSpec, ...], given: Mapping[str, Any]) -> Mapping[str, Any]:
    """``given`` resolved against ``specs``: every declared option, the default where it is absent or
    ``None``; undeclared keys are left out (``pipeline.config`` has already warned about them).

    Raises :class:`ConfigError` listing every value outside its ``choices`` or refused by its
    ``check`` (a config built without ``load_config``'s checks must not reach a vendor).
    """
    from pipeline.messages import Detail

    resolved, errors = {}, []
    for spec in specs:
        value = given.get(spec.name)
        if value is None:
            resolved[spec.name] = spec.default
            continue
        resolved[spec.name] = value
        if spec.choices and value not in spec.choices:
            errors.append((f"channels.{name}.{spec.name}", Detail(
                "config.expected-one-of", choices=", ".join(map(str, spec.choices)), value=repr(value),
                hint_en="", hint_vi="")))
        elif spec.check is not None and (problem := spec.check(value)) is not None:
            errors.append((f"channels.{name}.{spec.name}", problem))
    if errors:
        raise ConfigError(errors)
    return MappingProxyType(resolved)


class Publisher:
    """Base class of every channel adapter.

    Class attributes every implementation sets:

    - ``type``: the registry key used in ``config.toml`` (``type = "wordpress"``).
    - ``family``: the template folder under ``templates/`` (``portal``, ``facebook``...).
    - ``limits``: message kind -> character limit (``None`` for none), e.g. Telegram
      ``{"text": 4096, "caption": 1024}``.
    - ``options``: the per-channel options accepted, as :class:`OptionSpec`.
    - ``can_lookup``: whether ``_lookup`` can find an item whose send result was lost.
    - ``lookup_finds_edited``: whether it can also when the post was edited since the lost send
      (it asks by the request's key, the slug or the address); False when it can only search for
      the current text (Facebook): such an item is then held in doubt for a person, never sent again.
    - ``can_update`` / ``can_retract``: whether the vendor allows edits / removal.
    - ``social``: social channels default to a 24 h ``max_lateness``; the portal to none.
    - ``batch``: how many items the engine may send before it calls :meth:`flush` and records
      their successes (group commit). 1 (every remote channel): each send is durable at the
      vendor when it returns, and recorded at once.

    Constructor: ``name`` (the channel's name in ``config.toml``), ``options`` (resolved into
    ``self.opts``, see the module docstring), ``env`` (where ``*_env`` options are read),
    ``state`` (durable storage lent by the engine), ``site`` (the loaded config, for site-wide
    settings), ``clock`` and ``sleep`` (real time unless a test passes its own).
    """

    type: ClassVar[str] = ""
    family: ClassVar[str] = ""
    limits: ClassVar[Mapping[str, int | None]] = {"text": None}
    options: ClassVar[tuple[OptionSpec, ...]] = ()
    can_lookup: ClassVar[bool] = False
    lookup_finds_edited: ClassVar[bool] = True
    can_update: ClassVar[bool] = True
    can_retract: ClassVar[bool] = True
    social: ClassVar[bool] = True
    lookup_note: ClassVar[str] = ""
    keeps_addresses: ClassVar[bool] = False  # address_conflicts() reads something (loa check asks only these)
    batch: ClassVar[int] = 1  # items sent before flush() makes them durable (group commit, pipeline/publish.py)

    def __init__(self, name: str, options: Mapping[str, Any], *, env: Mapping[str, str] | None = None,
                 state: StateStore | None = None, site: Any = None, clock: Clock | None = None,
                 sleep: Sleep | None = None):
        self.name = name
        self.opts = resolve_options(name, self.options, options)
        self.env = env if env is not None else {}
        self.state = _ProtectedState(state if state is not None else MemoryState())
        self.site = site
        self.clock: Clock = clock or utc_now
        self.sleep: Sleep = sleep or time.sleep

    # -- counting, used by render and check -------------------------------------------------
    @classmethod
    def measure(cls, text: str) -> int:
        """Length of ``text`` as the vendor counts it (default: code points)."""
        return len(text)

    @classmethod
    def kind_for(cls, has_image: bool) -> str:
        """Which message kind a post becomes (``caption`` when the post has an image, if any)."""
        return "caption" if has_image and "caption" in cls.limits else "text"

    # -- secrets ----------------------------------------------------------------------------
    def secret(self, option: str) -> str:
        """Value of the environment variable named by option ``option`` (e.g. ``token_env``)."""
        var = self.opts.get(option)
        value = self.env.get(var) if var else None
        if not value:
            from pipeline.errors import PublisherAuthError

            from pipeline.messages import Detail  # catalogue lines: loa channels check/doctor show them in vi or en

            raise PublisherAuthError(self.name, None, Detail("channel.env-missing", var=var or option),
                                     hint=Detail("channel.env-missing.fix", var=var or option))
        secrets.register(value)
        return value

    @staticmethod
    def protect(*values: str | None) -> None:
        """Never let these credentials (obtained at run time) reach the ledger, a log or the screen."""
        secrets.register(*values)

    # -- public contract --------------------------------------------------------------------
    def publish(self, rendering: Rendering, *, key: str) -> PublishResult:
        """Create the item at the vendor; return its id and URL."""
        self._check_rendering(rendering)
        result = self._send(rendering, key)
        return self._check_result(result)

    def update(self, rendering: Rendering, previous: PublishResult) -> PublishResult:
        """Replace the item ``previous`` with the new rendering (same remote item)."""
        if not self.can_update:
            raise PermanentPublishError(self.name, rendering.post_id, _words("publish.no-edits"))
        self._check_rendering(rendering)
        return self._check_result(self._update(rendering, previous))

    def retract(self, previous: PublishResult, reason: str) -> None:
        """Remove (or hide) the item ``previous`` at the vendor."""
        if not self.can_retract:
            raise PermanentPublishError(self.name, None, _words("publish.no-removal"))
        self._retract(previous, reason)

    def lookup(self, rendering: Rendering, key: str) -> PublishResult | None:
        """Find an item whose send result was lost; ``None`` when the vendor surely does not have it."""
        if not self.can_lookup:
            raise NotImplementedError(f"{self.type} cannot look items up")
        return self._lookup(rendering, key)

    def check(self) -> ChannelHealth:
        """Verify credentials and permissions without publishing anything."""
        try:
            return self._check()
        except PublishError as exc:
            return ChannelHealth(self.name, False, (exc.reason,) + ((exc.hint,) if exc.hint else ()))

    def address_conflicts(self, posts) -> list[tuple]:
        """``(post, address, owner)`` for each of ``posts`` whose address this channel keeps for
        another post (the static site's old addresses), read from the channel's own records without
        writing anything: ``loa check`` shows them before publishing refuses them. None here;
        a class that overrides it sets ``keeps_addresses``."""
        return []

    def prefetch(self, renderings) -> None:
        """Optional: prepare a batch of sends (e.g. one lookup request for many items). No-op here."""

    def flush(self) -> None:
        """Make everything sent since the last flush durable; raise
        :class:`pipeline.errors.PublishError` (retried) when it cannot. The engine records no
        success of a group before this returns. Nothing here: a remote vendor holds what it
        acknowledged."""

    def close(self) -> None:
        """Release connections. Called once at the end of a run."""

    # -- hooks --------------------------------------------------------------------------------
    def _send(self, rendering: Rendering, key: str) -> PublishResult:
        raise NotImplementedError

    def _update(self, rendering: Rendering, previous: PublishResult) -> PublishResult:
        raise NotImplementedError

    def _retract(self, previous: PublishResult, reason: str) -> None:
        raise NotImplementedError

    def _lookup(self, rendering: Rendering, key: str) -> PublishResult | None:
        raise NotImplementedError

    def _check(self) -> ChannelHealth:
        from pipeline.messages import Detail

        return ChannelHealth(self.name, True, (Detail("channel.no-check"),))

    # -- invariants ---------------------------------------------------------------------------
    def _check_rendering(self, rendering: Rendering) -> None:
        if rendering.over_limit:
            raise PermanentPublishError(
                self.name, rendering.post_id, _words("publish.over-limit", length=rendering.length, limit=rendering.limit),
                hint=_words("publish.over-limit.fix"))

    def _check_result(self, result: PublishResult) -> PublishResult:
        if not isinstance(result, PublishResult) or not result.remote_id:
            raise TypeError(f"{type(self).__name__} returned {result!r} instead of a PublishResult with an id")
        return result


def _words(code: str, **args) -> str:
    """A catalogue Detail (pipeline/messages_publishers.py): its English text, shown in the reader's language."""
    from pipeline.messages import Detail

    return Detail(code, **args)


def kind_words(kind: str) -> str:
    """A rendering's kind (``text``, ``caption``) as the catalogue says it; another kind as it is."""
    from pipeline.messages import CATALOGUE, Detail

    return Detail(f"publish.kind.{kind}") if f"publish.kind.{kind}" in CATALOGUE else kind
