"""The report as PDF: the docx (:mod:`pipeline.report.docx`, the legal form of Decree 30) printed
by LibreOffice (``soffice --headless --convert-to pdf``), so the PDF is the same document the
office signs, not a second layout. LibreOffice is a system package (``apt-get install
libreoffice-writer``); without it a PDF is refused with that advice."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pipeline.errors import UsageError

TIMEOUT = 180  # seconds: a first start of LibreOffice on a busy 2-core server takes tens of seconds


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def write_pdf(report, out_path: Path, templates_dir=None) -> None:
    from pipeline.report.docx import write_docx

    exe = soffice()
    if exe is None:
        raise UsageError("a PDF report needs LibreOffice (apt-get install libreoffice-writer); "
                         "the docx is the same document")
    with tempfile.TemporaryDirectory(prefix="loa-pdf-") as work:
        docx = Path(work) / "report.docx"
        write_docx(report, docx, templates_dir)
        # a profile of its own: a LibreOffice already open for the user must not take the job
        profile = Path(work) / "profile"
        done = subprocess.run([exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                               "--convert-to", "pdf", "--outdir", work, str(docx)],
                              capture_output=True, timeout=TIMEOUT, env={**os.environ, "HOME": work})
        pdf = Path(work) / "report.pdf"
        if done.returncode != 0 or not pdf.exists():
            raise UsageError("LibreOffice could not make the PDF: "
                             + (done.stderr or done.stdout).decode("utf-8", "replace").strip()[-300:])
        shutil.copyfile(pdf, out_path)
