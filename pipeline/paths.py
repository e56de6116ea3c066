"""Where things are, found with ``os`` alone: the config file, the templates, the posts.

Kept free of heavy imports: the quick path of ``loa preview`` (:mod:`pipeline.preview_stamp`) runs
before the rest of Loa is imported, and uses these same functions as the full path.
"""

from __future__ import annotations

import os
import time

CONFIG_NAME = "config.toml"
SHIPPED_TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "templates")
SKIP_NAMES = frozenset({"README.md", "readme.md"})  # never posts


def config_file(explicit: str | os.PathLike | None = None, cwd: str | None = None) -> str | None:
    """The config file: ``--config PATH`` if given (a folder means its ``config.toml``), else
    ``config.toml`` in the current folder if there is one."""
    if explicit:
        p = os.fspath(explicit)
        return os.path.join(p, CONFIG_NAME) if os.path.isdir(p) else p
    p = os.path.join(cwd or os.getcwd(), CONFIG_NAME)
    return p if os.path.isfile(p) else None


def display(path: str | os.PathLike, root: str | os.PathLike) -> str:
    """A path as messages show it: relative to the content repository (``var/preview/index.html``)
    when it lies inside, else as given."""
    path, root = os.fspath(path), os.fspath(root)
    real = os.path.realpath(path)
    if real == root:
        return "."
    if real.startswith(root.rstrip(os.sep) + os.sep):
        return real[len(root.rstrip(os.sep)) + 1:].replace(os.sep, "/")
    return os.path.normpath(path)


def templates_dirs(root: str | os.PathLike) -> list[str]:
    """The content repository's own ``templates/`` first, if it has one, then the ones shipped with Loa."""
    own = os.path.join(root, "templates")
    if os.path.isdir(own) and os.path.realpath(own) != SHIPPED_TEMPLATES:
        return [own, SHIPPED_TEMPLATES]
    return [SHIPPED_TEMPLATES]


#: A folder listed less than this long after its last change is listed again next time: a change
#: within the same timestamp tick as the listing would not move the folder's mtime (racy mtime).
_RACY_NS = 3_000_000_000


class Listing:
    """``iter_post_files(content_dir)`` as strings, each folder listed again only when its mtime
    moved (adding, removing or renaming an entry always moves it; editing a file does not, which
    is why :class:`pipeline.content.PostCache` stats every file).

    Same files, same order as ``sorted(content_dir.rglob("*.md"))`` minus README and
    ``activities/``: every name ending in ``.md`` (files, and whatever else ``rglob`` matches);
    symlinked folders are not entered; unreadable folders are passed over; depth-first over names
    sorted by code point is exactly the order of sorted path parts."""

    def __init__(self) -> None:
        # folder -> (mtime_ns, trusted, [(path, is a post name, enter it)], [subfolders])
        self._dirs: dict[str, tuple[int | None, bool, list[tuple[str, bool, bool]], list[str]]] = {}
        self._top = ""
        self._files: list[str] = []

    def scan(self, content_dir: str) -> list[str]:
        start = time.time_ns()
        seen: dict[str, tuple] = {}
        old = self._dirs if content_dir == self._top else {}
        changed = False

        def visit(folder: str, top: bool) -> None:
            nonlocal changed
            try:
                mtime: int | None = os.stat(folder).st_mtime_ns
            except OSError:
                mtime = None
            hit = old.get(folder)
            if hit is None or not hit[1] or hit[0] != mtime:
                changed = True
                items = _list_folder(folder, top)
                hit = (mtime, mtime is not None and start - mtime > _RACY_NS, items,
                       [path for path, _post, enter in items if enter])
            seen[folder] = hit
            for sub in hit[3]:
                visit(sub, False)

        if os.path.isdir(content_dir):
            visit(content_dir, True)
        if changed or seen.keys() != old.keys():
            files: list[str] = []

            def flatten(folder: str) -> None:
                for path, is_post, enter in seen[folder][2]:
                    if is_post:
                        files.append(path)
                    if enter:
                        flatten(path)
            if content_dir in seen:
                flatten(content_dir)
            self._files = files
        self._dirs, self._top = seen, content_dir
        return self._files


def _list_folder(folder: str, top: bool) -> list[tuple[str, bool, bool]]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=_name)
    except OSError:
        return []
    items = []
    for e in entries:
        name = e.name
        is_post = name.endswith(".md") and name not in SKIP_NAMES
        try:
            enter = not (top and name == "activities") and e.is_dir() and not e.is_symlink()
        except OSError:
            enter = False
        if is_post or enter:
            items.append((e.path, is_post, enter))
    return items


def _name(entry: os.DirEntry) -> str:
    return entry.name
