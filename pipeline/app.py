"""The application layer: one :class:`Session` (config + ledger + what is worth keeping between
calls) and the use cases every front end calls. ``docs/architecture.md`` draws the layers.

Front ends (the ``loa`` verbs, the ``loa run`` daemon, the web console) parse input, call a
method here and present the answer. The stages below (content, checks, render, plan, publish,
ledger, report, ingest) know nothing of who calls them. This is the only place that wires stages
together, and :meth:`Session.plan` is the only place where the state of a post on a channel is
decided from everything that bears on it: the posts, the ledger's rows, pauses, holds, a vendor's
requested wait, and each channel's spacing (what was sent today, and when last).

Caches have one owner, this session, and explicit keys:

* posts: re-read per file when its (mtime, size, inode) changed; the content ``revision`` names
  the whole set;
* the renderer: rebuilt when a template file changes; its article HTML is dropped when the
  content revision changes (a link to another post renders that post's *current* address);
* the plan's settled verdicts: reused only for the same content revision and config, and
  decided again where the ledger row changed (the snapshot's ``rev`` names the ledger's state).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from time import monotonic
from types import MappingProxyType
from typing import Callable, Collection, Mapping

from pipeline import paths
from pipeline import plan as planmod
from pipeline import workers
from pipeline.content import PostCache
from pipeline.errors import LedgerError, LedgerUnavailable, PublishError, UsageError
from pipeline.hashes import sha
from pipeline.messages import Detail  # a user error is its English text (logs) and its code (loa speaks vi/en)
from pipeline.ledger import open_ledger
from pipeline.models import Post, Problem, Severity

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def actor_name(given: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Who acts, for the ledger's audit trail: the name given, else ``LOA_ACTOR``, else the login."""
    env = os.environ if env is None else env
    if given or env.get("LOA_ACTOR"):
        return given or env["LOA_ACTOR"]
    import getpass  # here: most commands name no actor, and a re-run of preview none

    return getpass.getuser()


@dataclass(frozen=True)
class Content:
    """The posts of one content revision and the problems found reading them."""

    posts: list[Post]
    problems: list[Problem]
    revision: object


@dataclass(frozen=True)
class Checked:
    """Every problem of one content revision (reading, each post, links, duplicates), sorted by
    file and line; ``blocked`` the files with an error, which the publish gate holds."""

    problems: list[Problem]
    blocked: frozenset[str]

    def of(self, relpath: str) -> list[Problem]:
        return [p for p in self.problems if p.path == relpath]


class Session:
    """The configuration, the ledger and the caches of one process; the use cases.

    ``ledger_factory()`` opens a new ledger connection: the session keeps one for itself and the
    publishing engine opens one per channel thread. ``clock()`` is the current time (aware);
    tests and ``--now`` inject it. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, cfg, ledger_factory: Callable[[], object] | None = None, *,
                 clock: Callable[[], datetime] | None = None, env: Mapping[str, str] | None = None,
                 publisher_factory: Callable | None = None, owner: str | None = None):
        self.cfg = cfg
        self.ledger_factory = ledger_factory or (lambda: open_ledger(cfg.ledger_url, cfg.root))
        self.clock = clock or utc_now
        self.env = os.environ if env is None else env
        # 24 random bits, as uuid4().hex[:6] gave, without importing uuid (3 ms, and platform)
        self.owner = owner or f"{os.uname().nodename}:{os.getpid()}:{os.urandom(3).hex()}"
        self.stop = threading.Event()  # set by the daemon on SIGTERM: no new item is started
        self._ledger = None
        self._posts = PostCache()
        self._renderer = None
        self._renderer_key: tuple | None = None
        self._plan_key: tuple | None = None
        self._plan_reuse: planmod.Plan | None = None
        self._estimates: dict[tuple[str, str, str], float] = {}  # loudspeaker reading times (_estimator)
        self._histories: dict[str, tuple] = {}  # loudspeaker channel -> (ledger rev, its broadcast rows)
        self._keepers: dict[str, object] = {}  # channel -> publisher whose old addresses check reads (_with_addresses)
        self._checked: tuple[tuple, Checked, list] | None = None
        # links and duplicates across posts, kept between revisions: an edit rechecks what it touches
        from pipeline import checks  # loaded already (pipeline.plan imports it)

        self._link_index, self._duplicate_index = checks.LinkIndex(), checks.DuplicateIndex()
        self._calendar_index: tuple[tuple, object] | None = None  # (key, calendar.TimeIndex)
        #: Seconds for which :meth:`content` trusts its last look at the files without looking again
        #: (0: it looks every time, as the daemon and the commands need). The web console sets
        #: one second: a page is then not slowed by a stat of every post file, and a file changed
        #: by hand shows at most that much later; this session's own writes look again at once.
        self.content_max_age = 0.0
        self._content_read: tuple[float, Content] | None = None
        self._shown: tuple | None = None  # (now, (content revision, ledger rev), plan): _shown_plan
        self._post_problems: dict[tuple, tuple[Problem, ...]] = {}
        self._approvals: tuple[object, dict[tuple, bool]] | None = None  # (content revision, kept): _approved
        self._templates_sig: tuple[tuple, str] | None = None  # (stat signatures, checkcache.templates_signature)
        self._unstored: set[tuple] = set()  # _version of own problems handed over, not yet in the ledger
        #: Whether :meth:`check` writes first what :meth:`remember_problems` was handed; off, the
        #: caller calls :meth:`store_remembered` (``loa preview``: while its workers fill pages).
        self.store_at_check = True
        #: During :meth:`publish` only: the renderings the publish gate made, kept for the send
        #: (``None``: keep none), :class:`_PassRenderings`.
        self._pass_renderings: _PassRenderings | None = None
        #: Whether :meth:`check` reads and writes the ledger's problem cache (pipeline/checkcache.py):
        #: set by :meth:`open`, whose ledger is migrated; ``loa check`` and ``loa approve`` open none.
        self.check_cache = False
        self._announced: set[tuple[str, str]] = set()  # (file, version) held for errors, logged once
        #: ``factory(channel, ledger) -> Publisher``; ``None``: the channel type's registered class
        self.publisher_factory = publisher_factory

    @classmethod
    def open(cls, cfg, **kw) -> "Session":
        """A session on ``cfg``'s ledger, migrated to the current schema."""
        session = cls(cfg, **kw)
        session.ledger.migrate()
        session.check_cache = True
        return session

    # -- resources ------------------------------------------------------------------------
    @property
    def ledger(self):
        """The session's own ledger connection, opened on first use."""
        if self._ledger is None:
            self._ledger = self.ledger_factory()
        return self._ledger

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def accounts(self):
        """The web console's people and sessions (:class:`pipeline.accounts.Accounts`)."""
        from pipeline.accounts import Accounts

        return Accounts(self.ledger, self.clock)

    def _drop_ledger(self) -> None:
        """After ``LedgerUnavailable``: the next call opens a fresh connection."""
        try:
            self.close()
        except Exception:  # noqa: BLE001 - the connection is already broken
            self._ledger = None

    # -- the caches -----------------------------------------------------------------------
    def content(self, paths_: list[Path] | None = None, *, read_many=None, listed=None) -> Content:
        """Every post (or those under ``paths_``), read again only where a file changed.
        ``read_many``: reads the changed files elsewhere; ``listed``: the post files and their
        signatures, just made by the caller (:meth:`pipeline.content.PostCache.read_all`)."""
        if paths_ is not None:
            posts, problems = PostCache().read_all(self.cfg, paths_, read_many=read_many)
            return Content(posts, problems, ("paths", tuple(map(str, paths_))))
        if self.content_max_age > 0 and self._content_read is not None \
                and monotonic() - self._content_read[0] < self.content_max_age:
            return self._content_read[1]
        posts, problems = self._posts.read_all(self.cfg, read_many=read_many, listed=listed)
        content = Content(posts, problems, self._posts.revision)
        self._content_read = (monotonic(), content)
        return content

    def renderer(self, content: Content | None = None):
        """The renderer for the current templates and content (see the module's docstring)."""
        content = content or self.content()
        self._templates_renderer()
        if self._renderer_key[1] != content.revision:
            self._renderer.use_posts(content.posts)
            self._renderer_key = (self._renderer_key[0], content.revision)
        return self._renderer

    def prepare_renderer(self) -> None:
        """Make the renderer for the current templates and compile every channel's template now,
        before the posts are known (``loa preview`` does it while worker processes read them):
        :meth:`renderer` then only hands it the posts."""
        self._templates_renderer().load_templates(self.cfg.channels)

    def _templates_renderer(self):
        """The renderer kept while the templates (files and stat signatures) stay the same."""
        from pipeline.render import Renderer

        files = [str(f) for d in self.cfg.templates_dirs for f in sorted(Path(d).rglob("*")) if f.is_file()]
        # a digest, not the listing itself: it goes into the key of every post's problems
        # (_version), hashed at each lookup, and a tuple's hash is not kept
        templates = sha(repr((files, paths.signatures(files))), 32)
        if self._renderer is None or self._renderer_key[0] != templates:
            self._renderer = Renderer(self.cfg)
            self._renderer_key = (templates, None)
        return self._renderer

    def check(self, content: Content | None = None, *, text: bool = True) -> Checked:
        """Every problem of the posts: what ``loa check`` prints and what the publish gate reads.

        A post's own problems (front matter against the config, its renderings against the
        channels' limits) are kept per file version and templates, and so are its text-quality
        warnings; links and duplicate ids depend on the other files and are looked at again
        whenever any file changed. ``text=False`` leaves out the text-quality warnings, which are
        never errors (``checks.check_text``), so the files held (``blocked``) are the same."""
        from pipeline import checks

        content = content or self.content()
        renderer = self.renderer(content)
        templates = self._renderer_key[0]
        key = (content.revision, templates, text)
        if self._checked is not None and self._checked[0] == key and (
                # a link to a file that is not a post rests on a file the revision does not list:
                # resolved again (LinkIndex: those links only) and the rest kept if they say the same
                not self._link_index.unsteady() or self._site_links(content) == self._checked[2]):
            return self._with_addresses(self._checked[1], content)
        problems = list(content.problems)
        kept: dict[tuple, dict[str, tuple[Problem, ...]]] = {}
        for post in content.posts:
            kept[_version(post, templates)] = dict(self._post_problems.get(_version(post, templates), {}))
        self._stored_problems(content, kept, templates, text)
        for post in content.posts:
            parts = kept[_version(post, templates)]
            problems.extend(parts["own"])
            problems.extend(parts.get("text", ()) if text else ())
        links = self._site_links(content)
        problems.extend(links)
        problems.extend(checks.check_duplicates(content.posts, index=self._duplicate_index))
        problems.sort(key=lambda p: (p.path, p.line, p.col, p.code))
        self._post_problems = kept
        checked = Checked(problems, frozenset(p.path for p in problems if p.severity is Severity.ERROR))
        self._checked = (key, checked, links)
        return self._with_addresses(checked, content)

    def check_across(self, content: Content, handed_over: Collection[str] = ()) -> None:
        """Do now the part of :meth:`check` that reads no post's own problems: every post's links
        and ids against the others (kept in the session's indexes, which the check then only
        brings up to date), the signatures of the problem cache's keys and the plan's approvals,
        but those of the post files in ``handed_over`` (:meth:`remember_approval`). For a caller
        with an idle moment before it checks: ``loa preview`` while its workers render."""
        from pipeline import checkcache, checks

        self._site_links(content)
        checks.check_duplicates(content.posts, index=self._duplicate_index)
        checkcache.code_signature()
        self._templates_signature()
        approved = self._approved(content)
        for post in content.posts:
            if str(post.path) not in handed_over:
                approved(post)

    def remember_approval(self, content: Content, post: Post, verdict: bool) -> None:
        """:func:`pipeline.checks.is_approved` of ``post`` (of ``content``) worked out elsewhere
        with this session's configuration (the preview's workers, beside its checks)."""
        if post.source_hash:
            self._approvals_of(content)[(post.relpath, post.source_hash, post.image_hash)] = verdict

    def _approvals_of(self, content: Content) -> dict[tuple, bool]:
        """The verdicts kept for ``content``'s revision: post version -> approved."""
        if self._approvals is None or self._approvals[0] != content.revision:
            self._approvals = (content.revision, {})
        return self._approvals[1]

    def _approved(self, content: Content) -> Callable[[Post], bool]:
        """:func:`pipeline.checks.is_approved` for the plan of ``content``, kept per post version
        (file, its hash and its image's: the verdict reads the post and this session's
        configuration only) while the content revision lasts."""
        from pipeline import checks

        kept, cfg = self._approvals_of(content), self.cfg

        def approved(post: Post) -> bool:
            if not post.source_hash:  # a post read without its hashes: not told apart from another version
                return checks.is_approved(post, cfg)
            key = (post.relpath, post.source_hash, post.image_hash)
            verdict = kept.get(key)
            if verdict is None:
                verdict = kept[key] = checks.is_approved(post, cfg)
            return verdict

        return approved

    def _templates_signature(self) -> str:
        """:func:`pipeline.checkcache.templates_signature` of the renderer's templates, kept while
        their stat signatures stay the same."""
        from pipeline import checkcache

        templates = self._renderer_key[0] if self._renderer_key else None
        if self._templates_sig is None or self._templates_sig[0] != templates:
            self._templates_sig = (templates, checkcache.templates_signature(self.cfg.templates_dirs))
        return self._templates_sig[1]

    def _site_links(self, content: Content) -> list:
        from pipeline import checks

        return checks.check_site_links(content.posts, self.cfg.content_dir, index=self._link_index)

    def _with_addresses(self, checked: Checked, content: Content) -> Checked:
        """``checked`` with an error for each post asking for an address a channel keeps for
        another post (``Publisher.address_conflicts``: the static site's old addresses, which the
        publish would refuse). Read at every check, outside the cache: the site changes when a
        pass publishes, not when the content does; a site that cannot be read is left to
        ``loa channels check``."""
        import publishers
        from pipeline.errors import LoaError

        found, files = [], None
        for ch in self.cfg.channels.values():
            if not ch.enabled or not getattr(publishers.get(ch.type), "keeps_addresses", False):
                continue
            if ch.name not in self._keepers:
                self._keepers[ch.name] = publishers.get(ch.type)(ch.name, ch.options, env=self.env, site=self.cfg)
            try:
                conflicts = self._keepers[ch.name].address_conflicts(content.posts)
            except (LoaError, OSError):
                continue
            for post, path, owner in conflicts:
                files = files or {p.id: p.relpath for p in content.posts}
                line = post.line_of("slug") if "slug" in post.lines else post.line_of("title")
                found.append(Problem(post.relpath, line, 1, Severity.ERROR, "post.address-was-another", {
                    "channel": ch.name, "path": path, "owner": owner,
                    "owner_file": f" ({files[owner]})" if owner in files else ""}))
        if not found:
            return checked
        problems = sorted(checked.problems + found, key=lambda p: (p.path, p.line, p.col, p.code))
        return Checked(problems, checked.blocked | {p.path for p in found})

    def _stored_problems(self, content: Content, kept: dict, templates, text: bool) -> None:
        """Fill ``kept`` (``_version`` -> part -> problems) for every post: from memory, else from
        the ledger's problem cache (pipeline/checkcache.py), else by checking; what was not read
        from the ledger is written to it in one transaction. A ledger that cannot be reached or
        written only costs the checking."""
        from pipeline import checkcache, checks

        keys = checkcache.Keys(self.cfg, self._templates_signature(), content.posts)
        wanted = ("own", "text") if text else ("own",)
        missing = {(k, part): keys.key(post, part) if self.check_cache else None for post in content.posts
                   for k in [_version(post, templates)] for part in wanted if part not in kept[k]}
        stored: dict[str, str] = {}
        if any(missing.values()):
            try:
                stored = self.ledger.cached_problems(v for v in missing.values() if v)
            except LedgerError as exc:
                self._cache_failed(exc)
        renderer, fresh = self.renderer(content), {}
        decoded = {kp: checkcache.decode(stored[key]) for kp, key in missing.items() if key in stored}
        own = self._own_problems([(k, post) for post in content.posts for k in [_version(post, templates)]
                                  if (k, "own") in missing and decoded.get((k, "own")) is None], renderer)
        if self.store_at_check:
            self.store_remembered(content)
        for post in content.posts:
            k = _version(post, templates)
            for part in wanted:
                if (k, part) not in missing:
                    continue
                found = decoded.get((k, part))
                if found is None:
                    found = own[k] if part == "own" else tuple(checks.check_text(post, self.cfg))
                    fresh[missing[k, part]] = checkcache.encode(found)
                kept[k][part] = found
        self._cache_problems(fresh)

    def store_remembered(self, content: Content) -> None:
        """Write to the ledger's problem cache, in one transaction, the own problems handed over
        by :meth:`remember_problems` and not written yet (a check does it first, unless
        :attr:`store_at_check` is off)."""
        from pipeline import checkcache

        if not self._unstored:
            return
        fresh = {}
        if self.check_cache:
            templates = self._renderer_key[0] if self._renderer_key else None
            keys = checkcache.Keys(self.cfg, self._templates_signature(), content.posts)
            for post in content.posts:
                k = _version(post, templates)
                own = self._post_problems.get(k, {}).get("own")
                if k in self._unstored and own is not None:
                    fresh[keys.key(post, "own")] = checkcache.encode(own)
        self._unstored.clear()
        self._cache_problems(fresh)

    def _cache_problems(self, fresh: dict[str | None, str | None]) -> None:
        """Write ``fresh`` (key -> stored form; an entry without either is left out) to the
        ledger's problem cache in one transaction, if any."""
        fresh = {key: v for key, v in fresh.items() if key and v is not None}
        if fresh:
            try:
                self.ledger.cache_problems(fresh, self.clock())
            except LedgerError as exc:
                self._cache_failed(exc)

    def _own_problems(self, todo: list[tuple[tuple, Post]], renderer) -> dict[tuple, tuple[Problem, ...]]:
        """``checks.post_problems`` of each ``(_version, post)`` of ``todo``, from the post's
        renderings, which a publish keeps for its send (:class:`_PassRenderings`). On worker
        processes (:mod:`pipeline.workers`, as ``loa preview`` renders) when the publish asked for
        them (``jobs``) and the posts are many; the same function either way, on the same renderer."""
        global _GATE
        from pipeline import checks

        kept, out = self._pass_renderings, {}
        pool = workers.Workers(kept.jobs if kept is not None else 1, self.cfg.language)
        if pool.jobs <= 1 or len(todo) < GATE_WORKERS_FROM:
            for k, post in todo:
                rendered = renderer.render_all(post)
                if kept is not None:  # the send takes them: each post rendered once a pass
                    kept.keep(post, k, rendered[0])
                out[k] = tuple(checks.post_problems(post, self.cfg, renderer, rendered))
            return out
        renderer.load_templates(self.cfg.channels)  # compiled once, before the fork
        _GATE = _Gate(self.cfg, renderer, [post for _k, post in todo], kept)
        try:
            for part in pool.map(_gate_chunk, workers.chunks(list(range(len(todo))), pool.jobs, 200), True):
                for i, found, renderings in part:
                    k, post = todo[i]
                    if kept is not None:
                        kept.keep(post, k, [replace(r, extra=MappingProxyType(r.extra)) for r in renderings])
                    out[k] = tuple(Problem(*x[:5], MappingProxyType(x[5])) for x in found)
        finally:
            pool.close()
            _GATE = None
        return out

    def _cache_failed(self, exc: Exception) -> None:
        """The problem cache could not be read or written: the posts are checked (or kept in
        memory only); the publish gate does not depend on the cache."""
        log.warning("The ledger's problem cache is not used this time: %s", exc)
        if isinstance(exc, LedgerUnavailable):
            self._drop_ledger()

    def remember_problems(self, post: Post, problems: list[Problem]) -> None:
        """``checks.post_problems`` of ``post`` computed elsewhere with this session's templates
        (the preview's workers compute it beside the renderings they make anyway)."""
        k = _version(post, self._renderer_key[0] if self._renderer_key else None)
        self._post_problems.setdefault(k, {})["own"] = tuple(problems)
        self._unstored.add(k)
        self._checked = None

    def ledger_revision(self) -> int | None:
        """A value that changes whenever the ledger's rows change."""
        return self.ledger.snapshot().rev

    # -- the one state decision -----------------------------------------------------------
    def plan(self, now: datetime | None = None, *, only_channel: str | None = None, only_post: str | None = None,
             content: Content | None = None) -> planmod.Plan:
        """What happens to every (post, channel) at ``now``: due, scheduled, waiting, held, in
        doubt, done. Every front end asks this, so none can disagree with another."""
        now = now or self.clock()
        content = content or self.content()
        lg = self.ledger
        try:
            rows = lg.snapshot()
            checked = self.check(content, text=False)
            key = (only_channel, only_post)  # the plan keeps what still holds of the last one (plan.plan)
            reuse = self._plan_reuse if self._plan_key == key else None
            p = planmod.plan(content.posts, self.cfg, rows, now, pauses=lg.active_pauses(now),
                             holds={name: h.message for name, h in lg.holds().items()},
                             throttles=lg.throttles(), blocked=checked.blocked, sent_today=self._sent_today(lg, now),
                             last_sent=self._last_sent(lg), only_channel=only_channel, only_post=only_post,
                             reuse=reuse, leases_at=self.clock(), approved=self._approved(content))
            self._plan_key, self._plan_reuse = key, p
            composed = self._composed_plan(content, rows, now, checked, lg, only_channel, only_post)
        except LedgerUnavailable:
            self._drop_ledger()
            raise
        return composed.merged_into(p) if composed is not None else p

    def _composed_plan(self, content: Content, rows, now: datetime, checked, lg, only_channel: str | None,
                       only_post: str | None) -> planmod.Plan | None:
        """The loudspeaker channels' broadcast items at ``now`` (pipeline/bulletin.py), decided by
        the same plan as every post; ``None`` when no such channel is configured."""
        from pipeline import bulletin

        chans = [c for c in self.cfg.channels.values() if c.type in planmod.COMPOSED_TYPES
                 and (only_channel is None or c.name == only_channel)]
        if not chans:
            return None
        items = []
        for ch in chans:
            posts = [p for p in content.posts if ch.name in p.channels]
            if not posts:  # nothing opts in: no item, and no need to read the channel's rows
                continue
            s = bulletin.settings(ch.name, ch.options)
            rev = getattr(rows, "rev", None)
            hist = self._histories.get(ch.name)
            if hist is None or rev is None or hist[0] != rev:
                hist = self._histories[ch.name] = (rev, bulletin.history(rows, ch.name, self.cfg.tz))
            found = bulletin.compose(posts, s, self.cfg.units, hist[1], now, self.cfg.tz, self._estimator(ch))
            items += bulletin.item_posts([i for i in found if only_post is None or i.post.id == only_post], s)
        return planmod.plan(items, self.cfg, rows, now, pauses=lg.active_pauses(now),
                            holds={name: h.message for name, h in lg.holds().items()}, throttles=lg.throttles(),
                            blocked=checked.blocked, leases_at=self.clock(), composed=True)

    def _composing_times(self, posts, after: datetime | None, until: datetime) -> set[datetime]:
        """For a replay: the times the loudspeaker bulletins were composed (each slot, ``lead``
        before it) while a post opting in could still be broadcast, so a demo ledger has them."""
        from pipeline import bulletin

        out: set[datetime] = set()
        for ch in self.cfg.channels.values():
            if ch.type not in planmod.COMPOSED_TYPES or not ch.enabled:
                continue
            s = bulletin.settings(ch.name, ch.options)
            span = s.max_wait + timedelta(days=max((r.days for r in s.repeat.values()), default=1))
            firsts = {p.publish_at.astimezone(self.cfg.tz).date() for p in posts
                      if ch.name in p.channels and p.publish_at is not None and p.publish_at <= until}
            for first in firsts:
                for k in range(span.days + 2):
                    for st in s.stations:
                        for t in st.slots:
                            at = datetime.combine(first + timedelta(days=k), t, self.cfg.tz) - s.lead
                            if at <= until and (after is None or at > after):
                                out.add(at)
        return out

    def _estimator(self, channel) -> Callable[[Post], float]:
        """Seconds to read a post aloud on ``channel``, kept per (post, version) for the session."""
        from publishers.loudspeaker import LoudspeakerPublisher

        cache = self._estimates

        def estimate(post: Post) -> float:
            k = (channel.name, post.id, post.source_hash)
            if k not in cache:
                cache[k] = LoudspeakerPublisher.template_context(post, channel, self.cfg)["seconds"]
            return cache[k]
        return estimate

    def _sent_today(self, lg, now: datetime) -> dict[str, int]:
        local = now.astimezone(self.cfg.tz)
        day_start = datetime.combine(local.date(), time(0, 0), self.cfg.tz)
        return {name: lg.sent_since(name, day_start) for name, ch in self.cfg.channels.items()
                if ch.max_per_day is not None}

    def _last_sent(self, lg) -> dict[str, datetime | None]:
        return {name: lg.last_sent_at(name) for name, ch in self.cfg.channels.items()
                if ch.min_interval > timedelta(0)}

    # -- publishing -----------------------------------------------------------------------
    def engine(self):
        from pipeline.publish import Engine

        return Engine(self.cfg, self.ledger_factory, owner=self.owner, clock=self.clock, env=self.env,
                      publisher_factory=self.publisher_factory, stop=self.stop)

    def publisher(self, channel, ledger):
        """The registered publisher for ``channel``, its state kept in ``ledger``."""
        return self.engine().publisher(channel, ledger)

    def publish(self, now: datetime | None = None, *, dry_run: bool = False, only_channel: str | None = None,
                only_post: str | None = None, jobs: int | None = 1):
        """One publishing pass (``loa publish``, one daemon tick): plan, then send what is due.
        ``jobs``: worker processes for checking many posts (``None``: one per core); forked, so
        only for a process that runs no other thread (``loa publish``, not the daemon)."""
        self._known_channel(only_channel)
        now = now or self.clock()
        content = self.content()  # read here: on workers (as loa preview reads) 10,000 posts took 1.3-1.55 s
        # instead of 1.4-1.76 s for 1 CPU s more (each post pickled back), and publish forks for its gate anyway
        if only_post and not any(post.id == only_post for post in content.posts) and not any(
                self.ledger.get(only_post, name) for name in ([only_channel] if only_channel else self.cfg.channels)):
            raise UsageError(Detail("publish.unknown-post", post=only_post))  # a mistyped id is said, not a silent pass
        kept = self._pass_renderings = _PassRenderings(
            {only_channel} if only_channel else {n for n, ch in self.cfg.channels.items() if ch.enabled}, only_post,
            jobs)
        try:
            p = self.plan(now, only_channel=only_channel, only_post=only_post, content=content)
            self._pass_renderings = None
            kept.only_for(p.of(planmod.DUE, planmod.DOUBT))
            self._announce_blocked(p, content)
            renderer = lambda: kept.renderer(self.renderer(content), self._renderer_key[0])  # noqa: E731
            return self.engine().run_pass(p, self.ledger, renderer, now=now, dry_run=dry_run)
        except LedgerUnavailable:
            self._drop_ledger()
            raise
        finally:
            self._pass_renderings = None

    def replay(self, until: datetime, *, only_channel: str | None = None):
        """``loa publish --replay-until``: every post due by ``until`` published as of its own
        ``publish_at`` (one pass per distinct time, the clock set to it), so a demo ledger gets the
        history its reports count. It continues from the ledger's latest first publication, so
        history never goes out of order; it holds the daemon lock (no daemon may run meanwhile)."""
        real = self.clock()
        if until > real:
            raise UsageError(Detail("replay.future", until=until.isoformat()))
        lg = self.ledger
        last = max((t for t in (lg.last_sent_at(n) for n in self.cfg.channels) if t is not None), default=None)
        if last is not None and until <= last:
            raise UsageError(Detail("replay.before-last", last=last.isoformat()))
        posts = self.content().posts
        times = sorted(({p.publish_at for p in posts if p.publish_at is not None
                         and p.publish_at <= until and (last is None or p.publish_at > last)}
                        | self._composing_times(posts, last, until)) | {until})
        total, clock, lock = None, self.clock, self.ledger_factory()
        try:
            with lock.daemon_lock(self.owner):
                for t in times:
                    self.clock = lambda t=t: t
                    result = self.publish(t, only_channel=only_channel)
                    if total is None:
                        total = result
                    else:
                        total.add(result)
                        total.skipped, total.held = total.skipped + result.skipped, result.held
        finally:
            self.clock = clock
            lock.close()
        total.next_wakeup = None
        return total

    # -- the content repository's pull (loa run with daemon.git_pull) ----------------------
    def record_pull(self, ok: bool, reason: str = "") -> None:
        """Remember the outcome of the daemon's ``git pull --ff-only`` for ``loa status``: since
        when the content has not been updated, and why."""
        now = self.clock()
        before = self.content_pull() or {}
        self.ledger.record_content_pull({
            "ok": ok, "at": now.isoformat(), "last_ok": now.isoformat() if ok else before.get("last_ok"),
            "failing_since": None if ok else (before.get("failing_since") or now.isoformat()),
            "reason": reason[:500]}, now)

    def content_pull(self) -> dict | None:
        """The last pull's outcome (``record_pull``), or ``None`` when none was recorded."""
        return self.ledger.content_pull()

    # -- the daemon's health (/healthz, /metrics) ------------------------------------------
    def record_tick(self) -> None:
        """Remember that this session's daemon finished a publishing tick now (``/healthz``)."""
        self.ledger.record_tick(self.owner, self.clock())

    def health(self, now: datetime | None = None, *, brief: bool = False):
        """:class:`pipeline.health.Health` at ``now``, on a ledger connection of its own: the
        health server asks from its thread while a tick may be using the session's. ``brief``:
        the last tick only, on the session's connection (a caller holding the session, as the
        console's pages do; counting every row took most of the operations page's time)."""
        from pipeline import health

        if brief:
            return health.read(self.ledger, now or self.clock(), channels=tuple(self.cfg.channels),
                               tick=self.cfg.daemon.tick, brief=True)
        lg = self.ledger_factory()
        try:
            return health.read(lg, now or self.clock(), channels=tuple(self.cfg.channels), tick=self.cfg.daemon.tick)
        finally:
            lg.close()

    def _announce_blocked(self, p: planmod.Plan, content: Content) -> None:
        """Log each file held for check errors once per version (a daemon passes every minute)."""
        checked = self.check(content, text=False)
        for d in p.of(planmod.HELD):
            if d.reason != "check-errors" or (d.post.relpath, d.post.source_hash) in self._announced:
                continue
            self._announced.add((d.post.relpath, d.post.source_hash))
            first = next(x for x in checked.of(d.post.relpath) if x.severity is Severity.ERROR)
            log.warning("Held %s (%s): it has check errors; nothing of it is sent until they are fixed. First: %s",
                        d.post.id, d.post.relpath, first.format(self.cfg.language))

    def upcoming_by_channel(self, now: datetime | None = None) -> dict[str, list[datetime]]:
        """Per channel, the times of the posts scheduled for it (token expiry warnings)."""
        out: dict[str, list[datetime]] = {}
        for d in self.plan(now).active():
            if d.kind in (planmod.SCHEDULED, planmod.WAITING, planmod.DUE) and d.action == "create":
                out.setdefault(d.channel, []).append(d.at or (now or self.clock()))
        return out

    def check_channels(self, only: str | None = None, now: datetime | None = None) -> list["ChannelReport"]:
        """``loa channels check``: each channel's health, and the posts that would go out after its
        credential expires."""
        self._known_channel(only)  # a mistyped name is said, not an empty, successful check
        now = now or self.clock()
        upcoming = self.upcoming_by_channel(now)
        out = []
        for name, ch in self.cfg.channels.items():
            if only and name != only:
                continue
            if not ch.enabled:
                out.append(ChannelReport(name, ch.type, None, []))
                continue
            try:
                pub = (self.publisher_factory or self.publisher)(ch, self.ledger)
            except PublishError as exc:  # a secret read when it is made (a webhook's token): this channel's line only
                from publishers.base import ChannelHealth

                lines = (exc.reason,) + ((exc.hint,) if exc.hint else ())
                out.append(ChannelReport(name, ch.type, ChannelHealth(name, False, lines), []))
                continue
            try:
                health = pub.check()
            finally:
                pub.close()
            late = sorted(t for t in upcoming.get(name, []) if health.expires_at and t >= health.expires_at)
            out.append(ChannelReport(name, ch.type, health, late))
        return out

    # -- operators' actions ---------------------------------------------------------------
    def retry(self, post_id: str | None, channel: str | None, *, actor: str) -> tuple[int, list[str]]:
        """Failed items go again at the next pass, and a held channel is released; returns the
        number of items and the channels whose hold was lifted."""
        self._known_channel(channel)
        if post_id and not any(self.ledger.get(post_id, name) for name in ([channel] if channel else self.cfg.channels)):
            raise UsageError(Detail("retry.unknown", post=post_id))  # a mistyped id is said, not "0 items"
        now = self.clock()
        n = self.ledger.retry(post_id, channel, actor=actor, now=now)
        lifted = [name for name in ([channel] if channel else list(self.cfg.channels))
                  if self.ledger.lift_hold(name, now)]
        return n, lifted

    def resolve(self, post_id: str, channel: str, *, published_url: str | None, remote_id: str | None, actor: str):
        self._known_channel(channel)
        if self.ledger.get(post_id, channel) is None:  # a mistyped id: said plainly, before the ledger's own check
            raise UsageError(Detail("resolve.unknown", post=post_id, channel=channel))
        return self.ledger.resolve(post_id, channel, published_url=published_url, remote_id=remote_id,
                                   actor=actor, now=self.clock())

    def pause(self, channel: str | None, *, reason: str, actor: str) -> None:
        self._known_channel(channel)
        self.ledger.pause(channel, reason=reason, actor=actor, now=self.clock())

    def resume(self, channel: str | None, *, actor: str) -> int:
        self._known_channel(channel)
        return self.ledger.resume(channel, actor=actor, now=self.clock())

    def _known_channel(self, channel: str | None) -> None:
        if channel and channel not in self.cfg.channels:
            raise UsageError(Detail("cli.unknown-channel", value=repr(channel), choices=", ".join(self.cfg.channels)))

    def rebuild_site(self, channel: str | None = None) -> "SiteRebuild":
        """``loa site rebuild``: a static site whose manifest was lost or damaged (the channel is
        then held) is written again from the ledger and the content. The damaged manifest is kept
        beside it under a new name; every article the ledger records as published there is written
        again from its post as it is now (and listed in every index), except posts whose file is
        gone, has a check error or is retracted, which are named; then, as ``loa retry --channel``,
        the items that failed on the channel go again at the next pass and the hold is lifted."""
        from pipeline.publish import idempotency_key

        name = channel or next((n for n, c in self.cfg.channels.items() if c.type == "static_site"), None)
        ch = self.cfg.channels.get(name) if name else None
        if ch is None or ch.type != "static_site":
            raise UsageError(Detail("site.needs-static", channel=channel or "-"))
        now = self.clock()
        pub = (self.publisher_factory or self.publisher)(ch, self.ledger)
        try:
            aside = pub.set_aside_manifest(now.astimezone(self.cfg.tz).strftime("%Y%m%d-%H%M%S"))
            content = self.content()
            blocked = self.check(content, text=False).blocked
            posts, renderer = {p.id: p for p in content.posts}, self.renderer(content)
            written, skipped = [], []
            for row in self.ledger.rows(channel=ch.name, states=("published",)):
                post = posts.get(row.post_id)
                if post is None or post.relpath in blocked or post.retracted:
                    skipped.append(row.post_id)
                    continue
                pub.publish(renderer.render(post, ch.name), key=idempotency_key(post.id, ch.name, post.source_hash))
                written.append(post.id)
            pub.flush()  # the pages and their journal on disk (close() would only log a failure)
        finally:
            pub.close()
        # as loa retry --channel: the items that failed on the damaged site go again at the next pass
        self.ledger.retry(None, ch.name, actor=actor_name(None, self.env), now=now)
        self.ledger.lift_hold(ch.name, now)
        return SiteRebuild(ch.name, aside, written, skipped)

    # -- operations -------------------------------------------------------------------------
    def doctor(self, *, min_free: int | None = None, git_timeout: float | None = None) -> list:
        """``loa doctor``: findings (:mod:`pipeline.doctor`) on all a deployment needs, in order:
        secrets, the ledger (reachable, migrated; looked at, never created nor migrated), file
        modes, the content's git remote, disk space, the clock, each channel's health."""
        from pipeline import doctor
        from pipeline.errors import LoaError
        from pipeline.ledger.migrations import LATEST

        cfg, lg = self.cfg, self.ledger
        found = [doctor.config_loaded(cfg), *doctor.channel_secrets(cfg, self.env)]
        state, usable = doctor.ledger_state(lg, LATEST)
        found += [*state, *doctor.permissions(lg, self.env),
                  doctor.git_remote(cfg.root, timeout=git_timeout or doctor.GIT_TIMEOUT),
                  *doctor.disk_space(doctor.places(cfg, lg), min_free=doctor.MIN_FREE if min_free is None else min_free),
                  doctor.clock_offset(lg)]
        if not usable:
            return found + [doctor.channels_unchecked(None)]
        try:
            return found + doctor.channels(self.check_channels(), cfg.tz)
        except LoaError as e:
            return found + [doctor.channels_unchecked(e)]

    def backup(self, path: Path) -> int:
        """``loa backup``: a consistent, verified copy of the ledger at the new file ``path`` (0600),
        taken while a daemon may be writing; returns the copy's schema version."""
        return self.ledger.backup(Path(path))

    def restore(self, path: Path) -> tuple[Path | None, int]:
        """``loa restore``: the verified backup ``path`` becomes the ledger while no daemon holds it;
        returns where the current ledger was kept aside (``None``: there was none) and the schema
        version the restored ledger was migrated to."""
        stamp = self.clock().astimezone(self.cfg.tz).strftime("%Y%m%d-%H%M%S")
        aside = self.ledger.restore(Path(path), owner=self.owner, stamp=stamp)
        self.close()
        return aside, self.ledger.migrate()

    # -- the editorial board ----------------------------------------------------------------
    def approve(self, path: Path, by: str, *, account: str | None = None, expected: str | None = None):
        """Approve the post in ``path`` as ``by``: its front matter gets the approval of exactly
        this content. Returns ``(post, front)`` written, or ``(None, problems)`` when the file is
        not a post, or ``(post, Refusal)`` when ``by`` may not approve it
        now (a draft, a post with errors, one's own post, not on the board, or ``expected`` given
        and the post's content is no longer that version). With ``account`` (the console's
        signed-in person) the ledger also gets an ``approve`` event."""
        from pipeline import approval
        from pipeline.content import relpath

        self._content_read = None  # what is approved is the file as it is now, never a recent look
        content = self.content()
        found = self.check(content).of(relpath(path, self.cfg))
        post = next((p for p in content.posts if p.path.resolve() == Path(path).resolve()), None)
        if post is None:
            return None, found
        refused = approval.refusal(post, by, found, self.cfg)
        if refused is None and expected is not None and expected != approval.current_hash(post):
            # the console's form names the version the board member read: a post changed since
            # then is not approved unread
            refused = approval.Refusal("web.approval.changed-since", {"path": post.relpath}, 1)
        if refused is not None:
            return post, refused
        front = approval.approval_front(post, by, self.cfg)
        paths.write_atomic(Path(path), approval.set_front_keys(Path(path).read_text(encoding="utf-8"), front))
        self._content_read = None
        if account is not None:
            # the console's audit: who approved which content version, signed in as ``account``.
            # ``loa approve`` runs on a board member's PC without the server's ledger: its record
            # is the front matter and the commit that carries it
            self.ledger.add_event("approve", post_id=post.id, actor=front["approved_by"],
                                  version=front["approved_hash"], detail={"path": post.relpath, "account": account},
                                  now=self.clock())
        return post, front

    def send_back(self, path: Path, by: str, comment: str, *, account: str | None = None):
        """A board member returns the post in ``path`` to its author with ``comment``, for exactly
        this content: a ``send_back`` event (the file is not changed, so the post stays unapproved).
        It leaves the queue until its content changes (:meth:`sent_back`). Returns ``(post, event)``,
        ``(None, problems)`` or ``(post, Refusal)`` as :meth:`approve` (errors do not refuse it)."""
        from pipeline import approval
        from pipeline.content import relpath

        content = self.content()
        post = next((p for p in content.posts if p.path.resolve() == Path(path).resolve()), None)
        if post is None:
            return None, self.check(content).of(relpath(path, self.cfg))
        refused = approval.refusal(post, by, [], self.cfg)
        if refused is not None and refused.exit_code == 2:
            return post, refused
        name = approval.board_name(by, self.cfg.board) or " ".join(by.split())
        event = self.ledger.add_event("send_back", post_id=post.id, actor=name, version=approval.current_hash(post),
                                      detail={"path": post.relpath, "comment": comment, "account": account},
                                      now=self.clock())
        return post, event

    def sent_back(self, posts=None) -> dict:
        """``{post id: the latest send_back event}`` for posts returned at their current content (a
        post changed since it was sent back is not here: it is waiting again)."""
        from pipeline import approval

        posts = {p.id: p for p in (posts if posts is not None else self.content().posts)}
        out = {}
        for e in self.ledger.events(kinds=("send_back", "approve")):
            post = posts.get(e.post_id)
            if post is None:
                continue
            if e.kind == "send_back" and e.version == approval.current_hash(post):
                out[e.post_id] = e
            elif e.kind == "approve":
                out.pop(e.post_id, None)
        return out

    def approval_queue(self) -> list:
        """Every ready post waiting for the board, with what changed since its last approval."""
        from pipeline import approval

        return approval.queue(self.content().posts, self.cfg)

    # -- what people read -----------------------------------------------------------------
    def status(self, now: datetime | None = None, *, days: int = 14, lang: str | None = None) -> dict:
        """``loa status``: what goes out soon, what is held and why, what failed, what is in doubt."""
        from pipeline.status import build_status

        now = now or self.clock()
        content = self.content()
        p = self._shown_plan(now, content)  # shown, not acted on: see _shown_plan
        lg = self.ledger
        return build_status(self.cfg, p, now, days=days, problems=self.check(content, text=False).problems, lang=lang,
                            holds=lg.holds(), pauses=lg.active_pauses(now),
                            troubled=lg.rows(states=("failed", "retrying", "in_doubt")), feeds=lg.feed_statuses(),
                            pull=self.content_pull() if self.cfg.daemon.git_pull else None)

    def log_rows(self, *, since: datetime | None = None, unit: str | None = None, channel: str | None = None,
                 search: str | None = None) -> list:
        """Every item on every channel (``loa log``), oldest first."""
        rows = self.ledger.rows(channel=channel, unit=unit, since=since,
                                states=("published", "retracted", "failed", "retrying", "skipped", "in_doubt", "claimed"))
        if search:
            from pipeline.vietnamese import fold

            q = fold(search)
            rows = [r for r in rows if q in fold(r.title or "")]
        rows.sort(key=lambda r: (r.first_published_at or r.updated_at, r.post_id, r.channel))
        return rows

    # -- the web console's pages (pipeline/calendar.py arranges; nothing there decides) -------
    def calendar(self, view: str = "month", anchor=None, *, filters: Mapping | None = None,
                 now: datetime | None = None):
        """Every post on every channel in the week or month holding ``anchor`` (a date in the site
        zone; today by default), in its state from :meth:`plan`, with blackouts and pauses."""
        from pipeline import calendar as cal

        now = now or self.clock()
        content = self.content()
        p = self._shown_plan(now, content)
        anchor = anchor or now.astimezone(self.cfg.tz).date()
        start, end, _days = cal.window(view, anchor, self.cfg.tz)
        key = (content.revision, p.rev, len(p.decisions))
        if p.rev is None or self._calendar_index is None or self._calendar_index[0] != key:
            self._calendar_index = (key, cal.TimeIndex(p.decisions))
        ds = p.decisions
        chosen = [ds[i] for i in self._calendar_index[1].between(start, end)]
        chosen += [d for d in p.active()]  # the rest: not done, decided again at every plan
        lg = self.ledger
        # the pauses table itself (a handful of rows), not the events log (every item's history)
        bands = cal.pause_bands(lg.query(
            "SELECT id, channel, reason, actor, since, until, resumed_at FROM pauses "
            "WHERE since < ? AND (resumed_at IS NULL OR resumed_at > ?) AND (until IS NULL OR until > ?)",
            (end, start, start)))
        waiting = self._unapproved()
        return cal.build_calendar(chosen, channel_state, view=view, anchor=anchor, tz=self.cfg.tz,
                                  blackouts=self.cfg.blackouts, pauses=bands, filters=filters,
                                  unapproved=lambda post: waiting(post.relpath, post))

    def _shown_plan(self, now: datetime, content: Content) -> planmod.Plan:
        """The plan a page shows: :meth:`plan`, or, within ``content_max_age`` of the last one made
        here for the same content and ledger state, that one (a page then does not decide 6,000
        scheduled pairs again for each reader; nothing acts on it)."""
        rev = self.ledger.snapshot().rev
        kept = self._shown
        if (self.content_max_age > 0 and kept is not None and kept[1] == (content.revision, rev)
                and timedelta(0) <= now - kept[0] < timedelta(seconds=self.content_max_age)):
            return kept[2]
        p = self.plan(now, content=content)
        self._shown = (now, (content.revision, rev), p)
        return p

    def _unapproved(self):
        """``(relpath, post) -> channels`` still waiting for the board's approval of ``post``,
        each post looked at once per call (a post is on several channels)."""
        from pipeline import approval

        seen: dict[str, tuple[str, ...]] = {}

        def waiting(relpath: str, post) -> tuple[str, ...]:
            if relpath not in seen:
                need = approval.needs_approval(post, self.cfg)
                seen[relpath] = need if need and not approval.is_approved(post, self.cfg) else ()
            return seen[relpath]
        return waiting

    def post_page(self, post_id: str, now: datetime | None = None):
        """A post's page: each channel's rendering and state, its ledger rows and events, its
        check problems and its approval; ``None`` when neither the content nor the ledger knows it."""
        from pipeline import approval
        from pipeline import calendar as cal

        now = now or self.clock()
        content = self.content()
        post = next((x for x in content.posts if x.id == post_id), None)
        p = self.plan(now, content=content)
        rows = {r.channel: r for r in self.ledger.rows(post_id=post_id)}
        if post is None and not rows:
            return None
        renderings, errors = self.renderer(content).render_all(post) if post else ([], [])
        states = {d.channel: (channel_state(d), d.reason) for d in p.decisions if d.post_id == post_id}
        return cal.PostPage(
            post, post_id, renderings, errors, states, rows,
            cal.post_history(self.ledger.events(post_id=post_id)),
            # a file that cannot be read is no post: its problems are found at the path the ledger holds
            self.check(content).of(post.relpath if post else next((r.path for r in rows.values() if r.path), "")),
            post.approved_by if post else None, bool(post and approval.is_approved(post, self.cfg)),
            approval.needs_approval(post, self.cfg) if post else (),
            approval.changed_parts(post) if post and post.approved_hash else None)

    def activities(self):
        """The offline activities the reports count (``content/activities/``) and the problems of
        the files that cannot be counted, as ``loa report`` reads them."""
        from pipeline.activities import read_activities

        return read_activities(self.cfg.content_dir, set(self.cfg.units), tz=self.cfg.tz)

    def add_activity(self, values: Mapping[str, object], *, actor: str):
        """Write one offline activity (pano, poster, contest...) as the YAML file ``loa report``
        reads, under ``content/activities/<year>/``, after the same validation; returns
        ``(relative path, [])`` or ``(None, problems)`` and writes nothing then."""
        from pipeline import activities

        rel, problems = activities.write_activity(self.cfg.content_dir, values, set(self.cfg.units), tz=self.cfg.tz,
                                                  actor=actor)
        if rel is not None:  # every console action is an event with the person (the file says who, too)
            self.ledger.add_event("activity", actor=actor, detail={"path": f"content/{rel}"}, now=self.clock())
        return rel, problems

    # -- telling people (loa run) ----------------------------------------------------------
    def notify(self, now: datetime | None = None, *, reports: list[Path] | tuple = (), transports=None):
        """Tell people what needs them (``[notify]`` in the server file; nothing without it): held
        channels, long vendor waits, failed or in-doubt items, a failing ``git pull``, to the IT
        officer; to each author their post held by check errors; the board's morning digest (with,
        once a day, each token that expires before posts scheduled for it); ``reports`` written, to
        the report recipients. Each is sent once, reminded, and said resolved: :mod:`pipeline.notify`."""
        from pipeline import notify as nt

        settings = getattr(self.cfg.server, "notify", None) if self.cfg.server else None
        if settings is None:
            return nt.Delivery()
        now = now or self.clock()
        tz, labels = self.cfg.tz, {n: c.label for n, c in self.cfg.channels.items()}
        try:
            lg = self.ledger
            notices = self._notices(nt, settings, lg, now, labels)
            if reports:
                notices.append(nt.report_notice(list(reports)))
            outs = nt.transports(settings, self.env) if transports is None else transports
            return nt.deliver(notices, lg, outs, now, reminder_after=settings.reminder_after, tz=tz)
        except LedgerUnavailable:
            self._drop_ledger()
            raise

    def _notices(self, nt, settings, lg, now: datetime, labels: dict) -> list:
        tz, out = self.cfg.tz, []
        for name, hold in sorted(lg.holds().items()):
            out.append(nt.hold_notice(name, labels.get(name, name), hold, tz, self.cfg.language))
        opened = lg.notices()
        for name, until in sorted(lg.throttles().items()):
            if until > now and (until - now > settings.vendor_wait or (opened.get(f"wait:{name}") or {}).get("state") == "open"):
                out.append(nt.wait_notice(name, labels.get(name, name), until, tz))
        for row in lg.rows(states=("failed", "in_doubt")):
            out.append(nt.item_notice(row, labels.get(row.channel, row.channel), self.cfg.language))
        pull = self.content_pull()
        if pull and not pull.get("ok"):
            out.append(nt.pull_notice(pull, tz))
        content = self.content()
        p = self.plan(now, content=content)
        checked, told = self.check(content, text=False), set()
        for d in p.of(planmod.HELD):
            address = settings.authors.get(d.post.author or "") if d.post else None
            if d.reason != "check-errors" or not address or d.post.relpath in told:
                continue
            told.add(d.post.relpath)
            errors = [x.format("vi") for x in checked.of(d.post.relpath) if x.severity is Severity.ERROR]
            out.append(nt.author_notice(d.post, errors, address))
        local = now.astimezone(tz)
        day = local.date().isoformat()
        if local.hour < settings.digest_hour:
            return out
        board = settings.roles.get("board") or "board" in (settings.telegram or {}).get("roles", ())
        if board and (opened.get(f"digest:{day}") or {}).get("state") != "sent":
            today = [d for d in p.active() if d.kind in (planmod.SCHEDULED, planmod.WAITING, planmod.DUE)
                     and d.post is not None and (d.at or now).astimezone(tz).date() == local.date()]
            blocked = [d for d in p.of(planmod.HELD) if d.reason == "awaiting-approval" and d.post is not None]
            out.append(nt.digest_notice(local.strftime("%d/%m/%Y"), self.approval_queue(), today, blocked, tz, labels))
        if (opened.get("tokens-checked") or {}).get("day") != day:
            lg.record_notice("tokens-checked", {"state": "checked", "day": day}, now)
            out += self._token_notices(nt, now, labels)
        return out

    def _token_notices(self, nt, now: datetime, labels: dict) -> list:
        """Once a day with the digest: each credential that expires before posts scheduled for it
        (``check_channels`` asks every vendor, too slow for every tick)."""
        try:
            reports = self.check_channels(now=now)
        except Exception as exc:  # noqa: BLE001 - a vendor down must not stop the other notices
            log.warning("Token expiry not checked: %s", exc)
            return []
        return [nt.token_notice(r.name, labels.get(r.name, r.name), r.health.expires_at, r.late, self.cfg.tz)
                for r in reports if r.late and r.health is not None and r.health.expires_at]

    # -- feeds and reports ----------------------------------------------------------------
    def ingest(self, *, dry_run: bool, now: datetime | None = None):
        """Every configured feed into drafts; ETags, items seen and each feed's status in the ledger."""
        from pipeline.ingest import ingest

        now = now or self.clock()
        return ingest([dict(f) for f in self.cfg.feeds], content_dir=self.cfg.content_dir,
                      state=self.ledger.ingest_state(lambda: now), now=now, site_tz=self.cfg.tz, dry_run=dry_run)

    def report(self, key: str, *, unit: str | None = None, as_of: datetime | None = None, now: datetime | None = None,
               narrative: bool = True):
        """The report of period ``key`` (``2024-Q1``), for one unit or all: the figures, the issuing
        organisation at the report's date and (unless ``narrative`` is false) the officials' own
        sections from :meth:`narrative_path`."""
        from pipeline.activities import read_activities
        from pipeline.report import build_report, inputs_from_config, parse_period
        from pipeline.report.narrative import read_narrative

        cfg = self.cfg
        period = parse_period(key, mode=cfg.report.periods, tz=cfg.tz)
        now = (now or self.clock()).astimezone(cfg.tz)
        activities, _problems = read_activities(cfg.content_dir, set(cfg.units), tz=cfg.tz)
        inputs = inputs_from_config(cfg, day=now.date(), unit=unit)
        path = self.narrative_path(key, unit=unit)
        sections = read_narrative(path, paths.display(path, cfg.root)) if narrative else {}
        report = build_report(self.ledger, period, unit_filter=unit, activities=activities, as_of=as_of, now=now,
                              narrative=sections, **inputs)
        return self._with_audit(self._with_grassroots(report, period, as_of, unit), period, as_of, unit,
                                inputs["units"])

    def _with_audit(self, report, period, as_of: datetime | None, unit: str | None, units: list):
        """The report with its approval annex (pipeline/report/audit.py): the ledger's console
        approvals and send-backs, and the approvals the posts' front matter carries now."""
        import dataclasses

        from pipeline.report.aggregate import _filter_ids
        from pipeline.report.audit import approval_audit

        front = {p.id: (p.approved_by, p.approved_hash) for p in self.content().posts if p.approved_by}
        rows = approval_audit(self.ledger, period, tz=self.cfg.tz, as_of=as_of,
                              units=_filter_ids(units, unit) if unit else None,
                              names={u["id"]: u["name"] for u in units}, front_matter=front)
        return dataclasses.replace(report, audit=rows)

    def _with_grassroots(self, report, period, as_of: datetime | None, unit: str | None):
        """The report with its loudspeaker section (pipeline/report/grassroots.py), when a
        loudspeaker channel is configured."""
        import dataclasses

        from pipeline.report.grassroots import grassroots, stations_of

        names = stations_of(self.cfg, unit)
        if not names:
            return report
        rows = grassroots(self.ledger, period, as_of=as_of, names=names, stations=set(names) if unit else None)
        return dataclasses.replace(report, grassroots=rows)

    def narrative_path(self, key: str, *, unit: str | None = None) -> Path:
        """The officials' own sections of a report: ``narrative/2024-Q1.md`` (``[report] narrative_dir``),
        ``narrative/2024-Q1-phuong-1.md`` for a unit report."""
        from pipeline.report import report_path

        path = report_path(self.cfg.report.narrative_dir or self.cfg.root / "narrative", key, "md", unit=unit)
        try:  # a link in the repository must not make Loa read or write elsewhere
            return paths.inside(self.cfg.root, os.path.relpath(path, self.cfg.root))
        except ValueError:
            raise UsageError(Detail("report.narrative-unreadable", file=paths.display(path, self.cfg.root),
                                    reason="it leads outside the content repository")) from None

    def draft_narrative(self, key: str, *, unit: str | None = None, force: bool = False,
                        now: datetime | None = None) -> Path:
        """Write a first draft of the report's own sections from its figures; an existing file is
        kept unless ``force`` (it holds an official's words). Returns the file."""
        from pipeline.report.narrative import draft_narrative

        path = self.narrative_path(key, unit=unit)
        if (path.exists() or path.is_symlink()) and not force:
            raise UsageError(Detail("report.narrative-exists", file=paths.display(path, self.cfg.root)))
        rep = self.report(key, unit=unit, now=now, narrative=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        paths.write_atomic(path, draft_narrative(rep))
        return path

    def write_report(self, key: str, formats: list[str], out_dir: Path | None = None, *, unit: str | None = None,
                     as_of: datetime | None = None, now: datetime | None = None, failed: list | None = None):
        """Write the report of ``key`` in each format; returns (report, paths written). With a
        ``failed`` list, a format that cannot be written (PDF without LibreOffice) is appended to it
        as ``(format, error)`` and the other formats are still written; without one, it is raised."""
        from pipeline.report import report_path, write_report

        out_dir = out_dir or self.cfg.report.out_dir
        paths_ = [report_path(out_dir, key, fmt, unit=unit) for fmt in formats]  # refused before any work
        rep = self.report(key, unit=unit, as_of=as_of, now=now)
        written = []
        for fmt, path in zip(formats, paths_):
            try:
                written.append(write_report(rep, fmt, path, templates_dir=self.cfg.root / "templates"))
            except UsageError as exc:
                if failed is None:
                    raise
                failed.append((fmt, exc))
        return rep, written

    def write_due_reports(self, now: datetime | None = None) -> list[Path]:
        """The morning after a cut-off: write every period that ended at today's midnight (site
        zone). A report already written is left alone (reports are frozen)."""
        from pipeline.report import period_ending_before, report_path, write_report

        now = now or self.clock()
        cfg = self.cfg
        midnight = now.astimezone(cfg.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        written: list[Path] = []
        for kind in ("month", "quarter", "half", "9m", "year"):
            p = period_ending_before(now, kind, mode=cfg.report.periods, tz=cfg.tz)
            if p.end != midnight:
                continue
            for fmt in cfg.report.formats:
                path = report_path(cfg.report.out_dir, p.key, fmt)
                if path.exists():
                    continue
                try:
                    rep = self.report(p.key, now=now)
                except UsageError as exc:  # an unusable narrative file: the figures still go out on time
                    log.error("The %s report is written without its narrative: %s", p.key, exc)
                    rep = self.report(p.key, now=now, narrative=False)
                written.append(write_report(rep, fmt, path, templates_dir=cfg.root / "templates"))
                log.warning("Wrote the %s report: %s", p.key, path)
        return written


def _version(post: Post, templates) -> tuple:
    """What a post's own problems depend on: its file's version, its image, the templates."""
    return (post.relpath, post.source_hash, post.image_hash, templates)


GATE_WORKERS_FROM = 40  # posts to check from which a publish's gate forks workers (as loa preview does)
_GATE: "_Gate | None" = None  # set by Session._own_problems before the fork, inherited by the workers


@dataclass(frozen=True)
class _Gate:
    """What the gate's workers need: the posts to check, the session's renderer (its templates
    compiled), and which renderings the pass keeps."""

    cfg: object
    renderer: object
    posts: list
    kept: "_PassRenderings | None"


def _gate_chunk(indices: list[int]) -> list[tuple[int, list, list]]:
    """Worker: for each post of ``_GATE.posts`` at ``indices``, its own problems
    (``checks.post_problems`` from its renderings) as ``[path, line, col, severity, code, args]``
    and the renderings the pass keeps, in forms that pickle (a mappingproxy does not)."""
    from pipeline import checks

    gate, out = _GATE, []
    for i in indices:
        post = gate.posts[i]
        rendered = gate.renderer.render_all(post)
        found = checks.post_problems(post, gate.cfg, gate.renderer, rendered)
        keep = [replace(r, extra=dict(r.extra)) for r in rendered[0] if gate.kept is not None and gate.kept.wants(post, r)]
        out.append((i, [[x.path, x.line, x.col, x.severity, x.code, dict(x.args)] for x in found], keep))
    return out


class _PassRenderings:
    """The renderings the publish gate made in one :meth:`Session.publish`, handed to the send so
    that no post is rendered twice in a pass (the gate renders every channel of a post to check it
    against the channels' limits; the send needs the same renderings of what is due).

    Only the channels of the pass are kept (``only_post``: that post's), and after the plan only
    its due and in-doubt items; the send takes each one out (:meth:`renderer`), so none outlives
    its item. A rendering is kept under the post's version and the templates it was made with,
    within one content revision (the pass's): it is what ``Renderer.render`` would give again,
    and anything not kept is rendered as before (tests/test_engine.py compares the two)."""

    def __init__(self, channels: set[str], only_post: str | None, jobs: int | None = 1):
        self.channels, self.only_post, self.jobs = channels, only_post, jobs
        self.kept: dict[tuple, object] = {}

    def wants(self, post: Post, rendering) -> bool:
        return rendering.channel in self.channels and post.status == "ready" and (
            self.only_post is None or post.id == self.only_post)

    def keep(self, post: Post, version: tuple, renderings) -> None:
        for r in renderings:
            if self.wants(post, r):
                self.kept[version, r.post_id, r.channel] = r

    def only_for(self, decisions) -> None:
        """Drop what the send will not ask for: the renderings of items not due or in doubt."""
        wanted = {(d.post_id, d.channel) for d in decisions}
        self.kept = {k: r for k, r in self.kept.items() if (r.post_id, r.channel) in wanted}

    def renderer(self, renderer, templates) -> "_PassRenderer":
        return _PassRenderer(renderer, templates, self.kept)


class _PassRenderer:
    """``render(post, channel)`` for the send: the gate's rendering when one was kept for this
    post (its id: a loudspeaker's broadcast item is a post of its own) and version and templates
    (taken out), else ``renderer.render``."""

    def __init__(self, renderer, templates, kept: dict):
        self._renderer, self._templates, self._kept = renderer, templates, kept

    def render(self, post: Post, channel: str):
        found = self._kept.pop((_version(post, self._templates), post.id, channel), None)
        return found if found is not None else self._renderer.render(post, channel)


@dataclass(frozen=True)
class SiteRebuild:
    """What ``loa site rebuild`` did: the damaged manifest set aside (``None``: there was none),
    the articles written again, and the published ones it could not write (file gone, check
    error, retracted)."""

    channel: str
    set_aside: Path | None
    written: list[str]
    skipped: list[str]


@dataclass(frozen=True)
class ChannelReport:
    """One channel in ``loa channels check``: ``health`` is ``None`` for a disabled channel;
    ``late`` the scheduled times that fall after the credential expires."""

    name: str
    type: str
    health: object | None
    late: list[datetime]


# One word per post for an index row, from its channels' decisions: the first that applies.
POST_STATES = ("error", "in-doubt", "failed", "held", "awaiting-approval", "due", "waiting", "scheduled",
               "published", "retracted", "expired", "skipped", "disabled", "draft")


def channel_state(d: planmod.Decision) -> str:
    """One word for a (post, channel) decision, as the preview and the console show it."""
    if d.kind == planmod.DONE:
        if d.reason in ("draft", "retracted", "skipped"):
            return d.reason
        if d.reason == "retracted-before-publishing":
            return "retracted"
        return "published" if d.row is not None and getattr(d.row, "first_published_at", None) else "draft"
    if d.kind == planmod.HELD:
        if d.reason in ("awaiting-approval", "expired", "draft"):
            return d.reason
        if d.reason == "in_doubt":
            return "in-doubt"
        if d.reason == "failed":
            return "failed"
        if d.reason == "channel-disabled":
            return "disabled"
        return "held"
    return {planmod.DUE: "due", planmod.SCHEDULED: "scheduled", planmod.WAITING: "waiting",
            planmod.SKIP: "skipped", planmod.DOUBT: "in-doubt", planmod.INFLIGHT: "due"}[d.kind]


def post_state(decisions: list[planmod.Decision]) -> str:
    """The state of a post in an index: the most pressing of its channels' states."""
    if not decisions:
        return "draft"
    states = {channel_state(d) for d in decisions}
    return next(s for s in POST_STATES if s in states)
