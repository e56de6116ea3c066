"""A real browser for the tests: Playwright driving Debian's Chromium, and axe-core in the page.

Playwright's own browser download is not reachable from these machines, so Playwright launches the
system Chromium (``apt-get install chromium``) through ``executable_path``. axe-core (Deque, MPL 2.0)
comes as the ``axe.min.js`` that the ``axe-playwright-python`` package ships; it is injected into
the page and run there, exactly as axe's own integrations do.

Use the ``chromium`` fixture from ``tests/conftest.py``::

    def test_page(chromium):
        page = chromium.new_page(viewport={"width": 375, "height": 800})
        page.goto(url)
        assert axe_violations(page) == [], describe(axe_violations(page))

Without Chromium or Playwright the tests that need them are skipped, or fail when
``LOA_REQUIRE_SERVICES=1`` (CI).
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from importlib import resources
from typing import Iterator

# WCAG 2.1 A and AA: the level the issue asks for; best-practice rules are not in it.
WCAG_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


def chromium_path() -> str | None:
    """The system Chromium, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def missing() -> str | None:
    """Why a browser test cannot run here, or None when it can."""
    if chromium_path() is None:
        return "Chromium is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    try:
        _axe_source()
    except (ImportError, FileNotFoundError):
        return "axe-core is not installed (pip install -e '.[test]': axe-playwright-python)"
    return None


@contextmanager
def launched() -> Iterator[object]:
    """A headless Chromium (Playwright ``Browser``), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            # root in a container: Chromium's sandbox needs user namespaces it may not have
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            yield browser
        finally:
            browser.close()


def _axe_source() -> str:
    return (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def axe_violations(page, tags: tuple[str, ...] = WCAG_AA) -> list[dict]:
    """Run axe-core on the page as it is now; its violations of the given rule tags."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=_axe_source())
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        list(tags),
    )
    return result["violations"]


def describe(violations: list[dict]) -> str:
    """A readable list of violations for an assertion message: rule, impact, help, first nodes."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v.get('impact')}): {v['help']}")
        for node in v.get("nodes", [])[:3]:
            lines.append(f"    {', '.join(map(str, node.get('target', [])))}: {node.get('failureSummary', '')[:200]}")
    return "\n".join(lines)


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than its viewport (0: no horizontal scroll)."""
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
