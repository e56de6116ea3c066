"""File -> :class:`~pipeline.models.Post`: the fields, slug and stable id of a post, read from its
front matter (:mod:`pipeline.frontmatter`) and body, with its image (:mod:`pipeline.images`) and
hashes (:mod:`pipeline.hashes`).

Reading never raises for a bad file: it returns the problems found (with file and line) and, when
the file is usable at all, the post. A broken post never stops the others.

A reading pass is a :class:`Reading`: what the pass learns about folders and images is kept in it,
and in nothing else, so two passes never share stale answers. :func:`read_all` and
:meth:`PostCache.read_all` make one per call; a caller reading many files with :func:`read_post`
should make one and pass it.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import secrets
import stat
import sys
import unicodedata
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

from pipeline.hashes import approval_hash, sha
from pipeline.images import Images
from pipeline.models import Post, Problem, Severity
from pipeline.paths import Listing, RealPaths, post_files, real_join, signatures

if TYPE_CHECKING:
    from pipeline.frontmatter import RawFile

# Names other modules import from here; they live where a reader looks for them now.
__all__ = [
    "FIELDS", "REQUIRED", "STATUSES", "SLUG_MAX", "PostCache", "Reading", "approval_hash",
    "first_paragraph", "iter_post_files", "too_deep", "MAX_BODY_DEPTH", "make_slug", "new_id", "parse_time", "read_all", "read_post", "real_join",
    "relpath", "sha",
]

FIELDS = (
    "id", "title", "type", "unit", "author", "publish_at", "expire_at", "topics", "channels", "status",
    "summary", "image", "image_alt", "slug", "social", "approved_by", "approved_hash", "correction",
    "correction_at", "retracted", "priority",
    # written by `loa ingest` on drafts
    "source", "source_title", "source_link", "source_guid", "source_published", "source_image",
)
_FIELD_SET = frozenset(FIELDS)
REQUIRED = ("id", "title", "type", "unit", "author", "status")
STATUSES = ("draft", "ready")
#: ``priority`` in front matter: the three levels of the grassroots information system (docs/loudspeaker.md)
PRIORITIES = ("normal", "priority", "emergency")
SLUG_MAX = 80
#: Deepest nesting of lists and block quotes accepted in a body. Python-Markdown nests by
#: recursion: a few hundred levels raise RecursionError and deep indentation grows its time with
#: the square of the depth, so a deeper body is refused when read and never reaches the renderer.
MAX_BODY_DEPTH = 50
# a line's start (searched in "\n" + body: a newline first lets the search skip from line to line)
_DEEP_CANDIDATE = re.compile(r"\n[ \t>*+\-0-9.)]{%d}" % (MAX_BODY_DEPTH + 1))
_MARKER = re.compile(r">|[-+*](?=[ \t]|$)|[0-9]{1,9}[.)](?=[ \t]|$)")
log = logging.getLogger(__name__)
_SOURCE_FIELDS = ("source", "source_title", "source_link", "source_guid", "source_published", "source_image")
_GROWN = 1 << 16  # bytes asked for at a time past the size the lstat gave
_PATH = type(Path())  # what Path() makes here (PosixPath)
_EMPTY: Any = MappingProxyType({})  # shared by the posts without social texts / source fields


def new_id(day: date | None = None) -> str:
    """A fresh stable id: ``YYYYMMDD-`` + 6 random hex digits."""
    day = day or date.today()
    return f"{day:%Y%m%d}-{secrets.token_hex(3)}"


def make_slug(title: str) -> str:
    """``Hướng dẫn đăng ký khai sinh`` -> ``huong-dan-dang-ky-khai-sinh``; word order kept when cut.

    python-slugify makes the slug, and nothing else may: the slug is WordPress's key for an
    article, so a slug that drifted would make a second article. python-slugify decomposes the
    text (NFKD) and hands what is not ASCII to Unidecode one character at a time; a Vietnamese
    title decomposes into ASCII letters, combining marks and ``đ``, which are folded here first
    with a table built from Unidecode itself, so that python-slugify receives ASCII and gives the
    same slug with less work. ``tests/test_content.py`` compares with python-slugify alone."""
    from slugify import slugify

    text = title or ""
    if not text.isascii():
        folded = unicodedata.normalize("NFKD", text).translate(_fold_table())
        # python-slugify turns the apostrophes of the title into dashes but drops those its own
        # NFKD makes (from U+FF07 and the like): folding must not make any
        if folded.isascii() and folded.count("'") == text.count("'"):
            text = folded
    # python-slugify decodes HTML entities (&amp;, &#39;, &#x27;) in the text it has transliterated;
    # ASCII stays as it is through that (NFKD, Unidecode), so ASCII without "&" has none to decode
    entities = not text.isascii() or "&" in text
    return slugify(text, entities=entities, decimal=entities, hexadecimal=entities, max_length=SLUG_MAX,
                   word_boundary=True, save_order=True)


@functools.cache
def _fold_table() -> list[int | str]:
    """Unidecode's own ASCII for the combining marks (U+0300-U+036F) and for ``đ`` / ``Đ``, from the
    backend python-slugify picks: Unidecode when installed, else text-unidecode. A list indexed by
    code point (the others map to themselves; past its end, str.translate leaves a character as it
    is): str.translate looks every character up, and a dict would raise KeyError for most of them."""
    try:
        from unidecode import unidecode
    except ModuleNotFoundError:
        from text_unidecode import unidecode

    table: list[int | str] = list(range(0x370))
    for cp in [*range(0x300, 0x370), 0x110, 0x111]:
        table[cp] = unidecode(chr(cp))
    return table


_TIME_FORMS = (
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"),
    re.compile(r"^(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})(?:\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"),
)


def parse_time(value: Any, tz: ZoneInfo) -> datetime:
    """A time from front matter or the command line. Naive -> site zone; an offset is honoured.

    Accepts ``2024-03-25 08:00``, ``2024-03-25T08:00:00+07:00``, ``2024-03-25`` (00:00) and
    ``25/3/2024 08:00``. Raises ``ValueError`` with the accepted forms.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), tz)
    text = str(value).strip()
    for rx in _TIME_FORMS:
        m = rx.match(text)
        if not m:
            continue
        g = m.groupdict()
        try:
            naive = datetime(int(g["y"]), int(g["m"]), int(g["d"]), int(g["H"] or 0), int(g["M"] or 0), int(g["S"] or 0))
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        zone = g.get("tz")
        if not zone:
            return naive.replace(tzinfo=tz)
        return datetime.fromisoformat(naive.isoformat() + ("+00:00" if zone == "Z" else zone if ":" in zone else zone[:3] + ":" + zone[3:]))
    raise ValueError(text)


_MD_STRIP = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), ""),
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"[*_`]{1,3}"), ""),
    (re.compile(r"^#+\s*", re.M), ""),
    (re.compile(r"\{[:#.][^}]*\}"), ""),
]


def first_paragraph(body: str) -> str:
    """Plain text of the first prose paragraph of a Markdown body (the default summary)."""
    for block in re.split(r"\n\s*\n", body.strip()):
        b = block.strip()
        if not b or b.startswith(("#", "|", "```", "![", "-", "*", "1.", ">")):
            continue
        for rx, rep in _MD_STRIP:
            b = rx.sub(rep, b)
        return " ".join(b.split())
    return ""


def too_deep(body: str) -> tuple[int, int] | None:
    """``(depth, 0-based line)`` of the first line of ``body`` whose lists and block quotes nest
    deeper than :data:`MAX_BODY_DEPTH`, or ``None``.

    A line's depth is its indentation in steps of four columns (Python-Markdown's tab length)
    plus the list markers and ``>`` before its text. Fenced code counts too: which fences
    Python-Markdown honours is its business, and a line this deep in real code is unheard of. Such a
    line starts with more than ``MAX_BODY_DEPTH`` spaces, tabs, markers or digits, so a body
    without one costs a single regular-expression search."""
    if _DEEP_CANDIDATE.search("\n" + body) is None:
        return None
    for i, line in enumerate(body.split("\n")):
        depth = pos = 0
        while True:
            end = pos
            while end < len(line) and line[end] in " \t":
                end += 1
            depth += len(line[pos:end].expandtabs(4)) // 4
            m = _MARKER.match(line, end)
            if m is None:
                break
            depth, pos = depth + 1, m.end()
        if depth > MAX_BODY_DEPTH:
            return depth, i
    return None


def iter_post_files(content_dir: Path, paths: Iterable[Path] | None = None) -> Iterator[Path]:
    """Every post under ``content_dir`` (or under the given paths) as ``Path``: README and
    ``content/activities`` excluded, sorted. The list is :func:`pipeline.paths.post_files`'s."""
    return map(Path, post_files(content_dir, list(paths) if paths else None))


class Reading:
    """One reading pass over the content of ``cfg``: the real paths of folders and what each image
    gave, kept for this pass only. ``earlier`` (the previous pass) lends the hashes of the image
    files it used, so that an image file that did not change is not read again."""

    def __init__(self, cfg, earlier: Reading | None = None) -> None:
        self.cfg = cfg
        self.real = RealPaths()
        # only the hashes are taken, never the earlier pass itself: passes must not chain up in memory
        self._lent = earlier.image_hashes if earlier is not None else {}
        self._images: Images | None = None

    @property
    def content_root(self) -> str:
        """The content folder's real path."""
        return self.real.folder(str(self.cfg.content_dir))

    @property
    def images(self) -> Images:
        if self._images is None:  # made on first use: most passes over unchanged posts see no image
            self._images = Images(self.cfg.content_dir, self.real, self._lent)
            self._lent = {}
        return self._images

    @property
    def image_hashes(self) -> dict[tuple, tuple[bool, str]]:
        """The image hashes this pass used (those lent to it, when it looked at no image)."""
        return self._images.hashed if self._images is not None else self._lent


def read_post(path: Path, cfg, *, light: bool = False, reading: Reading | None = None) -> tuple[Post | None, list[Problem]]:
    """Read one post file. Returns the post (``None`` if unusable) and every problem found.

    ``light=True`` is the post as a link target: the same post but without the image's path and
    hash, the default summary and the hashes (left empty; the image's problems are not looked
    for). For resolving links between posts, never for publishing; ``tests/test_content.py``
    proves it equal to the full read on every other field. ``reading``: the pass this read is
    part of (a new one if not given).

    Nothing a file holds makes this raise: an unexpected failure (a bug, or a RecursionError
    on some shape nobody foresaw) is logged with its traceback and becomes a ``file.read-failed``
    problem of this file, so the other files are read as usual."""
    reader = _Reader(path, cfg, reading, light)
    try:
        return reader.read()
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop the others
        log.error("Skipping %s: reading it failed", reader.rel, exc_info=True)
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        return None, [Problem(reader.rel, 1, 1, Severity.ERROR, "file.read-failed", MappingProxyType({"reason": reason}))]


def relpath(path: str | os.PathLike, cfg) -> str:
    """A post's path as problems name it: relative to the content repository, with ``/``; as
    given when it lies outside."""
    text = os.fspath(path)
    full = text if os.path.isabs(text) else os.path.join(os.getcwd(), text)
    root = str(cfg.root).rstrip(os.sep) + os.sep  # path.absolute().relative_to(root), as strings
    return full[len(root):].replace(os.sep, "/") if full.startswith(root) else text


class _Reader:
    """One file -> (post or ``None``, problems)."""

    def __init__(self, path: Path, cfg, reading: Reading | None = None, light: bool = False):
        self.light = light
        self.path = path if type(path) is _PATH else Path(path)  # a Path already (the usual call): not parsed again
        self.cfg = cfg
        self.reading = reading or Reading(cfg)
        self.rel = relpath(path, cfg)
        self.problems: list[Problem] = []
        self.meta: dict = {}
        self.lines: dict[str, int] = {}

    def p(self, line: int, code: str, severity: Severity = Severity.ERROR, col: int = 1, **args) -> None:
        self.problems.append(Problem(self.rel, line, col, severity, code, MappingProxyType(args)))

    def read(self) -> tuple[Post | None, list[Problem]]:
        # here, not at the top: a command that reads no post (a re-run of preview with nothing
        # changed) never loads the front-matter parser
        from pipeline.frontmatter import read_front_matter, split_front_matter

        data = self._load()
        text = None if data is None else self._decode(data)
        if text is None:
            return None, self.problems
        if text.startswith("\ufeff"):
            text = text[1:]
        text = text.replace("\r\n", "\n")
        raw = split_front_matter(text)
        if raw is None:
            self.p(1, "front.missing")
            return None, self.problems
        meta, lines, error = read_front_matter(raw.front)
        if error is not None:
            if error.code == "front.yaml":
                self.p(error.line, error.code, col=error.col, detail=error.detail)
            else:  # refused before it was composed
                self.p(error.line, error.code, col=error.col, token=error.detail, limit=error.limit)
            return None, self.problems
        if not isinstance(meta, dict):
            self.p(2, "front.not-mapping")
            return None, self.problems
        return self.build(meta, lines, raw, data), self.problems

    def _load(self) -> bytes | None:
        """The file's bytes, or ``None`` and a problem. One lstat, one open: on a large content
        folder the extra system calls of pathlib's (or a file object's) way add up."""
        cfg, name = self.cfg, str(self.path)
        try:
            st = os.lstat(name)
            if stat.S_ISLNK(st.st_mode):
                real, root = os.path.realpath(name), self.reading.content_root
                if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
                    self.p(1, "file.symlink-outside", target=os.readlink(name))
                    return None
                st = os.stat(name)
            size = st.st_size
            if size > cfg.max_file_bytes:
                self.p(1, "file.too-big", size_kb=size // 1024, max_kb=cfg.max_file_bytes // 1024)
                return None
            fd = os.open(name, os.O_RDONLY | getattr(os, "O_BINARY", 0))  # no file object: it costs more than the read
            try:
                data = os.read(fd, size + 1)
                more = os.read(fd, _GROWN) if data else b""  # until end of file, also if it grew since the lstat
                while more:
                    data += more
                    more = os.read(fd, _GROWN)
                return data
            finally:
                os.close(fd)
        except OSError as exc:
            self.p(1, "file.unreadable", reason=exc.strerror or str(exc))
            return None

    def _decode(self, data: bytes) -> str | None:
        """The file's text, or ``None`` and a problem naming the encoding it seems to be in."""
        if b"\x00" in data[:8192]:
            self.p(1, "file.binary")
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
        mixed = _mixed_utf8(data)
        if mixed is not None:  # a UTF-8 post with a passage in an old encoding pasted into it
            count, lines, guess = mixed
            named = guess not in ("unknown", "utf-8")
            self.p(line, "file.mixed-utf8", count=count, lines=", ".join(map(str, lines[:5])) + (" …" if len(lines) > 5 else ""),
                   encoding_vi=(f" (có vẻ là một đoạn {guess.upper()} được dán vào); chạy `loa check --fix` để chuyển "
                                "đoạn đó sang Unicode" if named else "; hãy gõ lại đoạn đó bằng Unicode"),
                   encoding_en=(f" (it looks like a {guess.upper()} passage pasted in); run `loa check --fix` to convert "
                                "that passage to Unicode" if named else "; retype that passage in Unicode"))
            return None
        guess = _guess_encoding(data)
        self.p(line, "file.not-utf8", encoding=guess if guess != "unknown" else "một bảng mã không nhận ra được / an unrecognised encoding")
        return None

    # -- front matter -> Post. The order of the calls below is the order of the problems reported.

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)

    def build(self, meta: dict, lines: dict[str, int], raw: RawFile, data: bytes) -> Post | None:
        cfg, light = self.cfg, self.light
        self.meta, self.lines = meta, lines
        usable = self._check_keys()
        pid = self.text_field("id")
        title = self.text_field("title").strip()
        ptype = self.text_field("type")
        status = self.text_field("status") or "draft"
        if status not in STATUSES:
            self.p(self.line("status"), "front.bad-status", value=status)
        publish_at, expire_at, correction_at = self.time_field("publish_at"), self.time_field("expire_at"), self.time_field("correction_at")
        if status == "ready" and publish_at is None and "publish_at" not in meta:
            self.p(1, "front.missing-key", key="publish_at")
        body = raw.body
        deep = too_deep(body)
        if deep is not None:  # unusable: Python-Markdown would fail on it, or take minutes
            self.p(raw.body_line + deep[1], "post.too-deep", depth=deep[0], limit=MAX_BODY_DEPTH)
            usable = False
        summary = self.text_field("summary").strip() or ("" if light else first_paragraph(body))
        slug = self._slug(title)
        topics = self.list_field("topics") or ()
        channels = self.list_field("channels")
        if channels is None:
            ctype = cfg.types.get(ptype)
            channels = ctype.channels if ctype else ()
        social = self._social()
        image = self.text_field("image").strip() or None
        image_path = image_hash = None
        if image and not light:
            image_path, image_hash = self._image(image)
        if not pid or not usable:
            return None
        extra = {k: meta[k] for k in _SOURCE_FIELDS if k in meta}
        priority = self.text_field("priority").strip()
        if priority and priority not in PRIORITIES:
            self.p(self.line("priority"), "front.bad-priority", value=priority)
        elif priority and priority != "normal":
            extra["priority"] = priority
        return Post(
            path=self.path, relpath=self.rel, id=pid, title=title, type=ptype, unit=self.text_field("unit"),
            author=self.text_field("author"), publish_at=publish_at, expire_at=expire_at, topics=topics,
            channels=tuple(channels), status=status, summary=summary, body=body, body_line=raw.body_line,
            slug=slug, image=image, image_path=image_path, image_alt=(self.text_field("image_alt").strip() or None),
            image_hash=image_hash, social=MappingProxyType(social) if social else _EMPTY, approved_by=self.text_field("approved_by") or None,
            approved_hash=self.text_field("approved_hash") or None, correction=self.text_field("correction").strip() or None,
            correction_at=correction_at, retracted=self.text_field("retracted").strip() or None,
            source_hash="" if light else sha(data),
            lines=MappingProxyType(lines), extra=MappingProxyType(extra) if extra else _EMPTY,
        )

    def _check_keys(self) -> bool:
        """Unknown keys (with a guess) and missing required ones; False when the post is unusable."""
        meta, lines = self.meta, self.lines
        for k in meta:
            if k not in _FIELD_SET:
                import difflib  # a hint for a mistake only: not loaded by a run without one
                hint = difflib.get_close_matches(str(k), FIELDS, n=1)
                self.p(self.line(k), "front.unknown-key", Severity.WARNING, key=k,
                       hint_vi=f"; có phải ý bạn là `{hint[0]}`?" if hint else "",
                       hint_en=f"; did you mean `{hint[0]}`?" if hint else "")
        usable = True
        for k in REQUIRED:
            if meta.get(k) in (None, ""):
                self.p(self.line(k) if k in lines else 1, "front.missing-key", key=k)
                if k == "id":
                    usable = False
        return usable

    def text_field(self, k: str) -> str:
        v = self.meta.get(k)
        if type(v) is str:  # nearly always: what the general way below gives for a str
            return sys.intern(v) if len(v) <= 40 else v
        if v is None:
            return ""
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            self.p(self.line(k), "front.type", key=k, expected="văn bản / text")
            return ""
        v = str(v)
        # a unit, a type, a status, an author repeat across the thousands of posts the daemon keeps
        return sys.intern(v) if len(v) <= 40 else v

    def list_field(self, k: str) -> tuple[str, ...] | None:
        v = self.meta.get(k)
        if v is None:
            return None
        if isinstance(v, str):
            v = [x.strip() for x in v.split(",") if x.strip()]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self.p(self.line(k), "front.type", key=k, expected="danh sách / list")
            return ()
        return tuple(map(sys.intern, v))

    def time_field(self, k: str) -> datetime | None:
        v = self.meta.get(k)
        if v in (None, ""):
            return None
        try:
            return parse_time(v, self.cfg.tz)
        except ValueError:
            self.p(self.line(k), "front.bad-time", key=k, value=str(v))
            return None

    def _slug(self, title: str) -> str:
        slug = self.text_field("slug").strip() or make_slug(title)
        if self.meta.get("slug") and slug != make_slug(slug):
            self.p(self.line("slug"), "front.bad-slug", value=slug, suggestion=make_slug(slug))
        return slug

    def _social(self) -> dict[str, str]:
        raw = self.meta.get("social") or {}
        social: dict[str, str] = {}
        if not isinstance(raw, dict):
            self.p(self.line("social"), "front.type", key="social", expected="bảng kênh: văn bản / mapping channel: text")
            return social
        for ch, txt in raw.items():
            if not isinstance(txt, str):
                self.p(self.line("social"), "front.type", key=f"social.{ch}", expected="văn bản / text")
            else:
                social[str(ch)] = txt.strip()
        return social

    def _image(self, image: str) -> tuple[Path | None, str | None]:
        line = self.line("image")
        # str(self.path.parent), without making the parent Path: the path is normalised ("." for no folder)
        path, digest, found = self.reading.images.check(os.path.dirname(str(self.path)) or ".", image, self.cfg.max_image_bytes)
        for code, severity, args in found:
            self.problems.append(Problem(self.rel, line, 1, severity, code, args))
        return path, digest


def _mixed_utf8(data: bytes) -> tuple[int, list[int], str] | None:
    """Bad bytes, their lines and their encoding, for a UTF-8 file with an old-encoding passage
    pasted in (``pipeline.vietnamese.detect_mixed``); ``None`` otherwise."""
    try:
        from pipeline.vietnamese import detect_mixed

        found = detect_mixed(data)
    except Exception:  # noqa: BLE001 - a guess must never break reading
        return None
    return None if found is None else (found.bad_bytes, found.lines, found.encoding)


def _guess_encoding(data: bytes) -> str:
    try:
        from pipeline.vietnamese import detect_bytes
    except ImportError:  # pragma: no cover - the text-quality module ships with Loa
        return "unknown"
    try:
        return detect_bytes(data).encoding
    except Exception:  # noqa: BLE001 - a guess must never break reading
        return "unknown"


def read_all(cfg, paths: Iterable[Path] | None = None) -> tuple[list[Post], list[Problem]]:
    """Read every post (one :class:`Reading`); returns the usable posts and all problems, in the
    order of the files."""
    reading = Reading(cfg)
    posts: list[Post] = []
    problems: list[Problem] = []
    for f in iter_post_files(cfg.content_dir, paths):
        post, probs = read_post(f, cfg, reading=reading)
        problems.extend(probs)
        if post is not None:
            posts.append(post)
    return posts, problems


class PostCache:
    """Posts kept between daemon ticks: a file whose signature (:func:`pipeline.paths.signatures`)
    did not change is not re-read. A tick over unchanged posts then costs one ``stat`` per file
    (and per folder).

    :attr:`revision` names what the last :meth:`read_all` saw: it changes whenever the listing or
    any file's signature changed, and only then. Callers that keep something derived from the
    posts (verdicts, renderings) must key it on ``revision``, never on the identity of the
    returned lists. When nothing changed the same lists come back (callers must not modify them).
    The files are those of :func:`iter_post_files`, in the same order. What is kept per file is a
    path, one int and the post: the daemon holds every post of the content folder."""

    def __init__(self) -> None:
        self._listing = Listing()
        self._files: list[str] = []
        self._sigs: list[int] = []
        self._read: list[tuple[Post | None, list[Problem]]] = []  # what each file gave
        self._result: tuple[list[Post], list[Problem]] = ([], [])
        self._reading: Reading | None = None
        #: A hash of the (file, signature) pairs last read; ``""`` before the first read.
        self.revision = ""

    def read_all(self, cfg, paths: Iterable[Path] | None = None, *,
                 read_many: Callable[[list[str]], Iterable[tuple[Post | None, list[Problem]]]] | None = None,
                 listed: tuple[list[str], list[int]] | None = None) -> tuple[list[Post], list[Problem]]:
        """:func:`read_all`'s answer, reading again only the files whose signature changed.
        ``read_many(files)``: what :func:`read_post` gives for each of ``files``, in their order,
        found elsewhere (``loa preview`` reads in its worker processes); by default, read here.
        ``listed``: :func:`post_files` of these ``paths`` and their :func:`signatures`, when the
        caller has just made them (``loa preview`` does, for its stamp): not made twice."""
        if listed is not None:
            files, sigs = listed
        else:
            files = post_files(cfg.content_dir, list(paths) if paths else None, listing=self._listing)
            sigs = signatures(files)
        if sigs == self._sigs and files == self._files:
            return self._result
        reading = self._reading = Reading(cfg, earlier=self._reading)
        old = {f: i for i, f in enumerate(self._files)}
        kept = [i if i is not None and self._sigs[i] == sig else None for f, sig in zip(files, sigs) for i in [old.get(f)]]
        changed = [f for f, i in zip(files, kept) if i is None]
        fresh = iter(read_many(changed) if read_many is not None and changed else
                     (read_post(Path(f), cfg, reading=reading) for f in changed))
        posts: list[Post] = []
        problems: list[Problem] = []
        read = []
        for i in kept:
            if i is not None:
                entry = self._read[i]
            else:
                post, probs = next(fresh)
                entry = (post, probs or _NONE)  # most files have no problem: share one list
            read.append(entry)
            problems.extend(entry[1])
            if entry[0] is not None:
                posts.append(entry[0])
        self._files, self._sigs, self._read = files, sigs, read
        self.revision = sha("\n".join(f"{f}\0{s}" for f, s in zip(files, sigs)), 32)
        self._result = (posts, problems)
        return self._result


_NONE: list[Problem] = []  # never appended to: problems are only ever extended *from* it
