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


def build_parser(lang: str | None = None) -> argparse.ArgumentParser:
    """The parser of every verb (each verb module registers its own with ``@verb``), speaking
    ``lang`` (default: ``LOA_LANG``, else Vietnamese; :mod:`pipeline.commands.parser`)."""
    import importlib

    from pipeline.commands import MODULES
    from pipeline.commands.base import VERBS
    from pipeline.commands.parser import LoaParser, language

    for module in MODULES:
        importlib.import_module(f"pipeline.commands.{module}")
    parser = LoaParser(prog="loa", description="help.loa", lang=lang or language([]))
    parser.add_argument("--version", action="version", version=f"loa {__version__}", help="argparse.version")
    parser.add_argument("--config", help="help.opt.config")
    parser.add_argument("--lang", choices=("vi", "en"), help="help.opt.lang")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="help.opt.verbose")
    parser.add_argument("--log-format", choices=("text", "json"), default="text", help="help.opt.log-format")
    sub = parser.add_subparsers(dest="verb", metavar="metavar.verb", title="help.verbs")
    for name, (fn, help_code) in VERBS.items():
        sp = sub.add_parser(name, help=help_code, description=help_code)
        fn.configure(sp)
        sp.set_defaults(func=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from pipeline import logs, secrets

    from pipeline.commands.parser import language

    parser = build_parser(language(argv))  # --help and usage errors speak --lang / LOA_LANG / vi
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
        # a message raised as a catalogue Detail is shown in the user's language; any other as it is
        said = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
        print(f"loa: {secrets.redact(localized(said, lang_of(args)))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # noqa: BLE001 - the one boundary: anything else is a bug
        print(msg("cli.internal-error", lang_of(args)), file=sys.stderr)
        print(secrets.redact(traceback.format_exc()), file=sys.stderr, end="")
        return 1


class _Terminal:
    """A text stream that shows C0/C1 control characters and bidirectional overrides as escapes
    (``pipeline.controls.escape_control``); tab, newline and CR LF pass."""

    def __init__(self, stream):
        from pipeline.controls import escape_control

        self._stream, self._escape = stream, escape_control

    def write(self, text: str) -> int:
        # CR LF ends a CSV row (loa log --format csv): kept; any other CR is shown as an escape
        self._stream.write("\r\n".join(self._escape(part) for part in text.split("\r\n")))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
