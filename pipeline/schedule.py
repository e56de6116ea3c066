"""``loa run``: APScheduler 3.x wiring only.

Jobs: a publishing tick (interval ``daemon.tick``, coalesced, one instance at a time), a one-off
wake-up at the next due time (so a post goes out within seconds of its time, not a whole interval
later), feed ingestion every ``daemon.ingest_every`` when feeds are configured, and the periodic
reports each morning after a cut-off. The daemon keeps no state of its own: every tick re-derives
everything from files + ledger.

SIGTERM / SIGINT: no new item is started; the call in flight finishes and is recorded; then exit.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from datetime import datetime, timedelta, timezone

from pipeline.durations import parse_duration
from pipeline.errors import LedgerUnavailable
from pipeline.publish import Engine

log = logging.getLogger(__name__)


class Daemon:
    def __init__(self, cfg, ledger_factory, *, once: bool = False, env=None, publisher_factory=None):
        self.cfg = cfg
        self.ledger_factory = ledger_factory
        self.once = once
        self.engine = Engine(cfg, ledger_factory, env=env, publisher_factory=publisher_factory)
        self.tick_lock = threading.Lock()
        self.scheduler = None
        self.done = threading.Event()
        self.ticks = 0

    # -- jobs -----------------------------------------------------------------------------
    def tick(self) -> None:
        if not self.tick_lock.acquire(blocking=False):
            return  # a tick is already running; the wake-up or next tick will see the rest
        try:
            if self.engine.stop.is_set():
                return
            if self.cfg.daemon.get("git_pull"):
                self._git_pull()
            try:
                result = self.engine.run_pass()
            except LedgerUnavailable as exc:
                log.error("Tick skipped: the ledger is unavailable (%s); nothing was half-written", exc)
                return
            self.ticks += 1
            for line in result.lines:
                log.info("%s", line)
            self._schedule_wakeup(result.next_wakeup)
        finally:
            self.tick_lock.release()

    def _schedule_wakeup(self, when: datetime | None) -> None:
        if self.scheduler is None or when is None:
            return
        now = datetime.now(timezone.utc)
        when = max(when, now + timedelta(milliseconds=200))
        tick = parse_duration(self.cfg.daemon.get("tick", "60s"))
        if when - now >= tick:
            return  # the regular tick comes first
        self.scheduler.add_job(self.tick, "date", run_date=when, id="wakeup", replace_existing=True,
                               misfire_grace_time=None)

    def _git_pull(self) -> None:
        try:
            out = subprocess.run(["git", "pull", "--ff-only", "--quiet"], cwd=self.cfg.root, capture_output=True,
                                 text=True, timeout=120)
            if out.returncode != 0:
                log.warning("git pull --ff-only failed; publishing from the commit already here: %s", out.stderr.strip()[:300])
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("git pull failed: %s", exc)

    def ingest(self) -> None:
        try:
            from pipeline.commands.ingesting import run_ingest
        except ImportError:
            return
        try:
            run_ingest(self.cfg, self.ledger_factory, dry_run=False)
        except LedgerUnavailable as exc:
            log.error("Ingest skipped: ledger unavailable (%s)", exc)
        except Exception:  # noqa: BLE001 - one failing job must not stop the daemon
            log.exception("Feed ingestion failed")

    def reports(self) -> None:
        try:
            from pipeline.commands.reporting import write_due_reports
        except ImportError:
            return
        try:
            write_due_reports(self.cfg, self.ledger_factory, datetime.now(timezone.utc))
        except Exception:  # noqa: BLE001
            log.exception("Periodic report failed")

    # -- lifecycle ------------------------------------------------------------------------
    def stop(self, *_args) -> None:
        log.warning("Stopping: finishing the call in flight, then exiting")
        self.engine.stop.set()
        self.done.set()

    def run(self) -> int:
        from apscheduler.schedulers.background import BackgroundScheduler

        lg = self.ledger_factory()
        try:
            with lg.daemon_lock(self.engine.owner):
                if self.once:
                    self.tick()
                    return 0
                self.scheduler = BackgroundScheduler(timezone=self.cfg.tz, job_defaults={"coalesce": True, "max_instances": 1})
                tick = parse_duration(self.cfg.daemon.get("tick", "60s"))
                self.scheduler.add_job(self.tick, "interval", seconds=max(1.0, tick.total_seconds()), id="tick",
                                       next_run_time=datetime.now(self.cfg.tz))
                if self.cfg.feeds:
                    every = parse_duration(self.cfg.daemon.get("ingest_every", "30m"))
                    self.scheduler.add_job(self.ingest, "interval", seconds=every.total_seconds(), id="ingest",
                                           next_run_time=datetime.now(self.cfg.tz) + timedelta(seconds=5))
                self.scheduler.add_job(self.reports, "cron", hour=int(self.cfg.report.get("send_hour", 7)), minute=5,
                                       id="reports")
                signal.signal(signal.SIGTERM, self.stop)
                signal.signal(signal.SIGINT, self.stop)
                self.scheduler.start()
                log.warning("Loa daemon %s running (tick %s)", self.engine.owner, self.cfg.daemon.get("tick"))
                self.done.wait()
                self.scheduler.shutdown(wait=True)  # waits for the tick in flight to record its result
                with self.tick_lock:
                    pass
                return 0
        finally:
            self.engine.close()
            lg.close()
