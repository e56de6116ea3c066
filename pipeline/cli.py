"""The ``loa`` command: the parser of every verb (:mod:`pipeline.commands`), and the one error
boundary that turns a ``LoaError`` into a message and an exit code. The verbs call the
application layer (:mod:`pipeline.app`) and print its answers.

Exit codes: 0 all well; 1 problems / permanent failure / bug; 2 unusable config or usage;
75 only transient failures left (``loa publish``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from pipeline import __version__

if TYPE_CHECKING:  # the rest is imported where it is used: see main()
    import argparse


def build_parser() -> argparse.ArgumentParser:
    """The parser of every verb (each verb module registers its own with ``@verb``)."""
    import argparse
    import importlib

    from pipeline.commands import MODULES
    from pipeline.commands.base import VERBS

    for module in MODULES:
        importlib.import_module(f"pipeline.commands.{module}")
    parser = argparse.ArgumentParser(prog="loa", description="Loa: Markdown posts in git -> e-portal and social channels, exactly once.")
    parser.add_argument("--version", action="version", version=f"loa {__version__}")
    parser.add_argument("--config", help="path to config.toml (default: ./config.toml)")
    parser.add_argument("--lang", choices=("vi", "en"), help="language of messages (default: site.language)")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    parser.add_argument("--log-format", choices=("text", "json"), default="text",
                        help="log lines as text (default) or one JSON object per line, for log shippers")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for name, (fn, help_text) in VERBS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        fn.configure(sp)
        sp.set_defaults(func=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from pipeline import logs, secrets

    parser = build_parser()
    args = parser.parse_args(argv)
    # everything printed or logged from here on goes through the one redaction point, and reaches
    # the terminal without control characters (a title with an escape sequence shows as \x1b)
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (secrets.RedactingStream(_Terminal(out)), secrets.RedactingStream(_Terminal(err)))
    logs.configure(args.log_format, args.verbose)  # the redacting filter on every handler
    try:
        return _run(parser, args)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        sys.stdout, sys.stderr = out, err


def _run(parser, args) -> int:
    """The one error boundary: a ``LoaError`` becomes its message and exit code, anything else a bug."""
    import traceback

    from pipeline import secrets
    from pipeline.commands.base import lang_of
    from pipeline.errors import ConfigError, LoaError
    from pipeline.messages import localized, text as msg

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
        print(f"loa: {secrets.redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # noqa: BLE001 - the one boundary: anything else is a bug
        print("loa: internal error (a bug in Loa; please report it with this text):", file=sys.stderr)
        print(secrets.redact(traceback.format_exc()), file=sys.stderr, end="")
        return 1


class _Terminal:
    """A text stream that shows C0/C1 control characters and bidirectional overrides as escapes
    (``pipeline.vietnamese.escape_control``); tab, newline and CR LF pass."""

    def __init__(self, stream):
        from pipeline.vietnamese import escape_control

        self._stream, self._escape = stream, escape_control

    def write(self, text: str) -> int:
        # CR LF ends a CSV row (loa log --format csv): kept; any other CR is shown as an escape
        self._stream.write("\r\n".join(self._escape(part) for part in text.split("\r\n")))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
