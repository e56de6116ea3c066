"""The Jinja2 environment of Loa's templates (channels, preview, portal, reports): Jinja's sandbox,
``StrictUndefined``, the Vietnamese date filters, and no stat of template files while a run lasts.

Templates come from the content repository first (``templates/``), which staff commit to: they are
not trusted with the server. Every environment Loa builds is an
:class:`jinja2.sandbox.ImmutableSandboxedEnvironment`, so a template can read the values it is given
and call Loa's filters, but cannot reach Python's internals (``cycler.__init__.__globals__``,
``''.__class__.__mro__``), call unsafe methods, or change the lists and dicts it is handed; trying
raises :class:`jinja2.sandbox.SecurityError`, a ``jinja2.TemplateError`` that the renderer reports as
a problem of that post on that channel. ``*`` and ``**`` are capped, so that neither makes a string
or a number of gigabytes; other ways to a very large string remain (a format width, ``center``), as
docs/security.md says under what the sandbox does not stop.

One difference from a plain ``jinja2.Environment``: a template's globals are one flat dict.
Jinja keeps them as a ``ChainMap`` over the environment's globals, which every render copies key
by key in Python: half the cost of rendering a small social-post template, five times per post.
Loa never changes globals once templates are loaded, as Jinja's documentation asks.

And one fast path: the sandbox's verdict on an attribute (``post.title``: may a template read it?)
is kept per class and attribute name (:meth:`Environment.is_safe_attribute`). Jinja works it out
again at every access, through a dozen ``isinstance`` checks, which made up more than half of
rendering a preview page or a social post's template; the verdict is the same each time, as
``tests/test_templating.py`` checks against Jinja's own on every kind of object it tells apart.
Attribute access itself (:meth:`Environment.getattr`) then returns a value whose verdict is kept
as safe without asking again.
"""

from __future__ import annotations

import abc
import operator
import types
from pathlib import Path
from typing import Any, Iterable, MutableMapping

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from pipeline import vndates

#: The longest string or list ``*`` may make in a template, and the largest exponent ``**`` takes.
MAX_PRODUCT = 1_000_000
MAX_EXPONENT = 1_000
_METHODS = (types.MethodType, types.BuiltinMethodType)  # what Jinja's wrap_str_format looks at


class Environment(ImmutableSandboxedEnvironment):
    """The sandboxed environment every Loa template renders in (also for the report templates)."""

    intercepted_binops = frozenset({"*", "**"})
    VERDICTS_MAX = 4096  # (class, attribute) verdicts kept; beyond, Jinja decides each time

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._verdicts: dict[tuple[type, str], bool] = {}
        self._abc_token = abc.get_cache_token()

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Jinja's verdict (:class:`ImmutableSandboxedEnvironment`), kept per ``(class, attr)``.
        It depends on nothing else: the name (``_``, ``__``, ``mro``, ``append``...) and which
        kinds ``obj`` is an instance of (functions, methods, types, frames, generators, mutable
        lists, dicts and sets), never on ``value``. What could make the kinds differ for one
        class is not kept: an object whose ``__class__`` is not its type (``isinstance`` reads
        both), and a class registered with an ABC since (``abc.get_cache_token`` changes, all go)."""
        cls = type(obj)
        if obj.__class__ is not cls:
            return super().is_safe_attribute(obj, attr, value)
        token = abc.get_cache_token()
        if token != self._abc_token:
            self._verdicts.clear()
            self._abc_token = token
        key = (cls, attr)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = super().is_safe_attribute(obj, attr, value)
            if len(self._verdicts) < self.VERDICTS_MAX:
                self._verdicts[key] = verdict
        return verdict

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Jinja's sandboxed ``obj.attribute``, with a fast path for a name whose verdict is kept
        as safe: the value itself, or for a method what Jinja's sandbox then hands out
        (:meth:`wrap_str_format`: ``str.format`` and ``format_map`` wrapped in the sandbox's
        formatter, any other method as it is); a missing attribute goes Jinja's way (which tries
        ``obj[attribute]``). The same answer as Jinja's, in half the calls: attribute access is
        most of what a template does, and a method (``marks.decision(...)`` of the preview page,
        ``audio.get``) was looked up and judged a second time (``tests/test_templating.py``)."""
        cls = type(obj)
        if obj.__class__ is cls and self._verdicts.get((cls, attribute)) and abc.get_cache_token() == self._abc_token:
            try:
                value = getattr(obj, attribute)
            except AttributeError:
                return super().getattr(obj, attribute)
            if isinstance(value, _METHODS):
                wrapped = self.wrap_str_format(value)
                return value if wrapped is None else wrapped
            return value
        return super().getattr(obj, attribute)

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
