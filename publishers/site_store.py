"""The static site's record of what it published: a manifest (``.loa-site.json``) plus an
append-only journal (``.loa-site.journal``, one JSON line per change).

Why a journal: the site used to rewrite the whole manifest (and every index) for every article,
so publishing n articles wrote O(n²) bytes (1,517 posts took 139 s). Now an article costs one
appended line; the manifest is rewritten only when the journal has grown to a quarter of it
(compaction), and the indexes are written once per publish pass from the changes the journal
holds since its last ``{"indexed": true}`` marker, so a pass that crashed before writing them is
caught up by the next one. Group commit: a pass sends a group of articles, then the publisher's
``flush()`` makes their pages durable and only then writes their journal lines (kept in memory
until then, :meth:`SiteStore.append` with ``durable=False``) with one fsync; the engine records
the group's successes after that. So an item the ledger records as sent is on disk and found by
``lookup``, and a journal line never names a page a power cut lost.

Every path and name read back is checked as a new article's would be (the files they name are
written and deleted); a journal whose last line was cut by a crash loses only that line, which
was never acknowledged.
"""

from __future__ import annotations

import bisect
import json
import os
import re
from pathlib import Path
from typing import Callable

from pipeline.messages import Detail
from pipeline.paths import plain_name

MANIFEST = ".loa-site.json"
JOURNAL = ".loa-site.journal"
#: Folders of the index pages, the images and the search: an article type of that name would overwrite them.
RESERVED = frozenset({"loai", "don-vi", "chu-de", "luu-tru", "media", "tim-kiem", "trang"})
PAGE_PATH = re.compile(r"([a-z0-9][a-z0-9-]*)/([a-z0-9][a-z0-9-]*)\.html")
MEDIA_PATH = re.compile(r"media/[a-z0-9][a-z0-9-]*\.[a-z0-9]{1,8}")


class StoreProblem(ValueError):
    """The manifest or the journal cannot be used; the message says why."""


class SiteStore:
    """The published articles (``articles``: post id -> entry) and the old addresses that lead to
    them (``redirects``: path -> post id), kept in memory between calls and read again only when
    another process changed the files. ``file(rel)`` gives a checked path inside the site."""

    def __init__(self, file: Callable[[str], Path], write: Callable[[Path, str], None],
                 lists_of: Callable[[dict], list] | None = None):
        self._file, self._write = file, write
        self._lists_of = lists_of  # entry -> the paths of the lists that show it: the index below
        #: list path -> its post ids, in the order of ``articles`` (the last one names the list)
        self.lists: dict[str, dict[str, None]] = {}
        self._sorted: dict[str, list[str]] = {}  # list path -> its post ids in order (members()); made when asked
        self.place: dict[str, str] = {}  # post id -> where it stands in a list (place_of)
        self.articles: dict[str, dict] = {}
        self.redirects: dict[str, str] = {}
        self.pending: list[dict] = []  # changes since the indexes were last written
        #: changes applied here whose journal lines are not written yet (write_journal(), at the
        #: group's flush); applied again when the files are read anew
        self.unwritten: list[dict] = []
        self.by_path: dict[str, str] = {}  # page -> post id
        self.by_topic: dict[str, list[str]] = {}  # topic -> post ids, oldest first (related posts)
        self._sig: tuple | None = None
        self._stat_paths: tuple | None = None
        self._journal_lines = 0
        self._journal_size = 0  # bytes of the journal read or written so far (load() reads on from there)
        self._old: tuple | None = None  # (signature, old addresses): old_addresses()
        self._old_table: tuple | None = None  # (the manifest's signature, its redirects): old_addresses()

    def rebind(self, file: Callable[[str], Path], write: Callable[[Path, str], None]) -> "SiteStore":
        """This store, handed to another publisher of the same site (a new pass in the same
        process): its paths are checked by that publisher from now on."""
        self._file, self._write, self._stat_paths = file, write, None
        return self

    def forget(self) -> None:
        """Read everything again at the next load() (a change stopped halfway by an error)."""
        self._sig = None

    # -- reading ------------------------------------------------------------------------------
    def _signature(self) -> tuple:
        if self._stat_paths is None:  # only looked at (stat), never written through: checked once
            self._stat_paths = (self._file(MANIFEST), self._file(JOURNAL))
        out = []
        for path in self._stat_paths:
            try:
                st = os.stat(path)
                out.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    def load(self, locked: bool = True) -> "SiteStore":
        """Read the files again if another process changed them: only the journal's new lines when
        the manifest is the same and the journal only grew (another process appended), else all
        of them. Raises :class:`StoreProblem`; a read that fails leaves the store to be read anew.
        ``locked=False``: the caller does not hold the site's lock, so a last line without its end
        may be one a pass is writing: it is left as it is (and read by a later load)."""
        sig = self._signature()
        if sig == self._sig:
            return self
        old, self._sig = self._sig, None  # until read to the end: an error halfway means read all again
        kept = (old is not None and sig[0] == old[0] and sig[1] is not None
                and (old[1] is None or (sig[1][0] == old[1][0] and sig[1][1] > self._journal_size)))
        if not kept:
            base = self._read_manifest()
            self.articles, self.redirects = base["articles"], dict(base.get("redirects") or {})
            self.pending, self._journal_lines, self._journal_size = [], 0, 0
            self.by_topic, self.lists, self._sorted, self.place = {}, {}, {}, {}
            self.by_path = {a["path"]: pid for pid, a in self.articles.items()}
            for pid, a in self.articles.items():
                self._file_under_topics(pid, a)
                self._list(pid, a)
        elif old[1] is None:  # a journal begun on the same manifest: every line of it is new
            self._journal_size = 0
        read = self._read_journal(self._journal_size, cut=locked)
        for record in read:
            self._apply(record)
        if kept:  # applied before what was read now: a post another process wrote since is its
            touched = {_post_of(r) for r in read}
            self.unwritten = [r for r in self.unwritten if _post_of(r) not in touched]
        else:  # read anew: this process's changes not yet in the journal come after it, each
            ours = []  # unless another process changed its post since (see _post_of)
            for record in self.unwritten:
                if _same(self.articles.get(_post_of(record)), record.get("old")):
                    self._apply(record)
                    ours.append(record)
            self.unwritten = ours
        after = self._read_signature()
        # a manifest replaced while it was read (a compaction by a writer this reading, done
        # without the lock, did not wait for): what was read may be the old manifest without the
        # journal it went with; kept under the new signature it would never be read again
        self._sig = after if after[0] == sig[0] else None
        return self

    def _read_signature(self) -> tuple:
        """The signature, the journal's size as far as it was read: a line appended meanwhile by
        another process (a read without the lock) is read by the next load()."""
        sig = self._signature()
        if sig[1] is not None and sig[1][1] != self._journal_size:
            return (sig[0], (sig[1][0], self._journal_size, None))
        return sig

    def _read_manifest(self) -> dict:
        path = self._file(MANIFEST)
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"articles": {}, "redirects": {}}
        except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise StoreProblem(getattr(exc, "strerror", None) or str(exc)) from None
        problem = manifest_problem(manifest)
        if problem:
            raise StoreProblem(problem)
        return manifest

    def _read_journal(self, start: int = 0, cut: bool = True) -> list[dict]:
        """The journal's lines from byte ``start`` on (where the last read ended); ``cut``: drop a
        last line without its end from the file (only under the lock)."""
        path = self._file(JOURNAL)
        try:
            with open(path, "rb") as fh:
                fh.seek(start)
                data = fh.read()
        except FileNotFoundError:
            return []
        good = data[:data.rfind(b"\n") + 1]
        if len(good) != len(data) and cut:  # a line cut by a crash: never acknowledged, dropped
            with open(path, "r+b") as fh:
                fh.truncate(start + len(good))
        out = []
        for n, line in enumerate(good.splitlines(), self._journal_lines + 1):
            try:
                record = json.loads(line)
            except ValueError:
                raise StoreProblem(Detail("site.store.line-not-json", n=n, journal=JOURNAL)) from None
            problem = record_problem(record)
            if problem:
                raise StoreProblem(Detail("site.store.line", n=n, journal=JOURNAL, problem=problem))
            out.append(record)
        self._journal_size = start + len(good)
        return out

    def _apply(self, record: dict) -> None:
        self._journal_lines += 1
        if record.get("indexed"):
            self.pending = []
            return
        self.pending.append(record)
        if "put" in record:
            pid, entry = record["put"], record["entry"]
            old = self.articles.pop(pid, None)
            if old is not None and self.by_path.get(old["path"]) == pid:
                del self.by_path[old["path"]]
            self._unlist(pid, old)
            self.by_path[entry["path"]] = pid  # a new version goes to the end: the newest last
            self.articles[pid] = entry
            self._file_under_topics(pid, entry)
            self._list(pid, entry)
            self.redirects.pop(entry["path"], None)
            if record.get("redirect"):
                self.redirects[record["redirect"]] = pid
        else:
            pid = record["del"]
            old = self.articles.pop(pid, None)
            if old is not None and self.by_path.get(old["path"]) == pid:
                del self.by_path[old["path"]]
            self._unlist(pid, old)
            for path in [p for p, owner in self.redirects.items() if owner == pid]:
                del self.redirects[path]

    def _file_under_topics(self, pid: str, a: dict) -> None:
        for tid in a.get("topics") or ():
            self.by_topic.setdefault(tid, []).append(pid)

    def _list(self, pid: str, a: dict) -> None:
        if self._lists_of is None:
            return
        place = self.place[pid] = place_of(a)
        for path in self._lists_of(a):
            members = self.lists.get(path)
            if members is None:
                members = self.lists[path] = {}
            members[pid] = None
            order = self._sorted.get(path)
            if order is not None:
                order.insert(bisect.bisect_left(order, place, key=self.place.__getitem__), pid)

    def _unlist(self, pid: str, a: dict | None) -> None:
        if self._lists_of is None or a is None:
            return
        for path in self._lists_of(a):
            members = self.lists.get(path)
            if members is None or pid not in members:
                continue
            del members[pid]
            if not members:
                del self.lists[path]
            order = self._sorted.get(path)
            if order is not None:
                i = bisect.bisect_left(order, self.place[pid], key=self.place.__getitem__)
                if i < len(order) and order[i] == pid:
                    del order[i]
                else:  # not where it should be: sorted again when next asked
                    del self._sorted[path]
        self.place.pop(pid, None)

    def members(self, path: str) -> list[str]:
        """The post ids of list ``path``, oldest first (by :func:`place_of`: the order of its
        pages); kept in order from then on as articles come and go."""
        order = self._sorted.get(path)
        if order is None:
            order = self._sorted[path] = sorted(self.lists.get(path, ()), key=self.place.__getitem__)
        return order

    def related(self, pid: str, topics, n: int = 4) -> list[dict]:
        """Up to ``n`` articles sharing a topic with ``pid``, the latest published first."""
        out: dict[str, dict] = {}
        for tid in topics or ():
            for other in reversed(self.by_topic.get(tid, ())):
                a = self.articles.get(other)
                if len(out) >= n:
                    break
                if other != pid and other not in out and a is not None and tid in (a.get("topics") or {}):
                    out[other] = a
        return list(out.values())[:n]

    # -- writing ------------------------------------------------------------------------------
    def append(self, record: dict, durable: bool = True) -> None:
        """Add one change: on disk (fsynced) before this returns, with every change not yet
        written before it; ``durable=False``: in memory now, its line written by the next
        :meth:`write_journal` (the caller holds the site's lock for both)."""
        problem = record_problem(record)
        if problem:
            raise StoreProblem(problem)
        self._apply(record)
        self.unwritten.append(record)
        if durable:
            self.write_journal()

    def write_journal(self) -> None:
        """Append the lines of the changes not yet written, in one write and one fsync."""
        if not self.unwritten:
            return
        data = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
                       for r in self.unwritten).encode("utf-8")
        fd = os.open(self._file(JOURNAL), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
            st = os.fstat(fd)
        finally:
            os.close(fd)
        self.unwritten = []
        # the journal as these lines left it; the manifest as load() found it (the caller holds the lock)
        journal = (st.st_ino, st.st_size, st.st_mtime_ns)
        self._journal_size = st.st_size
        self._sig = (self._sig[0], journal) if self._sig is not None else self._signature()

    def mark_indexed(self) -> None:
        """The indexes now show every change: compact when the journal has grown, else mark it."""
        if not self.pending and self._journal_lines == 0:
            return
        if (not self._file(MANIFEST).exists() or self._journal_lines >= max(64, len(self.articles) // 4)):
            self.compact()
        else:
            self.append({"indexed": True})

    def compact(self) -> None:
        """Write the manifest with every change and start an empty journal."""
        self._write(self._file(MANIFEST), json.dumps({"articles": self.articles, "redirects": self.redirects},
                                                     ensure_ascii=False, separators=(",", ":"), default=str))
        self._file(JOURNAL).unlink(missing_ok=True)
        self.pending, self._journal_lines, self._journal_size, self.unwritten = [], 0, 0, []
        self._sig = self._signature()

    def set_aside(self, stamp: str) -> Path | None:
        """Rename the manifest and the journal to ``<name>.<stamp>``; the manifest's new name, or
        ``None`` when there was neither. The old addresses they record stay claimed: a new
        manifest holds them alone (no article), so that no post rewritten after this takes one."""
        kept = self.old_addresses()
        first = None
        for name in (MANIFEST, JOURNAL):
            path = self._file(name)
            if path.exists():
                aside = self._file(f"{name}.{stamp}")
                os.replace(path, aside)
                first = first or aside
        self._sig = None
        if kept:
            self.articles, self.redirects, self.by_path, self.by_topic, self.lists, self._sorted = {}, kept, {}, {}, {}, {}
            self.compact()
        return first

    def old_addresses(self) -> dict[str, str]:
        """The old addresses (path -> post id) the manifest and the journal record, read without
        a lock and without writing (``loa check`` reads them while a pass may append), as far as
        they can be: from a damaged manifest, its ``redirects`` table when that is still JSON; from
        a damaged journal, each line that is. A file that is not JSON at all gives nothing (the
        redirect pages stay online; their addresses are then no longer claimed, docs/configuration.md).
        Kept until the files change; the manifest's table until the manifest changes (a pass only
        appends to the journal: at 20,000 articles the manifest is 14 MB of JSON)."""
        sig = self._signature()
        if self._old is None or self._old[0] != sig:
            if self._old_table is None or self._old_table[0] != sig[0] or sig[0] is None:
                self._old_table = (sig[0], self._read_old_table())
            self._old = (sig, self._read_old_addresses(dict(self._old_table[1])))
        return dict(self._old[1])

    def _read_old_table(self) -> dict[str, str]:
        try:
            table = json.loads(self._file(MANIFEST).read_text(encoding="utf-8")).get("redirects")
            return {p: o for p, o in table.items() if _redirect_problem(p) is None and isinstance(o, str)}
        except (OSError, ValueError, AttributeError):  # no file, not JSON, not a table
            return {}

    def _read_old_addresses(self, out: dict[str, str]) -> dict[str, str]:
        """``out`` (the manifest's old addresses) with the journal's lines applied."""
        try:
            lines = self._file(JOURNAL).read_bytes().splitlines()
        except OSError:
            lines = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record_problem(record) is not None or record.get("indexed"):
                continue
            pid = record["put"] if "put" in record else record["del"]
            if "put" in record:
                out.pop(record["entry"]["path"], None)
            else:
                out = {p: o for p, o in out.items() if o != pid}
            if record.get("redirect"):
                out[record["redirect"]] = pid
        return out


def _post_of(record: dict) -> str | None:
    """The post a journal record changes (``None``: an ``indexed`` marker).

    A line this process has not written yet (a group's flush that failed: the daemon keeps its
    store, and the item is retried) is stale once another process wrote a line for the same post:
    that one took the item over (its claim ran out, or it was given back as a retry) and sent it
    again, maybe edited. Written after it, the stale line would take the site's record back."""
    return record.get("put") or record.get("del")


def _same(a: dict | None, b: dict | None) -> bool:
    """Two manifest entries alike as the journal writes them (one may have been read from it)."""
    def text(e):
        return json.dumps(e, ensure_ascii=False, sort_keys=True, default=str)
    return a is b or text(a) == text(b)


def place_of(a: dict) -> str:
    """Where an article stands in a list, as one string: by publication, then page path (unique),
    as the pair ``(publish_at, path)`` sorts (NUL sorts before every character of a date)."""
    return f"{a.get('publish_at') or ''}\x00{a['path']}"


def _entry_problem(pid, a, plain: set | None = None) -> str | None:
    """Why entry ``a`` cannot be used, or ``None``. ``plain``: names already found plain (a
    manifest names the same few types, units and topics thousands of times)."""
    if not isinstance(a, dict) or not isinstance(a.get("path"), str) or not PAGE_PATH.fullmatch(a["path"]):
        return Detail("site.store.no-path", pid=repr(pid))
    if a["path"].split("/", 1)[0] in RESERVED or not isinstance(a.get("title"), str):
        return Detail("site.store.reserved-or-untitled", pid=repr(pid))
    plain = set() if plain is None else plain
    topics = a.get("topics") or {}
    names = [*topics.items(), *((a.get(k), "") for k in ("type", "unit") if a.get(k) is not None)] \
        if isinstance(topics, dict) else None
    for name, label in names if names is not None else [(None, None)]:
        if not isinstance(label, str) or not isinstance(name, str) or (name not in plain and not plain_name(name)):
            return Detail("site.store.not-plain-name", pid=repr(pid))
        plain.add(name)
    if a.get("image") is not None and not (isinstance(a["image"], str) and MEDIA_PATH.fullmatch(a["image"])):
        return Detail("site.store.bad-image", pid=repr(pid))
    return None


def _redirect_problem(path) -> str | None:
    if not isinstance(path, str) or not PAGE_PATH.fullmatch(path) or path.split("/", 1)[0] in RESERVED:
        return Detail("site.store.bad-redirect", path=repr(path))
    return None


def manifest_problem(manifest) -> str | None:
    """Why ``manifest`` cannot be used, or ``None``. Its paths and names become files to write and
    delete, so each is checked as a new article's would be."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("articles"), dict):
        return Detail("site.store.no-articles")
    plain: set[str] = set()
    for pid, a in manifest["articles"].items():
        problem = _entry_problem(pid, a, plain)
        if problem:
            return problem
    redirects = manifest.get("redirects") or {}
    if not isinstance(redirects, dict):
        return Detail("site.store.redirects-not-table")
    return next((p for p in map(_redirect_problem, redirects) if p), None)


def record_problem(record) -> str | None:
    """Why a journal line cannot be used, or ``None``."""
    if not isinstance(record, dict):
        return Detail("site.store.not-object")
    if record.get("indexed") is True:
        return None
    if isinstance(record.get("put"), str):
        return (_entry_problem(record["put"], record.get("entry"))
                or (record.get("old") is not None and _entry_problem(record["put"], record["old"]))
                or (record.get("redirect") is not None and _redirect_problem(record["redirect"])) or None)
    if isinstance(record.get("del"), str):
        return _entry_problem(record["del"], record.get("old")) or None
    return Detail("site.store.no-operation")
