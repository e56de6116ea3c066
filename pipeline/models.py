"""Frozen values passed from one stage to the next.

Every stage takes the previous stage's output and returns a new value; nothing here is mutated
after construction (see docs/architecture.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding of ``loa check``. The text comes from :mod:`pipeline.messages` by ``code``."""

    path: str
    line: int
    col: int
    severity: Severity
    code: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "vi") -> str:
        from pipeline.messages import from_data, localized, text

        args = self.args
        if any(isinstance(v, dict) for v in args.values()):  # a catalogue Detail kept as data (messages.as_data)
            args = {k: localized(from_data(v, None) or "", lang) if isinstance(v, dict) else v for k, v in args.items()}
        return text(self.code, lang, **args)

    def format(self, lang: str = "vi") -> str:
        """``path:line:col: lỗi|cảnh báo: message [code]`` (``error|warning`` in English), as gcc
        writes its diagnostics in the user's language; ``--format json`` keeps the codes."""
        from pipeline.messages import text

        severity = text(f"check.severity.{self.severity.value}", lang)
        return f"{self.path}:{self.line}:{self.col}: {severity}: {self.message(lang)} [{self.code}]"


@dataclass(frozen=True, slots=True)  # slots: the daemon keeps every post in memory between ticks
class Post:
    """A post as read from ``content/**/*.md``: front matter plus Markdown body.

    ``source_hash`` identifies this version of the file (any byte changes it); what the editorial
    board approves is hashed by :func:`pipeline.approval.current_hash` when it is asked for.
    ``lines`` maps front-matter keys to their line numbers, for messages.
    """

    path: Path
    relpath: str
    id: str
    title: str
    type: str
    unit: str
    author: str
    publish_at: datetime | None
    expire_at: datetime | None
    topics: tuple[str, ...]
    channels: tuple[str, ...]
    status: str
    summary: str
    body: str
    body_line: int
    slug: str
    image: str | None
    image_path: Path | None
    image_alt: str | None
    image_hash: str | None
    social: Mapping[str, str]
    approved_by: str | None
    approved_hash: str | None
    correction: str | None
    correction_at: datetime | None
    retracted: str | None
    source_hash: str
    lines: Mapping[str, int]
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def line_of(self, key: str) -> int:
        return self.lines.get(key, 1)


#: ``Rendering(extra=...)`` not given: a new empty read-only mapping, as the field's default_factory.
_NEW_EMPTY: Any = object()


@dataclass(frozen=True)
class Activity:
    """An offline activity (billboard, poster, contest...) recorded under ``content/activities/``."""

    path: str
    date: datetime
    unit: str
    kind: str
    count: int
    place: str
    note: str


@dataclass(frozen=True, init=False)
class Rendering:
    """What one channel will receive for one post.

    ``body`` is HTML for the portal kind and text (or Telegram-HTML) for social channels.
    ``length`` is counted the way the channel counts; ``limit`` is the channel's limit for this
    ``kind`` of message (``None`` when the channel has none). ``hash`` changes when the source or
    the template changes, so later stages can tell an edit from a re-run.
    """

    post_id: str
    channel: str
    channel_type: str
    kind: str
    title: str
    body: str
    length: int
    limit: int | None
    source_hash: str
    hash: str
    image_path: Path | None = None
    image_alt: str | None = None
    link: str | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __init__(self, post_id: str, channel: str, channel_type: str, kind: str, title: str, body: str,
                 length: int, limit: int | None, source_hash: str, hash: str, image_path: Path | None = None,
                 image_alt: str | None = None, link: str | None = None,
                 extra: Mapping[str, Any] = _NEW_EMPTY) -> None:  # type: ignore[assignment]
        """The ``__init__`` dataclass would write, fields in the same order with the same defaults
        (``tests/test_render_plan.py`` compares them), in one write to the instance's dict: the
        one dataclass writes for a frozen class calls ``object.__setattr__`` once per field, and
        the renderer makes a Rendering for every post on every channel."""
        self.__dict__.update(post_id=post_id, channel=channel, channel_type=channel_type, kind=kind, title=title,
                             body=body, length=length, limit=limit, source_hash=source_hash, hash=hash,
                             image_path=image_path, image_alt=image_alt, link=link,
                             extra=MappingProxyType({}) if extra is _NEW_EMPTY else extra)

    @property
    def over_limit(self) -> bool:
        return self.limit is not None and self.length > self.limit


@dataclass(frozen=True)
class PublishResult:
    """What a publisher returns after a successful send: the item's id and link at the vendor.

    ``extra`` carries what the publisher must remember between calls (media ids, message kind);
    the engine stores it in the ledger row and passes it back on update and retraction.
    """

    remote_id: str
    remote_url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
