"""The editorial board's approval, as a stage: what an approval binds, who may give it, whether a
post may be approved, and the queue of posts waiting for it.

An approval is two front-matter keys, ``approved_by`` and ``approved_hash``, written by
``loa approve``. ``approved_hash`` is the digests of the parts a reader of any channel receives
(:data:`pipeline.hashes.APPROVAL_PARTS`: title, summary, body, image bytes, alt text, correction,
retraction reason, per-channel texts, channel list) joined by dots, so an approval is void as soon
as any of them changes, and the queue can say which did.

Names are compared as people are (:func:`same_person`): after NFC, with runs of whitespace made one
space, and case folded, so ``"Lê  Thị Mai"`` typed with two spaces is the board's ``"Lê Thị Mai"``.

Nothing here writes a file or prints: :func:`approval_front` gives the keys to write, and
:func:`set_front_keys` the text with them, for the caller to store.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from pipeline.hashes import APPROVAL_PARTS, approval_parts, join_parts, split_parts
from pipeline.models import Post, Problem, Severity

__all__ = ["Refusal", "Waiting", "approval_front", "changed_parts", "current_hash", "is_approved", "needs_approval",
           "parts_of", "problems", "queue", "refusal", "same_person", "board_name", "set_front_keys"]


# -- what an approval binds ----------------------------------------------------------------------
def parts_of(post: Post) -> dict[str, str]:
    """The digest of each part of ``post`` that an approval binds."""
    return approval_parts(post.title, post.summary, post.body, post.image_hash, image_alt=post.image_alt,
                          correction=post.correction, correction_at=post.correction_at, retracted=post.retracted,
                          social=post.social, channels=post.channels)


#: The last post :func:`current_hash` hashed, and its hash: a post's checks and the verdict on its
#: approval ask in turn (``loa preview``'s workers), and a post is immutable.
_LAST_HASHED: tuple[Post, str] | None = None


def current_hash(post: Post) -> str:
    """What ``approved_hash`` must be for ``post`` as it is now."""
    global _LAST_HASHED
    last = _LAST_HASHED
    if last is not None and last[0] is post:
        return last[1]
    digest = join_parts(parts_of(post))
    _LAST_HASHED = (post, digest)
    return digest


def changed_parts(post: Post) -> tuple[str, ...] | None:
    """The parts changed since ``post`` was approved, in :data:`APPROVAL_PARTS` order; ``()`` when
    none; ``None`` when it cannot be told (never approved, or approved before Loa recorded parts)."""
    approved = split_parts(post.approved_hash)
    if approved is None:
        return None
    now = parts_of(post)
    return tuple(p for p in APPROVAL_PARTS if approved[p] != now[p])


# -- who may approve ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=1024)  # a site has a few names (its board, its authors), asked for each post
def _person(name: str | None) -> str:
    folded = " ".join(unicodedata.normalize("NFC", name or "").split()).casefold()
    return unicodedata.normalize("NFC", folded)


def same_person(a: str | None, b: str | None) -> bool:
    """True when two written names are one person's (NFC, whitespace collapsed, case folded)."""
    person = _person(a)
    return bool(person) and person == _person(b)


def board_name(name: str | None, board: Iterable[str]) -> str | None:
    """The board's own spelling of ``name`` when it names a member; ``None`` otherwise."""
    person = _person(name)
    if not person:  # nobody: same_person says no to every member
        return None
    return next((m for m in board if _person(m) == person), None)


def needs_approval(post: Post, cfg) -> tuple[str, ...]:
    """The configured channels of ``post`` that publish only what the board approved."""
    return tuple(c for c in post.channels if c in cfg.require_approval and c in cfg.channels)


def is_approved(post: Post, cfg) -> bool:
    """True when a board member who is not the author approved exactly this content."""
    return bool(
        post.approved_hash and post.approved_by and post.approved_hash == current_hash(post)
        and (not cfg.board or board_name(post.approved_by, cfg.board))
        and not same_person(post.approved_by, post.author)
    )


def _problem(post: Post, key: str, code: str, severity=Severity.ERROR, **args) -> Problem:
    return Problem(post.relpath, post.line_of(key), 1, severity, code, MappingProxyType(args))


def problems(post: Post, cfg) -> list[Problem]:
    """What ``loa check`` says about the approval of ``post``."""
    out: list[Problem] = []
    if post.approved_by:
        if cfg.board and not board_name(post.approved_by, cfg.board):
            out.append(_problem(post, "approved_by", "approval.not-board", by=post.approved_by, board=", ".join(cfg.board)))
        if same_person(post.approved_by, post.author):
            out.append(_problem(post, "approved_by", "approval.own-post", by=post.approved_by))
    need = needs_approval(post, cfg)
    if not need or post.status != "ready":
        return out
    if not post.approved_hash:
        out.append(_problem(post, "status", "approval.missing", Severity.WARNING, channels=", ".join(need), path=post.relpath))
    elif post.approved_hash != current_hash(post):
        out.append(_problem(post, "approved_hash", "approval.void", Severity.WARNING, by=post.approved_by or "?",
                            **_changed_args(changed_parts(post))))
    return out


def _changed_args(changed: tuple[str, ...] | None) -> dict[str, str]:
    """``changed_vi`` / ``changed_en``: the changed parts in words, for the messages."""
    from pipeline.messages import text

    out = {}
    for lang, joiner in (("vi", " và "), ("en", " and ")):
        words = [text(f"approval.part.{p}", lang) for p in changed] if changed else [text("approval.part.unknown", lang)]
        out[f"changed_{lang}"] = words[0] if len(words) == 1 else ", ".join(words[:-1]) + joiner + words[-1]
    return out


# -- approving ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Refusal:
    """Why ``by`` may not approve a post now: a message code and its arguments. ``exit_code`` 2
    when the person may not approve (not on the board, the author), 1 when the post is not ready."""

    code: str
    args: Mapping[str, Any]
    exit_code: int

    def message(self, lang: str = "vi") -> str:
        from pipeline.messages import text

        return text(self.code, lang, **self.args)


def refusal(post: Post, by: str, found: Iterable[Problem], cfg) -> Refusal | None:
    """``None`` when ``by`` may approve ``post`` as it is; else why not. ``found`` is every problem
    ``loa check`` reports for the post's file (its errors refuse the approval)."""
    if cfg.board and not board_name(by, cfg.board):
        return Refusal("approval.refused-not-board", MappingProxyType({"by": by, "board": ", ".join(cfg.board)}), 2)
    if same_person(by, post.author):
        return Refusal("approval.own-post", MappingProxyType({"by": by}), 2)
    if post.status != "ready":
        return Refusal("approval.refused-draft", MappingProxyType({"path": post.relpath, "status": post.status}), 1)
    errors = [p for p in found if p.severity is Severity.ERROR]
    if errors:
        return Refusal("approval.refused-errors", MappingProxyType({
            "path": post.relpath, "count": len(errors),
            "codes": ", ".join(dict.fromkeys(p.code for p in errors))}), 1)
    return None


def approval_front(post: Post, by: str, cfg) -> dict[str, str]:
    """The front-matter keys that record ``by``'s approval of ``post`` as it is now (the board's
    spelling of the name). Call :func:`refusal` first."""
    return {"approved_by": board_name(by, cfg.board) or " ".join(by.split()), "approved_hash": current_hash(post)}


# -- the queue ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Waiting:
    """A ready post that a channel holds until the board approves it at its current content.

    ``changed`` names the parts changed since the last approval (``None``: it cannot be told, or
    there was none); ``approved_by`` the last approver, if any; ``approver_invalid`` when that
    approval was given by someone who may not give it."""

    post: Post
    channels: tuple[str, ...]
    approved_by: str | None
    changed: tuple[str, ...] | None
    approver_invalid: bool

    def describe(self, lang: str = "vi") -> str:
        from pipeline.messages import text

        if self.approver_invalid:
            return text("approval.queue-invalid", lang, by=self.approved_by)
        if not self.post.approved_hash:
            return text("approval.queue-new", lang)
        if self.changed is None:
            return text("approval.queue-older", lang, by=self.approved_by or "?")
        lang_key = "changed_vi" if lang != "en" else "changed_en"
        return text("approval.queue-changed", lang, by=self.approved_by or "?", changed=_changed_args(self.changed)[lang_key])


def queue(posts: Iterable[Post], cfg) -> list[Waiting]:
    """Every ready post needing approval that is not approved at its current content, by path."""
    out = []
    for post in posts:
        need = needs_approval(post, cfg)
        if post.status != "ready" or not need or is_approved(post, cfg):
            continue
        invalid = bool(post.approved_by) and post.approved_hash == current_hash(post)
        out.append(Waiting(post, need, post.approved_by, changed_parts(post) if post.approved_hash else None, invalid))
    return sorted(out, key=lambda w: w.post.relpath)


# -- writing front matter -----------------------------------------------------------------------
def render_key(key: str, value: Any) -> list[str]:
    """The lines of ``key: value`` as PyYAML's safe dumper writes them (lines are never folded, so
    a value takes more than one line only when it holds newlines or is a nested list or table)."""
    import yaml

    # PyYAML writes U+0085, U+2028 and U+2029 as they are in plain and single-quoted scalars, where
    # a reader takes them for line breaks; its double-quoted style escapes them
    style = '"' if _odd_break(value) else None
    text = yaml.safe_dump({key: value}, allow_unicode=True, sort_keys=False, width=1 << 30, default_flow_style=False,
                          default_style=style)
    return text[:-1].split("\n")  # the dumper ends with one newline


def _odd_break(value: Any) -> bool:
    if isinstance(value, str):
        return any(c in value for c in "\x85\u2028\u2029")
    if isinstance(value, dict):
        return any(_odd_break(k) or _odd_break(v) for k, v in value.items())
    return isinstance(value, (list, tuple)) and any(_odd_break(v) for v in value)


def set_front_keys(text: str, values: Mapping[str, Any]) -> str:
    """Set top-level front matter keys, leaving every other byte of the file unchanged.

    A key already there has its whole value replaced, whatever lines it took (folded, quoted over
    several lines, a block scalar or list); a key written twice keeps one value, at its first place.
    New keys go at the end of the front matter. Values are written by PyYAML's safe dumper, so any
    string reads back as written. ``ValueError`` when the front matter is not YAML."""
    from pipeline.frontmatter import split_front_matter

    raw = split_front_matter(text)
    if raw is None:
        raise ValueError("no front matter between two --- lines")
    head = text[:text.index("\n") + 1]  # the opening --- line
    lines = raw.front.split("\n") if raw.front else []
    for key, value in values.items():
        spans = _key_spans("\n".join(lines), key)
        new = render_key(key, value)
        if not spans:
            lines.extend(new)
            continue
        for start, end in reversed(spans[1:]):
            del lines[start:end]
        start, end = spans[0]
        lines[start:end] = new
    # the closing --- line and the body, as they were
    rest = text[len(head) + len(raw.front) + (1 if raw.front else 0):]
    return head + "".join(line + "\n" for line in lines) + rest


def _key_spans(front: str, key: str) -> list[tuple[int, int]]:
    """(first line, line after the last) of each top-level ``key`` and its value, 0-based in
    ``front``; blank lines after it are left outside the span."""
    import yaml

    try:
        node = yaml.compose(front, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ValueError(f"front matter is not YAML: {exc}") from None
    if node is None:
        return []
    if not isinstance(node, yaml.MappingNode):
        raise ValueError("front matter is not `key: value` lines")
    lines = front.split("\n")
    spans = []
    for k, v in node.value:
        if not (isinstance(k, yaml.ScalarNode) and k.value == key):
            continue
        # by character offsets: PyYAML counts U+2028 and the like as line breaks, the file does not
        start = front.count("\n", 0, k.start_mark.index)
        stop = v.end_mark.index
        end = front.count("\n", 0, stop) + (0 if stop == 0 or front[stop - 1] == "\n" else 1)
        end = max(end, start + 1)
        while end - 1 > start and not lines[end - 1].strip():
            end -= 1
        spans.append((start, end))
    return spans

