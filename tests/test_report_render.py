"""The report as people see it: docx -> PDF (LibreOffice) -> PNG (poppler), html -> PNG (Chromium).

Checks that the pages have the A4 size, are not blank, carry ink in both columns of the Decree 30 header,
and that the page number shows in the top margin of page 2 but not of page 1. Skipped when the tools are
missing, unless LOA_REQUIRE_SERVICES=1 (CI: apt-get install libreoffice-writer poppler-utils chromium
fonts-liberation).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from pipeline.report import write_report
from test_report import SPECS, LedgerFactory, fill, report_for


def _tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("LOA_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{' or '.join(names)} is required (LOA_REQUIRE_SERVICES=1) but not installed")
    pytest.skip(f"{' or '.join(names)} not installed")


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and grey rows (0 = black) of an 8-bit, non-interlaced PNG. Small on purpose: the
    test needs no imaging library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and interlace == 0, "only 8-bit non-interlaced PNGs are expected here"
            channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line[0:stride:channels]) if channels < 3 else
                    bytes((line[i] + line[i + 1] + line[i + 2]) // 3 for i in range(0, stride, channels)))
        prev = line
    return width, height, rows


def ink(rows: list[bytes], x0: float, x1: float, y0: float, y1: float) -> int:
    """Dark pixels (grey < 128) in a box given as fractions of the page."""
    h, w = len(rows), len(rows[0])
    return sum(1 for row in rows[int(y0 * h):int(y1 * h)] for v in row[int(x0 * w):int(x1 * w)] if v < 128)


@pytest.fixture(scope="module")
def report_files(tmp_path_factory):
    base = tmp_path_factory.mktemp("render")
    factory = LedgerFactory("sqlite", base)
    ledger = factory.new()
    fill(ledger, SPECS)
    report = report_for(ledger, "2024", items_limit=60)  # long enough for a second page
    files = {fmt: write_report(report, fmt, base / f"report.{fmt}") for fmt in ("docx", "html")}
    yield base, files
    factory.close()


def test_docx_renders_as_a4_with_the_decree_30_header(report_files):
    soffice = _tool("soffice", "libreoffice")
    pdftoppm = _tool("pdftoppm")
    base, files = report_files
    profile = base / "lo-profile"  # own profile: a LibreOffice already running elsewhere is not disturbed
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(base), str(files["docx"])], check=True, timeout=240,
                   capture_output=True)
    pdf = base / "report.pdf"
    assert pdf.exists() and pdf.stat().st_size > 10_000
    subprocess.run([pdftoppm, "-r", "150", "-f", "1", "-l", "2", "-png", str(pdf), str(base / "page")],
                   check=True, timeout=120)
    pages = sorted(base.glob("page-*.png"))
    assert len(pages) == 2
    w, h, rows = read_png(pages[0])
    assert abs(w - 1240) <= 2 and abs(h - 1754) <= 2  # A4 (210 x 297 mm) at 150 dpi, give or take rounding
    assert ink(rows, 0, 1, 0, 1) > 20_000
    assert ink(rows, 0.15, 0.45, 0.05, 0.12) > 500   # agency name, left column
    assert ink(rows, 0.5, 0.95, 0.05, 0.12) > 800    # Quốc hiệu and Tiêu ngữ, right column
    assert ink(rows, 0.3, 0.7, 0.0, 0.065) == 0      # no page number on page 1
    _, _, rows2 = read_png(pages[1])
    assert ink(rows2, 0.45, 0.55, 0.0, 0.065) > 20   # page number centred in the top margin of page 2
    assert ink(rows2, 0.0, 0.12, 0.0, 1.0) == 0      # the 30 mm left margin stays empty (table borders
    #                                                  may stand out of the text by the cell padding)


def test_html_renders_without_network(report_files):
    chromium = _tool("chromium", "chromium-browser", "google-chrome")
    base, files = report_files
    shot = base / "html.png"
    profile = base / "chromium-profile"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1240,1754",
                    files["html"].resolve().as_uri()], check=True, timeout=120, capture_output=True)
    w, h, rows = read_png(shot)
    assert (w, h) == (1240, 1754)
    assert ink(rows, 0, 1, 0, 0.12) > 1_500          # the header block
    assert ink(rows, 0, 0.5, 0, 0.12) > 300 and ink(rows, 0.5, 1, 0, 0.12) > 300
    assert ink(rows, 0, 1, 0.12, 1) > 20_000         # body, tables and charts
