"""``loa doctor``: a healthy deployment passes; each problem is reported with its fix, in Vietnamese
by default and in English with --lang en, and no secret's value is ever printed."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from pipeline import doctor
from pipeline.app import Session
from pipeline.cli import main
from pipeline.ledger.migrations import LATEST
from pipeline.config import load_config
from publishers.base import ChannelHealth
from tests.repo import CONFIG_HEAD, make_repo, post

TELEGRAM = CONFIG_HEAD + """
[content]
dir = "content"
[content.types.news]
label = "Tin tức"
[content.topics]
cchc = "Cải cách hành chính"
[channels.portal]
type = "static_site"
[channels.telegram]
type = "telegram"
chat_id = "@ubnd"
token_env = "LOA_TELEGRAM_TOKEN"
"""


def git(root: Path, *argv: str) -> None:
    subprocess.run(["git", "-C", str(root), *argv], check=True, capture_output=True)


def clone_with_remote(root: Path, remote: Path) -> None:
    """``root`` becomes a git clone whose ``origin`` is the bare repository ``remote``."""
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "content")
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "-q", "origin", "main")


@pytest.fixture
def sample(tmp_path, monkeypatch):
    """The sample content repository with a migrated ledger, run from its folder, no server file."""
    monkeypatch.delenv("LOA_SERVER_CONFIG", raising=False)
    monkeypatch.delenv("LOA_LEDGER_URL", raising=False)
    root = make_repo(tmp_path / "repo", sample_content=True)
    with Session.open(load_config(root / "config.toml")):
        pass
    monkeypatch.chdir(root)
    return root


class HealthyPublisher:
    def __init__(self, name):
        self.name = name

    def check(self):
        return ChannelHealth(self.name, True, ("reachable",))

    def close(self):
        pass


def healthy(ch, ledger):
    return HealthyPublisher(ch.name)


def test_a_healthy_sample_repository_passes(sample, tmp_path, capsys):
    clone_with_remote(sample, tmp_path / "remote.git")
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "✗" not in out
    for line in ("✓ cấu hình ", "✓ sổ cái ", "quyền 700", "quyền 600", "✓ kho nội dung: máy chủ git ",
                 "✓ kênh portal: hoạt động", "- sổ cái SQLite chỉ dùng đồng hồ của máy này"):
        assert line in out
    assert out.rstrip().endswith("mọi thứ đều ổn")


def test_a_missing_secret_is_named_with_its_fix_and_a_set_one_is_never_printed(tmp_path):
    root = make_repo(tmp_path, {"news/a.md": post()}, config=TELEGRAM)
    cfg = load_config(root / "config.toml", env={})
    with Session.open(cfg, env={}, publisher_factory=healthy) as s:
        found = [f for f in s.doctor() if f.check == "secrets"]
    assert [f.text("en") for f in found] == [
        "channel telegram: the environment variable LOA_TELEGRAM_TOKEN (token_env) is not set"]
    assert found[0].fix("en") == ("put LOA_TELEGRAM_TOKEN=... in the service's environment file (e.g. /etc/loa/loa.env, "
                                  "mode 0600), then `systemctl restart loa-run`")
    assert found[0].text("vi") == "kênh telegram: biến môi trường LOA_TELEGRAM_TOKEN (token_env) chưa được đặt"

    env = {"LOA_TELEGRAM_TOKEN": "123456:very-secret-token-value"}
    cfg = load_config(root / "config.toml", env=env)
    with Session(cfg, env=env, publisher_factory=healthy) as s:
        found = s.doctor()
    shown = "\n".join(f.text(lang) + (f.fix(lang) or "") for f in found for lang in ("vi", "en"))
    assert "very-secret-token-value" not in shown
    assert "channel telegram: LOA_TELEGRAM_TOKEN set" in shown
    assert not [f for f in found if f.needs_fixing]


def test_a_0644_ledger_is_reported_with_chmod(sample, capsys):
    db = sample / "var" / "loa.db"
    os.chmod(db, 0o644)
    assert main(["--lang", "en", "doctor"]) == 1
    out = capsys.readouterr().out
    assert f"✗ {db}: mode 644, other users can read it (the ledger holds channel credentials)\n    → chmod 600 {db}\n" in out
    assert f"- {sample} is not a git clone: the git remote is not checked" in out
    # SQLite gives its -wal and -shm files the database's mode: each is named too
    assert f"✗ {db}-wal: mode 644" in out and out.rstrip().endswith("3 thing(s) to fix")


def test_an_unmigrated_ledger_is_reported_and_left_as_it_is(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("LOA_LEDGER_URL", raising=False)
    root = make_repo(tmp_path, {"news/a.md": post()})
    (root / "var").mkdir(mode=0o700)
    db = root / "var" / "loa.db"
    sqlite3.connect(db).close()  # an empty database: schema version 0
    os.chmod(db, 0o600)
    monkeypatch.chdir(root)
    assert main(["--lang", "en", "doctor"]) == 1
    out = capsys.readouterr().out
    assert (f"✗ the ledger {db} is at schema version 0; this Loa needs {LATEST}\n"
            "    → back it up (`loa backup var/before-upgrade.db`), then run `loa status` or restart the service: "
            "Loa migrates the schema\n") in out
    assert "- the channels are not checked: the ledger must be usable first" in out
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)  # doctor never migrates
    con.close()


def test_a_missing_ledger_is_reported_not_created(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("LOA_LEDGER_URL", raising=False)
    root = make_repo(tmp_path, {"news/a.md": post()})
    monkeypatch.chdir(root)
    assert main(["doctor"]) == 1
    assert "✗ không có sổ cái tại " in capsys.readouterr().out
    assert not (root / "var" / "loa.db").exists()


def test_an_unreachable_git_remote_is_reported_without_its_password(sample, capsys):
    git(sample, "init", "-q", "-b", "main")
    git(sample, "remote", "add", "origin", "https://loa:pa55-w0rd-secret@127.0.0.1:9/content.git")
    assert main(["--lang", "en", "doctor", "--git-timeout", "10"]) == 1
    out = capsys.readouterr().out
    assert "✗ the git remote https://loa:***@127.0.0.1:9/content.git cannot be reached: " in out
    assert ("    → try `git ls-remote origin` as the service user; check the network, the address (`git remote -v`) "
            "and the deploy key\n") in out
    assert "pa55-w0rd-secret" not in out


def test_a_remote_that_does_not_answer_in_time_is_unreachable(tmp_path):
    def slow(argv, **kw):
        if "ls-remote" in argv:
            raise subprocess.TimeoutExpired(argv, kw["timeout"])
        return subprocess.CompletedProcess(argv, 0, "git@example.invalid:content.git\n", "")

    f = doctor.git_remote(tmp_path, timeout=3, run=slow)
    assert (f.status, f.text("en")) == ("fix", "the git remote git@example.invalid:content.git cannot be reached: "
                                                "no answer within 3 s")


def test_low_disk_space_is_reported(sample, capsys):
    assert main(["--lang", "en", "doctor", "--min-free-gb", "1000000000"]) == 1
    out = capsys.readouterr().out
    assert "free (at least 1000000000.0 GiB needed)\n    → free space on this file system" in out


def test_an_unusable_config_is_a_finding_not_a_crash(tmp_path, monkeypatch, capsys):
    root = make_repo(tmp_path, {}, config=CONFIG_HEAD + "\n[channels.portal]\ntype = \"nope\"\n")
    monkeypatch.chdir(root)
    assert main(["--lang", "en", "doctor"]) == 1
    out = capsys.readouterr().out
    assert "✗ " in out and "channels.portal.type" in out and "then run `loa doctor` again" in out


def test_a_failing_channel_and_a_credential_expiring_before_scheduled_posts(tmp_path):
    from datetime import datetime, timezone

    class Expiring(HealthyPublisher):
        def check(self):
            return ChannelHealth(self.name, False, ("401: the token was revoked",),
                                 expires_at=datetime(2024, 3, 1, tzinfo=timezone.utc))

    env = {"LOA_TELEGRAM_TOKEN": "123456:token-value"}
    root = make_repo(tmp_path, {"news/a.md": post(publish_at="2024-03-25 08:00", channels=["telegram"])},
                     config=TELEGRAM)
    cfg = load_config(root / "config.toml", env=env)
    now = datetime(2024, 3, 20, tzinfo=timezone.utc)
    with Session.open(cfg, env=env, clock=lambda: now, publisher_factory=lambda ch, lg: Expiring(ch.name)) as s:
        found = [f for f in s.doctor() if f.check == "channel" and f.needs_fixing]
    texts = [f.text("en") for f in found]
    assert "channel telegram: a problem: 401: the token was revoked" in texts
    assert "channel telegram: 1 scheduled post(s) would go out after its credential expires (first at 25/03/2024 08:00)" in texts


def test_the_clock_is_compared_with_the_postgresql_server(postgres_url):
    from datetime import datetime, timedelta, timezone

    from pipeline.ledger import open_ledger

    lg = open_ledger(postgres_url, Path("."))
    try:
        assert doctor.clock_offset(lg).status == "ok"
        late = doctor.clock_offset(lg, now=lambda: datetime.now(timezone.utc) + timedelta(minutes=5))
        assert late.status == "fix" and late.text("en").startswith("the clock is +300.")
    finally:
        lg.close()
