"""The Jinja2 environment of Loa's templates (channels, preview, portal, reports): Jinja's sandbox,
``StrictUndefined``, the Vietnamese date filters, and no stat of template files while a run lasts.

Templates come from the content repository first (``templates/``), which staff commit to: they are
not trusted with the server. Every environment Loa builds is an
:class:`jinja2.sandbox.ImmutableSandboxedEnvironment`, so a template can read the values it is given
and call Loa's filters, but cannot reach Python's internals (``cycler.__init__.__globals__``,
``''.__class__.__mro__``), call unsafe methods, or change the lists and dicts it is handed; trying
raises :class:`jinja2.sandbox.SecurityError`, a ``jinja2.TemplateError`` that the renderer reports as
a problem of that post on that channel. ``*`` and ``**`` are capped, so a template cannot ask for a
string or a number of gigabytes either (see docs/security.md).

One difference from a plain ``jinja2.Environment``: a template's globals are one flat dict.
Jinja keeps them as a ``ChainMap`` over the environment's globals, which every render copies key
by key in Python: half the cost of rendering a small social-post template, five times per post.
Loa never changes globals once templates are loaded, as Jinja's documentation asks.
"""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Any, Iterable, MutableMapping

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from pipeline import vndates

#: The longest string or list ``*`` may make in a template, and the largest exponent ``**`` takes.
MAX_PRODUCT = 1_000_000
MAX_EXPONENT = 1_000


class Environment(ImmutableSandboxedEnvironment):
    """The sandboxed environment every Loa template renders in (also for the report templates)."""

    intercepted_binops = frozenset({"*", "**"})

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}

    def call_binop(self, context, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponent {right!r} is above the template limit of {MAX_EXPONENT}")
            return operator.pow(left, right)
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_PRODUCT:
                raise SecurityError(f"a repeated sequence of {len(seq) * n} items is above the template limit "
                                    f"of {MAX_PRODUCT}")
        return operator.mul(left, right)


def environment(dirs: Iterable[Path], tz, *, autoescape) -> Environment:
    env = Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in dirs]),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # one run, one version of each template: no stat per render or `extends`
    )
    vndates.install_filters(env, tz)
    return env
