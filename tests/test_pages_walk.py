"""Every page reachable from the navigation, in Chromium, as an admin, a user, a person waiting
for approval and a visitor, at 360 px and 1280 px wide, in the light and the dark scheme: the
page fits its width, logs no error, loads every resource (the favicon too), shows no Python
repr and nothing marked hidden, keeps its text readable (WCAG AA contrast), shows the admin
tabs on admin pages and the signed-in header on a 404. A screenshot of each page and case
goes to test-artifacts/pages/."""

import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.accounts import ADMIN_EMAIL
from tests.support.chromium import ARTIFACTS, TIMEOUT_MS, sign_in
from tests.support.files import upload_ok
from webui.services import service_accounts

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn

SHOTS = ARTIFACTS / "pages"
WIDTHS = (360, 1280)
SCHEMES = ("light", "dark")
PEOPLE = {
    "admin": ADMIN_EMAIL,
    "user": "alice@example.com",
    "pending": "pat@example.com",
    "visitor": None,
}
# Where a walk starts besides the page signing in lands on.
EXTRA_STARTS = {"visitor": ["/auth/login", "/auth/signup"]}
MISSING_PAGE = "/no-such-page"
# Links the walk does not follow: signing out, the API (downloads, JSON), static files.
NOT_FOLLOWED = ("/auth/logout", "/api/", "/api", "/ollama/", "/static/", "/openapi.json")
# Two frames: a page's script that follows the scheme (the API reference's) hears of the
# change before the next frame is drawn, not before emulate_media returns.
NEXT_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
PYTHON_REPRS = ("<built-in", "<bound method", " object at 0x", "<function ")
# A model's repr, such as "<User ada@example.com user>", printed instead of one of its fields.
MODEL_REPR = re.compile(r"<[A-Z][A-Za-z]+ [^<>\n]*>")

# Measures WCAG contrast of every visible text on the page (see the file's comment).
CONTRAST_SCRIPT = (Path(__file__).parent / "support" / "contrast.js").read_text()


@pytest.fixture
def site(app, client, people_with_keys, make_user, make_group, connected_upstreams):
    """Pages with something on them: keys, a file, a collection, a group, usage of a model,
    a person waiting for approval; sign-ups switched off."""
    people = people_with_keys(
        "alice", USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=True, ENABLE_SIGNUP=False
    )
    make_user("pat@example.com", role="pending", name="Pat Waiting")
    make_group("Research and development", people["alice"])
    alice = people["alice_key"]
    long_name = "quarterly-report-for-the-whole-research-and-development-department.txt"
    file_id = upload_ok(client, long_name, b"Holidays: 25 days a year.", alice)["id"]
    collection = client.post(
        "/api/v1/knowledge/create", json={"name": "Handbook"}, headers=alice
    ).get_json()
    client.post(
        f"/api/v1/knowledge/{collection['id']}/file/add", json={"file_id": file_id}, headers=alice
    )
    chat = {"model": "gpt-test", "messages": [{"role": "user", "content": "Hello"}]}
    assert client.post("/api/chat/completions", json=chat, headers=alice).status_code == 200
    with app.app_context():  # a service account with a key: its pages and its inventory row
        account = service_accounts.create("nightly-build-bot", people["alice"])
        service_accounts.mint_key(account, {"name": "pipeline"})
    return people


def test_every_page_fits_reads_well_and_loads_cleanly(browser, live_server, site):
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    problems, visited = [], {}
    for role, email in PEOPLE.items():
        for width in WIDTHS:
            walk = Walk(browser, live_server.url, role, email, width)
            try:
                walk.run()
            finally:
                walk.close()
            problems += walk.problems
            visited[(role, width)] = walk.visited
    assert not problems, "\n".join(problems)
    # The walks really went everywhere: every admin tab, the workspace, a collection.
    admin_pages = visited[("admin", 360)]
    for path in ("/admin/settings/connections", "/admin/models", "/admin/audit", "/chat"):
        assert any(page.startswith(path) for page in admin_pages), admin_pages
    assert any(page.startswith("/workspace/knowledge/") for page in visited[("user", 1280)])
    assert visited[("admin", 360)] == visited[("admin", 1280)]


class Walk:
    """One person at one width: from the page they land on, every same-site link, once."""

    def __init__(self, browser, base_url: str, role: str, email: str | None, width: int):
        self.role, self.email, self.width = role, email, width
        self.origin = urlsplit(base_url).netloc
        self.context = browser.new_context(
            base_url=base_url, viewport={"width": width, "height": 800}
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.page.on("dialog", lambda dialog: dialog.dismiss())
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.trouble.append(f"script error: {error}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)
        self.trouble: list[str] = []
        self.problems: list[str] = []
        self.visited: list[str] = []
        self.expected_status = 200

    def close(self) -> None:
        self.context.close()

    def run(self) -> None:
        if self.email:
            sign_in(self.page, self.email)
            self.page.wait_for_url(lambda url: "/auth/login" not in url)
        queue = [urlsplit(self.page.url).path] if self.email else []
        queue += EXTRA_STARTS.get(self.role, [])
        while queue:
            path = queue.pop(0)
            if path in self.visited:
                continue
            for link in self.visit(path):
                if link not in self.visited and link not in queue:
                    queue.append(link)
        self.visit_missing_page()

    def visit(self, path: str, status: int = 200) -> list[str]:
        """Load once, check in both schemes, and return the links to follow."""
        self.trouble.clear()
        self.expected_status = status
        self.page.emulate_media(color_scheme="light")
        response = self.page.goto(path)
        self.page.wait_for_load_state("load")
        landed = urlsplit(self.page.url).path
        self.visited.append(path)
        if landed != path:
            self.visited.append(landed)
        where = f"{self.role} {self.width}px {landed}"
        if response is None or response.status != status:
            self.problems.append(f"{where}: status {response and response.status}, not {status}")
        self.check_page(where, landed)
        for scheme in SCHEMES:
            self.page.emulate_media(color_scheme=scheme)
            self.page.evaluate(NEXT_FRAMES)
            self.check_contrast(f"{where} {scheme}")
            self.page.screenshot(path=str(SHOTS / self.shot_name(landed, scheme)), full_page=True)
        self.problems += [f"{where}: {line}" for line in self.trouble]
        return self.links()

    def check_page(self, where: str, path: str) -> None:
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            self.problems.append(f"{where}: {overflow}px wider than the window")
        shown = self.page.evaluate(
            "[...document.querySelectorAll('[hidden]')].filter(e => e.checkVisibility()).length"
        )
        if shown:
            self.problems.append(f"{where}: {shown} element(s) marked hidden are shown")
        text = self.page.locator("body").inner_text()
        for repr_start in PYTHON_REPRS:
            if repr_start in text:
                self.problems.append(f"{where}: Python repr {repr_start!r} in the text")
        for found in MODEL_REPR.findall(text):
            self.problems.append(f"{where}: a model's repr in the text: {found}")
        if path.startswith("/admin") and self.role == "admin":
            if self.page.locator("main nav.tabs").count() != 1:
                self.problems.append(f"{where}: no admin tab bar")

    def check_contrast(self, where: str) -> None:
        result = self.page.evaluate(CONTRAST_SCRIPT)
        if not result["checked"]:
            self.problems.append(f"{where}: no text to check the contrast of")
        self.problems += [f"{where}: low contrast {line}" for line in result["low"]]

    def visit_missing_page(self) -> None:
        self.visit(MISSING_PAGE, status=404)
        header = self.page.locator("header")
        signed_in = header.locator("form[action$='/auth/logout']").count() == 1
        where = f"{self.role} {self.width}px 404 page"
        if signed_in != bool(self.email):
            self.problems.append(f"{where}: signed-in header shown={signed_in}")
        if self.email is None and header.locator("a[href$='/auth/signup']").count():
            self.problems.append(f"{where}: a sign-up link although sign-ups are off")

    def links(self) -> list[str]:
        hrefs = self.page.eval_on_selector_all(
            "a[href]:not([download])", "links => links.map(link => link.href)"
        )
        found = []
        for href in hrefs:
            parts = urlsplit(href)
            if parts.netloc != self.origin or parts.path.startswith(NOT_FOLLOWED):
                continue
            if parts.path not in found:
                found.append(parts.path)
        return found

    def shot_name(self, path: str, scheme: str) -> str:
        # Ids in paths (uuid, hex) become "item", so names stay the same from run to run.
        segments = [
            "item" if re.fullmatch(r"[0-9a-f-]{16,}", part) else part
            for part in path.strip("/").split("/")
        ]
        slug = "_".join(segments) or "home"
        return f"{self.role}-{self.width}-{scheme}-{slug}.png"

    # --- what the browser reports ---------------------------------------------------------

    def _console(self, message) -> None:
        if message.type != "error":
            return
        if self.expected_status >= 400 and "status of 404" in message.text:
            return  # Chromium logs the 404 of the page asked for on purpose
        self.trouble.append(f"console error: {message.text}")

    def _failed(self, request) -> None:
        if request.failure == "net::ERR_ABORTED":
            return  # cancelled by the next navigation (a late favicon); errors show as statuses
        self.trouble.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response) -> None:
        if response.status >= 400 and not (
            response.request.is_navigation_request() and response.status == self.expected_status
        ):
            self.trouble.append(f"HTTP {response.status}: {response.url}")


# --- the header's two buttons ---------------------------------------------------------------


def test_menu_button_folds_the_navigation_and_the_theme_is_remembered(
    browser, live_server, people_with_keys
):
    people_with_keys()
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 740}, color_scheme="light"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in(page, ADMIN_EMAIL)
        page.wait_for_url(lambda url: "/auth/login" not in url)
        settings = page.locator("header nav").get_by_role("link", name="Settings", exact=True)
        menu = page.get_by_role("button", name="Menu")
        assert not settings.is_visible()
        menu.click()
        assert settings.is_visible() and menu.get_attribute("aria-expanded") == "true"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "admin-360-light-menu-open.png"))
        menu.click()
        assert not settings.is_visible()

        background = "getComputedStyle(document.body).backgroundColor"
        light = page.evaluate(background)
        page.get_by_role("button", name="Switch to the dark theme").click()
        dark = page.evaluate(background)
        assert dark != light
        page.reload()
        # theme.js runs in <head>: the choice holds before anything is painted.
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert page.evaluate(background) == dark
        page.get_by_role("button", name="Switch to the light theme").click()
        assert page.evaluate(background) == light
    finally:
        context.close()


def test_without_scripts_the_navigation_still_shows_and_fits(browser, live_server, make_user):
    make_user(ADMIN_EMAIL, role="admin")
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 740}, java_script_enabled=False
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in(page, ADMIN_EMAIL)
        page.wait_for_url(lambda url: "/auth/login" not in url)
        nav = page.locator("header nav")
        for label in ("Chat", "Settings", "Admin Panel"):
            assert nav.get_by_role("link", name=label, exact=True).is_visible()
        assert not page.get_by_role("button", name="Menu").is_visible()
        width = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        assert page.evaluate(width) <= 0
    finally:
        context.close()
