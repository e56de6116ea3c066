"""What every verb module shares: the ``@verb`` registry, loading the config, opening a
:class:`pipeline.app.Session`, and presenting answers (paths, JSON, times from ``--now``).

Verb modules import this; :mod:`pipeline.cli` imports the verb modules. Nothing here decides
anything about posts or channels: that is the application layer's (:mod:`pipeline.app`).
"""

from __future__ import annotations

import contextlib
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from pipeline.app import Session
    from pipeline.config import Config

VERBS: dict[str, tuple] = {}  # name -> (function, help), filled by the @verb decorators, in order


def verb(name: str, help_code: str):
    """Register a verb: ``fn(args) -> exit code``, with ``fn.configure(subparser)`` for its options.
    ``help_code`` and every ``help=`` of its options are catalogue codes (``help.<verb>``,
    ``help.<verb>.<option>``; :mod:`pipeline.messages_cli`), shown in the user's language."""
    def deco(fn):
        VERBS[name] = (fn, help_code)
        return fn
    return deco


def lang_of(args, cfg: Config | None = None) -> str:
    """The language of messages: ``--lang``, else the user's ``LOA_LANG``, else the site's
    ``site.language``, else Vietnamese (docs/architecture.md, "Languages")."""
    env = os.environ.get("LOA_LANG")
    return getattr(args, "lang", None) or (env if env in ("vi", "en") else None) or (cfg.language if cfg else None) or "vi"


def load(args) -> Config:
    """The config named by ``--config`` (or found from the current folder); its warnings printed."""
    from pipeline.config import find_config, load_config
    from pipeline.messages import localized, text as msg

    path = find_config(explicit=args.config)
    cfg = load_config(path)
    for key, detail in cfg.warnings:
        lang = lang_of(args, cfg)
        print(msg("config.warning", lang, path=cfg.path, key=key, detail=localized(detail, lang)) + " [config.warning]",
              file=sys.stderr)
    return cfg


@contextlib.contextmanager
def session(args, cfg: Config | None = None, *, now: datetime | None = None) -> Iterator[Session]:
    """The application layer for this command: config (loaded unless given), ledger (migrated),
    and a clock that stands still at ``now`` when ``--now`` was given."""
    from pipeline.app import Session

    cfg = cfg or load(args)
    s = Session.open(cfg, clock=(lambda: now) if now is not None else None)
    try:
        yield s
    finally:
        s.close()


def post_paths(args, cfg: Config) -> list[Path] | None:
    """The PATH arguments of ``check`` and ``preview``: ``None`` for none (all posts), else each
    one, which must exist and lie inside ``content/``; ``UsageError`` (exit 2) naming the first
    that does not."""
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


#: Times a command line may name: far enough for any schedule, near enough that adding a day or
#: converting zones can never leave Python's datetime range (year 1 or 9999 crashed).
EARLIEST, LATEST = 1970, 2200


def parse_now(value: str | None, cfg: Config, option: str = "--now", lang: str | None = None) -> datetime:
    """A time given on the command line (``--now``, ``--replay-until``); default the real current
    time. Unreadable or outside the years 1970-2200: ``UsageError`` (exit 2) naming the option, in
    ``lang`` (default ``site.language``)."""
    from pipeline.content import parse_time
    from pipeline.errors import UsageError
    from pipeline.messages import text as msg

    if not value:
        return datetime.now(cfg.tz)
    try:
        when = parse_time(value, cfg.tz)
    except (ValueError, OverflowError):
        raise UsageError(msg("cli.bad-time", lang or cfg.language, option=option, value=repr(value))) from None
    if not EARLIEST <= when.year <= LATEST - 1:
        raise UsageError(msg("cli.time-range", lang or cfg.language, option=option, value=repr(value), first=EARLIEST,
                             last=LATEST - 1))
    return when


def emit_json(data) -> None:
    """``data`` as JSON on stdout; control characters in strings are shown as escapes, so the
    JSON stays valid and a terminal or a log shipper never receives one."""
    import json

    from pipeline.controls import each_text, escape_control

    json.dump(each_text(escape_control, data), sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def rel(path: Path, cfg: Config) -> str:
    from pipeline.paths import display

    return display(path, cfg.root)
