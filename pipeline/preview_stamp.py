"""``loa preview`` again with nothing changed: the stamp that shows it, and the quick path.

After a full run, ``.loa-stamp`` in the output folder records what the pages were made from:
the config file (its bytes), the templates and Loa's code (their mtimes), every post file's
(mtime, size), the pages, and the span of time in which no post's state changes. A re-run that
finds all of that the same writes only the index's time: in place, when the new time is as long
as the old one (``25/3/2024 08:00`` after ``25/3/2024 07:59``), else from ``.loa-index.html``, the
index page kept with a mark where its time goes.

:func:`quick` is that re-run straight from the command line, before the rest of Loa is imported
(the argument parser, config validation, Jinja2, Markdown): with 2,000 posts it is most of what the
run costs. It takes only ``[--config P] [--lang L] [-v] preview [--out D] [--now T] [--jobs N]
[--lang L]``, with ``--now`` in the form ``2024-03-25 08:00``, and a config without warnings;
anything else, and any doubt (a missing, old or foreign stamp, a changed file), goes to the full
path, which gives the same pages, output and exit status.
The quick path imports only what the interpreter has loaded at start-up already (``os``, ``sys``,
``time``, ``marshal``) and :mod:`pipeline.paths`: the stamp is written with ``marshal`` (the format
of Python's own ``.pyc`` files; a stamp another Python cannot read is just not trusted), and the
site's time comes from UTC offsets the full run recorded, not from ``zoneinfo``.
"""

from __future__ import annotations

import marshal
import os
import sys

from pipeline import paths

STAMP_NAME = ".loa-stamp"  # what a re-run needs to see that nothing changed (marshal)
INDEX_NAME = ".loa-index.html"  # the index page with GENERATED where its time goes
GENERATED = "\x00generated\x00"  # stands for the index's time in the kept index page
VERSION = 2
DEFAULT_OUT = "var/preview"  # the schema's default preview.out_dir (tests/test_preview.py checks)
_CODE_DIRS = (os.path.dirname(os.path.abspath(__file__)),
              os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "publishers"))


# -- what the pages depend on ------------------------------------------------------------------
def settings(templates_dirs: list[str], config: bytes) -> dict:
    """What every page depends on besides its post: the templates (paths and mtimes), the config
    file's bytes and Loa's own code (an upgrade, or an edited module in a development checkout,
    renders everything again). Compared as it is, not hashed: the quick path would spend longer
    importing ``hashlib`` than comparing."""
    templates = []
    for d in templates_dirs:
        for folder, subdirs, files in sorted(os.walk(d)):
            subdirs.sort()
            for name in sorted(files):
                f = os.path.join(folder, name)
                try:
                    templates.append([f, os.stat(f).st_mtime_ns])
                except OSError:
                    continue
    code = []
    for package in _CODE_DIRS:
        try:
            with os.scandir(package) as entries:
                code.append(sorted([e.name, e.stat().st_mtime_ns] for e in entries if e.name.endswith(".py")))
        except OSError:
            code.append([])
    return {"templates": templates, "config": config.decode("latin-1"), "code": code}


def settings_key(value: dict) -> str:
    """:func:`settings` as a short key (for the cache of index rows)."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:20]


# -- the stamp ---------------------------------------------------------------------------------
def write(out: str, *, settings: dict, config: str | None, root: str, content_dir: str, tz: str, language: str,
          warnings: bool, files: list[str], sigs: list, pages: list[str], failed: list, states: list,
          index: str, now) -> None:
    """Keep the index page (with :data:`GENERATED`) and, after it, the stamp that vouches for it."""
    write_text(os.path.join(out, INDEX_NAME), index)
    head = index.split(GENERATED)
    offset = len(head[0].encode("utf-8")) if len(head) == 2 else None  # the time's place in index.html
    write_bytes(os.path.join(out, STAMP_NAME), marshal.dumps({
        "version": VERSION, "settings": settings, "config": config, "root": root, "content_dir": content_dir,
        "out": os.path.realpath(out), "tz": tz, "zone": zone_spans(tz, now.timestamp()), "language": language,
        "warnings": warnings, "files": files, "sigs": sigs, "pages": pages, "failed": failed, "states": states,
        "offset": offset, "around": [head[0][-40:], head[1][:40]] if offset is not None else None,
    }))


def read(out: str) -> dict | None:
    try:
        with open(os.path.join(out, STAMP_NAME), "rb") as fh:
            stamp = marshal.loads(fh.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return stamp if isinstance(stamp, dict) and stamp.get("version") == VERSION else None


def unchanged(out: str, stamp: dict | None, settings: dict, files: list[str], sigs: list, moment: float,
              time_text: str) -> list | None:
    """The unusable files (``[[file, message]]``) if ``stamp`` shows that nothing changed: same
    settings, same files with the same (mtime, size), every page still there, and no post's state
    changed since the index was made (states change only at a publish or expiry time); the index
    page then gets its new time (``moment``, epoch seconds, as ``time_text``). ``None`` otherwise:
    render."""
    try:
        if stamp is None or stamp["files"] != files or stamp["sigs"] != sigs or stamp["settings"] != settings:
            return None
        lo, hi = stamp["states"]
        if (lo is not None and moment < lo) or (hi is not None and moment >= hi):
            return None
        try:
            pages = set(os.listdir(os.path.join(out, "posts")))
        except OSError:
            return None
        if not all(page[len("posts/"):] in pages for page in stamp["pages"]):
            return None
        failed = [[f, err] for f, err in stamp["failed"]]
        if not _set_time(out, stamp, time_text):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    return failed


def _set_time(out: str, stamp: dict, text: str) -> bool:
    """Put ``text`` as the index page's time: in place when the page holds a time just as long
    between the same words, else the whole page again from the kept one."""
    index = os.path.join(out, "index.html")
    offset, around = stamp.get("offset"), stamp.get("around")
    new = text.encode("utf-8")
    if isinstance(offset, int) and isinstance(around, list) and len(around) == 2:
        before, after = (part.encode("utf-8") for part in around)
        try:
            with open(index, "r+b") as fh:
                fh.seek(max(0, offset - len(before)))
                seen = fh.read(len(before) + len(new) + len(after))
                if seen[:len(before)] == before and seen[len(before) + len(new):] == after:
                    fh.seek(offset)
                    fh.write(new)
                    return True
        except OSError:
            pass
    try:
        with open(os.path.join(out, INDEX_NAME), encoding="utf-8") as fh:
            kept = fh.read()
    except OSError:
        return False
    write_text(index, kept.replace(GENERATED, text))
    return True


def generated(now, tz: str) -> str:
    """The index's time: ``25/3/2024 08:00`` in the site zone."""
    from pipeline import vndates
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    return f"{vndates.dmy(now, zone)} {vndates.gio(now, zone)}"


def summary(lang: str, index: str, rendered: int, reused: int, failed: int) -> str:
    """The line ``loa preview`` ends with."""
    if lang == "en":
        return f"Preview: {index} ({rendered} rendered, {reused} unchanged, {failed} unusable)"
    return f"Xem trước: {index} ({rendered} bài tạo mới, {reused} bài không đổi, {failed} bài lỗi)"


def write_text(path: str | os.PathLike, text: str) -> None:
    """Replace the file at once (a reader sees the old content or the new, never half)."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    tmp = os.fspath(path) + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


# -- the quick path ----------------------------------------------------------------------------
def quick(argv: list[str]) -> int | None:
    """Run ``loa preview`` if nothing changed since the last run into the same folder; its exit
    status, or ``None`` for the full path to take over (having changed nothing)."""
    args = _arguments(argv)
    if args is None:
        return None
    config, out, lang, now_text = args
    try:
        path = paths.config_file(config)
        if path is None:
            return None
        with open(path, "rb") as fh:
            data = fh.read()
        root = os.path.realpath(os.path.dirname(os.path.abspath(path)))
        if out is None:
            if b"out_dir" in data:  # preview.out_dir may be set: ask the TOML (rare; costs its import)
                import tomllib

                preview = tomllib.loads(data.decode("utf-8")).get("preview", {})
                out = os.path.join(root, preview.get("out_dir", DEFAULT_OUT))
            else:
                out = os.path.join(root, DEFAULT_OUT)
        stamp = read(out)
        if (stamp is None or stamp.get("warnings") is not False or stamp.get("root") != root
                or stamp.get("out") != os.path.realpath(out) or stamp.get("config") != os.path.realpath(path)):
            return None
        from pipeline.paths import Listing

        files = Listing().scan(stamp["content_dir"])
        sigs = _signatures(files)
        if now_text is None:
            import time

            moment = time.time()
        else:
            local = simple_time(now_text)
            moment = None if local is None else utc_of_local(local, stamp["zone"])
        text = None if moment is None else local_text(moment, stamp["zone"])
        if text is None:  # a time outside the spans the stamp knows, or in a change of offset
            return None
        failed = unchanged(out, stamp, settings(paths.templates_dirs(root), data), files, sigs, moment, text)
    except Exception:  # noqa: BLE001 - any doubt at all: the full path decides, and reports
        return None
    if failed is None:
        return None
    lang = lang or stamp["language"]
    for _f, err in failed:
        print(err, file=sys.stderr)
    index = paths.display(os.path.join(out, "index.html"), root)
    print(summary(lang, index, 0, len(files) - len(failed), len(failed)))
    return 1 if failed else 0


def simple_time(text: str) -> int | None:
    """``--now 2024-03-25 08:00`` (the form the docs show) as seconds since 1970-01-01 00:00 on
    the wall clock (no zone yet); ``None`` for any other form or an impossible date (the full path
    reads those, with :func:`pipeline.content.parse_time`)."""
    t = text.strip()
    if len(t) != 16 or t[4] != "-" or t[7] != "-" or t[10] not in " T" or t[13] != ":":
        return None
    digits = t[:4] + t[5:7] + t[8:10] + t[11:13] + t[14:16]
    if not (digits.isascii() and digits.isdigit()):
        return None
    y, m, d, hh, mm = int(t[:4]), int(t[5:7]), int(t[8:10]), int(t[11:13]), int(t[14:16])
    if not (1 <= m <= 12 and 1 <= d <= 31 and hh < 24 and mm < 60 and y >= 1):
        return None
    a = (14 - m) // 12  # days since 1970-01-01 in the proleptic Gregorian calendar
    yy, mo = y + 4800 - a, m + 12 * a - 3
    days = d + (153 * mo + 2) // 5 + 365 * yy + yy // 4 - yy // 100 + yy // 400 - 32045 - 2440588
    seconds = days * 86400 + hh * 3600 + mm * 60
    import time

    if time.gmtime(seconds)[:3] != (y, m, d):  # 30 February and the like
        return None
    return seconds


# -- the site zone without zoneinfo ------------------------------------------------------------
# The full path records the site zone's UTC offsets for 400 days either side of the run
# ([[from, offset], ..., [until, None]], epoch seconds); the quick path reads its times from them
# and leaves any time outside them, or within a day of a change of offset, to the full path.
_SPAN_DAYS = 400


def zone_spans(tz: str, around: float) -> list:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)

    def offset(t: int) -> int:
        return int(datetime.fromtimestamp(t, zone).utcoffset().total_seconds())

    start = int(around) - _SPAN_DAYS * 86400
    end = start + 2 * _SPAN_DAYS * 86400
    spans = [[start, offset(start)]]
    t = start
    while t < end:  # day by day; a change within a day is found to the second
        nxt = min(t + 86400, end)
        if offset(nxt) != spans[-1][1]:
            lo, hi = t, nxt
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == spans[-1][1] else (lo, mid)
            spans.append([hi, offset(hi)])
        t = nxt
    spans.append([end, None])
    return spans


def local_text(moment: float, spans: list) -> str | None:
    """``25/3/2024 08:00``: the instant on the site zone's clock, as ``vndates.dmy`` and ``gio``
    write it; ``None`` outside the spans."""
    for (start, off), (until, _next) in zip(spans, spans[1:]):
        if start <= moment < until:
            import time

            tm = time.gmtime(moment + off)
            return f"{tm.tm_mday}/{tm.tm_mon}/{tm.tm_year} {tm.tm_hour:02d}:{tm.tm_min:02d}"
    return None


def utc_of_local(local: int, spans: list) -> int | None:
    """The instant that the site zone's clock shows as ``local``; ``None`` when the spans do not
    say for sure (outside them, or within two days of a change of offset, where a time may be
    skipped or shown twice)."""
    margin = 2 * 86400
    for (start, off), (until, _next) in zip(spans, spans[1:]):
        moment = local - off
        if start + margin <= moment < until - margin:
            return moment
    return None


def _signatures(files: list[str]) -> list:
    stat = os.stat
    sigs = []
    for f in files:
        try:
            st = stat(f)
            sigs.append([st.st_mtime_ns, st.st_size])
        except OSError:
            sigs.append(None)
    return sigs


def _arguments(argv: list[str]) -> tuple[str | None, str | None, str | None, str | None] | None:
    """(config, out, lang, now) of a plain ``loa preview`` command line, else ``None``. Accepts exactly
    what the full parser takes the same way (options before and after the verb in their places, the
    last of a repeated option); anything else (paths, ``--now``, ``--help``, abbreviations) is left
    to it."""
    config = out = lang = now = None
    seen_verb = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if arg in ("-v", "-vv", "--verbose") and not seen_verb:
            i += 1
            continue
        if arg == "preview" and not seen_verb:
            seen_verb = True
            i += 1
            continue
        takes = ("--config", "--lang") if not seen_verb else ("--out", "--now", "--jobs", "--lang")
        if name not in takes:
            return None
        if not eq:
            if i + 1 >= len(argv):
                return None
            value = argv[i + 1]
            i += 1
        i += 1
        if value.startswith("-") and not eq:
            return None
        if name == "--config":
            config = value
        elif name == "--out":
            out = value
        elif name == "--now":
            now = value
        elif name == "--lang":
            if value not in ("vi", "en"):
                return None
            lang = value
        elif not value.isdigit():  # --jobs: no effect on a run that renders nothing
            return None
    return (config, out or None, lang, now or None) if seen_verb else None
