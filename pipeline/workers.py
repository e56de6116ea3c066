"""Worker processes for work over many posts that is Python on one core (rendering and checking):
``loa preview`` renders its pages on them, ``loa publish`` its gate's checks.

The caller sets what the workers need in a module global before the first :meth:`Workers.map`
(the processes are forked then, and inherit the posts already read, the imported modules and the
compiled templates instead of each making their own); ``fn`` is a module-level function of the
caller that reads it. Forking is for a process that runs no other thread (a command, not the
daemon): a forked child inherits only the calling thread, and a lock another thread held stays
held in the child.
"""

from __future__ import annotations

import gc
import os

#: A barrier of the pool's processes, made with it (so the forked workers have it): a step that
#: must hand each worker exactly one task of a round waits there first (``loa preview``'s step 2).
BARRIER = None


class Workers:
    """Worker processes forked on first need and kept until :meth:`close` (one step after
    another may use them). A step with little work runs in this process."""

    def __init__(self, jobs: int | None):
        self.jobs = jobs or min(os.cpu_count() or 1, 8)
        self.pool = None

    def map(self, fn, chunks: list, big: bool):
        """``fn`` over ``chunks``, in any order (``big``: worth the workers)."""
        if self.jobs <= 1 or not big or not chunks:
            return map(fn, chunks)
        if self.pool is None:
            import multiprocessing

            global BARRIER
            gc.freeze()  # the collector must not visit (and so copy) the parent's objects in each worker
            context = multiprocessing.get_context("fork")
            BARRIER = context.Barrier(self.jobs)
            self.pool = context.Pool(self.jobs)
        return self.pool.imap_unordered(fn, chunks)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
            gc.unfreeze()  # a long-lived caller (tests, a server) gets its garbage collected again


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
