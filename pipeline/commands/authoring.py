"""``loa new`` and ``loa approve``: the author's and the editorial board's verbs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pipeline.commands.base import lang_of, load, parse_now, rel, verb
from pipeline.errors import UsageError


@verb("new", "write a new post with a fresh id at content/<type>/<year>/<slug>.md (never overwrites)")
def new(args) -> int:
    from pipeline.content import make_slug, new_id, parse_time

    cfg = load(args)
    lang = lang_of(args, cfg)
    if args.type not in cfg.types:
        raise UsageError(f"unknown type {args.type!r}; expected one of: {', '.join(cfg.types)}")
    if args.unit not in cfg.units:
        raise UsageError(f"unknown unit {args.unit!r}; expected one of: {', '.join(cfg.units)}")
    try:
        when = parse_time(args.at, cfg.tz) if args.at else parse_now(None, cfg).replace(second=0, microsecond=0)
    except ValueError:
        raise UsageError(f"--at: cannot read {args.at!r}; write \"2024-03-25 08:00\"") from None
    slug = make_slug(args.title)
    if not slug:
        raise UsageError("the title gives an empty slug; write a title with letters")
    path = cfg.content_dir / args.type / f"{when:%Y}" / f"{slug}.md"
    if path.exists():
        print(("đã có tệp {p}; không ghi đè. Hãy đổi tiêu đề hoặc sửa tệp đó." if lang == "vi" else
               "{p} already exists; not overwritten. Change the title or edit that file.").format(p=rel(path, cfg)), file=sys.stderr)
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
    import yaml

    text = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False, default_flow_style=None) + "---\n\n" + (
        "Viết nội dung bài ở đây (Markdown).\n" if lang == "vi" else "Write the post here (Markdown).\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as fh:  # "x": refuse to overwrite, even in a race
        fh.write(text)
    print(rel(path, cfg))
    return 0


def _git_user(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "config", "user.name"], cwd=root, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _new_conf(sp) -> None:
    sp.add_argument("type", help="post type (news, guide)")
    sp.add_argument("title", help="title of the post")
    sp.add_argument("--unit", required=True, help="unit id, e.g. phuong-1")
    sp.add_argument("--at", help="publish time, e.g. \"2024-03-25 08:00\" (site zone)")
    sp.add_argument("--author", help="author name (default: git user.name)")
    sp.add_argument("--topic", action="append", help="topic id; repeat for several")


new.configure = _new_conf


@verb("approve", "record approval of a post by an editorial board member, bound to its content")
def approve(args) -> int:
    from pipeline.content import read_post

    cfg = load(args)
    lang = lang_of(args, cfg)
    path = Path(args.path)
    post, problems = read_post(path, cfg)
    if post is None:
        for p in problems:
            print(p.format(lang), file=sys.stderr)
        return 1
    by = args.by.strip()
    if cfg.board and by not in cfg.board:
        raise UsageError((f"{by!r} không phải thành viên Ban biên tập ({', '.join(cfg.board)})" if lang == "vi"
                          else f"{by!r} is not an editorial board member ({', '.join(cfg.board)})"))
    if by.casefold() == post.author.strip().casefold():
        raise UsageError((f"{by} là tác giả bài này nên không thể tự duyệt" if lang == "vi"
                          else f"{by} is the author of this post and cannot approve it"))
    text = path.read_text(encoding="utf-8")
    text = set_front_keys(text, {"approved_by": by, "approved_hash": post.approval_hash})
    tmp = path.with_name(path.name + ".loa-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    print((f"Đã ghi nhận {by} duyệt {rel(path, cfg)} (mã {post.approval_hash})" if lang == "vi"
           else f"Recorded approval of {rel(path, cfg)} by {by} (hash {post.approval_hash})"))
    return 0


def set_front_keys(text: str, values: dict[str, str]) -> str:
    """Set top-level front matter keys in place, leaving every other byte of the file unchanged."""
    import yaml

    lines = text.split("\n")
    end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
    for key, value in values.items():
        rendered = f"{key}: {yaml.safe_dump(value, allow_unicode=True, default_style=chr(34)).strip()}"
        rx = re.compile(rf"^{re.escape(key)}\s*:")
        for i in range(1, end):
            if rx.match(lines[i]):
                lines[i] = rendered
                break
        else:
            lines.insert(end, rendered)
            end += 1
    return "\n".join(lines)


def _approve_conf(sp) -> None:
    sp.add_argument("path", help="the post file")
    sp.add_argument("--by", required=True, help="name of the board member, as in editorial.board")


approve.configure = _approve_conf
