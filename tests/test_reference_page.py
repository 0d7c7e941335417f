"""/docs, the API reference: Swagger UI (from the flask-swagger-ui package, served by this app,
no CDN) over /openapi.json, usable with the person's session, linked from Settings › Account.

The fast tests read the page and its files; the slow one runs it in Chromium: the operations
render at 1280 and 360 px in both schemes without sideways scrolling, axe finds nothing serious
in our parts, nothing is fetched from another host, and "Try it out" answers with the session."""

import gzip
import hashlib
import re
from pathlib import Path
from urllib.parse import urlsplit

import flask_swagger_ui
import pytest

import webui
from tests.support.accounts import ADMIN_EMAIL, PASSWORD, login_client
from tests.support.axe import BLOCKING, describe, load_axe
from tests.support.chromium import ARTIFACTS, TIMEOUT_MS, sign_in
from tests.support.schema import stamp
from tests.support.servers import SECRET_KEY, gunicorn_server
from webui import create_app
from webui.core import counters
from webui.extensions import db
from webui.services import users

SWAGGER_DIST = Path(flask_swagger_ui.__file__).parent / "dist"
STATIC = Path(webui.__file__).parent / "static"
OUR_FILES = ("reference.js", "reference.css")
LOADED = re.compile(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"')
ANY_URL = re.compile(r"https?://[^\s\"'<>)]+")
IMMUTABLE = "public, max-age=31536000, immutable"


def loaded_urls(html: str) -> list[str]:
    """What the page's <script src> and <link href> make the browser fetch."""
    return LOADED.findall(html)


def other_hosts(text: str) -> list[str]:
    """Absolute http(s) URLs: each would be a host other than the one serving the page."""
    return ANY_URL.findall(text)


def test_the_page_answers_anyone_and_loads_only_our_files(client):
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    urls = loaded_urls(html)
    assert any(url.startswith("/docs/swagger-ui/swagger-ui-bundle.js?v=") for url in urls), urls
    assert any(url.startswith("/docs/swagger-ui/swagger-ui.css?v=") for url in urls), urls
    assert any(url.startswith("/static/reference.js?v=") for url in urls), urls
    for url in urls:
        assert urlsplit(url).netloc == "" and url.startswith("/"), url
    assert other_hosts(html) == []
    assert 'data-openapi-url="/openapi.json"' in html


def test_our_scripts_and_styles_name_no_other_host(client):
    for name in OUR_FILES:
        text = client.get(f"/static/{name}").get_data(as_text=True)
        assert text, name
        assert other_hosts(text) == [], name


def test_swagger_ui_is_started_without_its_online_validator(client):
    script = client.get("/static/reference.js").get_data(as_text=True)
    assert "validatorUrl: null" in script


@pytest.mark.parametrize("filename", ["swagger-ui-bundle.js", "swagger-ui.css"])
def test_the_vendored_files_are_served_and_cached_at_their_versioned_url(client, filename):
    body = (SWAGGER_DIST / filename).read_bytes()
    version = hashlib.sha256(body).hexdigest()[:10]
    current = client.get(f"/docs/swagger-ui/{filename}?v={version}")
    assert current.status_code == 200
    assert current.get_data() == body
    assert current.headers["Cache-Control"] == IMMUTABLE
    unversioned = client.get(f"/docs/swagger-ui/{filename}")
    assert unversioned.headers["Cache-Control"] == "no-cache"
    revalidated = client.get(
        f"/docs/swagger-ui/{filename}", headers={"If-None-Match": unversioned.headers["ETag"]}
    )
    assert revalidated.status_code == 304


def test_the_vendored_bundle_is_gzipped(client):
    bundle = "swagger-ui-bundle.js"
    response = client.get(f"/docs/swagger-ui/{bundle}", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.get_data()) == (SWAGGER_DIST / bundle).read_bytes()


@pytest.mark.parametrize("filename", ["index.css", "oauth2-redirect.html", "../VERSION", "LICENSE"])
def test_only_the_files_the_page_needs_are_served(client, filename):
    assert client.get(f"/docs/swagger-ui/{filename}").status_code == 404


def test_the_document_the_page_reads_is_openapi_3_1(client):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert document["paths"]


def test_signed_in_the_page_says_try_it_out_acts_as_the_person(app, make_user):
    make_user(ADMIN_EMAIL, role="admin")
    html = login_client(app, ADMIN_EMAIL).get("/docs").get_data(as_text=True)
    assert "calls the API as you" in html
    assert 'name="csrf-token"' in html  # what reference.js sends with writes
    assert 'href="/account/#api-keys"' in html


def test_signed_out_the_page_offers_to_sign_in(client):
    html = client.get("/docs").get_data(as_text=True)
    assert 'href="/auth/login?next=/docs"' in html


def test_the_account_page_links_to_the_reference_next_to_the_keys(app, make_user):
    make_user(ADMIN_EMAIL, role="admin")
    html = login_client(app, ADMIN_EMAIL).get("/account/").get_data(as_text=True)
    keys = html.index('id="api-keys"')
    link = html.index('href="/docs"')
    next_section = html.index("<section", keys)
    assert keys < link < next_section, "the link belongs in the API Keys section"


# --- in Chromium, against a live gunicorn --------------------------------------------------

WIDTHS = (1280, 360)
SCHEMES = ("light", "dark")
SHOTS = ARTIFACTS / "reference"  # one screenshot per width and scheme, kept for review
SIDEWAYS_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
SWAGGER = "#swagger-ui"
# The operations "Try it out" runs below.
WHO_AM_I = ("/api/v1/auths/", "get")
NEW_CHAT = ("/api/v1/chats/new", "post")
SCROLLS = 100  # of 600 px, more than the whole list of operations
NEW_CHAT_BODY = '{"chat": {"title": "From the API reference", "messages": []}}'


@pytest.fixture(scope="module")
def reference_site(tmp_path_factory):
    """A live gunicorn (CSRF checked, as deployed) with an admin who may use the API."""
    workdir = tmp_path_factory.mktemp("reference")
    database_url = f"sqlite:///{workdir / 'test.sqlite'}"
    app = create_app(
        {"TESTING": True, "SECRET_KEY": SECRET_KEY, "SQLALCHEMY_DATABASE_URI": database_url}
    )
    with app.app_context():
        db.create_all()
        stamp("head")
        users.create_user("Root", ADMIN_EMAIL, PASSWORD, role="admin")
    with gunicorn_server(database_url, workdir) as server:
        yield server
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    counters.dispose(app)


# axe over our parts only: Swagger UI's markup has findings of its own (listed, not asserted).
AXE_OURS = f"() => axe.run({{exclude: [['{SWAGGER}']]}}, {{resultTypes: ['violations']}})"
AXE_SWAGGER = f"() => axe.run('{SWAGGER}', {{resultTypes: ['violations']}})"


def violations(results: dict, impacts) -> list[dict]:
    return [
        {
            "id": found["id"],
            "impact": found["impact"],
            "help": found["help"],
            "targets": [", ".join(node["target"]) for node in found["nodes"]],
        }
        for found in results["violations"]
        if found["impact"] in impacts
    ]


class Visit:
    """A signed-in person's page on /docs, with what the browser fetched and complained of."""

    def __init__(self, browser, server, width: int, scheme: str):
        self.origin = server.url
        self.context = browser.new_context(
            base_url=server.url, viewport={"width": width, "height": 900}, color_scheme=scheme
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        load_axe(self.context)
        self.fetched: list[str] = []
        self.context.on("request", lambda request: self.fetched.append(request.url))
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._note_error)
        sign_in(self.page, ADMIN_EMAIL)
        self.page.wait_for_url(lambda url: "/auth/login" not in url)
        self.page.goto("/docs")
        self.page.locator(f"{SWAGGER} .opblock").first.wait_for()

    def _note_error(self, message) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def elsewhere(self) -> list[str]:
        """What the browser fetched from anywhere but this server."""
        return [
            url
            for url in self.fetched
            if not url.startswith(self.origin + "/") and not url.startswith("data:")
        ]

    def operation(self, path: str, method: str):
        """The operation's block, opened. Swagger UI renders only the operations near the
        screen once a document has 100 or more: scroll down until this one is there."""
        block = self.page.locator(
            f"{SWAGGER} .opblock-{method}:has(.opblock-summary-path[data-path='{path}'])"
        )
        for _ in range(SCROLLS):
            if block.count():
                break
            self.page.mouse.wheel(0, 600)
            self.page.wait_for_timeout(50)
        block.locator(".opblock-summary-control").click()
        block.get_by_role("button", name="Try it out").click()
        return block

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, reference_site):
    opened = []

    def open_docs(width: int = 1280, scheme: str = "light") -> Visit:
        opened.append(Visit(browser, reference_site, width, scheme))
        return opened[-1]

    yield open_docs
    for each in opened:
        each.close()


@pytest.mark.slow
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
def test_the_operations_render_readably_from_this_server_only(visit, width, scheme):
    docs = visit(width, scheme)
    page = docs.page
    assert page.locator(f"{SWAGGER} .opblock").count() >= 2
    dark = page.evaluate("document.documentElement.classList.contains('dark-mode')")
    assert dark == (scheme == "dark"), "Swagger UI follows the page's scheme"
    overflow = page.evaluate(SIDEWAYS_OVERFLOW)
    ours = violations(page.evaluate(AXE_OURS), BLOCKING)
    swaggers = violations(page.evaluate(AXE_SWAGGER), ("serious", "critical"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"docs-{width}-{scheme}.png"), full_page=True)
    page.screenshot(path=str(SHOTS / f"docs-{width}-{scheme}-first-screen.png"))
    if swaggers:
        print(f"Swagger UI's own markup at {width}px, {scheme}:\n{describe(swaggers)}")
    assert overflow <= 0, f"/docs at {width}px scrolls sideways by {overflow}px"
    assert ours == [], f"/docs at {width}px, {scheme}:\n{describe(ours)}"
    assert docs.elsewhere() == []
    assert [error for error in docs.errors if "Content Security Policy" in error] == []


@pytest.mark.slow
@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (360, "dark")])
def test_try_it_out_reads_with_the_session(visit, width, scheme):
    docs = visit(width, scheme)
    block = docs.operation(*WHO_AM_I)
    block.get_by_role("button", name="Execute").click()
    status = block.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    answer = block.locator(".live-responses-table tr.response .response-col_description").first
    assert ADMIN_EMAIL in answer.inner_text()
    # An opened operation, its answer shown, still fits the width.
    SHOTS.mkdir(parents=True, exist_ok=True)
    docs.page.screenshot(path=str(SHOTS / f"docs-try-it-out-{width}-{scheme}.png"), full_page=True)
    block.screenshot(path=str(SHOTS / f"docs-operation-{width}-{scheme}.png"))
    overflow = docs.page.evaluate(SIDEWAYS_OVERFLOW)
    assert overflow <= 0, f"an opened operation at {width}px scrolls sideways by {overflow}px"


@pytest.mark.slow
def test_try_it_out_writes_with_the_pages_csrf_token(visit):
    docs = visit()
    block = docs.operation(*NEW_CHAT)
    block.locator("textarea.body-param__text").fill(NEW_CHAT_BODY)
    token = docs.page.locator('meta[name="csrf-token"]').get_attribute("content")
    with docs.page.expect_request(lambda request: request.url.endswith(NEW_CHAT[0])) as sent:
        block.get_by_role("button", name="Execute").click()
    assert sent.value.headers.get("x-csrftoken") == token
    status = block.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"


@pytest.mark.slow
def test_swagger_ui_follows_the_theme_switch(visit):
    docs = visit(1280, "light")
    is_dark = "document.documentElement.classList.contains('dark-mode')"
    assert docs.page.evaluate(is_dark) is False
    docs.page.locator("[data-theme-toggle]").click()
    docs.page.wait_for_function(is_dark)
    docs.page.locator("[data-theme-toggle]").click()
    docs.page.wait_for_function(f"!({is_dark})")
