"""The browser harness itself: axe finds a real violation and passes a clean page, and the
overflow measure sees a page wider than the phone viewport. Without these, an accessibility test
that found nothing could mean the check never ran."""

from __future__ import annotations

from tests.browser import axe_violations, describe, horizontal_overflow

BAD = """<!doctype html><html><head><title>x</title></head><body>
<main><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><a href="#"></a>
<div style="width:900px">wide</div></main></body></html>"""

GOOD = """<!doctype html><html lang="vi"><head><meta name="viewport" content="width=device-width">
<title>Trang thử</title></head><body><main><h1>Thủ tục</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="Biểu trưng"><a href="/a">Đọc tiếp</a></main></body></html>"""


def test_axe_reports_the_violations_a_bad_page_has(chromium):
    page = chromium.new_page(viewport={"width": 375, "height": 700})
    page.set_content(BAD)
    rules = {v["id"] for v in axe_violations(page)}
    assert {"image-alt", "html-has-lang", "link-name"} <= rules, rules
    assert horizontal_overflow(page) > 400
    page.close()


def test_a_clean_page_has_no_violation_and_no_horizontal_scroll(chromium):
    page = chromium.new_page(viewport={"width": 375, "height": 700})
    page.set_content(GOOD)
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    assert horizontal_overflow(page) == 0
    page.close()
