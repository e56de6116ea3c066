"""A post's cover image: where it really is, whether it may be used, and its hash.

:class:`Images` answers for one reading pass. Posts share images, so what one (folder, image) gave
is kept for the pass and each file's bytes are hashed once; nothing is kept between passes unless
the caller hands the previous pass's hashes on (:class:`pipeline.content.PostCache` does).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from pipeline.hashes import sha
from pipeline.models import Severity
from pipeline.paths import RealPaths

#: One problem with an image, without its place: (code, severity, message arguments). The reader
#: gives it the file and line of the post's ``image:`` key.
Finding = tuple[str, Severity, Mapping]

_REMOTE = re.compile(r"^[a-z]+://")


class Images:
    """The images of one reading pass over ``content_dir``.

    ``real`` resolves paths for the pass; ``earlier`` is the :attr:`hashed` of a previous pass:
    an image file whose (path, mtime, size, inode) did not change is not read again."""

    def __init__(self, content_dir: str | os.PathLike, real: RealPaths,
                 earlier: Mapping[tuple, tuple[bool, str]] | None = None) -> None:
        self._real = real
        self._root = real.folder(os.fspath(content_dir)).rstrip(os.sep) + os.sep
        self._earlier = earlier or {}
        self._seen: dict[tuple, tuple[Path | None, str | None, tuple[Finding, ...]]] = {}
        #: (real path, mtime_ns, size, inode) -> (looks like an image, hash), for the files this pass used
        self.hashed: dict[tuple, tuple[bool, str]] = {}

    def check(self, folder: str, image: str, max_bytes: int) -> tuple[Path | None, str | None, tuple[Finding, ...]]:
        """The real path and hash of ``image`` as written in a post in ``folder`` (``None, None``
        when it cannot be used), and the problems found."""
        key = (folder, image, max_bytes)
        known = self._seen.get(key)
        if known is None:
            known = self._seen[key] = self._check(folder, image, max_bytes)
        return known

    def _check(self, folder: str, image: str, max_bytes: int) -> tuple[Path | None, str | None, tuple[Finding, ...]]:
        found: list[Finding] = []

        def problem(code: str, **args) -> tuple[None, None, tuple[Finding, ...]]:
            found.append((code, Severity.ERROR, MappingProxyType(args)))
            return None, None, tuple(found)

        if _REMOTE.match(image):
            return problem("image.remote", value=image)
        if image.lower().endswith((".svg", ".svgz")):  # SVG can carry script: never a post image
            return problem("image.svg", value=image)
        real = self._real.join(folder, image)
        if not real.startswith(self._root):
            return problem("image.outside", value=image)
        try:
            st = os.stat(real)
        except (OSError, ValueError):  # ValueError: a NUL in the name
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            return problem("image.missing", value=image)
        size = st.st_size
        if size > max_bytes:  # reported, and the image still checked: the author sees every problem at once
            found.append(("image.too-big", Severity.ERROR,
                          MappingProxyType({"value": image, "size_kb": size // 1024, "max_kb": max_bytes // 1024})))
        key = (real, st.st_mtime_ns, size, st.st_ino)
        known = self.hashed.get(key) or self._earlier.get(key)
        if known is None:
            with open(real, "rb") as fh:
                data = fh.read()
            known = (looks_like_image(data), sha(data))
        self.hashed[key] = known
        if not known[0]:  # SVG content under another name too: it does not look like an image
            return problem("image.not-image", value=image)
        return Path(real), known[1], tuple(found)


def looks_like_image(data: bytes) -> bool:
    """PNG, JPEG, GIF or WebP (RIFF), by their first bytes. Not SVG: it can carry script."""
    return data.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF"))
