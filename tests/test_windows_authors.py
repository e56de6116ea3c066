"""The authors' guide (docs/huong-dan-bien-tap.md) starts from a Windows PC: ``loa check``,
``loa new`` and ``loa preview`` must work where POSIX-only modules do not exist. Windows has no
``fcntl``; these commands run here with it made unimportable, so a module-level ``import fcntl``
on their path fails this test (the daemon's and the static site's locks import it where they lock)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.repo import make_repo

ROOT = Path(__file__).resolve().parent.parent
WITHOUT_FCNTL = "import sys; sys.modules['fcntl'] = None; from pipeline.cli import main; sys.exit(main(sys.argv[1:]))"


def loa(root: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_FCNTL, *argv], cwd=root, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(root)})


def test_the_authors_commands_work_without_posix_only_modules(tmp_path):
    root = make_repo(tmp_path / "noi-dung", sample_content=True)
    checked = loa(root, "check")
    assert checked.returncode == 0, checked.stderr
    assert "Đã kiểm tra" in checked.stderr and "fcntl" not in checked.stderr
    made = loa(root, "new", "news", "Phường Vũng Tàu ra quân làm sạch bãi biển", "--unit", "phuong-vung-tau",
               "--at", "2025-08-01 08:00", "--author", "Nguyễn Thị Lan")
    assert made.returncode == 0, made.stderr
    assert (root / made.stdout.strip()).is_file()
    shown = loa(root, "preview", "--out", str(tmp_path / "xem-truoc"), "--jobs", "1")
    assert shown.returncode == 0, shown.stderr
    assert (tmp_path / "xem-truoc" / "index.html").is_file() and "Xem trước:" in shown.stdout
