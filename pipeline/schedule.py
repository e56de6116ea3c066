"""``loa run``: APScheduler 3.x wiring only; every job calls the application layer.

Jobs: a publishing tick (interval ``daemon.tick``, coalesced, one instance at a time), a one-off
wake-up at the next due time (so a post goes out within seconds of its time, not a whole interval
later), feed ingestion every ``daemon.ingest_every`` when feeds are configured, and the periodic
reports each morning after a cut-off; after each tick, the notifications (:meth:`Session.notify`:
each problem told once, reminded, said resolved; the board's digest after ``[notify] digest_hour``).
The daemon keeps no state of its own: every tick re-derives
everything from files + ledger (the session only keeps what it can tell is unchanged).

SIGTERM / SIGINT: no new item is started; the call in flight finishes and is recorded; then exit.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from datetime import datetime, timedelta, timezone

from pipeline import logs
from pipeline.errors import LedgerUnavailable

log = logging.getLogger(__name__)
#: Item outcomes a person may need to act on: logged at WARNING, the others at INFO.
_LOUD = {"fail", "in_doubt", "bug", "hold-channel"}


class Daemon:
    """Runs a :class:`pipeline.app.Session`'s use cases on a schedule."""

    def __init__(self, session, *, once: bool = False):
        self.session = session
        self.cfg = session.cfg
        self.once = once
        self.tick_lock = threading.Lock()
        self.scheduler = None
        self.done = threading.Event()
        self.ticks = 0
        self.health_server = None
        self._held: set[tuple[str, str, str]] = set()  # held items already logged (each once while held)
        # the ledger's outage, kept here because the ledger cannot keep it: (since, told the IT officer)
        self._ledger_down: tuple[datetime, bool] | None = None
        logs.use_zone(self.cfg.tz)  # log lines in the site zone, like everything else Loa shows

    # -- jobs -----------------------------------------------------------------------------
    def tick(self) -> None:
        if not self.tick_lock.acquire(blocking=False):
            return  # a tick is already running; the wake-up or next tick will see the rest
        try:
            if self.session.stop.is_set():
                return
            if self.cfg.daemon.git_pull:
                self._git_pull()
            try:
                result = self.session.publish()
            except LedgerUnavailable as exc:
                log.error("Tick skipped: the ledger is unavailable (%s); nothing was half-written", exc)
                self._ledger_outage(str(exc))
                return
            self._ledger_outage(None)
            self.ticks += 1
            self._log_items(result)
            try:
                self.session.record_tick()  # /healthz: the last successful tick
            except LedgerUnavailable as exc:
                log.error("The tick's time was not recorded: the ledger is unavailable (%s)", exc)
            self._schedule_wakeup(result.next_wakeup)
            self.notify()
        finally:
            self.tick_lock.release()

    def _log_items(self, result) -> None:
        """One line per item sent, updated, retracted, skipped, held, retried or failed, with its
        post id, channel, action and link as fields (``--log-format json``); an item held for a
        person is logged when it becomes held, not at every tick. Other lines of the pass as they are."""
        # one pass over the items in comprehensions: a site with channels switched off holds most
        # of its (post, channel) pairs at every tick (74,000 items at 20,000 posts)
        held = {(i.post_id, i.channel, i.line) for i in result.items if i.action == "hold"}
        new = held - self._held
        for item in result.items if new else [i for i in result.items if i.action != "hold"]:
            if item.action == "hold" and (item.post_id, item.channel, item.line) not in new:
                continue
            level = logging.WARNING if item.action in _LOUD else logging.INFO
            log.log(level, "%s", item.line, extra={"post_id": item.post_id, "channel": item.channel,
                                                   "action": item.action, "link": item.link})
        self._held = held
        told = {item.line for item in result.items} if result.lines else set()
        for line in result.lines:
            if line not in told:
                log.info("%s", line)

    def _schedule_wakeup(self, when: datetime | None) -> None:
        if self.scheduler is None or when is None:
            return
        now = datetime.now(timezone.utc)
        when = max(when, now + timedelta(milliseconds=200))
        if when - now >= self.cfg.daemon.tick:
            return  # the regular tick comes first
        self.scheduler.add_job(self.tick, "date", run_date=when, id="wakeup", replace_existing=True,
                               misfire_grace_time=None)

    def _git_pull(self) -> None:
        """Pull the content; every outcome is recorded in the ledger (``loa status`` says since when
        the content is not updated, and why) and each failing tick says so again in the log."""
        try:
            out = subprocess.run(["git", "pull", "--ff-only", "--quiet"], cwd=self.cfg.root, capture_output=True,
                                 text=True, timeout=120)
            reason = "" if out.returncode == 0 else (out.stderr.strip() or f"exit {out.returncode}")[:300]
        except (OSError, subprocess.SubprocessError) as exc:
            reason = str(exc)[:300] or type(exc).__name__
        try:
            self.session.record_pull(not reason, reason)
            since = (self.session.content_pull() or {}).get("last_ok") if reason else None
        except LedgerUnavailable:
            since = None  # the tick is skipped anyway; the next one records it
        if reason:
            log.warning("Content not updated since %s because git pull --ff-only fails; publishing from the "
                        "commit already here until it is fixed: %s", since or "this daemon started", reason)

    def ingest(self) -> None:
        try:
            self.session.ingest(dry_run=False)
        except LedgerUnavailable as exc:
            log.error("Ingest skipped: ledger unavailable (%s)", exc)
        except Exception:  # noqa: BLE001 - one failing job must not stop the daemon
            log.exception("Feed ingestion failed")

    def reports(self) -> None:
        try:
            written = self.session.write_due_reports()
        except Exception:  # noqa: BLE001 - one failing job must not stop the daemon
            log.exception("Periodic report failed")
            return
        if written:
            self.notify(reports=written)

    def _ledger_outage(self, reason: str | None) -> None:
        """Tell the IT officer once when the ledger has been unreachable for ``[notify]
        ledger_down`` (default 10 minutes), and once more when it is back. Nothing can be recorded
        in the ledger meanwhile, so this daemon remembers it; after a restart during an outage the
        notice may come once more."""
        settings = getattr(self.cfg.server, "notify", None) if self.cfg.server else None
        now = self.session.clock()
        if reason is None:
            if self._ledger_down is not None and self._ledger_down[1] and settings is not None:
                self._send_outage(settings, "resolved", self._ledger_down[0], "")
            self._ledger_down = None
            return
        since, told = self._ledger_down or (now, False)
        if settings is not None and not told and now - since >= settings.ledger_down:
            told = self._send_outage(settings, "new", since, reason)
        self._ledger_down = (since, told)

    def _send_outage(self, settings, kind: str, since: datetime, reason: str) -> bool:
        from pipeline import notify as nt

        try:
            return nt.deliver_without_ledger(nt.ledger_notice(since, reason, self.cfg.tz), kind,
                                             nt.transports(settings, self.session.env))
        except Exception:  # noqa: BLE001 - a failing mail server must not stop the daemon
            log.exception("The ledger-outage notice could not be sent")
            return False

    def notify(self, reports=()) -> None:
        """After each tick (and with the reports written): tell people what needs them, each once
        (``[notify]``; the board's digest goes with the first tick after ``digest_hour``)."""
        try:
            self.session.notify(reports=reports)
        except LedgerUnavailable as exc:
            log.error("Notifications skipped: the ledger is unavailable (%s)", exc)
        except Exception:  # noqa: BLE001 - one failing job must not stop the daemon
            log.exception("Notifications failed")

    # -- lifecycle ------------------------------------------------------------------------
    def stop(self, *_args) -> None:
        log.warning("Stopping: finishing the call in flight, then exiting")
        self.session.stop.set()
        self.done.set()

    def run(self) -> int:
        lock = self.session.ledger_factory()  # its own connection: the lock outlives a broken session ledger
        try:
            with lock.daemon_lock(self.session.owner):
                if self.once:
                    self.tick()
                    return 0
                self._serve()
                return 0
        finally:
            lock.close()

    def _serve(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        d = self.cfg.daemon
        self.scheduler = BackgroundScheduler(timezone=self.cfg.tz, job_defaults={"coalesce": True, "max_instances": 1})
        self.scheduler.add_job(self.tick, "interval", seconds=max(1.0, d.tick.total_seconds()), id="tick",
                               next_run_time=datetime.now(self.cfg.tz))
        if self.cfg.feeds:
            self.scheduler.add_job(self.ingest, "interval", seconds=d.ingest_every.total_seconds(), id="ingest",
                                   next_run_time=datetime.now(self.cfg.tz) + timedelta(seconds=5))
        self.scheduler.add_job(self.reports, "cron", hour=self.cfg.report.send_hour, minute=5, id="reports")
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        if d.health_port:
            from pipeline.health import HealthServer

            self.health_server = HealthServer(self.session.health, d.health_port, self.cfg.tz).start()
            log.warning("Serving /healthz and /metrics on 127.0.0.1:%s", self.health_server.port)
        self.scheduler.start()
        log.warning("Loa daemon %s running (tick %s)", self.session.owner, d.tick)
        self.done.wait()
        self.scheduler.shutdown(wait=True)  # waits for the tick in flight to record its result
        with self.tick_lock:
            pass
        if self.health_server is not None:
            self.health_server.stop()
