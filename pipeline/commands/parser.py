"""``argparse`` speaking the catalogue's language: ``loa --help``, every verb's ``--help``, the
usage line and argparse's own errors ("unrecognized arguments", "the following arguments are
required", "invalid choice") in Vietnamese by default, English with ``--lang en``.

How (docs/architecture.md, "Languages"):

- The language is known before the parser is built: :func:`language` peeks at the command line
  (``--lang vi|en``, ``--lang=en``, the last one wins as in argparse), then ``LOA_LANG``, else
  Vietnamese. The config file is not read to print help or a usage error (like ``git --help``
  outside a repository); once a verb runs, ``site.language`` applies to its messages as before.
- The words Loa gives argparse are catalogue codes: ``@verb("publish", "help.publish")``,
  ``add_argument(..., help="help.publish.dry-run")``, ``epilog = "help.publish.epilog"``.
  :class:`LoaParser` looks each up in the parser's language; a value's placeholder (metavar) is
  ``metavar.<dest>`` when the catalogue has it.
- argparse looks up its own words through gettext (``argparse._`` and ``argparse.ngettext``, bound
  when argparse is imported). Rather than shipping a compiled ``.mo`` file beside the catalogue (a
  second catalogue) or overriding the dozen argparse methods that hold a word, :func:`speaking`
  answers those look-ups from the catalogue (``argparse.*`` codes) for the duration of each of
  LoaParser's own calls and restores them after, so another argparse user in the same process is
  untouched. A word a later Python adds is shown in English until the catalogue has it;
  ``tests/test_i18n.py`` lists argparse's user-facing words and fails on one the catalogue lacks.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from typing import Iterator, Sequence

from pipeline.messages import CATALOGUE, text

LANGUAGES = ("vi", "en")

#: argparse's user-facing msgids -> catalogue codes (the rest of its words are programmer errors).
ARGPARSE_WORDS = {
    "usage: ": "argparse.usage",
    "positional arguments": "argparse.positionals",
    "options": "argparse.options",
    "show this help message and exit": "argparse.help",
    "show program's version number and exit": "argparse.version",
    "%(prog)s: error: %(message)s\n": "argparse.error",
    "argument %(argument_name)s: %(message)s": "argparse.argument",
    "ambiguous option: %(option)s could match %(matches)s": "argparse.ambiguous",
    "expected one argument": "argparse.expected-one",
    "expected at least one argument": "argparse.expected-at-least-one",
    "expected at most one argument": "argparse.expected-at-most-one",
    "expected %s argument": "argparse.expected-n",
    "expected %s arguments": "argparse.expected-n-plural",
    "ignored explicit argument %r": "argparse.ignored-explicit",
    "invalid %(type)s value: %(value)r": "argparse.invalid-value",
    "invalid choice: %(value)r (choose from %(choices)s)": "argparse.invalid-choice",
    "not allowed with argument %s": "argparse.not-allowed-with",
    "one of the arguments %s is required": "argparse.one-required",
    "the following arguments are required: %s": "argparse.required",
    "unrecognized arguments: %s": "argparse.unrecognized",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "argparse.unknown-parser",
    "can't open '%(filename)s': %(error)s": "argparse.cannot-open",
}


def language(argv: Sequence[str], environ=os.environ) -> str:
    """The language of help and usage errors: the last ``--lang`` on the command line (before a
    ``--``), else ``LOA_LANG``, else ``vi``. A value argparse will refuse is ignored here, so the
    refusal itself is in the default language."""
    found = None
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == "--":
            break
        value = args[i + 1] if arg == "--lang" and i + 1 < len(args) else arg[7:] if arg.startswith("--lang=") else None
        if value in LANGUAGES:
            found = value
    env = environ.get("LOA_LANG")
    return found or (env if env in LANGUAGES else "vi")


def words(value, lang: str):
    """``value`` in ``lang`` when it is a catalogue code; anything else (``None``,
    ``argparse.SUPPRESS``, text already looked up) as it is."""
    return text(value, lang) if isinstance(value, str) and value in CATALOGUE else value


@contextlib.contextmanager
def speaking(lang: str) -> Iterator[None]:
    """argparse's own words in ``lang`` while the block runs (see the module docstring)."""
    def gettext(msgid: str) -> str:
        code = ARGPARSE_WORDS.get(msgid)
        return text(code, lang) if code else msgid

    def ngettext(singular: str, plural: str, n: int) -> str:
        return gettext(singular if n == 1 else plural)

    saved = argparse._, argparse.ngettext
    argparse._, argparse.ngettext = gettext, ngettext
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved


class LoaParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` in one language (``lang=``, passed on to its verbs' parsers by
    :meth:`add_subparsers`): catalogue codes in ``description``, ``epilog`` and ``help`` are
    looked up, and argparse's own words come from the catalogue (:func:`speaking`)."""

    def __init__(self, *args, lang: str = "vi", **kwargs):
        self.lang = lang
        with speaking(lang):
            super().__init__(*args, **kwargs)
        self.description = words(self.description, lang)

    def add_argument(self, *args, **kwargs):
        if "help" in kwargs:
            kwargs["help"] = words(kwargs["help"], self.lang)
        with speaking(self.lang):
            action = super().add_argument(*args, **kwargs)
        if "metavar" not in kwargs and action.nargs != 0 and not action.choices:
            action.metavar = words(f"metavar.{action.dest}", self.lang) if f"metavar.{action.dest}" in CATALOGUE else None
        return action

    def add_subparsers(self, **kwargs):
        kwargs["title"] = words(kwargs.get("title"), self.lang)
        kwargs["metavar"] = words(kwargs.get("metavar"), self.lang)
        with speaking(self.lang):
            sub = super().add_subparsers(**kwargs)
        add = sub.add_parser

        def add_parser(name, **kw):
            kw = {k: words(v, self.lang) if k in ("help", "description") else v for k, v in kw.items()}
            return add(name, lang=self.lang, **kw)

        sub.add_parser = add_parser
        return sub

    def parse_known_args(self, args=None, namespace=None):
        with speaking(self.lang):
            return super().parse_known_args(args, namespace)

    def parse_args(self, args=None, namespace=None):
        with speaking(self.lang):
            return super().parse_args(args, namespace)

    def format_usage(self) -> str:
        with speaking(self.lang):
            return super().format_usage()

    def format_help(self) -> str:
        self.epilog = words(self.epilog, self.lang)  # a verb's configure() may set it after __init__
        with speaking(self.lang):
            return super().format_help()

    def error(self, message: str):
        with speaking(self.lang):
            super().error(message)
