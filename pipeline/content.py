"""File -> :class:`~pipeline.models.Post`: front matter, Markdown body, slug, stable id, hashes.

Reading never raises for a bad file: it returns the problems found (with file and line) and, when
the file is usable at all, the post. A broken post never stops the others.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import os
import re
import secrets
import stat
import sys
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Iterator
from zoneinfo import ZoneInfo

from pipeline.models import Post, Problem, Severity
from pipeline.paths import SKIP_NAMES, Listing

FIELDS = (
    "id", "title", "type", "unit", "author", "publish_at", "expire_at", "topics", "channels", "status",
    "summary", "image", "image_alt", "slug", "social", "approved_by", "approved_hash", "correction",
    "correction_at", "retracted",
    # written by `loa ingest` on drafts
    "source", "source_title", "source_link", "source_guid", "source_published", "source_image",
)
REQUIRED = ("id", "title", "type", "unit", "author", "status")
STATUSES = ("draft", "ready")
SLUG_MAX = 80
_EMPTY: Any = MappingProxyType({})  # shared by the posts without social texts / source fields


@functools.cache
def _loader() -> type:
    """SafeLoader (libyaml's when available: ten times faster) without the implicit timestamp
    type: dates stay strings and are read by :func:`parse_time` in the site zone (PyYAML would
    turn some into naive or UTC datetimes). Built on first use: listing posts needs no YAML."""
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        pass

    Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


def new_id(day: date | None = None) -> str:
    """A fresh stable id: ``YYYYMMDD-`` + 6 random hex digits."""
    day = day or date.today()
    return f"{day:%Y%m%d}-{secrets.token_hex(3)}"


def make_slug(title: str) -> str:
    """``Hướng dẫn đăng ký khai sinh`` -> ``huong-dan-dang-ky-khai-sinh``; word order kept when cut.

    python-slugify makes the slug. It first decomposes the text (NFKD) and hands what is not ASCII
    to Unidecode, one character at a time, in Python. A Vietnamese title decomposes into ASCII
    letters, combining tone and vowel marks and ``đ``; those are transliterated here with a table
    built from Unidecode itself, so python-slugify receives ASCII and gives the very same slug
    (``tests/test_content.py`` compares both ways), four times faster."""
    text = unicodedata.normalize("NFKD", title or "")
    if not text.isascii():
        folded = text.translate(_fold_table())
        if folded.isascii():
            text = folded
    from slugify import slugify, smart_truncate

    if text.isascii() and "&" not in text and "'" not in text:
        # python-slugify's steps that can change such text, in its order, with its expressions
        # (its quote, entity and transliteration steps leave it as it is)
        text = _SLUG_DASHES.sub("-", _SLUG_OTHER.sub("-", _SLUG_NUMBER_COMMA.sub("", text.lower()))).strip("-")
        return smart_truncate(text, SLUG_MAX, True, "-", True)
    return slugify(text, max_length=SLUG_MAX, word_boundary=True, save_order=True)


_SLUG_NUMBER_COMMA = re.compile(r"(?<=\d),(?=\d)")
_SLUG_OTHER = re.compile(r"[^-a-zA-Z0-9]+")
_SLUG_DASHES = re.compile(r"-{2,}")


@functools.cache
def _fold_table() -> dict[int, str]:
    """Unidecode's own ASCII for the combining marks (U+0300-U+036F) and for ``đ`` / ``Đ``, from the
    backend python-slugify picks: Unidecode when installed, else text-unidecode."""
    try:
        from unidecode import unidecode
    except ModuleNotFoundError:
        from text_unidecode import unidecode

    return {cp: unidecode(chr(cp)) for cp in [*range(0x300, 0x370), 0x110, 0x111]}


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


@dataclass(frozen=True)
class RawFile:
    """A file split into front matter and body, with line numbers. Used by ``loa approve`` too."""

    text: str
    front: str
    body: str
    body_line: int  # 1-based line of the first body line


def split_front_matter(text: str) -> RawFile | None:
    """Front matter between a first line ``---`` and the next ``---`` (or ``...``) line, and the body
    after it. Walks the front matter's lines only; the body is one slice, never split and joined."""
    first = text.find("\n")
    if not text.startswith("---") or first < 0 or text[:first].strip() != "---":
        return None
    pos, i = first + 1, 1  # start and number (0-based) of the line being looked at
    while True:
        nl = text.find("\n", pos)
        if (text[pos:] if nl < 0 else text[pos:nl]).strip() in ("---", "..."):
            return RawFile(text, text[first + 1:pos - 1], "" if nl < 0 else text[nl + 1:], i + 2)
        if nl < 0:
            return None
        pos, i = nl + 1, i + 1


# -- front matter without PyYAML, for the plainest case --------------------------------------
# Nearly every post's front matter is lines of `key: value` where the value is a double- or
# single-quoted string without escapes, a plain word or phrase that YAML reads as a string, or a
# flow list of such words: `topics: [cchc, dvc-truc-tuyen]`. _simple_front reads exactly that and
# gives what PyYAML (with _loader) gives; anything else (other scalars, nesting, comments, tabs,
# escapes, anchors, odd line breaks) returns None and goes to PyYAML, which also reports errors.
# tests/test_content.py compares the two on generated front matter.
_SIMPLE_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?: +(.*?))? *")
_SIMPLE_FAST = re.compile(r'([A-Za-z_][A-Za-z0-9_]*): +(?:"([^"\\]*)"|([^\W_](?:(?!: |#)[^\t])*?(?<![ :]))|\[([^\]]*)\]) *')
_SIMPLE_DQ = re.compile(r'"((?:[^"\\]|\\["\\])*)"')  # escapes: only \" and \\
_DQ_ESCAPE = re.compile(r'\\(["\\])')
_SIMPLE_SQ = re.compile(r"'([^']*)'")
_SIMPLE_PLAIN = re.compile(r"[^\W_](?:(?!: |#)[^\t])*(?<![ :])")
_SIMPLE_SEQ = re.compile(r"( *)- +(.+?) *")
_SIMPLE_ITEM = re.compile(r' *(?:"([^"\\,\[\]{}]*)"|([^\W_][\w.-]*)) *')
_NOT_SIMPLE = re.compile("[^\n\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\x85\u2028\u2029]")


_PLAIN_IS_STR: dict[str, bool] = {}


def _simple_front(front: str) -> tuple[dict[str, Any], dict[str, int]] | None:
    if _NOT_SIMPLE.search(front):
        return None
    resolvers = _loader().yaml_implicit_resolvers
    meta: dict[str, Any] = {}
    lines: dict[str, int] = {}
    _NO = object()

    def is_str(plain: str) -> bool:  # what PyYAML's resolver does with an untagged plain scalar
        known = _PLAIN_IS_STR.get(plain)
        if known is None:
            known = not any(rx.match(plain) for _tag, rx in resolvers.get(plain[0], ()))
            if len(_PLAIN_IS_STR) < 4096:  # keys, types, units, statuses: the same few words in every post
                _PLAIN_IS_STR[plain] = known
        return known

    def flow_list(inner: str) -> list[str] | None:  # [a, "b c", d] without the brackets
        items: list[str] = []
        if inner.strip():
            for item in inner.split(","):
                q = _SIMPLE_ITEM.fullmatch(item)
                if q is None:
                    return None
                if q.group(1) is not None:
                    items.append(q.group(1))
                elif is_str(q.group(2)):
                    items.append(q.group(2))
                else:
                    return None
        return items

    def scalar(value: str) -> Any:
        first = value[0]
        if first == '"' or first == "'":
            q = (_SIMPLE_DQ if first == '"' else _SIMPLE_SQ).fullmatch(value)
            if q is None:
                return _NO
            text = q.group(1)
            return _DQ_ESCAPE.sub(r"\1", text) if first == '"' and "\\" in text else text
        if _SIMPLE_PLAIN.fullmatch(value) and is_str(value):
            return value
        return _NO

    rows = front.split("\n")
    n = 0
    while n < len(rows):
        line = rows[n]
        n += 1
        if not line:
            continue
        fast = _SIMPLE_FAST.fullmatch(line)  # the usual line, in one match: key: "text" | word | [words]
        if fast is not None and is_str(fast.group(1)):
            key, dq, plain, flow = fast.groups()
            if dq is not None:
                v = dq
            elif plain is not None:
                if not is_str(plain):
                    return None
                v = plain
            else:
                v = flow_list(flow)
                if v is None:
                    return None
            meta[key] = v
            lines.setdefault(sys.intern(key), n + 1)
            continue
        m = _SIMPLE_LINE.fullmatch(line)
        if m is None or not is_str(m.group(1)):
            return None
        key, value = m.group(1), m.group(2)
        key_line = n + 1
        if not value:  # a block list: "topics:" then "- cchc" lines, all at one indentation
            v: Any = []
            indent = None
            while n < len(rows):
                item = _SIMPLE_SEQ.fullmatch(rows[n])
                if item is None or (indent is not None and item.group(1) != indent):
                    break
                indent = item.group(1)
                x = scalar(item.group(2))
                if x is _NO:
                    return None
                v.append(x)
                n += 1
            if not v:
                return None
        elif value[0] == "[":
            if value[-1] != "]":
                return None
            v = flow_list(value[1:-1])
            if v is None:
                return None
        else:
            v = scalar(value)
            if v is _NO:
                return None
        meta[key] = v
        lines.setdefault(sys.intern(key), key_line)
    return (meta, lines) if meta else None


def _node_lines(node) -> dict[str, int]:
    """Line (1-based, in the file) of each top-level key of a composed front matter node."""
    import yaml

    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for k, _v in node.value:
            if isinstance(k, yaml.ScalarNode):
                out.setdefault(sys.intern(str(k.value)), k.start_mark.line + 2)
    return out


def _key_lines(front: str) -> dict[str, int]:
    """Line (1-based, in the file) of each top-level front matter key."""
    import yaml

    out: dict[str, int] = {}
    try:
        node = yaml.compose(front, Loader=_loader())
    except yaml.YAMLError:
        return out
    if isinstance(node, yaml.MappingNode):
        for k, _v in node.value:
            if isinstance(k, yaml.ScalarNode):
                out.setdefault(sys.intern(str(k.value)), k.start_mark.line + 2)  # 20,000 posts, one 'title'
    return out


def sha(data: bytes | str, n: int = 16) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:n]


def approval_hash(title: str, summary: str, body: str, image_hash: str | None) -> str:
    """Hash of what the editorial board approves: any edit of title, summary, body or image voids it."""
    return sha("\x1f".join([title.strip(), summary.strip(), body.strip(), image_hash or ""]), 20)


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


def iter_post_files(content_dir: Path, paths: Iterable[Path] | None = None) -> Iterator[Path]:
    """Every ``*.md`` post under ``content_dir`` (or under the given paths), sorted, README excluded.
    Activities (``content/activities``) are not posts."""
    roots = list(paths) if paths else [content_dir]
    seen: set[Path] = set()
    for root in roots:
        root = Path(root)
        if root.is_file() or (root.is_symlink() and not root.is_dir()):
            cands = [root]
        else:
            cands = sorted(p for p in root.rglob("*.md"))
        for p in cands:
            if p.name in SKIP_NAMES:
                continue
            if _inside(p, content_dir) and p.relative_to(content_dir).parts[:1] == ("activities",):
                continue
            if p not in seen:
                seen.add(p)
                yield p


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def read_post(path: Path, cfg) -> tuple[Post | None, list[Problem]]:
    """Read one post file. Returns the post (``None`` if unusable) and every problem found."""
    return _Reader(path, cfg).read()


def peek_post(path: Path, cfg) -> Post | None:
    """The post as a link target: what :func:`read_post` gives for its id, type, slug and time,
    without its image, summary and hashes (left empty). ``None`` where ``read_post`` gives ``None``.
    For resolving links between posts, never for publishing."""
    return _Reader(path, cfg, light=True).read()[0]


class _Reader:
    def __init__(self, path: Path, cfg, *, light: bool = False):
        self.light = light
        self.path = Path(path)
        self.cfg = cfg
        text = str(path)
        full = text if os.path.isabs(text) else os.path.join(os.getcwd(), text)
        root = str(cfg.root).rstrip(os.sep) + os.sep  # path.absolute().relative_to(root), as strings
        self.rel = full[len(root):].replace(os.sep, "/") if full.startswith(root) else text
        self.problems: list[Problem] = []

    def p(self, line: int, code: str, severity: Severity = Severity.ERROR, col: int = 1, **args) -> None:
        self.problems.append(Problem(self.rel, line, col, severity, code, MappingProxyType(args)))

    def read(self) -> tuple[Post | None, list[Problem]]:
        cfg, path = self.cfg, self.path
        name = str(path)
        try:  # one lstat, one open: on 20,000 posts the system calls of pathlib's way add up
            st = os.lstat(name)
            if stat.S_ISLNK(st.st_mode):
                if not _inside(path.resolve(), _resolved_dir(cfg.content_dir)):
                    self.p(1, "file.symlink-outside", target=os.readlink(name))
                    return None, self.problems
                st = os.stat(name)
            size = st.st_size
            if size > cfg.max_file_bytes:
                self.p(1, "file.too-big", size_kb=size // 1024, max_kb=cfg.max_file_bytes // 1024)
                return None, self.problems
            with open(name, "rb", buffering=0) as fh:
                data = fh.read()
        except OSError as exc:
            self.p(1, "file.unreadable", reason=exc.strerror or str(exc))
            return None, self.problems
        if b"\x00" in data[:8192]:
            self.p(1, "file.binary")
            return None, self.problems
        try:
            text = data.decode("utf-8")
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
                return None, self.problems
            guess = _guess_encoding(data)
            self.p(line, "file.not-utf8", encoding=guess if guess != "unknown" else "một bảng mã không nhận ra được / an unrecognised encoding")
            return None, self.problems
        if text.startswith("\ufeff"):
            text = text[1:]
        text = text.replace("\r\n", "\n")
        raw = split_front_matter(text)
        if raw is None:
            self.p(1, "front.missing")
            return None, self.problems
        simple = _simple_front(raw.front)
        if simple is not None:
            return self.build(simple[0], simple[1], raw, data), self.problems
        import yaml

        loader = _loader()(raw.front)
        try:  # one parse: the key lines come from the same node tree as the values
            node = loader.get_single_node()
            meta = loader.construct_document(node) if node is not None else None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 2 if mark else 1
            col = mark.column + 1 if mark else 1
            self.p(line, "front.yaml", col=col, detail=str(getattr(exc, "problem", None) or exc).strip())
            return None, self.problems
        finally:
            loader.dispose()
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            self.p(2, "front.not-mapping")
            return None, self.problems
        return self.build(meta, _node_lines(node), raw, data), self.problems

    def build(self, meta: dict, lines: dict[str, int], raw: RawFile, data: bytes) -> Post | None:
        cfg = self.cfg
        L = lambda k: lines.get(k, 1)  # noqa: E731
        for k in meta:
            if k not in FIELDS:
                hint = difflib.get_close_matches(str(k), FIELDS, n=1)
                self.p(L(k), "front.unknown-key", Severity.WARNING, key=k,
                       hint_vi=f"; có phải ý bạn là `{hint[0]}`?" if hint else "",
                       hint_en=f"; did you mean `{hint[0]}`?" if hint else "")
        usable = True
        for k in REQUIRED:
            if meta.get(k) in (None, ""):
                self.p(L(k) if k in lines else 1, "front.missing-key", key=k)
                if k in ("id",):
                    usable = False

        def text_field(k: str) -> str:
            v = meta.get(k)
            if v is None:
                return ""
            if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                self.p(L(k), "front.type", key=k, expected="văn bản / text")
                return ""
            v = str(v)
            # a unit, a type, a status, an author repeat across thousands of posts the daemon keeps
            return sys.intern(v) if len(v) <= 40 else v

        def list_field(k: str) -> tuple[str, ...] | None:
            v = meta.get(k)
            if v is None:
                return None
            if isinstance(v, str):
                v = [x.strip() for x in v.split(",") if x.strip()]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                self.p(L(k), "front.type", key=k, expected="danh sách / list")
                return ()
            return tuple(sys.intern(x) for x in v)

        def time_field(k: str) -> datetime | None:
            v = meta.get(k)
            if v in (None, ""):
                return None
            try:
                return parse_time(v, cfg.tz)
            except ValueError:
                self.p(L(k), "front.bad-time", key=k, value=str(v))
                return None

        pid = text_field("id")
        title = text_field("title").strip()
        ptype = text_field("type")
        status = text_field("status") or "draft"
        if status not in STATUSES:
            self.p(L("status"), "front.bad-status", value=status)
        publish_at = time_field("publish_at")
        expire_at = time_field("expire_at")
        correction_at = time_field("correction_at")
        if status == "ready" and publish_at is None and "publish_at" not in meta:
            self.p(1, "front.missing-key", key="publish_at")
        body = raw.body
        summary = text_field("summary").strip() or ("" if self.light else first_paragraph(body))
        slug = text_field("slug").strip() or make_slug(title)
        if meta.get("slug") and slug != make_slug(slug):
            self.p(L("slug"), "front.bad-slug", value=slug, suggestion=make_slug(slug))
        topics = list_field("topics") or ()
        ctype = cfg.types.get(ptype)
        channels = list_field("channels")
        if channels is None:
            channels = ctype.channels if ctype else ()
        social_raw = meta.get("social") or {}
        social: dict[str, str] = {}
        if not isinstance(social_raw, dict):
            self.p(L("social"), "front.type", key="social", expected="bảng kênh: văn bản / mapping channel: text")
        else:
            for ch, txt in social_raw.items():
                if not isinstance(txt, str):
                    self.p(L("social"), "front.type", key=f"social.{ch}", expected="văn bản / text")
                else:
                    social[str(ch)] = txt.strip()
        image = text_field("image").strip() or None
        image_path = image_hash = None
        if image and not self.light:
            image_path, image_hash = self.image(image, L("image"))
        if not pid or not usable:
            return None
        extra = {k: meta[k] for k in ("source", "source_title", "source_link", "source_guid", "source_published", "source_image") if k in meta}
        return Post(
            path=self.path, relpath=self.rel, id=pid, title=title, type=ptype, unit=text_field("unit"),
            author=text_field("author"), publish_at=publish_at, expire_at=expire_at, topics=topics,
            channels=tuple(channels), status=status, summary=summary, body=body, body_line=raw.body_line,
            slug=slug, image=image, image_path=image_path, image_alt=(text_field("image_alt").strip() or None),
            image_hash=image_hash, social=MappingProxyType(social) if social else _EMPTY, approved_by=text_field("approved_by") or None,
            approved_hash=text_field("approved_hash") or None, correction=text_field("correction").strip() or None,
            correction_at=correction_at, retracted=text_field("retracted").strip() or None,
            source_hash="" if self.light else sha(data),
            approval_hash="" if self.light else approval_hash(title, summary, body, image_hash),
            lines=MappingProxyType(lines), extra=MappingProxyType(extra) if extra else _EMPTY,
        )

    def image(self, image: str, line: int) -> tuple[Path | None, str | None]:
        """The image's real path and hash, or problems. Posts share images: what one image gave is
        kept for the run (until forget_real_paths), its problems repeated with each post's line."""
        key = (str(self.path.parent), image, self.cfg.max_image_bytes)
        known = _IMAGE_RUN.get(key)
        if known is None:
            mark = len(self.problems)
            found = self._image(image, line)
            known = _IMAGE_RUN[key] = (found, [(p.code, p.severity, p.args) for p in self.problems[mark:]])
        else:
            for code, severity, args in known[1]:
                self.problems.append(Problem(self.rel, line, 1, severity, code, args))
        return known[0]

    def _image(self, image: str, line: int) -> tuple[Path | None, str | None]:
        if re.match(r"^[a-z]+://", image):
            self.p(line, "image.remote", value=image)
            return None, None
        content_root = str(_resolved_dir(self.cfg.content_dir))
        real = real_join(str(self.path.parent), image)
        if not real.startswith(content_root.rstrip(os.sep) + os.sep):
            self.p(line, "image.outside", value=image)
            return None, None
        try:
            st = os.stat(real)
        except (OSError, ValueError):  # ValueError: a NUL in the name
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            self.p(line, "image.missing", value=image)
            return None, None
        target = Path(real)
        size = st.st_size
        if size > self.cfg.max_image_bytes:
            self.p(line, "image.too-big", value=image, size_kb=size // 1024, max_kb=self.cfg.max_image_bytes // 1024)
        key = (target, st.st_mtime_ns, size, st.st_ino)
        known = _IMAGES.get(key)
        if known is None:  # posts share images: read and hash each once per process
            data = target.read_bytes()
            known = _IMAGES[key] = (_looks_like_image(data), sha(data))
        if not known[0]:
            self.p(line, "image.not-image", value=image)
            return None, None
        return target, known[1]


_IMAGES: dict[tuple, tuple[bool, str]] = {}  # (path, mtime, size, inode) -> (is an image, hash)
_IMAGE_RUN: dict[tuple, tuple] = {}  # (post folder, image, size limit) -> (result, problems), for one run


@functools.lru_cache(maxsize=8)
def _resolved_dir(path: Path) -> Path:
    return path.resolve()


_REAL_DIRS: dict[str, str] = {}  # folder -> its real path, for one run (see forget_real_paths)


def forget_real_paths() -> None:
    """Start a new run of :func:`real_join` (folders may have been moved or replaced by links) and of
    the images the reader has seen."""
    _REAL_DIRS.clear()
    _IMAGE_RUN.clear()


def _real_dir(folder: str) -> str:
    real = _REAL_DIRS.get(folder)
    if real is None:
        real = _REAL_DIRS[folder] = os.path.realpath(folder)
    return real


def real_join(folder: str, rel: str) -> str:
    """``os.path.realpath(os.path.join(folder, rel))``, with the real path of every folder kept
    until :func:`forget_real_paths`: a post's image and its links to other posts then cost one
    ``lstat`` instead of one per path component. ``..`` is applied to the folder's real path, which
    is exact; a ``..`` after a name inside ``rel`` (that name may be a link) takes the long way."""
    if "\x00" in rel:  # no file has such a name (the system refuses it): nothing to resolve
        return os.path.join(folder, rel)
    parts = rel.split("/")
    i = 0
    while i < len(parts) and parts[i] in ("..", ".", ""):
        i += 1
    if ".." in parts[i:]:
        return os.path.realpath(os.path.join(folder, rel))
    head, name = os.path.split(os.path.normpath(os.path.join(_real_dir(folder), rel)))
    full = os.path.join(_real_dir(head), name)
    return os.path.realpath(full) if os.path.islink(full) else full


def _looks_like_image(data: bytes) -> bool:
    return data.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF")) or data[:5] == b"<?xml" or b"<svg" in data[:512]


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
    """Read every post; returns the usable posts and all problems (sorted by file and line)."""
    forget_real_paths()
    posts: list[Post] = []
    problems: list[Problem] = []
    for f in iter_post_files(cfg.content_dir, paths):
        post, probs = read_post(f, cfg)
        problems.extend(probs)
        if post is not None:
            posts.append(post)
    return posts, problems


class PostCache:
    """Posts kept between daemon ticks: a file whose (mtime, size, inode) did not change is not
    re-read. A tick over 20,000 unchanged posts then costs one ``stat`` per file (and per folder).

    When no file changed, :meth:`read_all` returns the very same lists as last time (callers must
    not modify them): the planner recognises them and reuses its previous verdicts. The files are
    those of :func:`iter_post_files`, in the same order, listed by :class:`~pipeline.paths.Listing` with plain
    strings (building and sorting 20,000 ``Path`` objects costs several times the ``stat`` calls).
    What is kept per file is a path, one int and the post: the daemon holds 20,000 of them."""

    def __init__(self) -> None:
        self._listing = Listing()
        self._files: list[str] = []
        self._sigs: list[int] = []  # (mtime, size, inode) of each file, as one int
        self._read: list[tuple[Post | None, list[Problem]]] = []  # what each file gave
        self._result: tuple[list[Post], list[Problem]] = ([], [])

    def read_all(self, cfg, paths: Iterable[Path] | None = None) -> tuple[list[Post], list[Problem]]:
        forget_real_paths()
        if paths is None:
            files = self._listing.scan(str(cfg.content_dir))
        else:
            files = [str(f) for f in iter_post_files(cfg.content_dir, paths)]
        stat = os.stat
        sigs = []
        for f in files:
            try:
                st = stat(f)
                # (mtime, size, inode) exactly, as one int: each field fits in its 64 bits
                sigs.append(st.st_mtime_ns << 128 | st.st_size << 64 | st.st_ino)
            except OSError:
                sigs.append(-1)
        if sigs == self._sigs and files == self._files:
            return self._result
        old = {f: i for i, f in enumerate(self._files)}
        posts: list[Post] = []
        problems: list[Problem] = []
        read = []
        for f, sig in zip(files, sigs):
            i = old.get(f)
            if i is not None and self._sigs[i] == sig:
                entry = self._read[i]
            else:
                post, probs = read_post(Path(f), cfg)
                entry = (post, probs or _NONE)  # most files have no problem: share one list
            read.append(entry)
            problems.extend(entry[1])
            if entry[0] is not None:
                posts.append(entry[0])
        self._files, self._sigs, self._read = files, sigs, read
        self._result = (posts, problems)
        return self._result


_NONE: list[Problem] = []  # never appended to: problems are only ever extended *from* it
