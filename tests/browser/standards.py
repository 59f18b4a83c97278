"""The checkers beside axe: the Nu Html Checker (v.Nu) and IBM's Equal Access engine.

Both come from `tests/browser/package.json`, installed by `make test` (nothing is
downloaded while the tests run). v.Nu reads the HTML exactly as the server sent it to
the browser (a browser repairs bad markup before any script can see it), so the live
server keeps every HTML page it answers and one Java run checks them all at the end.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
ACE_JS = NODE_MODULES / "accessibility-checker-engine" / "ace.js"
# The engine's own default policy: WCAG 2.2 A and AA plus IBM's requirements (content in
# landmarks, for one), a little wider than the WCAG 2.1 AA axe checks.
ACE_POLICY = "IBM_Accessibility"
# Where the engines disagree, decided in the README ("Two accessibility engines"): the
# rule, and the markup it is waived for (nowhere else).
ACE_DECIDED = {
    # The sign-in email is the account's user name: WHATWG's value for a sign-in field,
    # which password managers look for; v.Nu and axe accept it on type=email.
    "input_autocomplete_valid": re.compile(r'^(?=.*type="email")(?=.*autocomplete="username")'),
    # A wide table scrolls inside a named region that takes focus, so a keyboard can scroll
    # it (axe's scrollable-region-focusable, WCAG 2.1.1); IBM wants a widget role there.
    "element_tabbable_role_valid": re.compile(
        r'^(?=.*role="region")(?=.*tabindex="0")(?=.*aria-label=)'
    ),
}
_GNU_LINE = re.compile(r'^"(?P<url>[^"]+)":(?:(?P<line>\d+)[0-9.\-]*:)? ?(?P<message>.*)$')
_CSRF = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*"')


@dataclass
class Page:
    """One HTML answer of the live server, as the browser received it."""

    name: str
    html: str


class SeenPages:
    """Every HTML page the browser tests were sent, once per distinct body."""

    def __init__(self) -> None:
        self.pages: list[Page] = []
        self._bodies: set[str] = set()

    def keep(self, name: str, html: str) -> None:
        same = _CSRF.sub(r'\1"', html)  # tokens differ between otherwise equal pages
        if same not in self._bodies:
            self._bodies.add(same)
            self.pages.append(Page(name, html))


SEEN = SeenPages()
# What the two checkers cost this run, for the summary at the end: name -> [pages, seconds].
COST = {"IBM Equal Access": [0, 0.0], "v.Nu": [0, 0.0]}


def record_html_pages(app) -> None:
    """Make the live server keep a copy of every HTML page it answers."""
    from flask import request

    @app.after_request
    def keep_html(response):
        if response.mimetype == "text/html" and not response.is_streamed:
            name = f"{request.method} {request.full_path.rstrip('?')} → {response.status_code}"
            SEEN.keep(name, response.get_data(as_text=True))
        return response


def html_errors(pages: list[Page]) -> list[str]:
    """v.Nu's errors for these pages, each as 'page: line: message', in one Java run."""
    if shutil.which("java") is None or not VNU_JAR.exists():
        raise RuntimeError(f"v.Nu needs Java and {VNU_JAR} (`make test` installs both)")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        names = {}
        for number, page in enumerate(pages):
            path = Path(directory) / f"page-{number:04d}.html"
            path.write_text(page.html, encoding="utf-8")
            names[path.name] = page.name
        run = subprocess.run(
            ["java", "-jar", str(VNU_JAR), "--errors-only", "--exit-zero-always"]
            + ["--format", "gnu", directory],
            capture_output=True,
            text=True,
            check=True,
        )
    COST["v.Nu"][0] += len(pages)
    COST["v.Nu"][1] += time.perf_counter() - started
    # One message a line (the text format survives what the JSON writer trips on, such as
    # a forbidden code point); a line of any other shape is reported as it is.
    errors = []
    for line in run.stderr.splitlines():
        if line.startswith("Picked up "):  # the JVM echoing JAVA_TOOL_OPTIONS
            continue
        found = _GNU_LINE.match(line)
        if found is None:
            errors.append(line)
        else:
            name = names.get(Path(found["url"]).name, found["url"])
            errors.append(f"{name}: line {found['line'] or '?'}: {found['message']}")
    return errors


@functools.cache
def _ace_source() -> str:
    return ACE_JS.read_text(encoding="utf-8")


def ace_violations(page) -> list[str]:
    """IBM Equal Access engine's violations on the page open in Playwright."""
    started = time.perf_counter()
    if not page.evaluate("typeof window.ace !== 'undefined'"):
        page.evaluate(_ace_source())  # evaluated, not a <script>: the site's CSP stays as it is
    # A closed <details> (reply, hide a comment, send back) keeps its form in the page; the
    # engine would call its labels missing, so it checks them open, then closes them again.
    results = page.evaluate(
        """async (policy) => {
            const closed = [...document.querySelectorAll("details:not([open])")];
            closed.forEach((d) => { d.open = true; });
            const report = await new ace.Checker().check(document, [policy]);
            closed.forEach((d) => { d.open = false; });
            return report.results
                .filter((r) => r.value[0] === "VIOLATION" && r.value[1] === "FAIL")
                .map((r) => ({rule: r.ruleId, path: r.path.dom, message: r.message,
                              snippet: r.snippet}));
        }""",
        ACE_POLICY,
    )
    COST["IBM Equal Access"][0] += 1
    COST["IBM Equal Access"][1] += time.perf_counter() - started
    return [
        f"{r['rule']}: {r['message']} at {r['path']} {r['snippet']}"
        for r in results
        if not (r["rule"] in ACE_DECIDED and ACE_DECIDED[r["rule"]].search(r["snippet"]))
    ]
