"""What the browser tests share besides fixtures: signing in, layout checks, axe-core, PDFs."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import tempfile
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from inclusive_day.demo.kunming import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# axe-core's impacts that fail a page; "moderate" and "minor" ones are reported, not failed.
FAILING_IMPACTS = ("serious", "critical")


def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form, as a person would, and wait for the page after it."""
    page.goto("/auth/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#submit")
    expect(page).not_to_have_url(re.compile(r"/auth/login"))


def fits_the_screen(page: Page) -> bool:
    """Nothing sticks out sideways: the page is no wider than the window."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def unique_phone() -> str:
    """A mobile number no other test uses."""
    return "139" + f"{secrets.randbelow(10**8):08d}"


def short_id() -> str:
    """A few characters that tell apart what two runs of a test make."""
    return uuid.uuid4().hex[:4]


def weekday_on_or_after(day: date, weekday: int) -> date:
    """The first date on or after `day` that falls on `weekday` (Monday 0)."""
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def axe_violations(page: Page) -> list[dict]:
    """Run axe-core on the page as it is now; its violations, each with rule, impact, help
    and the elements at fault."""
    # Evaluated through the DevTools protocol, which the pages' Content-Security-Policy (no
    # inline scripts) leaves alone, where an injected <script> tag would be refused.
    page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
            }));
        }"""
    )


def describe(violations: list[dict]) -> str:
    """Violations as lines a person can act on."""
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:10]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"    {node['target']}  {summary[:300]}")
    return "\n".join(lines)


def pdf_text(data: bytes) -> str:
    """The text of a PDF as poppler's pdftotext reads it (layout kept, so a row of figures
    stays on one line); the test fails, saying so, where poppler-utils is missing."""
    if shutil.which("pdftotext") is None:
        pytest.fail(
            "pdftotext is missing: install the Debian package poppler-utils (make setup does)"
        )
    assert data.startswith(b"%PDF-"), f"not a PDF: {data[:40]!r}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "read.pdf"
        path.write_bytes(data)
        return subprocess.run(
            ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout
