"""The report as PDF: the .docx document converted by LibreOffice (``soffice --headless --convert-to pdf``).

The PDF is exactly the document for signature as LibreOffice lays it out, so there is one layout to
maintain (the docx writer). LibreOffice is not a Python dependency: without ``soffice`` on the PATH
(``LOA_SOFFICE`` names another binary) the writer stops with a message that says how to install it.
Each conversion runs with its own throw-away LibreOffice profile, so two reports (or a LibreOffice
the user has open) never share one, which is what makes a concurrent ``soffice`` fail silently.
Not in ``FORMATS`` (``ON_REQUEST``): ``loa run`` and the config's defaults never need LibreOffice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pipeline.errors import UsageError
from pipeline.messages import Detail
from pipeline.report.model import Report

TIMEOUT_S = 180


def soffice() -> str | None:
    """The LibreOffice binary: ``$LOA_SOFFICE``, else ``soffice`` or ``libreoffice`` on the PATH."""
    named = os.environ.get("LOA_SOFFICE")
    if named:
        return shutil.which(named)
    return shutil.which("soffice") or shutil.which("libreoffice")


def docx_to_pdf(docx_path: Path, out_path: Path) -> None:
    """Convert ``docx_path`` to ``out_path`` with LibreOffice."""
    binary = soffice()
    if binary is None:
        raise UsageError(Detail("report.pdf-no-soffice"))
    with tempfile.TemporaryDirectory(prefix="loa-soffice-") as work:
        profile = Path(work, "profile").as_uri()
        cmd = [binary, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to", "pdf",
               "--outdir", work, str(docx_path)]
        try:
            # HOME too: LibreOffice writes caches there, and the service user's may be read-only
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
                                  stdin=subprocess.DEVNULL, env={**os.environ, "HOME": work})
        except subprocess.TimeoutExpired:
            raise UsageError(Detail("report.pdf-failed", reason=f"timeout after {TIMEOUT_S} s")) from None
        made = Path(work, docx_path.stem + ".pdf")
        if done.returncode != 0 or not made.is_file():
            reason = (done.stderr or done.stdout or f"exit {done.returncode}").strip().splitlines()
            raise UsageError(Detail("report.pdf-failed", reason=(reason[-1] if reason else "?")[:300]))
        shutil.move(str(made), str(out_path))


def write_pdf(report: Report, out_path: Path, templates_dir=None) -> None:
    from pipeline.report.docx import write_docx

    with tempfile.TemporaryDirectory(prefix="loa-report-") as work:
        docx_path = Path(work, "report.docx")
        write_docx(report, docx_path, templates_dir)
        docx_to_pdf(docx_path, out_path)
