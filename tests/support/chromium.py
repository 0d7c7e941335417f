"""Chromium through Playwright for the tests in a real browser: launching it, people in
separate browser contexts, the pages they fill in, and screenshots under test-artifacts/ when a
test fails. The ``browser`` and ``crowd`` fixtures in conftest.py are built on these."""

import os
import re
from pathlib import Path

import pytest

from tests.support.accounts import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


def require_browser():
    """Playwright's sync API, or a skip; CI (WEBUI_REQUIRE_SERVICES=1) fails instead of skipping."""
    required = os.environ.get("WEBUI_REQUIRE_SERVICES") == "1"
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is not installed (apt-get install chromium)"
    else:
        try:
            from playwright import sync_api
        except ImportError:
            missing = "the Python package playwright is not installed (pip install -e '.[test]')"
    if missing and required:
        pytest.fail(f"WEBUI_REQUIRE_SERVICES=1 but {missing}", pytrace=False)
    if missing:
        pytest.skip(missing)
    return sync_api


def launch(playwright):
    """Headless Chromium, the Debian package's binary."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
    )


class Crowd:
    """Each person browses in their own context (own cookies), as in separate browsers."""

    def __init__(self, browser, base_url: str):
        self._browser = browser
        self._base_url = base_url
        self.pages = {}
        self.dialogs: list[str] = []

    def person(self, label: str):
        context = self._browser.new_context(base_url=self._base_url)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("dialog", self._accept)
        self.pages[label] = page
        return page

    def leave(self, label: str) -> None:
        self.pages.pop(label).context.close()

    def _accept(self, dialog) -> None:
        # Confirm dialogs ("Delete the API key …?") are answered yes, and remembered.
        self.dialogs.append(dialog.message)
        dialog.accept()

    def screenshot_all(self, test_name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        stem = re.sub(r"[^\w.-]+", "_", test_name)
        for label, page in self.pages.items():
            try:
                page.screenshot(path=str(ARTIFACTS / f"{stem}-{label}.png"), full_page=True)
            except Exception as error:  # a crashed page must not hide the test's own failure
                print(f"no screenshot of {label}: {error}")

    def close(self) -> None:
        for label in list(self.pages):
            self.leave(label)


def failed_in_call(node) -> bool:
    """Needs the plugin ``tests.support.phase_reports`` (conftest.py loads it)."""
    report = getattr(node, "report_call", None)
    return report is None or report.failed


# --- what people do on the pages --------------------------------------------------------


def sign_up(page, name: str, email: str) -> None:
    page.goto("/auth/signup")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()


def sign_in(page, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def open_admin_tab(page, label: str) -> None:
    """Admin Panel, then one of its tabs (General, Users, Groups, …)."""
    page.locator("header nav").get_by_role("link", name="Admin Panel").click()
    page.locator("nav.tabs").get_by_role("link", name=label, exact=True).click()


def open_account_settings(page) -> None:
    page.locator("header nav").get_by_role("link", name="Settings", exact=True).click()


def flashes(page):
    return page.locator(".flash")
