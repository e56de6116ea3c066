"""``loa new`` and ``loa approve``: the author's and the editorial board's verbs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipeline.commands.base import lang_of, load, parse_now, rel, verb
from pipeline.errors import UsageError


@verb("new", "help.new")
def new(args) -> int:
    from pipeline.content import make_slug, new_id, parse_time
    from pipeline.messages import text as msg

    cfg = load(args)
    lang = lang_of(args, cfg)
    if args.type not in cfg.types:
        raise UsageError(msg("new.unknown-type", lang, value=args.type, choices=", ".join(cfg.types)))
    if args.unit not in cfg.units:
        raise UsageError(msg("new.unknown-unit", lang, value=args.unit, choices=", ".join(cfg.units)))
    try:
        when = parse_time(args.at, cfg.tz) if args.at else parse_now(None, cfg).replace(second=0, microsecond=0)
    except ValueError:
        raise UsageError(msg("new.bad-at", lang, value=args.at)) from None
    slug = make_slug(args.title)
    if not slug:
        raise UsageError(msg("new.empty-slug", lang))
    path = cfg.content_dir / args.type / f"{when:%Y}" / f"{slug}.md"
    if path.exists():
        print(msg("new.exists", lang, path=rel(path, cfg)), file=sys.stderr)
        return 1
    author = args.author or os.environ.get("LOA_AUTHOR") or _git_user(cfg.root) or ""
    front = {
        "id": new_id(when.date()),
        "title": args.title,
        "type": args.type,
        "unit": args.unit,
        "author": author,
        "publish_at": f"{when:%Y-%m-%d %H:%M}",
        "topics": list(args.topic or []),
        "status": "draft",
        "summary": "",
    }
    from pipeline.approval import render_key
    from pipeline.scaffold import body

    # the sections the type needs, with [Viết ở đây: ...] to replace (an error on a ready post)
    text = ("---\n" + "".join(line + "\n" for k, v in front.items() for line in render_key(k, v)) + "---\n\n"
            + body(args.type, lang, cfg.language))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as fh:  # "x": refuse to overwrite, even in a race
        fh.write(text)
    print(rel(path, cfg))
    return 0


def _git_user(root: Path) -> str | None:
    import subprocess  # here, not at the top: every command builds the parser that imports this module

    try:
        out = subprocess.run(["git", "config", "user.name"], cwd=root, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _new_conf(sp) -> None:
    sp.add_argument("type", help="help.new.type")
    sp.add_argument("title", help="help.new.title")
    sp.add_argument("--unit", required=True, help="help.new.unit")
    sp.add_argument("--at", help="help.new.at")
    sp.add_argument("--author", help="help.new.author")
    sp.add_argument("--topic", action="append", help="help.new.topic")


new.configure = _new_conf


@verb("approve", "help.approve")
def approve(args) -> int:
    from pipeline import approval
    from pipeline.app import Session
    from pipeline.messages import text as msg

    cfg = load(args)
    lang = lang_of(args, cfg)
    if args.list:
        return _print_queue(cfg, lang)
    if not args.path or not args.by:
        raise UsageError(msg("approval.usage", lang))
    path = Path(args.path)
    if not path.is_file():
        raise UsageError(msg("path.missing", lang, path=args.path))
    with Session(cfg) as s:  # the ledger is not opened: approving needs none
        post, answer = s.approve(path, args.by)
    if post is None:  # the file cannot be read as a post: its problems say why
        for p in answer:
            print(p.format(lang), file=sys.stderr)
        return 1
    if isinstance(answer, approval.Refusal):
        print(f"loa: {answer.message(lang)} [{answer.code}]", file=sys.stderr)
        return answer.exit_code
    front = answer
    print(msg("approval.done", lang, by=front["approved_by"], path=rel(path, cfg), hash=front["approved_hash"]))
    return 0


def _print_queue(cfg, lang: str) -> int:
    from pipeline import approval
    from pipeline.app import Session
    from pipeline.messages import text as msg

    with Session(cfg) as s:
        waiting = s.approval_queue()
    for w in waiting:
        print(f"{w.post.relpath}\t{', '.join(w.channels)}\t{w.describe(lang)}")
    print(msg("approval.queue-count", lang, count=len(waiting)), file=sys.stderr)
    return 0


def _write(path: Path, text: str) -> None:
    from pipeline.paths import write_atomic

    write_atomic(path, text)  # whole or not at all, even if Loa is stopped mid-write


def set_front_keys(text: str, values: dict) -> str:
    """Set top-level front matter keys in place, leaving every other byte of the file unchanged
    (:func:`pipeline.approval.set_front_keys`; ``loa retract`` calls it from here)."""
    from pipeline.approval import set_front_keys as write

    return write(text, values)


def _approve_conf(sp) -> None:
    sp.add_argument("path", nargs="?", help="help.approve.path")
    sp.add_argument("--by", help="help.approve.by")
    sp.add_argument("--list", action="store_true", help="help.approve.list")
    sp.add_argument("--lang", choices=("vi", "en"), default=argparse.SUPPRESS, help="help.opt.lang")


approve.configure = _approve_conf
