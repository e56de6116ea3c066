"""Where things are, found with ``os`` alone: the config file, the templates, the posts (the one
lister, :func:`post_files`, and its incremental form :class:`Listing`), the files' stat signatures
(:func:`signatures`) and real paths (:class:`RealPaths`); and the one containment check every path Loa
writes or deletes goes through (:func:`inside`, :func:`plain_name`).

Uses ``os`` (and ``re``) alone and imports nothing heavy, so that any command may ask where things are and
whether they changed before it loads the rest of Loa.
"""

from __future__ import annotations

import os
import re
import stat
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

CONFIG_NAME = "config.toml"
SHIPPED_TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "templates")
SKIP_NAMES = frozenset({"README.md", "readme.md"})  # never posts


def config_file(explicit: str | os.PathLike | None = None, cwd: str | None = None) -> str | None:
    """The config file: ``--config PATH`` if given (a folder means its ``config.toml``), else the
    first ``config.toml`` in the current folder or one of its parents, as git finds ``.git``: Loa
    works from any folder of the content repository (``content/news/2024``). ``None``: none up to
    the file system's root. Relative paths in the file are read from its own folder (the
    configuration's ``root``), wherever Loa was started."""
    if explicit:
        p = os.fspath(explicit)
        return os.path.join(p, CONFIG_NAME) if os.path.isdir(p) else p
    folder = os.path.abspath(cwd or os.getcwd())
    while True:
        p = os.path.join(folder, CONFIG_NAME)
        if os.path.isfile(p):
            return p
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


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


#: A name taken from front matter or config that may become part of a file name: lower-case ASCII
#: letters, digits and dashes, starting with a letter or digit (the shape of a slug and a config id).
_PLAIN_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,119}")


def plain_name(value: object) -> bool:
    """Whether ``value`` is a plain name (``[a-z0-9][a-z0-9-]*``, at most 120 characters) that may
    stand as one part of a file name: no ``/``, ``..``, dot, space, control character or capital."""
    return isinstance(value, str) and _PLAIN_NAME.fullmatch(value) is not None


def inside(folder: str | os.PathLike, *parts: str | os.PathLike, real: "RealPaths | None" = None) -> Path:
    """``folder/parts...`` as a resolved path, checked to stay inside ``folder``.

    Raises ``ValueError`` when the path leaves ``folder`` (``..``, an absolute part, a symlink,
    in the folder or at the end, that points elsewhere; a NUL), or is ``folder`` itself. Call it
    right before every write, rename or deletion whose path is built from a value Loa does not
    control (front matter, config, a manifest kept in the site), and use the path it returns.

    ``real`` (one per pass, as :class:`RealPaths` says) keeps the real path of ``folder`` itself:
    the verdict does not depend on it (every part below ``folder`` is still looked at on every
    call, so a link made in the site during the pass is caught); only a folder moved or replaced
    by a link above the site during the pass makes the path returned the old spelling of the same
    place. The parts below ``folder`` cost one ``lstat`` each when none is a link and none is
    ``.``, ``..`` or empty, which resolves exactly as ``os.path.realpath`` does (it looks at the
    same names); anything else takes ``os.path.realpath`` itself.
    """
    from pathlib import Path

    names = [os.fspath(p) for p in parts]
    base = real.folder(os.fspath(folder)) if real is not None else os.path.realpath(folder)
    if any("\x00" in n for n in names):
        raise ValueError(f"a path inside {base} contains a NUL character: {names!r}")
    target = _below(base, names)
    if not names or target == base or not target.startswith(base.rstrip(os.sep) + os.sep):
        raise ValueError(f"{os.path.join(*names) if names else '(nothing)'!r} leads outside {base}")
    return Path(target)


def _below(base: str, names: list[str]) -> str:
    """``os.path.realpath(os.path.join(base, *names))`` for a real ``base``: the names joined when
    each is a plain part that is not a link (missing is fine: ``realpath`` keeps a missing name as
    it is, and so does this), else ``realpath`` itself."""
    full = os.path.join(base, *names) if names else base
    if os.sep != "/" or not names or any(n.startswith("/") for n in names):
        return os.path.realpath(full)
    comps = "/".join(names).split("/")
    if any(c in _ODD_PARTS for c in comps):
        return os.path.realpath(full)
    path = base.rstrip("/")
    lstat, is_link = os.lstat, stat.S_ISLNK
    for c in comps:
        path = f"{path}/{c}"
        try:
            mode = lstat(path).st_mode
        except OSError:  # missing, or not a folder: realpath (not strict) takes it as it is too
            continue
        if is_link(mode):
            return os.path.realpath(full)
    return path


_ODD_PARTS = frozenset({"", ".", ".."})


def templates_dirs(root: str | os.PathLike) -> list[str]:
    """The content repository's own ``templates/`` first, if it has one, then the ones shipped with Loa."""
    own = os.path.join(root, "templates")
    if os.path.isdir(own) and os.path.realpath(own) != SHIPPED_TEMPLATES:
        return [own, SHIPPED_TEMPLATES]
    return [SHIPPED_TEMPLATES]


#: A folder listed less than this long after its last change is listed again next time: a change
#: within the same timestamp tick as the listing would not move the folder's mtime (racy mtime).
_RACY_NS = 3_000_000_000


def post_files(content_dir: str | os.PathLike, paths=None, listing: "Listing | None" = None) -> list[str]:
    """Every post file under ``content_dir``, or under the given files and folders: every name
    ending in ``.md`` but README, not under ``content_dir/activities`` (activities are not posts),
    sorted as ``sorted(Path(root).rglob("*.md"))`` sorts, each once. A given file is taken as it is
    (a dangling link too: reading it reports it). ``listing`` keeps the folders of ``content_dir``
    between calls (see :class:`Listing`); it is used only when no paths are given."""
    content_dir = os.fspath(content_dir)
    if not paths:
        return (listing or Listing()).scan(content_dir)
    activities = os.path.join(content_dir, "activities")
    out: list[str] = []
    seen: set[str] = set()
    for root in paths:
        root = _as_path_str(root)
        if os.path.isfile(root) or (os.path.islink(root) and not os.path.isdir(root)):
            found = [root]
        else:
            found = Listing()._walk(root, activities)
        for f in found:
            if os.path.basename(f) in SKIP_NAMES or _under(f, activities) or f in seen:
                continue
            seen.add(f)
            out.append(f)
    return out


def _as_path_str(path: str | os.PathLike) -> str:
    # spelled as pathlib spells it (no ".", no doubled or trailing "/"), as iter_post_files always did
    from pathlib import PurePath

    return str(PurePath(path))


def _under(path: str, folder: str) -> bool:
    # by name, as Path.relative_to decides: a link pointing into activities/ is not under it
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def signatures(files) -> list[int]:
    """(mtime_ns, size, inode) of each file as one int (each field fits in its 64 bits), ``-1`` for a
    file that cannot be stat'ed. Equal signatures: the file was not rewritten, replaced or touched.
    The one place every cache of file contents (posts, preview pages) asks whether a file changed."""
    stat = os.stat
    out = []
    for f in files:
        try:
            st = stat(f)
        except (OSError, ValueError):  # ValueError: a NUL in the name
            out.append(-1)
            continue
        out.append(st.st_mtime_ns << 128 | st.st_size << 64 | st.st_ino)
    return out


class Listing:
    """:func:`post_files` of a ``content_dir``, each folder listed again only when its mtime moved
    (adding, removing or renaming an entry always moves it; editing a file does not, which is why
    :class:`pipeline.content.PostCache` stats every file).

    The walk: every name ending in ``.md`` (files, and whatever else ``rglob`` matches); symlinked
    folders are not entered; unreadable folders are passed over; depth-first over names sorted by
    code point is exactly the order of sorted path parts. A fresh ``Listing`` is a plain walk."""

    def __init__(self) -> None:
        # folder -> (mtime_ns, trusted, [(path, is a post name, enter it)], [subfolders])
        self._dirs: dict[str, tuple[int | None, bool, list[tuple[str, bool, bool]], list[str]]] = {}
        self._top = ""
        self._files: list[str] = []

    def scan(self, content_dir: str) -> list[str]:
        """The post files of ``content_dir`` (``activities/`` left out), as strings."""
        return self._walk(content_dir, os.path.join(content_dir, "activities"))

    def _walk(self, top_dir: str, skip: str) -> list[str]:
        start = time.time_ns()
        seen: dict[str, tuple] = {}
        old = self._dirs if top_dir == self._top else {}
        changed = False

        def visit(folder: str) -> None:
            nonlocal changed
            try:
                mtime: int | None = os.stat(folder).st_mtime_ns
            except OSError:
                mtime = None
            hit = old.get(folder)
            if hit is None or not hit[1] or hit[0] != mtime:
                changed = True
                items = _list_folder(folder, skip)
                hit = (mtime, mtime is not None and start - mtime > _RACY_NS, items,
                       [path for path, _post, enter in items if enter])
            seen[folder] = hit
            for sub in hit[3]:
                visit(sub)

        if os.path.isdir(top_dir):
            visit(top_dir)
        if changed or seen.keys() != old.keys():
            files: list[str] = []

            def flatten(folder: str) -> None:
                for path, is_post, enter in seen[folder][2]:
                    if is_post:
                        files.append(path)
                    if enter:
                        flatten(path)
            if top_dir in seen:
                flatten(top_dir)
            self._files = files
        self._dirs, self._top = seen, top_dir
        return self._files


def _list_folder(folder: str, skip: str) -> list[tuple[str, bool, bool]]:
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
            enter = e.path != skip and e.is_dir() and not e.is_symlink()
        except OSError:
            enter = False
        if is_post or enter:
            items.append((e.path, is_post, enter))
    return items


def _name(entry: os.DirEntry) -> str:
    return entry.name


class RealPaths:
    """``os.path.realpath`` for one pass over the content: the real path of every folder is kept
    for the life of the object, so that a post's image and its links to other posts cost one
    ``lstat`` instead of one per path component. Make one per pass (folders may be moved or
    replaced by links between passes)."""

    def __init__(self) -> None:
        self._dirs: dict[str, str] = {}

    def folder(self, folder: str) -> str:
        """``os.path.realpath(folder)``."""
        real = self._dirs.get(folder)
        if real is None:
            real = self._dirs[folder] = os.path.realpath(folder)
        return real

    def join(self, folder: str, rel: str) -> str:
        """``os.path.realpath(os.path.join(folder, rel))``. ``..`` is applied to the folder's real
        path, which is exact; a ``..`` after a name inside ``rel`` (that name may be a link) takes
        the long way."""
        if "\x00" in rel:  # no file has such a name (the system refuses it): nothing to resolve
            return os.path.join(folder, rel)
        parts = rel.split("/")
        i = 0
        while i < len(parts) and parts[i] in ("..", ".", ""):
            i += 1
        if ".." in parts[i:]:
            return os.path.realpath(os.path.join(folder, rel))
        head, name = os.path.split(os.path.normpath(os.path.join(self.folder(folder), rel)))
        full = os.path.join(self.folder(head), name)
        return os.path.realpath(full) if os.path.islink(full) else full


def real_join(folder: str, rel: str) -> str:
    """``os.path.realpath(os.path.join(folder, rel))`` with nothing kept: for many paths of one pass,
    use one :class:`RealPaths`."""
    return RealPaths().join(folder, rel)


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) whole or not at all: a fresh temporary file beside it
    (``mkstemp``, so a link planted under a predictable name is never written through), then a
    rename over the file (which replaces a link at ``path`` rather than writing where it points)."""
    import tempfile

    folder, name = os.path.split(os.fspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".loa-tmp", dir=folder or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
