"""deploy/: the systemd units parse as systemd-style INI and hold the sandbox docs/deploying.md promises."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SERVICES = ("loa-run.service", "loa-serve.service", "loa-backup.service")
SANDBOX = {"User": "loa", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
           "ProtectHome": "yes", "EnvironmentFile": "/etc/loa/loa.env", "CapabilityBoundingSet": ""}


def unit(name: str) -> configparser.ConfigParser:
    # strict: a key given twice would be a silent override in this check, so the units never repeat one
    p = configparser.ConfigParser(strict=True, interpolation=None, delimiters=("=",), comment_prefixes=("#", ";"),
                                  inline_comment_prefixes=None, empty_lines_in_values=False)
    p.optionxform = str  # systemd keys are case-sensitive
    p.read_string((DEPLOY / name).read_text(encoding="utf-8"), source=name)
    return p


@pytest.mark.parametrize("name", SERVICES)
def test_services_hold_the_sandbox(name):
    svc = unit(name)["Service"]
    for key, value in SANDBOX.items():
        assert svc.get(key) == value, f"{name}: {key}={svc.get(key)!r}, expected {value!r}"
    writable = svc["ReadWritePaths"].split()
    allowed = {"/srv/loa/content", "-/srv/loa/content/var", "-/srv/loa/content/site", "/var/backups/loa"}
    assert set(writable) <= allowed, writable
    assert "/srv/loa/content" in writable or name == "loa-backup.service"
    assert "LOA_SERVER_CONFIG=/etc/loa/server.toml" in svc["Environment"].split()
    assert svc["ExecStart"].startswith(("/opt/loa/venv/bin/loa ", "/bin/sh -c 'exec /opt/loa/venv/bin/loa "))


def test_the_daemon_unit_runs_loa_run_and_stops_restarting_on_a_config_error():
    u = unit("loa-run.service")
    assert u["Service"]["ExecStart"] == "/opt/loa/venv/bin/loa run"
    assert u["Service"]["RestartPreventExitStatus"] == "2"  # cli.py: exit 2 is an unusable config
    assert u["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in u["Unit"]["After"].split()


def test_the_backup_timer_runs_daily_and_catches_up():
    t = unit("loa-backup.timer")["Timer"]
    assert t["OnCalendar"] == "*-*-* 02:30:00" and t["Persistent"] == "true"
    assert "%%Y%%m%%d" in unit("loa-backup.service")["Service"]["ExecStart"]  # % escaped for systemd


def test_the_environment_example_sets_nothing_by_default():
    # an empty VAR= would count as a secret that is set (docs/security.md): every line is a comment
    lines = [x for x in (DEPLOY / "loa.env.example").read_text(encoding="utf-8").splitlines() if x.strip()]
    assert all(x.startswith("#") for x in lines)


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_analyze_finds_nothing_but_the_missing_binary():
    names = [str(DEPLOY / n) for n in (*SERVICES, "loa-backup.timer")]
    out = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], capture_output=True, text=True, timeout=60)
    problems = [x for x in (out.stdout + out.stderr).splitlines()
                if x.strip() and "is not executable: No such file or directory" not in x]
    assert problems == []
