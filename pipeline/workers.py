"""Worker processes for work over many posts that is Python on one core (reading, rendering and
checking): ``loa preview`` reads many changed posts on them (:func:`read_many`),
``loa preview`` renders its pages on them, ``loa publish`` its gate's checks.

The caller sets what the workers need in a module global before the first :meth:`Workers.map`
(the processes are forked then, and inherit the posts already read, the imported modules and the
compiled templates instead of each making their own); ``fn`` is a module-level function of the
caller that reads it. Forking is for a process that runs no other thread (a command, not the
daemon): a forked child inherits only the calling thread, and a lock another thread held stays
held in the child.
"""

from __future__ import annotations

import copyreg
import gc
import os
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Iterator

#: A barrier of the pool's processes, made with it (so the forked workers have it): a step that
#: must hand each worker exactly one task of a round waits there first (``loa preview``'s step 2).
BARRIER = None


class Workers:
    """Worker processes forked on first need and kept until :meth:`close` (one step after
    another may use them). A step with little work runs in this process."""

    def __init__(self, jobs: int | None, lang: str = "vi"):
        self.jobs = jobs or min(os.cpu_count() or 1, 8)
        self.pool, self.lang = None, lang

    def map(self, fn, chunks: list, big: bool, *, ordered: bool = False):
        """``fn`` over ``chunks``, in any order unless ``ordered`` (``big``: worth the workers)."""
        if self.jobs <= 1 or not big or not chunks:
            return map(fn, chunks)
        if self.pool is None:
            import multiprocessing

            global BARRIER
            gc.freeze()  # the collector must not visit (and so copy) the parent's objects in each worker
            context = multiprocessing.get_context("fork")
            BARRIER = context.Barrier(self.jobs)
            self.pool = context.Pool(self.jobs)
            _widen(self.pool)
        return self._results((self.pool.imap if ordered else self.pool.imap_unordered)(fn, chunks))

    def _results(self, results) -> Iterator:
        """What ``results`` (the pool's iterator) gives. A worker that died (killed, out of memory)
        takes its task with it and the pool replaces it without a word: the iterator would wait
        for that task forever (``loa publish`` hung in its gate). That is raised instead."""
        import multiprocessing

        forked = list(self.pool._pool)  # the pool's own processes, which end only at close()
        while True:
            try:
                yield results.next(timeout=1)
            except StopIteration:
                return
            except multiprocessing.TimeoutError:
                if any(p.exitcode is not None for p in forked):
                    from pipeline.messages import text

                    raise RuntimeError(text("workers.lost", self.lang)) from None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
            gc.unfreeze()  # a long-lived caller (tests, a server) gets its garbage collected again


RESULT_PIPE = 1 << 20  # bytes the pipe of the workers' answers holds (Linux's default upper limit)


def _widen(pool) -> None:
    """Let the pipe that carries the workers' answers hold :data:`RESULT_PIPE` bytes (Linux; 64 KB
    by default). An answer is up to a megabyte (250 posts read): through a small pipe, the worker
    waits for the parent's result thread to take it piece by piece, and that thread waits for the
    interpreter lock while the parent works (the preview compiles its templates during the read),
    so the workers stood idle between their tasks. ``_outqueue`` is the pool's own and not
    documented: without it, or where the size cannot be set, the pipe stays as it is (slower,
    the same answers)."""
    try:
        import fcntl

        fcntl.fcntl(pool._outqueue._writer.fileno(), fcntl.F_SETPIPE_SZ, RESULT_PIPE)
    except (ImportError, AttributeError, OSError):
        pass


def chunks(todo: list, jobs: int, most: int) -> list[list]:
    """Consecutive slices of at most ``most``, each a share of what is left (guided scheduling):
    large slices first for few hand-overs, a few items each at the end so that the workers finish
    together."""
    out, i = [], 0
    while i < len(todo):
        size = max(8, min(most, (len(todo) - i) // (jobs * 3)))
        out.append(todo[i:i + size])
        i += size
    return out


READ_MIN = 300  # changed files from which worker processes read them (forking costs about as much as 30)
_READ_CFG = None  # the configuration read_many's workers read with, inherited through the fork


def read_many(cfg, jobs: int | None, meanwhile: Callable[[], object] | None, files: list[str]) -> Iterator[tuple]:
    """What ``content.read_post`` gives for each of ``files``, in their order (a session's
    ``read_many``, ``functools.partial`` over the first three): read by worker processes forked
    before anything else is in memory when there are many, while this process calls ``meanwhile()``;
    here otherwise. For a process that runs no other thread (see the module's docstring)."""
    global _READ_CFG
    from pipeline import content as content_mod

    pool = Workers(jobs)
    if pool.jobs <= 1 or len(files) < READ_MIN:
        reading = content_mod.Reading(cfg)
        yield from (content_mod.read_post(Path(f), cfg, reading=reading) for f in files)
        return
    _READ_CFG = cfg
    from pipeline import frontmatter  # noqa: F401 - content loads it on first read: here, before the fork, for all workers
    try:
        parts = pool.map(_read_chunk, chunks(files, pool.jobs, 250), True, ordered=True)
        if meanwhile is not None:
            meanwhile()
        for part in parts:
            yield from part
    finally:
        pool.close()
        _READ_CFG = None


def _read_chunk(files: list[str]) -> list[tuple]:
    """Worker of :func:`read_many`: one reading pass over consecutive files."""
    from pipeline import content as content_mod

    reading = content_mod.Reading(_READ_CFG)
    return [content_mod.read_post(Path(f), _READ_CFG, reading=reading) for f in files]


def _proxy(items: dict) -> MappingProxyType:
    return MappingProxyType(items)


# A Post's and a Problem's mappings are read-only views, which pickle does not know: read posts
# cross from read_many's workers as the dicts they show, and come back as views of them.
copyreg.pickle(MappingProxyType, lambda view: (_proxy, (dict(view),)))
