"""Every page the browser tests were sent is valid HTML to the Nu Html Checker (v.Nu)."""

from __future__ import annotations

import pytest

from tests.browser.standards import Page, html_errors

pytestmark = [pytest.mark.browser, pytest.mark.after_browser_tests]

# Checked in the same run: proof that the checker reads the pages and reports what it finds.
FAULTY = Page(
    "a faulty page",
    '<!doctype html><html lang="en"><head><title>x</title></head><body>'
    '<p><form action=""></form></p></body></html>',
)


def test_every_page_the_browser_tests_saw_is_valid_html(html_seen_by_the_browser):
    if not html_seen_by_the_browser:
        pytest.skip("no browser test ran before this one")
    errors = html_errors([*html_seen_by_the_browser, FAULTY])
    faulty = [e for e in errors if e.startswith(f"{FAULTY.name}:")]
    assert any("“action”" in e for e in faulty) and any("“p”" in e for e in faulty), faulty
    errors = [e for e in errors if e not in faulty]
    assert not errors, (
        f"{len(errors)} v.Nu errors in {len(html_seen_by_the_browser)} pages:\n" + "\n".join(errors)
    )
