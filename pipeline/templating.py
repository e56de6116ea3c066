"""The Jinja2 environment of Loa's templates (channels, preview): ``StrictUndefined``, the
Vietnamese date filters, and no stat of template files while a run lasts.

One difference from a plain ``jinja2.Environment``: a template's globals are one flat dict.
Jinja keeps them as a ``ChainMap`` over the environment's globals, which every render copies key
by key in Python: half the cost of rendering a small social-post template, five times per post.
Loa never changes globals once templates are loaded, as Jinja's documentation asks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, MutableMapping

import jinja2

from pipeline import vndates


class Environment(jinja2.Environment):
    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


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
