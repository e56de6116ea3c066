"""The keys and the stored form of the per-post problem cache that lives in the ledger.

A post's own problems (:func:`pipeline.checks.post_problems`) and its text-quality warnings
(:func:`pipeline.checks.check_text`) cost about a millisecond a post: every channel is rendered.
:meth:`pipeline.app.Session.check` keeps them in memory, and also in the ledger
(``check_cache``, :meth:`pipeline.ledger.base.Ledger.cached_problems`) so that a new process does
not compute again what an earlier one found for exactly the same inputs.

The cache is in the ledger, never in the content repository or ``var/``: whatever a commit can
write is untrusted, and a planted "no problems" entry would open the publish gate. A key is the
SHA-256 of everything the problems depend on (:meth:`Keys.key`):

* the post: its path in content/, the hash of its file's bytes, its image's path and hash;
* the templates: the name and bytes of every file of every templates folder;
* the configuration: the validated :class:`pipeline.config.Config` (config.toml and the server
  file, channels, units, limits, everything the checks read), as its ``repr``;
* Loa itself: the source of every module of ``pipeline/`` and ``publishers/``, the Python
  version and the installed versions of Loa's dependencies (Markdown and Jinja2 make the
  renderings whose lengths are checked);
* for a post that links to another ``.md`` file: the address of every post (a link renders the
  linked post's current address, so the rendering's length depends on it).

Links and duplicate ids are checked again on every pass, never cached: they depend on the other files.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Iterable

from pipeline.models import Post, Problem, Severity

#: An entry larger than this is not stored (the post is checked again next time).
MAX_ENTRY_CHARS = 256 * 1024
_CODE: list[str] = []  # the code signature, computed once per process


def code_signature() -> str:
    """SHA-256 of Loa's own source (``pipeline/``, ``publishers/``), the Python version and the
    installed versions of Loa's dependencies; computed once per process (~150 files, a few ms)."""
    if _CODE:
        return _CODE[0]
    import importlib.metadata as md

    digest = hashlib.sha256(sys.version.encode())
    root = Path(__file__).resolve().parent.parent
    for pkg in ("pipeline", "publishers"):
        for path in sorted((root / pkg).rglob("*.py")):
            digest.update(b"\0" + str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    try:
        requirements = md.requires("loa") or []
    except md.PackageNotFoundError:  # running from a source tree that was never installed
        requirements = []
    for req in sorted(requirements):
        name = req.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip()
        try:
            digest.update(f"\0{name}={md.version(name)}".encode())
        except md.PackageNotFoundError:
            digest.update(f"\0{name}=-".encode())
    _CODE.append(digest.hexdigest())
    return _CODE[0]


def config_signature(cfg) -> str:
    """SHA-256 of the validated configuration's ``repr`` (every field: a frozen dataclass of
    mappings, paths, dates and zones, whose ``repr`` shows their values)."""
    return hashlib.sha256(repr(cfg).encode()).hexdigest()


def templates_signature(dirs: Iterable[Path]) -> str:
    """SHA-256 of the name and bytes of every file in the templates folders, in order."""
    digest = hashlib.sha256()
    for i, d in enumerate(dirs):
        for f in sorted(Path(d).rglob("*")):
            if f.is_file():
                digest.update(f"\0{i}\0{f.relative_to(d)}\0".encode())
                try:
                    digest.update(f.read_bytes())
                except OSError:
                    digest.update(b"\0unreadable")
    return digest.hexdigest()


def addresses_signature(posts: Iterable[Post]) -> str:
    """SHA-256 of what a link to any of ``posts`` renders from: its path and its address fields."""
    digest = hashlib.sha256()
    for p in sorted(posts, key=lambda p: str(p.path)):
        year = p.publish_at.year if p.publish_at else ""
        digest.update(f"\0{p.path}\0{p.type}\0{p.slug}\0{p.id}\0{year}".encode())
    return digest.hexdigest()


def links_other_posts(post: Post) -> bool:
    """Whether the body may link to another post (a ``.md`` target), as the renderer rewrites them."""
    return ".md" in post.body


class Keys:
    """The ledger keys of one check pass: the signatures shared by every post are computed once."""

    def __init__(self, cfg, templates: str, posts: list[Post]):
        self._base = f"{code_signature()}\0{config_signature(cfg)}\0{templates}"
        self._posts = posts
        self._addresses: str | None = None

    def key(self, post: Post, part: str) -> str | None:
        """The key of ``part`` ("own" or "text") of ``post``; ``None``: not cacheable (a post read
        without its hashes)."""
        if not post.source_hash:
            return None
        linked = ""
        if links_other_posts(post):
            if self._addresses is None:
                self._addresses = addresses_signature(self._posts)
            linked = self._addresses
        text = (f"{self._base}\0{part}\0{post.relpath}\0{post.source_hash}\0{post.image_path}\0"
                f"{post.image_hash}\0{linked}")
        return hashlib.sha256(text.encode()).hexdigest()


def encode(problems: tuple[Problem, ...]) -> str | None:
    """The stored form of ``problems``; ``None`` when it would not read back equal (a value JSON
    cannot hold exactly) or is too large: then the entry is simply not stored."""
    if not problems:  # most posts: what the general path gives (tests/test_check_cache.py)
        return "[]"
    try:
        text = json.dumps([[p.path, p.line, p.col, p.severity.value, p.code, dict(p.args)] for p in problems],
                          ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return None
    if len(text) > MAX_ENTRY_CHARS or decode(text) != problems:
        return None
    return text


def decode(text: str) -> tuple[Problem, ...] | None:
    """``problems`` from :func:`encode`; ``None`` for anything else (the entry is computed again)."""
    try:
        return tuple(Problem(path, line, col, Severity(sev), code, MappingProxyType(args))
                     for path, line, col, sev, code, args in json.loads(text))
    except (TypeError, ValueError):
        return None
