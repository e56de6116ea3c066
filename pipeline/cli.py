"""The ``loa`` command: verbs, and the one error boundary that turns a ``LoaError`` into a
message and an exit code. This module and :mod:`pipeline.schedule` are the only places that wire
several stages together.

Exit codes: 0 all well; 1 problems / permanent failure / bug; 2 unusable config or usage;
75 only transient failures left (``loa publish``).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from pipeline import __version__

if TYPE_CHECKING:  # the rest is imported where it is used: see main()
    import argparse
    from datetime import datetime
    from pathlib import Path

    from pipeline.config import Config

VERBS: dict[str, tuple[str, str]] = {}  # name -> (function, help), filled by the @verb decorators

# verb -> the module of pipeline.commands that defines it. Only the module of the verb being run is
# imported (a no-change `loa preview` is mostly start-up); `loa --help` imports them all.
# tests/test_cli.py checks this table against the @verb decorators.
VERB_MODULES = {
    "new": "authoring", "approve": "authoring", "check": "check", "preview": "preview",
    "publish": "publishing", "run": "publishing", "status": "publishing", "log": "publishing",
    "retry": "publishing", "resolve": "publishing", "pause": "publishing", "resume": "publishing",
    "retract": "publishing", "channels": "publishing", "report": "reporting", "ingest": "ingesting",
}
_GLOBAL_WITH_VALUE = ("--config", "--lang")


def verb(name: str, help_text: str):
    def deco(fn):
        VERBS[name] = (fn, help_text)
        return fn
    return deco


def _chosen_verb(argv: list[str]) -> str | None:
    """The verb on the command line, if it is a known one (global options may come first)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _GLOBAL_WITH_VALUE:
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        return arg if arg in VERB_MODULES else None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given the command line, with only its verb's module imported and configured."""
    import argparse
    import importlib

    chosen = None if argv is None else _chosen_verb(argv)
    if chosen is not None:
        importlib.import_module(f"pipeline.commands.{VERB_MODULES[chosen]}")
    else:  # the help, or a mistyped verb: every verb, with its help text
        from pipeline.commands import register_all

        register_all()

    parser = argparse.ArgumentParser(prog="loa", description="Loa: Markdown posts in git -> e-portal and social channels, exactly once.")
    parser.add_argument("--version", action="version", version=f"loa {__version__}")
    parser.add_argument("--config", help="path to config.toml (default: ./config.toml)")
    parser.add_argument("--lang", choices=("vi", "en"), help="language of messages (default: site.language)")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for name in VERB_MODULES:
        if name not in VERBS:  # not the verb being run: listed, not configured
            sub.add_parser(name)
            continue
        fn, help_text = VERBS[name]
        sp = sub.add_parser(name, help=help_text, description=help_text)
        fn.configure(sp)
        sp.set_defaults(func=fn)
    return parser


def load(args) -> Config:
    from pipeline.config import find_config, load_config
    from pipeline.messages import localized, text as msg

    path = find_config(explicit=args.config)
    cfg = load_config(path)
    for key, detail in cfg.warnings:
        lang = lang_of(args, cfg)
        print(msg("config.warning", lang, path=cfg.path, key=key, detail=localized(detail, lang)) + " [config.warning]",
              file=sys.stderr)
    return cfg


def post_paths(args, cfg: Config) -> list[Path] | None:
    """The PATH arguments of ``check`` and ``preview``: ``None`` for none (all posts), else each
    one, which must exist and lie inside ``content/``; ``UsageError`` (exit 2) naming the first
    that does not."""
    from pathlib import Path

    from pipeline.errors import UsageError
    from pipeline.messages import text as msg

    if not args.paths:
        return None
    lang = lang_of(args, cfg)
    content = cfg.content_dir
    out = []
    for raw in args.paths:
        p = Path(raw)
        if not p.exists() and not p.is_symlink():
            raise UsageError(msg("path.missing", lang, path=raw))
        inside = any(_under(os.path.normcase(a), os.path.normcase(b)) for a, b in
                     ((os.path.abspath(p), os.path.abspath(content)), (os.path.realpath(p), os.path.realpath(content))))
        if not inside:
            raise UsageError(msg("path.outside-content", lang, path=raw, content=rel(content, cfg)))
        out.append(p)
    return out


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def lang_of(args, cfg: Config | None = None) -> str:
    return getattr(args, "lang", None) or (cfg.language if cfg else None) or os.environ.get("LOA_LANG") or "vi"


def parse_now(value: str | None, cfg: Config) -> datetime:
    """``--now`` for dry runs and tests; default the real current time."""
    from datetime import datetime

    from pipeline.content import parse_time
    from pipeline.errors import UsageError

    if not value:
        return datetime.now(cfg.tz)
    try:
        return parse_time(value, cfg.tz)
    except ValueError:
        raise UsageError(f"--now: cannot read {value!r}; write \"2024-03-25 08:00\"") from None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    import logging
    import traceback

    from pipeline.errors import ConfigError, LoaError
    from pipeline.messages import localized, text as msg

    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        lang = lang_of(args)
        for key, detail in exc.errors:
            print(msg("config.error", lang, path=exc.path or "config.toml", key=key or "-", detail=localized(detail, lang))
                  + " [config.error]", file=sys.stderr)
        for key, detail in exc.warnings:
            print(msg("config.warning", lang, path=exc.path or "config.toml", key=key, detail=localized(detail, lang))
                  + " [config.warning]", file=sys.stderr)
        return exc.exit_code
    except LoaError as exc:
        print(f"loa: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # noqa: BLE001 - the one boundary: anything else is a bug
        print("loa: internal error (a bug in Loa; please report it with this text):", file=sys.stderr)
        traceback.print_exc()
        return 1


def emit_json(data) -> None:
    import json

    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def rel(path: Path, cfg: Config) -> str:
    from pipeline.paths import display

    return display(path, cfg.root)
