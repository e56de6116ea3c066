"""``loa backup`` / ``loa restore``: the ledger is the legal record behind the reports, so a restored
ledger must give the same report, and a backup taken while the daemon writes must be consistent."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipeline.app import Session
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.errors import LedgerError
from pipeline.ledger.migrations import LATEST
from pipeline.ledger.sqlite import SQLiteLedger, verify_copy
from pipeline.report import write_report
from tests.repo import make_repo

TZ = timezone(timedelta(hours=7))
NOW = datetime(2024, 4, 2, 9, 0, tzinfo=TZ)


@pytest.fixture
def published(tmp_path, monkeypatch):
    """The sample repository with its first quarter published (a replay, as for a demo report)."""
    monkeypatch.delenv("LOA_LEDGER_URL", raising=False)
    monkeypatch.delenv("LOA_SERVER_CONFIG", raising=False)
    root = make_repo(tmp_path / "repo", sample_content=True)
    cfg = load_config(root / "config.toml", env={})
    with Session.open(cfg, env={}) as s:
        s.replay(datetime(2024, 3, 31, 23, 0, tzinfo=TZ))
    monkeypatch.chdir(root)
    return root, cfg


def report_json(cfg, out: Path) -> str:
    with Session(cfg, env={}) as s:
        rep = s.report("2024-Q1", now=NOW)
    return write_report(rep, "json", out).read_text(encoding="utf-8")


def test_a_restored_ledger_gives_the_same_report(published, tmp_path, capsys):
    root, cfg = published
    before = report_json(cfg, tmp_path / "before.json")
    assert json.loads(before)["totals"]["items"] > 0  # the quarter has publications to lose
    assert main(["backup", str(tmp_path / "ledger.bak")]) == 0
    assert "đã sao lưu sổ cái vào " in capsys.readouterr().out
    assert stat.S_IMODE(os.stat(tmp_path / "ledger.bak").st_mode) == 0o600

    con = sqlite3.connect(root / "var" / "loa.db")  # the ledger loses its rows
    con.execute("DELETE FROM publications")
    con.commit()
    con.close()
    assert report_json(cfg, tmp_path / "damaged.json") != before

    assert main(["--lang", "en", "restore", str(tmp_path / "ledger.bak")]) == 0
    out = capsys.readouterr().out
    assert f"the ledger is restored from {tmp_path / 'ledger.bak'} (schema version {LATEST})" in out
    aside = [p for p in (root / "var").iterdir() if ".before-restore-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and f"the previous ledger is kept as {aside[0]}" in out
    assert report_json(cfg, tmp_path / "after.json") == before
    # the ledger set aside is the damaged one, whole: it can still be read
    assert sqlite3.connect(aside[0]).execute("SELECT count(*) FROM publications").fetchone() == (0,)


def test_a_backup_taken_while_another_thread_writes_is_consistent(tmp_path):
    path = tmp_path / "var" / "loa.db"
    writer, reader = SQLiteLedger(path), SQLiteLedger(path)
    writer.migrate()
    stop, written = threading.Event(), []
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)

    def write():
        n = 0
        while not stop.is_set():
            post, now = f"p{n}", t0 + timedelta(seconds=n)
            writer.ensure(post, "portal", channel_type="static_site", meta={"title": post, "unit": "phuong-1"}, now=now)
            writer.claim(post, "portal", owner="w", action="create", version="v1", lease=timedelta(minutes=5), now=now,
                         allowed_states=("pending",))
            writer.record_success(post, "portal", owner="w", remote_id=post, remote_url=None, version="v1",
                                  extra=None, now=now)
            written.append(post)
            n += 1

    thread = threading.Thread(target=write)
    with writer.daemon_lock("daemon-1"):  # as while `loa run` holds the ledger
        thread.start()
        try:
            copies = []
            for i in range(5):
                while len(written) < 20 * (i + 1) and thread.is_alive():
                    threading.Event().wait(0.001)
                copies.append(tmp_path / f"copy-{i}.db")
                assert reader.backup(copies[-1]) == LATEST
        finally:
            stop.set()
            thread.join()
    counts = []
    for copy in copies:
        assert verify_copy(copy) == LATEST
        con = sqlite3.connect(copy)
        rows = con.execute("SELECT count(*), sum(state = 'published') FROM publications").fetchone()
        # one transaction writes the row's success and its event: a torn copy would differ
        events = con.execute("SELECT count(*) FROM events WHERE kind = 'success'").fetchone()[0]
        assert rows[0] - rows[1] <= 1 and rows[1] == events
        assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
        con.close()
        counts.append(events)
    assert counts == sorted(counts) and counts[-1] > counts[0]
    writer.close()
    reader.close()


def test_a_backup_never_overwrites_a_file(published, tmp_path, capsys):
    target = tmp_path / "exists.db"
    target.write_text("keep me")
    assert main(["--lang", "en", "backup", str(target)]) == 1
    assert f"{target} exists; a backup never overwrites a file" in capsys.readouterr().err
    assert target.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_restore_refuses_while_a_daemon_holds_the_ledger(published, tmp_path, capsys):
    root, cfg = published
    assert main(["backup", str(tmp_path / "b.db")]) == 0
    daemon = SQLiteLedger(root / "var" / "loa.db")
    with daemon.daemon_lock("loa-run-1"):
        assert main(["--lang", "en", "restore", str(tmp_path / "b.db")]) == 2
    err = capsys.readouterr().err
    assert "is already used by another Loa daemon: loa-run-1" in err
    assert not [p for p in (root / "var").iterdir() if ".before-restore-" in p.name]
    daemon.close()


def _garbage(p: Path) -> None:
    p.write_bytes(b"not a database at all" * 100)


def _cut_short(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _foreign(p: Path) -> None:
    p.unlink()
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE x (a)")
    con.close()


@pytest.mark.parametrize("damage, words", [
    (_garbage, ("is not a usable SQLite ledger",)),
    (_cut_short, ("is damaged: PRAGMA integrity_check says", "is not a usable SQLite ledger")),
    (_foreign, ("is not a Loa ledger (it has no schema_migrations table)",)),
])
def test_restore_verifies_the_file_first_and_leaves_the_ledger_alone(published, tmp_path, capsys, damage, words):
    root, cfg = published
    bad = tmp_path / "bad.db"
    assert main(["backup", str(bad)]) == 0  # a good copy, then damaged
    damage(bad)
    before = (root / "var" / "loa.db").read_bytes()
    assert main(["--lang", "en", "restore", str(bad)]) == 1
    err = capsys.readouterr().err
    assert any(w in err for w in words), err
    assert (root / "var" / "loa.db").read_bytes() == before
    assert not [p for p in (root / "var").iterdir() if ".before-restore-" in p.name]


def test_a_copy_from_a_newer_loa_is_refused(tmp_path):
    lg = SQLiteLedger(tmp_path / "loa.db")
    lg.migrate()
    lg.backup(tmp_path / "copy.db")
    lg.close()
    con = sqlite3.connect(tmp_path / "copy.db")
    con.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (999, '2030-01-01')")
    con.commit()
    con.close()
    with pytest.raises(LedgerError, match="upgrade Loa"):
        verify_copy(tmp_path / "copy.db")


def test_postgresql_points_to_pg_dump(tmp_path, monkeypatch, capsys):
    pytest.importorskip("psycopg")
    root = make_repo(tmp_path / "repo", {})
    monkeypatch.delenv("LOA_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("LOA_LEDGER_URL", "postgresql://loa@127.0.0.1:1/loa")
    monkeypatch.chdir(root)
    assert main(["backup", str(tmp_path / "b.dump")]) == 1
    err = capsys.readouterr().err
    assert "loa backup copies only a SQLite ledger; back up the PostgreSQL ledger" in err
    assert f"pg_dump --format=custom --file={tmp_path / 'b.dump'} (docs/operations.md" in err
    assert main(["restore", str(tmp_path / "b.dump")]) == 1
    assert "pg_restore after stopping every daemon" in capsys.readouterr().err
    assert not (tmp_path / "b.dump").exists()


def test_restore_with_no_current_ledger_puts_the_backup_in_place(published, tmp_path):
    root, cfg = published
    with Session(cfg, env={}) as s:
        s.backup(tmp_path / "b.db")
    for p in (root / "var").glob("loa.db*"):
        p.unlink()
    with Session(cfg, env={}) as s:
        aside, version = s.restore(tmp_path / "b.db")
        assert aside is None and version == LATEST
        assert s.ledger.rows(states=("published",))
    assert stat.S_IMODE(os.stat(root / "var" / "loa.db").st_mode) == 0o600
    with pytest.raises(LedgerError, match="is the ledger itself"):
        with Session(cfg, env={}) as s:
            s.restore(root / "var" / "loa.db")  # the ledger itself is no backup
