"""``loa preview``: a static site showing exactly what every channel will receive, and what Loa
will do with it.

An index of all posts (title, unit, type, time, the post's state, each channel's decision) and a
page per post with every channel's rendering, its character count against the channel's limit and
its decision. States and decisions come from :meth:`pipeline.app.Session.plan`, the one decision
``loa publish``, ``loa status`` and the daemon use, so a post published in the ledger shows as
published. No network: the pages carry their own CSS and the post images are copied beside them.

Each post is rendered once. The plan needs every post's own problems (the publish gate holds a
file with a check error), and those come from its renderings (``checks.post_problems``); so the
preview runs in two steps of one pool of worker processes, with the plan between them:

1. the workers render each post for its channels, compute its problems from those same renderings
   and write its page, with marked, empty places for the post's state and each channel's decision;
2. the parent hands the problems to the session (:meth:`pipeline.app.Session.remember_problems`)
   and only then calls :meth:`pipeline.app.Session.plan`, which finds them all and renders nothing;
3. the workers fill each page's marked places with the plan's decisions (a read and a write, no
   rendering) and render the index rows, while the parent writes the problems to the ledger's
   problem cache (:meth:`pipeline.app.Session.store_remembered`), which the plan's check would
   otherwise have done first while the workers waited.

Speed (figures in bench/README.md):
- the parent reads the posts once; worker processes (one per core), forked after that, inherit the
  posts and take consecutive slices of them, going stage by stage over a slice (Markdown, channels,
  problems, pages, files), which keeps each stage warm in the CPU caches;
- ``.loa-cache.json`` keeps every post's index row and own problems, keyed by its file's stat
  signature, its version and the hash of templates, configuration and Loa's code: only posts whose
  file changed are rendered again, and a page whose decisions changed only gets them filled in;
- ``.loa-stamp.json`` lets a re-run with nothing changed (same files, settings and ledger revision,
  and a ``now`` at which no decision can have changed) rewrite only the index's time, after the
  same argument parsing and config loading as any run.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from pipeline import app
from pipeline import content as content_mod
from pipeline import paths as paths_mod
from pipeline import plan as planmod
from pipeline import vndates
from pipeline import workers as workers_mod
from pipeline.messages import localized
from pipeline.status import reason_text

if TYPE_CHECKING:  # Jinja2 and the renderer are imported only when a post needs rendering
    import jinja2

    from pipeline.models import Post, Problem
    from pipeline.render import Renderer

CACHE_NAME = ".loa-cache.json"  # every post's index row, keyed by file
STAMP_NAME = ".loa-stamp.json"  # what a re-run needs to see that nothing changed
INDEX_NAME = ".loa-index.html"  # the index page with GENERATED where its time goes
GENERATED = "\x00generated\x00"  # stands for the index's time in the kept index page
STAMP_VERSION = 5  # 5: a decision carries its reason in words
_CODE_DIRS = (os.path.dirname(os.path.abspath(__file__)),
              os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "publishers"))
_JOB: "_Job | None" = None  # built by the parent, inherited by forked workers
BARRIER_TIMEOUT = 600  # seconds; a worker that died meanwhile breaks the barrier instead of hanging the run

@functools.lru_cache(maxsize=4)
def state_labels(lang: str) -> dict[str, str]:
    """Each state word's label (:data:`pipeline.app.POST_STATES`) in ``lang``, the site's language,
    as the reasons beside it: the console's words (``page.state.*``), one list for both."""
    from pipeline.messages import text

    return {word: text(f"page.state.{word}", lang) for word in app.POST_STATES}


@dataclass
class PreviewResult:
    out_dir: Path
    rendered: int
    reused: int
    failed: list[tuple[str, str]]

    @property
    def index(self) -> Path:
        return self.out_dir / "index.html"


def summary(lang: str, index: str, rendered: int, reused: int, failed: int) -> str:
    """The line ``loa preview`` ends with."""
    from pipeline.messages import text

    return text("preview.summary", lang, index=index, rendered=rendered, reused=reused, failed=failed)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Replace the file at once (a reader sees the old content or the new, never half)."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str | os.PathLike, data: bytes | Iterable[bytes]) -> None:
    """Replace the file at once (a reader sees the old content or the new, never half). ``data``:
    the bytes, or pieces written one after the other (the cache file of 10,000 posts is tens of MB:
    joined first, it would be in memory twice more at the run's peak)."""
    tmp = os.fspath(path) + ".tmp"
    with open(tmp, "wb") as fh:
        if isinstance(data, bytes):
            fh.write(data)
        else:
            fh.writelines(data)
    os.replace(tmp, path)


def generated(cfg, now: datetime) -> str:
    """The index's time: ``25/3/2024 08:00`` in the site zone."""
    return f"{vndates.dmy(now, cfg.tz)} {vndates.gio(now, cfg.tz)}"


def page_name(post_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in post_id)
    return f"posts/{safe}.html"


def decisions_by_post(the_plan: planmod.Plan) -> dict[str, list[planmod.Decision]]:
    """The plan's decisions, per post id (a file gone from the content has none here)."""
    grouped: dict[str, list[planmod.Decision]] = {}
    for d in the_plan.decisions:
        if d.post is not None:
            grouped.setdefault(d.post_id, []).append(d)
    return grouped


def shown(decisions: list[planmod.Decision], lang: str = "vi") -> dict:
    """What the index row and the page of a post show of its decisions: its state
    (:func:`pipeline.app.post_state`) and each channel's decision as ``[channel, kind, reason,
    word, why]`` (word from :func:`pipeline.app.channel_state`; why: the reason in the catalogue's
    words in ``lang``, :func:`pipeline.status.reason_text`). Nothing here decides: it names the
    plan's decisions. ``at`` is left out: spacing moves it with ``now`` while the decision stays."""
    return {"state": app.post_state(decisions),
            "decisions": [[d.channel, d.kind, d.reason, app.channel_state(d), _why(d.reason, lang)] for d in decisions]}


def _why(reason: str, lang: str) -> str:
    """``reason`` for people (:func:`pipeline.status.reason_text`); a plain reason's words once."""
    if not reason:
        return ""
    if type(reason) is not str:  # a catalogue Detail: its words depend on its arguments, not its English
        return reason_text(reason, lang)
    return _plain_why(reason, lang)


_plain_why = functools.lru_cache(maxsize=1024)(reason_text)  # few distinct reasons among many posts


def valid_until(the_plan: planmod.Plan, cfg, now: datetime, pauses=()) -> datetime | None:
    """A time before which no decision of ``the_plan`` differs from its decision at ``now``, the
    ledger and the files staying as they are (``None``: none is known to come). Conservative: every
    instant at which one of the planner's time-bound inputs crosses ``now`` (a post's publish or
    expiry time, its lateness limit, a claim's lease, a retry, a blackout, the end of one of the
    active ``pauses``, a day's sending quota, and :meth:`plan.Plan.next_wakeup`), whether or not
    the decision then changes."""
    times = [the_plan.next_wakeup(), *(getattr(p, "until", None) for p in pauses)]
    lateness = {name: ch.max_lateness for name, ch in cfg.channels.items()}
    for d in the_plan.decisions:
        post, row = d.post, d.row
        if post is not None:
            times += (post.publish_at, post.expire_at)
            if post.publish_at is not None and lateness.get(d.channel) is not None:
                times.append(post.publish_at + lateness[d.channel])
        if row is not None:
            times += (getattr(row, "lease_until", None), getattr(row, "next_attempt_at", None))
    for b in cfg.blackouts:
        times += (b.start, b.end)
    if any(ch.max_per_day is not None for ch in cfg.channels.values()):
        local = now.astimezone(cfg.tz)
        times.append(datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), cfg.tz))
    later = [t for t in times if t is not None and t > now]
    return min(later) if later else None


def build_preview(session: app.Session, out_dir: Path | None = None, paths: list[Path] | None = None, *,
                  now: datetime, jobs: int | None = None) -> PreviewResult:
    """Write the preview site of ``session``'s configuration and ledger as at ``now``. A post is
    rendered again only if its file, its decisions, the templates, the config or Loa changed;
    with nothing changed at all, only the index's time is written."""
    cfg = session.cfg
    out = Path(out_dir or cfg.preview_dir)
    (out / "posts").mkdir(parents=True, exist_ok=True)
    files = paths_mod.post_files(cfg.content_dir, paths)
    sigs = paths_mod.signatures(files)  # before the posts are read: a file changed meanwhile is seen next time
    key = _settings_key(cfg)
    stamp = {"version": STAMP_VERSION, "key": key, "ledger": _ledger_key(session, now), "files": files, "sigs": sigs,
             "media": _media_key(cfg.content_dir) if paths is None else None}
    if paths is None:
        failed = _unchanged(out, stamp, now, generated(cfg, now))
        if failed is not None:
            return PreviewResult(out, 0, len(files) - len(failed), failed)
    _remove(out / STAMP_NAME)  # the index changes: the stamp no longer vouches for it
    return _build(session, out, stamp, paths is not None, now, jobs)


def _media_key(content_dir: Path) -> str:
    """The other files under content/ (images, above all) with their stat signatures: an image
    replaced in place changes no post file, yet its posts must be rendered again."""
    media = sorted(os.path.join(folder, name) for folder, _dirs, names in os.walk(content_dir)
                   for name in names if not name.endswith(".md"))
    return hashlib.sha256(json.dumps([media, paths_mod.signatures(media)]).encode()).hexdigest()[:20]


def _ledger_key(session, now: datetime) -> str | None:
    """The ledger as far as the plan reads it: the rows' revision, and the pauses, holds and
    vendor waits, which change without moving it. ``None``: a ledger without a revision, whose
    changes cannot be seen (no stamp is trusted then)."""
    rev = session.ledger_revision()
    if rev is None:
        return None
    lg = session.ledger
    others = repr((lg.active_pauses(now), sorted(lg.holds().items()), sorted(lg.throttles().items())))
    return f"{rev}:{hashlib.sha256(others.encode()).hexdigest()[:20]}"


def _settings_key(cfg) -> str:
    """What every page depends on besides its post and decisions: the templates (paths and stat
    signatures), the config file's bytes (or its data) and Loa's own code (an upgrade, or an edited
    module in a development checkout, renders everything again)."""
    templates = sorted(os.path.join(folder, name) for d in cfg.templates_dirs
                       for folder, _dirs, names in os.walk(d) for name in names)
    code = []
    for package in _CODE_DIRS:
        try:
            with os.scandir(package) as entries:
                code += sorted(e.path for e in entries if e.name.endswith(".py"))
        except OSError:
            continue
    config = b""
    if cfg.path is not None:
        try:
            config = Path(cfg.path).read_bytes()
        except OSError:
            pass
    value = {"version": STAMP_VERSION, "templates": [templates, paths_mod.signatures(templates)],
             "code": [code, paths_mod.signatures(code)], "config": config.decode("latin-1"),
             "data": json.dumps(cfg.raw, sort_keys=True, default=str) if not config else ""}
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:20]


def _unchanged(out: Path, stamp: dict, now: datetime, time_text: str) -> list[tuple[str, str]] | None:
    """The unusable files if the last full run's stamp shows that nothing changed since: the same
    settings, files, stat signatures and ledger (:func:`_ledger_key`), every page still there, and
    ``now`` within the span in which no decision changes; the index page then gets its new time.
    ``None`` otherwise: build."""
    try:
        old = json.loads((out / STAMP_NAME).read_text(encoding="utf-8"))
        if stamp["ledger"] is None or not isinstance(old, dict) or any(old.get(k) != v for k, v in stamp.items()):
            return None
        moment = now.timestamp()
        if moment < old["since"] or (old["until"] is not None and moment >= old["until"]):
            return None
        pages = _listdir(out / "posts")
        if not all(page in pages for page in old["pages"]):
            return None
        kept = (out / INDEX_NAME).read_bytes()  # bytes: 2 MB at 2,000 posts need no decoding to get a time
        failed = [(f, err) for f, err in old["failed"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    marker = GENERATED.encode("utf-8")
    if kept.count(marker) != 1:
        return None
    write_bytes(out / "index.html", kept.replace(marker, time_text.encode("utf-8")))
    return failed


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


@dataclass
class _Job:
    """What a worker needs. Built once in the parent before the fork, so the workers inherit the
    posts already read, the decisions, the imported modules, the Markdown instance and the
    compiled templates instead of each making their own."""

    cfg: object
    out: Path
    renderer: Renderer
    page: jinja2.Template
    row: jinja2.Template  # one row of the index
    row_decisions: jinja2.Template  # the decisions cell of an index row
    states: object  # preview/states.html's macros: what fills a page's marked places
    posts: dict[str, Post]  # file -> post, as the parent read it
    problems: dict[str, list[Problem]]  # a post's relpath -> the problems of reading it
    sigs: dict[str, int]  # file -> stat signature before reading
    copied: set[str] = field(default_factory=set)  # media/ files this process has seen in place
    filled: dict = field(default_factory=dict)  # a state or decision -> its HTML, made once per process
    cells: dict = field(default_factory=dict)  # an index row's decisions -> their HTML, made once per process
    # rows rendered by this process in step 1, with their pages not yet written (see HELD_MAX)
    held: dict[str, tuple[dict, bytes | None]] = field(default_factory=dict)
    held_bytes: int = 0
    decided: dict = field(default_factory=dict)  # file -> shown decisions of the held rows (step 2)


def _prepare(session, out: Path, content, posts: dict[str, Post], sigs: dict[str, int], warmed: dict) -> _Job:
    cfg = session.cfg
    renderer = session.renderer(content)
    renderer.load_templates(cfg.channels)
    page, row, row_decisions, states = warmed.get("templates") or _templates(cfg)
    problems: dict[str, list] = {}
    for x in content.problems:
        problems.setdefault(x.path, []).append(x)
    return _Job(cfg, out, renderer, page, row, row_decisions, states, posts, problems, sigs)


def _warm(session, warmed: dict) -> None:
    """While worker processes read the posts: the channels' templates compiled into the session's
    renderer, and the preview's own (:func:`_templates`) into ``warmed``."""
    session.prepare_renderer()
    warmed["templates"] = _templates(session.cfg)


def _templates(cfg) -> tuple:
    """The preview's page, index-row and decisions-cell templates and its states' macros, compiled; and the
    renderer's modules (Jinja2, Markdown and its extensions) imported on the way, with those that
    ``checks.post_problems`` imports on first use: made here, before the render step forks, the
    workers inherit them instead of each importing them again."""
    from pipeline import approval, scaffold, vietnamese  # noqa: F401 - for the workers' checks
    from pipeline.render import new_markdown
    from pipeline.templating import environment

    new_markdown()
    env = environment(cfg.templates_dirs, cfg.tz, autoescape=True)
    return (env.get_template("preview/post.html"), env.get_template("preview/index_row.html"),
            env.get_template("preview/index_decisions.html"), env.get_template("preview/states.html").module)


def _own(problems: list[Problem]) -> list[list]:
    """A post's own problems as JSON (the cache file) and as what a worker hands back (a Problem's
    ``args`` is a mappingproxy, which does not pickle): ``[line, col, severity, code, args]``."""
    return [[x.line, x.col, x.severity.value, x.code, dict(x.args)] for x in problems]


def _problems(post: Post, own: list[list]) -> list[Problem]:
    """The inverse of :func:`_own`, for ``post``."""
    from pipeline.models import Problem, Severity

    return [Problem(post.relpath, line, col, Severity(sev), code, MappingProxyType(args))
            for line, col, sev, code, args in own]


def _version(post: Post) -> list:
    """What a kept row's page and problems were made from, besides the settings: the post's file
    and its image (an image can change while the post's file does not)."""
    return [post.source_hash, post.image_hash]


def _mark(row: dict) -> str:
    """The key of a page's marked places: the first characters of its file's hash, which the
    file's own text cannot contain, so that a post cannot write a mark the fill would take."""
    return (row.get("version") or ["0"])[0][:16] or "0"


CHUNK_MAX = 200  # posts per slice: within the renderer's Markdown cache (render.HTML_CACHE_SIZE)
HELD_MAX = 48 << 20  # bytes of pages a process keeps from step 1 to step 2; the rest are written twice


def _chunks(todo: list, jobs: int) -> list[list]:
    """Consecutive slices of at most :data:`CHUNK_MAX` posts (:func:`pipeline.workers.chunks`)."""
    return workers_mod.chunks(todo, jobs, CHUNK_MAX)


def _render_chunk(paths: list[str]) -> tuple[list[dict], dict[str, bool]]:
    """Worker, first step: render a slice of posts for their channels, find each post's own
    problems in those renderings (``checks.post_problems``) and write its page with marked, empty
    places for the decisions (:func:`_fill_chunk` fills them after the plan); return the rows,
    without state or decisions, each post's problems in ``own`` (:func:`_own`), and whether each
    post is approved (``checks.is_approved``, for the plan: right after the checks, which hashed
    the post already).

    One stage at a time over the whole slice (Markdown, channels, pages, files): done post by
    post, each stage pushed the others out of the CPU's caches."""
    from pipeline import checks

    job = _JOB
    cfg, renderer = job.cfg, job.renderer
    read = []
    for p in paths:
        post = job.posts.get(p)
        if post is None:  # unusable (or changed since the parent read it): its problems, once more
            post, problems = content_mod.read_post(Path(p), cfg)
        else:
            problems = job.problems.get(post.relpath, ())
        read.append((p, post, problems))
    posts = [post for _p, post, _problems in read if post is not None]
    for post in posts:  # kept by the renderer (HTML_CACHE_SIZE >= CHUNK_MAX) for the channels
        renderer.article_html(post)
    # in the order of ``read``'s usable posts
    rendered = [renderer.render_all(post) for post in posts]
    # the gate's problems from the same renderings: the plan then renders nothing again
    own, approved = [], {}
    for post, r in zip(posts, rendered):
        own.append(checks.post_problems(post, cfg, renderer, renderings=r))
        approved[str(post.path)] = checks.is_approved(post, cfg)
    own = iter(own)
    rendered = iter(rendered)  # both in the order of ``read``'s usable posts
    rows, pages = [], []
    for p, post, problems in read:
        row = {"file": p, "sig": job.sigs[p]}
        if post is None:
            row["error"] = "; ".join(x.format(cfg.language) for x in problems) or "unusable"
            row["state"] = "error"
            job.held[p] = (row, None)
        else:
            renderings, errors = next(rendered)
            pages.append((row, _page(job, post, problems, next(own), renderings, errors, row)))
        rows.append(row)
    for row, html in pages:
        page = html.encode("utf-8")
        if job.held_bytes + len(page) <= HELD_MAX:  # filled and written once, in step 2
            job.held[row["file"]] = (row, page)
            job.held_bytes += len(page)
        else:
            _write_page(os.path.join(job.out, row["page"]), page)
            job.held[row["file"]] = (row, None)
    return rows, approved


FILL_MAX = 1000  # held rows a worker fills per task of step 2: what crosses back to the parent at once
FILL_SLACK = 1.5  # ... or all it holds, up to this many times FILL_MAX (see _fill_take)
_INDEXED = ("file", "page", "publish_at", "title", "state", "html", "error")  # what the parent needs of a filled row


def _fill_chunk(task: tuple[list[tuple[dict, dict]], dict | None, bool, int]) -> tuple[list[dict], bytes, int]:
    """Worker, second step. ``task``: ``(items, decided, barrier, take)``. ``items`` are (row,
    :func:`shown` decisions) of pages on disk; ``decided`` (file -> shown decisions) is for the
    rows this process rendered in step 1 (:attr:`_Job.held`), given once; ``take``: how many of
    those to fill now. Fill the decisions into each row and into the marked places of its page
    (replaced and written, nothing rendered; a page written in step 1 is read back), render the
    index rows, and return what the parent needs of the rows (:data:`_INDEXED`), their part of
    the parent's cache file (``"file": {row}, ...`` in UTF-8: made here, in parallel, so that the
    parent only joins the parts) and how many held rows are left. ``barrier``: wait for every
    worker of the pool to hold a task of this round first, so that each gets exactly one."""
    job = _JOB
    items, decided, barrier, take = task
    if barrier:
        workers_mod.BARRIER.wait(BARRIER_TIMEOUT)
    if decided is not None:
        job.decided = decided
    todo = []
    take = _fill_take(len(job.held), take)
    while job.held and len(todo) < take:
        f, (row, page) = job.held.popitem()
        job.held_bytes -= len(page or b"")
        todo.append((row, job.decided[f], page))
    todo += ((row, shown_, None) for row, shown_ in items)
    rows = []
    labels = state_labels(job.cfg.language)
    for row, decided_row, page in todo:
        rows.append(row)
        if "error" in row:
            row["html"] = job.row.render(r=_Item(row), labels=labels)
            continue
        row.update(decided_row)
        path = os.path.join(job.out, row["page"])
        if page is None:
            with open(path, "rb") as fh:
                page = fh.read()
        _write_page(path, _fill(job, page, _mark(row), decided_row))
        row["html"] = job.row.render(r=_Item(row), labels=labels, decisions_html=_cell(job, row["decisions"], labels))
    dumps = json.dumps
    part = ", ".join(f"{dumps(r['file'], ensure_ascii=False)}: {dumps(r, ensure_ascii=False)}" for r in rows)
    return [{k: r[k] for k in _INDEXED if k in r} for r in rows], part.encode("utf-8"), len(job.held)


def _fill_take(held: int, take: int) -> int:
    """How many of its ``held`` rows a process fills in a round of step 2 that asks for ``take``:
    all of them if they are at most :data:`FILL_SLACK` times ``take``. The workers render unequal
    shares in step 1 (a slice goes to whichever is free), so at an even share near ``take`` one of
    them holds a few rows more: a round for those alone would cost a barrier and the hand-over of
    the last round's answer while the others wait. What a round hands back stays bounded."""
    return held if held <= take * FILL_SLACK else take


def _fill_steps(workers: workers_mod.Workers, held: dict[str, dict], fill: list[tuple[dict, dict]],
                meanwhile: Callable[[], object]) -> Iterator[tuple]:
    """Step 2's answers (:func:`_fill_chunk`): the rows rendered in step 1 (``held``: file -> shown
    decisions) by the process that rendered them, and the kept pages of ``fill`` by any, in rounds
    of at most :data:`FILL_MAX` rows a process. ``meanwhile()`` is called once, while the workers
    fill their first round (or first, when there are none)."""
    if workers.pool is None:  # step 1 ran here: its rows are held here
        meanwhile()
        decided, left = held, True
        while left:
            rows, part, left = _fill_chunk(([], decided, False, FILL_MAX))
            decided = None
            yield rows, part, left
        yield from workers.map(_fill_chunk, [(chunk, None, False, 0) for chunk in _chunks(fill, workers.jobs)],
                               len(fill) > 200)
        return
    pending = [fill[i:i + FILL_MAX] for i in range(0, len(fill), FILL_MAX)]
    decided, left = held, True
    while left or pending:  # a round: one task for each worker, with a barrier
        tasks = [(pending.pop() if pending else [], decided, True, FILL_MAX if left else 0) for _ in range(workers.jobs)]
        answers = workers.map(_fill_chunk, tasks, True)
        if meanwhile is not None:
            meanwhile()
            meanwhile = None
        decided, left = None, False
        for answer in answers:
            left = left or answer[2] > 0
            yield answer
    if meanwhile is not None:  # no round at all
        meanwhile()


def _shared(held: dict[str, dict]) -> dict[str, dict]:
    """``held`` with equal shown decisions as one object: every worker gets all of ``held`` in
    step 2, and pickle sends an object it has sent already as a reference (a few distinct values
    among thousands of posts). Nothing changes a row's decisions once filled in."""
    same: dict[str, dict] = {}
    return {f: same.setdefault(repr(value), value) for f, value in held.items()}


class _Marks:
    """The marked, empty places of a page (``<!--loa:MARK:state--><!--/loa:MARK-->``), which
    :func:`_fill` fills with the plan's decisions."""

    def __init__(self, mark: str):
        self.mark = mark
        self.state = f"<!--loa:{mark}:state--><!--/loa:{mark}-->"

    def decision(self, channel: str) -> str:
        # the name in hex: a channel is named by a key of config.toml (content repository), and a
        # name holding "-->" would end the comment and put the rest of it into the page as HTML
        return f"<!--loa:{self.mark}:d:{channel.encode('utf-8').hex()}--><!--/loa:{self.mark}-->"


def _fill(job: _Job, page: bytes, mark: str, decided: dict) -> bytes:
    """``page`` with each marked place holding the state or the channel's decision of ``decided``
    (a place whose channel has no decision is left empty). A place filled by an earlier run is
    filled again: a page whose decisions changed is not rendered again."""
    start, end = f"<!--loa:{mark}:".encode(), f"<!--/loa:{mark}-->".encode()
    by_channel = {d[0]: d for d in decided["decisions"]}
    parts, i = [], 0
    while (j := page.find(start, i)) != -1:
        k = page.index(b"-->", j) + 3
        stop = page.index(end, k)
        name = page[j + len(start):k - 3].decode()
        parts += (page[i:k], _filled(job, decided["state"] if name == "state" else by_channel.get(_channel_of(name))), end)
        i = stop + len(end)
    parts.append(page[i:])
    return b"".join(parts)


def _channel_of(name: str) -> str | None:
    """The channel of a decision's marked place (``d:<name in hex>``, :meth:`_Marks.decision`)."""
    try:
        return bytes.fromhex(name[2:]).decode("utf-8")
    except ValueError:  # not a place this version marked
        return None


def _filled(job: _Job, what) -> bytes:
    """The HTML of a state word, or of a decision ``[channel, kind, reason, word]`` (``None``:
    nothing), from preview/states.html, made once per process for each distinct one."""
    key = what if isinstance(what, str) or what is None else tuple(what)
    html = job.filled.get(key)
    if html is None:
        if what is None:
            html = b""
        elif isinstance(what, str):
            html = str(job.states.state(what, state_labels(job.cfg.language))).encode("utf-8")
        else:
            html = str(job.states.decision(*what, state_labels(job.cfg.language))).encode("utf-8")
        job.filled[key] = html
    return html


def _cell(job: _Job, decisions: list[list], labels: dict[str, str]):
    """The HTML of an index row's decisions cell (preview/index_decisions.html), made once per
    process for each distinct list: posts share a few (the same channels, mostly the same
    decisions), and each decision shown costs a handful of escapes and sandboxed lookups. ``labels``
    is not in the key: a process shows one language (``state_labels`` of the site's)."""
    key = tuple(map(tuple, decisions))
    html = job.cells.get(key)
    if html is None:
        from markupsafe import Markup

        html = job.cells[key] = Markup(job.row_decisions.render(decisions=decisions, labels=labels))
    return html


def _write_page(path: str, data: bytes) -> None:
    """``open(path, "wb").write(data)`` without the file object, which costs more than the write."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _page(job: _Job, post, problems, own, renderings, errors, row: dict) -> str:
    """Fill the post's index row (all but its decisions) and return its preview page, with marked
    places for the decisions. ``problems``: those of reading the post; ``own``: its own
    (``checks.post_problems``), which the row keeps for the next run's plan."""
    from markupsafe import Markup

    cfg, out = job.cfg, job.out
    image = None
    if post.image_path:
        image = f"media/{post.image_hash}{post.image_path.suffix.lower()}"
        if image not in job.copied:  # posts share images: one stat per image and worker, not per post
            dest = out / image
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(post.image_path, dest)
            job.copied.add(image)
    ctype = cfg.types.get(post.type)
    unit = cfg.units.get(post.unit)
    row.update({
        "id": post.id, "title": post.title, "type": post.type, "type_label": ctype.label if ctype else post.type,
        "unit": post.unit, "unit_name": unit.name if unit else post.unit,
        "publish_at": post.publish_at.isoformat() if post.publish_at else None, "page": page_name(post.id),
        "over_limit": [r.channel for r in renderings if r.over_limit], "channels": list(post.channels),
        # the page lists a channel's render error apart (``errors``)
        "problems": [x.format(cfg.language) for x in [*problems, *own] if x.code != "channel.render"],
        "version": _version(post), "own": _own(own),
    })
    audio = {r.channel: _spoken(job, r) for r in renderings if r.channel_type == "loudspeaker"}
    errors = [(e.channel, localized(e.reason, cfg.language)) for e in errors]  # the reason in the site's language
    marks = _Marks(_mark(row))
    channels = cfg.channels
    # what the page shows of each rendering, read here once: in the template, every ``r.x`` is a
    # lookup of the sandbox and ``marks.decision(channel)`` a sandboxed call
    sections = [(r, r.channel, r.channel_type, r.kind, r.length, r.limit, r.over_limit, r.body, r.image_alt, r.link,
                 channels[r.channel].label, channels[r.channel].enabled, Markup(marks.decision(r.channel)))
                for r in renderings]
    return job.page.render(post=post, row=_Item(row), renderings=renderings, errors=errors, image=image,
                           channels=channels, site={"name": cfg.site_name}, root="../", labels=state_labels(cfg.language),
                           marks=marks, audio=audio, sections=sections)


def _spoken(job: _Job, r) -> str | None:
    """The loudspeaker script as audio for the preview's player (``audio/<rendering hash>.wav``,
    made once per version), by eSpeak NG only: a preview never calls a paid cloud engine.
    ``None`` when the channel's engine is not eSpeak NG or it is not installed."""
    from publishers.speech import SpeechUnavailable
    from publishers.speech.espeak import EspeakEngine

    opts = job.cfg.channels[r.channel].options
    if (opts.get("engine") or "espeak-ng") != "espeak-ng":
        return None
    name = f"audio/{r.hash}.wav"
    dest = job.out / name
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            EspeakEngine(opts.get("speech") or {}, wpm=opts.get("wpm") or 150).synthesize(r.body, dest.with_suffix(""))
        except SpeechUnavailable:
            return None
    return name


def _reusable(row: dict | None, sig: int, pages: set[str], post: Post | None) -> bool:
    """Whether a cached row, its page and its problems are what rendering the file again would
    give: the same file (stat signature, and the version read now) and the page still there. Its
    decisions may have changed: :func:`_fill_chunk` fills them in without rendering."""
    if not row or row.get("sig") != sig:
        return False
    if "error" in row:
        return True
    if post is None or row.get("version") != _version(post) or not isinstance(row.get("own"), list):
        return False
    return row.get("page", "-")[len("posts/"):] in pages


def _load_cache(path: Path, key: str) -> dict:
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(cached, dict) and cached.get("key") == key and isinstance(cached.get("rows"), dict):
            return cached
    except (OSError, ValueError):
        pass
    return {"rows": {}}


# One function for the whole run, in the order it happens (read, reuse, render, plan, fill, index
# and cache files, stamp): split up, the steps would hand each other a dozen values.
def _build(session, out: Path, stamp: dict, partial: bool, now: datetime, jobs: int | None) -> PreviewResult:
    """Read, render what changed (each post once: pages and problems), plan, fill the decisions
    in, and write the index, the cache and (for a full run) the stamp."""
    global _JOB
    cfg, files, sigs = session.cfg, stamp["files"], stamp["sigs"]
    collecting = gc.isenabled()
    gc.disable()  # the posts live for the whole run: collections over the growing heap would free nothing
    try:  # every post, also for a partial run: the plan spaces all of a channel's posts
        warmed: dict = {}  # made while worker processes read the posts, if they do
        content = session.content(read_many=functools.partial(workers_mod.read_many, cfg, jobs,
                                                              functools.partial(_warm, session, warmed)),
                                  listed=None if partial else (files, sigs))
        # nor would any later collection: they leave the collector's generations until the run ends
        gc.freeze()
    finally:
        if collecting:
            gc.enable()
    workers, storing = workers_mod.Workers(jobs), session.store_at_check
    try:  # from here on, the finally unfreezes the collector and gives the session back as it was
        posts = {str(p.path): p for p in content.posts}
        cached = _load_cache(out / CACHE_NAME, stamp["key"])
        old, pages = cached["rows"], _listdir(out / "posts")
        kept: dict[str, dict] = {}
        todo: list[str] = []
        for f, sig in zip(files, sigs):
            if sig != -1:
                if _reusable(old.get(f), sig, pages, posts.get(f)):
                    kept[f] = old[f]
                else:
                    todo.append(f)
        _JOB = _prepare(session, out, content, posts, dict(zip(files, sigs)), warmed)  # also makes the session's renderer
        env = _JOB.page.environment
        again = set(todo)
        for f, row in old.items():  # problems kept with a row of the version read now (kept, or another file's)
            post = posts.get(f)
            if post is not None and f not in again and isinstance(row.get("own"), list) and row.get("version") == _version(post):
                session.remember_problems(post, _problems(post, row["own"]))
        rows: dict[str, dict] = {}
        session.store_at_check = False  # the problems handed over below: see the fill step
        rendering = workers.map(_render_chunk, _chunks(todo, workers.jobs), len(todo) > 40)
        if workers.pool is not None:  # while the workers render: what the plan's check can do without them
            session.check_across(content, handed_over=again)
        for part, approved in rendering:
            for row in part:
                rows[row["file"]] = row
                post = posts.get(row["file"])
                if post is not None and "own" in row:
                    session.remember_problems(post, _problems(post, row["own"]))
                    session.remember_approval(content, post, approved[row["file"]])
        gc.disable()
        try:
            the_plan = session.plan(now, content=content)  # every post's problems are known: nothing is rendered
        finally:
            if collecting:
                gc.enable()
        decided = decisions_by_post(the_plan)
        held = _shared({f: shown(decided.get(row.get("id"), []), cfg.language) for f, row in rows.items()})  # rendered in step 1
        fill = []  # kept pages whose decisions changed
        for f, row in kept.items():
            now_shown = shown(decided.get(row.get("id"), []), cfg.language)
            if "error" not in row and (row.get("state"), row.get("decisions")) != (now_shown["state"], now_shown["decisions"]):
                fill.append((dict(row), now_shown))
            else:
                rows[f] = row
        patched = len(fill)
        parts: list[bytes] = []
        done: set[str] = set()
        # the problem cache in the ledger is written while the workers fill pages (meanwhile)
        for part, part_json, _left in _fill_steps(workers, held, fill, functools.partial(session.store_remembered, content)):
            rows.update((r["file"], r) for r in part)
            done.update(r["file"] for r in part)
            parts.append(part_json)
        if not held.keys() <= done:  # a worker lost (and replaced by the pool) with the pages it held
            from pipeline.messages import text

            raise RuntimeError(text("preview.pages-lost", cfg.language, n=len(held.keys() - done)))
    finally:
        workers.close()
        gc.unfreeze()
        session.store_at_check = storing
        _JOB = None
    reused = sum(1 for r in kept.values() if "error" not in r) - patched
    if partial:  # keep the rows of posts not asked for this time
        for f, row in old.items():
            rows.setdefault(f, row)
    listed = set(files)
    ordered = [rows[f] for f in files if f in rows] + [r for f, r in rows.items() if f not in listed]
    index = _index_html(cfg, ordered, env)
    write_text(out / "index.html", index.replace(GENERATED, generated(cfg, now)))
    if done or rows.keys() != old.keys() or cached.get("key") != stamp["key"]:  # else the cache file says all this
        dumps = json.dumps
        parts += (f"{dumps(f, ensure_ascii=False)}: {dumps(r, ensure_ascii=False)}".encode("utf-8")
                  for f, r in rows.items() if f not in done)
        write_bytes(out / CACHE_NAME, _cache_pieces(dumps(stamp["key"]).encode(), [p for p in parts if p]))
    failed = [(r["file"], r["error"]) for r in ordered if "error" in r]
    if not partial:  # what the next run needs to see that nothing changed
        until = valid_until(the_plan, cfg, now, session.ledger.active_pauses(now))
        write_text(out / INDEX_NAME, index)
        write_text(out / STAMP_NAME, json.dumps(dict(
            stamp, since=now.timestamp(), until=until.timestamp() if until else None, failed=failed,
            pages=[r["page"][len("posts/"):] for r in ordered if "page" in r])))
    fresh = sum(1 for f in todo if f in rows and "error" not in rows[f]) + patched
    return PreviewResult(out, fresh, reused, failed)


def _cache_pieces(key: bytes, parts: list[bytes]) -> Iterator[bytes]:
    """``b'{"key": KEY, "rows": {PART, PART...}}'`` piece by piece (see :func:`write_bytes`)."""
    yield b'{"key": %s, "rows": {' % key
    for i, part in enumerate(parts):
        if i:
            yield b", "
        yield part
    yield b"}}"


def _listdir(folder: Path) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


class _Item(dict):
    """An index row whose keys templates read as attributes (``r.title``) without Jinja first
    failing an attribute lookup on a dict, which costs an exception per field per row. The dict
    is its own ``__dict__``, so that Python's attribute lookup finds a key at once: a
    ``__getattr__`` is only asked after that lookup failed, an exception inside Python per field
    read. A key named like a dict method would hide the method; a row has none (``r.get`` and
    ``r.items`` stay the dict's). The reference to itself is a cycle, left to the collector."""

    def __init__(self, row: dict):
        super().__init__(row)
        self.__dict__ = self


def _index_html(cfg, rows: list[dict], env: jinja2.Environment | None = None) -> str:
    """The index page, with :data:`GENERATED` where the time it was made goes (filled in by the
    caller, so that a re-run with nothing changed can reuse the page). Each row's HTML comes from
    the worker that rendered the post, with its decisions."""
    from pipeline.templating import environment

    items = sorted(((r.get("publish_at") or "", r.get("title") or "", r["state"], r["html"]) for r in rows),
                   key=lambda i: (i[0], i[1]), reverse=True)
    counts = {s: 0 for s in app.POST_STATES}
    for item in items:
        counts[item[2]] += 1
    env = env or environment(cfg.templates_dirs, cfg.tz, autoescape=True)
    return env.get_template("preview/index.html").render(
        items=items, rows_html=[i[3] for i in items], labels=state_labels(cfg.language), site={"name": cfg.site_name},
        generated=GENERATED, lang=cfg.language, counts=counts)
