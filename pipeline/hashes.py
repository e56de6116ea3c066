"""The hashes Loa keeps: of a file's bytes (``Post.source_hash``, image hashes) and of what the
editorial board approves (``Post.approval_hash``). Stored in the ledger and in front matter: changing
how one is made voids every stored one."""

from __future__ import annotations

import functools
import hashlib
import json
import unicodedata
from datetime import datetime
from typing import Iterable, Mapping

#: What an approval binds, in the order of its digests: everything a reader of any channel receives.
APPROVAL_PARTS = ("title", "summary", "body", "image", "alt", "correction", "retraction", "social", "channels")
_PART_DIGITS = 8


def sha(data: bytes | str, n: int = 16) -> str:
    """The first ``n`` hex digits of SHA-256 of ``data`` (text as UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:n]


def _text(value: str | None) -> str:
    # NFC: `loa check --fix` normalising a file's Unicode does not change what a reader sees
    return unicodedata.normalize("NFC", (value or "").strip())


def approval_parts(title: str, summary: str, body: str, image_hash: str | None, *, image_alt: str | None = None,
                   correction: str | None = None, correction_at: datetime | None = None,
                   retracted: str | None = None, social: Mapping[str, str] | None = None,
                   channels: Iterable[str] = ()) -> dict[str, str]:
    """A digest of each part of what the board approves (keys: :data:`APPROVAL_PARTS`).

    ``image_hash`` is the hash of the image file's bytes, so replacing the file in place changes
    it; ``social`` the per-channel texts; ``channels`` the channels the post goes to (order and
    repetition do not matter)."""
    values = {
        "title": _text(title),
        "summary": _text(summary),
        "body": _text(body),
        "image": image_hash or "",
        "alt": _text(image_alt),
        "correction": _text(correction) + ("\x1f" + correction_at.isoformat() if correction_at else ""),
        "retraction": _text(retracted),
        # json.dumps gives "{}" for no texts
        "social": json.dumps({str(k): _text(v) for k, v in sorted(social.items())}, ensure_ascii=False) if social else "{}",
        "channels": "\n".join(sorted(set(channels))),
    }
    return {part: (sha(f"{part}\x1f{values[part]}", _PART_DIGITS) if part in _OWN_PARTS
                   else _shared_digest(f"{part}\x1f{values[part]}")) for part in APPROVAL_PARTS}


#: The parts that are each post's own; the others are mostly the same from post to post (no
#: correction, no social texts, the same channels, an image and its alt text used again).
_OWN_PARTS = frozenset(("title", "summary", "body"))


@functools.lru_cache(maxsize=1024)
def _shared_digest(text: str) -> str:
    return sha(text, _PART_DIGITS)


def approval_hash(title: str, summary: str, body: str, image_hash: str | None, **rest) -> str:
    """Hash of what the editorial board approves: the digests of :func:`approval_parts` joined by
    dots, so a stored approval tells which parts changed since. Any edit of any part voids it."""
    return join_parts(approval_parts(title, summary, body, image_hash, **rest))


def join_parts(parts: Mapping[str, str]) -> str:
    return ".".join(parts[p] for p in APPROVAL_PARTS)


def split_parts(value: str | None) -> dict[str, str] | None:
    """The part digests of a stored approval hash; ``None`` when it is not one (empty, or written
    by a Loa before approvals recorded their parts)."""
    pieces = (value or "").strip().split(".")
    if len(pieces) != len(APPROVAL_PARTS) or not all(len(p) == _PART_DIGITS for p in pieces):
        return None
    return dict(zip(APPROVAL_PARTS, pieces))
