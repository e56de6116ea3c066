"""``loa`` from any folder of the content repository: config.toml is found upwards, as git finds
.git; relative paths in it are read from its own folder; ``--config`` wins."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from pipeline.cli import main
from pipeline.paths import config_file
from tests.repo import ROOT, make_repo, post, small_config

# relative paths on purpose: the ledger and the site must land beside config.toml
PORTAL = small_config(["portal"]) + '[ledger]\nurl = "sqlite:///var/loa.db"\n[channels.portal]\ntype = "static_site"\nout_dir = "site"\n'


def test_the_nearest_config_above_the_current_folder_is_taken(tmp_path):
    outer = make_repo(tmp_path)
    inner = make_repo(tmp_path / "content" / "khac")  # a repository inside another: the nearer wins
    deep = inner / "content" / "news" / "2024"
    deep.mkdir(parents=True)
    assert config_file(cwd=str(deep)) == str(inner / "config.toml")
    assert config_file(cwd=str(tmp_path / "content")) == str(outer / "config.toml")
    assert config_file(cwd=str(outer)) == str(outer / "config.toml")
    assert config_file(str(outer), cwd=str(deep)) == str(outer / "config.toml")  # --config FOLDER wins


def test_no_config_up_to_the_root_names_the_fix(tmp_path, monkeypatch, capsys):
    lonely = tmp_path / "a" / "b"
    lonely.mkdir(parents=True)
    if config_file(cwd=str(lonely)) is not None:  # a config.toml above the temporary folder: not this machine's test
        return
    monkeypatch.chdir(lonely)
    assert main(["check"]) == 2
    assert "không có config.toml trong thư mục này hay thư mục nào phía trên" in capsys.readouterr().err


def run(cwd, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOA_LANG": "vi"}
    env.pop("LOA_LEDGER_URL", None)
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120)


def test_publish_from_a_nested_folder_writes_where_the_config_says(tmp_path):
    root = make_repo(tmp_path / "kho", {"news/2024/a.md": post(channels=["portal"])}, config=PORTAL)
    nested = root / "content" / "news" / "2024"
    r = run(nested, "check", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["posts"] == 1
    r = run(nested, "publish", "--now", "2024-03-25 09:00")
    assert r.returncode == 0, r.stderr
    # the ledger (var/loa.db) and the site (site/) are the repository's, not the current folder's
    assert (root / "var" / "loa.db").is_file()
    assert any((root / "site").rglob("*.html"))
    assert not (nested / "var").exists() and not (nested / "site").exists()
    r = run(root / "content", "log")  # another subfolder reads the same ledger
    assert r.returncode == 0, r.stderr
    assert "portal" in r.stdout and "phuong-1-to-chuc-hoi-thi" in r.stdout


def test_config_wins_over_the_repository_around_the_current_folder(tmp_path):
    here = make_repo(tmp_path / "here", {"news/2024/a.md": post(channels=["portal"])})
    other = make_repo(tmp_path / "other", {"news/2024/b.md": post(id="20240325-bbbbbb", unit="khong-co",
                                                                       channels=["portal"])})
    nested = here / "content" / "news"
    assert run(nested, "check").returncode == 0
    r = run(nested, "--config", str(other / "config.toml"), "check")
    assert r.returncode == 1
    assert "content/news/2024/b.md" in r.stdout + r.stderr and "khong-co" in r.stdout + r.stderr
