"""The hashes Loa keeps: of a file's bytes (``Post.source_hash``, image hashes) and of what the
editorial board approves (``Post.approval_hash``). Stored in the ledger and in front matter: changing
how one is made voids every stored one."""

from __future__ import annotations

import hashlib


def sha(data: bytes | str, n: int = 16) -> str:
    """The first ``n`` hex digits of SHA-256 of ``data`` (text as UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:n]


def approval_hash(title: str, summary: str, body: str, image_hash: str | None) -> str:
    """Hash of what the editorial board approves: any edit of title, summary, body or image voids it."""
    return sha("\x1f".join([title.strip(), summary.strip(), body.strip(), image_hash or ""]), 20)
