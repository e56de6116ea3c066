"""``loa check``: configuration + content, every problem with file, line and column."""

from __future__ import annotations

import argparse
import sys

from pipeline.commands.base import emit_json, lang_of, load, post_paths, verb
from pipeline.models import Severity
from pipeline.controls import escape_control


@verb("check", "help.check")
def check(args) -> int:
    from pipeline import content as content_mod
    from pipeline.app import Session
    from pipeline.messages import text as msg

    cfg = load(args)
    lang = lang_of(args, cfg)
    paths = post_paths(args, cfg)
    if args.fix:
        from pipeline.commands.fix import run_fix

        run_fix(cfg, args, lang)
    # every post is read and checked (duplicates and links need the others); the paths choose
    # which files' problems are shown
    with Session(cfg) as s:  # the ledger is not opened: checking needs none
        content = s.content()
        problems = list(s.check(content).problems)
    posts = content.posts
    if paths:
        wanted = {content_mod.relpath(f, cfg) for f in content_mod.iter_post_files(cfg.content_dir, paths)}
        posts = [p for p in posts if p.relpath in wanted]
        problems = [p for p in problems if p.path in wanted]
    if not paths:
        try:
            from pipeline.activities import read_activities
        except ImportError:
            read_activities = None
        if read_activities is not None:
            problems.extend(_activity_problems(read_activities, cfg))
    problems.sort(key=lambda p: (p.path, p.line, p.col, p.code))
    if args.strict:
        problems = [p.__class__(p.path, p.line, p.col, Severity.ERROR, p.code, p.args) for p in problems]
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = len(problems) - errors
    if args.format == "json":
        emit_json({"posts": len(posts), "errors": errors, "warnings": warnings,
                   "problems": [{"path": escape_control(p.path), "line": p.line, "col": p.col, "severity": p.severity.value,
                                 "code": p.code, "message": escape_control(p.message(lang))} for p in problems]})
    else:
        for p in problems:
            # a file name or a quoted value may hold ESC or a bidi override: shown, never obeyed
            print(escape_control(p.format(lang), newlines=True))
        print(msg("check.summary", lang, posts=len(posts), errors=errors, warnings=warnings), file=sys.stderr)
    # warnings (a post awaiting approval, a style issue) do not fail the run unless --strict
    return 1 if errors else 0


def _activity_problems(read_activities, cfg):
    from types import MappingProxyType

    from pipeline.models import Problem

    _, probs = read_activities(cfg.content_dir, set(cfg.units))
    out = []
    for item in probs:
        if isinstance(item, Problem):
            out.append(item)
            continue
        path, line, code, args = item
        try:
            path = (cfg.content_dir / path).resolve().relative_to(cfg.root).as_posix()
        except ValueError:
            path = str(path)
        out.append(Problem(path, line, 1, Severity.ERROR, code, MappingProxyType(dict(args))))
    return out


def _configure(sp) -> None:
    sp.add_argument("paths", nargs="*", help="help.check.paths")
    sp.add_argument("--strict", action="store_true", help="help.check.strict")
    sp.add_argument("--format", choices=("text", "json"), default="text", help="help.opt.format")
    sp.add_argument("--lang", choices=("vi", "en"), default=argparse.SUPPRESS, help="help.opt.lang")
    sp.add_argument("--fix", action="store_true", help="help.check.fix")
    sp.add_argument("--backup", action="store_true", help="help.check.backup")


check.configure = _configure
