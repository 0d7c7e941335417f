"""axe-core over every screen of the app: each page state (signed out, waiting, a user with and
without things, an admin; lists empty and full; forms showing their errors; error pages), at
1280 px and 360 px wide, in the light and the dark scheme, has no moderate, serious or critical
violation. Plus the skip link: the first thing Tab reaches, and it moves focus to the content.

One live server and one browser for the module; one browser context per person and width,
signed in once, reused by every state of that person (the scheme is switched per page)."""

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

import pytest

from tests.support import site as site_support
from tests.support.accounts import ADMIN_EMAIL
from tests.support.axe import blocking_violations, describe, load_axe
from tests.support.chromium import TIMEOUT_MS, sign_in
from tests.support.fake_upstream import UPSTREAM_KEY, running_upstream
from tests.support.schema import stamp
from tests.support.servers import SECRET_KEY, gunicorn_server
from webui import create_app
from webui.core import counters
from webui.extensions import db

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn

WIDTHS = (1280, 360)
SCHEMES = ("light", "dark")
PEOPLE = {
    "visitor": None,
    "pending": "pat@example.com",
    "user": "alice@example.com",
    "empty": "bob@example.com",
    "admin": ADMIN_EMAIL,
}


NEW_KEY_NUMBERS = itertools.count(1)
SIDEWAYS_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@dataclass(frozen=True)
class State:
    """A page as someone sees it: who, and how to get there from any page."""

    name: str
    person: str
    go: Callable
    ready: Optional[str] = None  # what the page's script fills in, waited for before axe runs
    settings: Optional[dict] = None  # set for this state only (then set back)


def goto(path: str) -> Callable:
    return lambda page, ids: page.goto(path)


def goto_id(template: str) -> Callable:
    return lambda page, ids: page.goto(template.format(**ids))


def send_chat_message(page, ids):
    page.goto("/chat")
    page.get_by_label("Message").fill("Say hello")
    page.get_by_role("button", name="Send").click()


def open_menu(page, ids):
    """The folded header menu of narrow screens, opened (wide screens have no menu button)."""
    page.goto("/account/")
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():
        menu.click()


def create_key(page, ids):
    """A new key, shown once; each time under a new name (names are unique per person)."""
    submit("/account/", "/account/keys", {"Name": f"shown-once-{next(NEW_KEY_NUMBERS)}"})(page, ids)
    page.locator("#new-key").wait_for()


def open_key_page(page, ids):
    page.goto("/account/")
    with page.expect_navigation():
        page.get_by_label("Edit ci-bot").click()


def submit(path: str, action: str, fill: dict) -> Callable:
    """Open ``path``, fill labelled fields of the form posting to ``action``, send it."""

    def go(page, ids):
        page.goto(path)
        selector = f"form[action$='{action}']" if action else "main form"
        form = page.locator(selector).first
        folded = page.locator(f"details:has({selector}):not([open]) > summary")
        if folded.count():
            folded.first.click()  # a form folded away (as the key form is once keys exist)
        for label, value in fill.items():
            form.get_by_label(label, exact=True).fill(value)
        with page.expect_navigation():
            form.locator("[type=submit]").first.click()

    return go


STATES = [
    # Signed out
    State("sign-in", "visitor", goto("/auth/login")),
    State(
        "sign-in-error",
        "visitor",
        submit("/auth/login", "", {"Email": "nobody@example.com", "Password": "wrong password"}),
    ),
    State("sign-up", "visitor", goto("/auth/signup")),
    State("sign-up-errors", "visitor", submit("/auth/signup", "", {"Email": "not-an-email"})),
    State("sign-up-off", "visitor", goto("/auth/signup"), settings={"ENABLE_SIGNUP": False}),
    State("sign-in-sign-up-off", "visitor", goto("/auth/login"), settings={"ENABLE_SIGNUP": False}),
    State("not-found-signed-out", "visitor", goto("/no-such-page")),
    # Waiting for approval
    State("pending", "pending", goto("/auth/pending")),
    # A user with chats, keys, files and a collection
    State("chat-new", "user", goto("/chat"), ready="#chat-list li"),
    State("chat-with-messages", "user", goto_id("/chat/{chat}"), ready="#chat-log .code-block"),
    State(
        "chat-answered",
        "user",
        send_chat_message,
        ready=".message-assistant .message-text:not(:empty), #chat-error:not([hidden])",
    ),
    State("models", "user", goto("/models")),
    State("files-full", "user", goto("/workspace/files")),
    State("collections-full", "user", goto("/workspace/knowledge")),
    State("collection", "user", goto_id("/workspace/knowledge/{collection}")),
    State("collection-query", "user", goto_id("/workspace/knowledge/{collection}?q=holidays")),
    State("settings-full", "user", goto("/account/")),
    State("key-page", "user", open_key_page),
    State(
        "settings-password-error",
        "user",
        submit(
            "/account/",
            "/account/password",
            {"Current password": "not my password", "New password": "x"},
        ),
    ),
    State("key-form-errors", "user", submit("/account/", "/account/keys", {"Name": ""})),
    State("menu-open", "user", open_menu),
    State("not-allowed", "user", goto("/admin/users")),
    State("not-found", "user", goto("/no-such-page")),
    # A user with nothing yet
    State("chat-empty", "empty", goto("/chat"), ready="#chat-list-empty:not([hidden])"),
    State("files-empty", "empty", goto("/workspace/files")),
    State("collections-empty", "empty", goto("/workspace/knowledge")),
    State("settings-empty", "empty", goto("/account/")),
    # An admin
    State("admin-general", "admin", goto("/admin/settings")),
    State("admin-users", "admin", goto("/admin/users")),
    State(
        "admin-users-add-errors",
        "admin",
        submit("/admin/users", "/admin/users/add#add-user", {"Email": "not-an-email"}),
    ),
    State("admin-groups", "admin", goto("/admin/groups")),
    State("admin-groups-errors", "admin", submit("/admin/groups", "", {})),
    State("admin-group", "admin", goto_id("/admin/groups/{group}")),
    State("admin-permissions", "admin", goto("/admin/permissions")),
    State("admin-api-keys", "admin", goto("/admin/api-keys")),
    State("admin-api-keys-none-found", "admin", goto("/admin/api-keys?unused_days=3650")),
    State("admin-revoke-all", "admin", goto("/admin/api-keys/revoke-all")),
    State("admin-models", "admin", goto("/admin/models")),
    State("admin-connections", "admin", goto("/admin/settings/connections")),
    State(
        "admin-connections-add-errors",
        "admin",
        submit("/admin/settings/connections", "/admin/settings/connections/add", {}),
    ),
    State("admin-audit", "admin", goto("/admin/audit")),
    State("admin-audit-none-found", "admin", goto("/admin/audit?ip=nowhere")),
    State("admin-new-key-shown", "admin", create_key),
    State("admin-chat", "admin", goto("/chat"), ready="#chat-list-empty:not([hidden])"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A live gunicorn over a furnished database, with both fake model servers."""
    workdir = tmp_path_factory.mktemp("accessibility")
    database_url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{workdir / 'test.sqlite'}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "UPLOAD_DIR": str(workdir / "uploads"),
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        stamp("head")
    with (
        running_upstream(required_key=UPSTREAM_KEY) as openai_up,
        running_upstream() as ollama_up,
    ):
        furnished = site_support.furnish(app, openai_up, ollama_up)
        with gunicorn_server(database_url, workdir) as server:
            yield app, server, furnished
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    counters.dispose(app)


def leave_or_refuse(dialog) -> None:
    """Leaving a page that shows a new key asks first: leave. Any other question: no."""
    if dialog.type == "beforeunload":
        dialog.accept()
    else:
        dialog.dismiss()


class Pages:
    """One page per person and width, signed in on first use and kept."""

    def __init__(self, browser, base_url: str):
        self.browser, self.base_url = browser, base_url
        self.pages = {}

    def get(self, person: str, width: int):
        if (person, width) not in self.pages:
            context = self.browser.new_context(
                base_url=self.base_url, viewport={"width": width, "height": 800}
            )
            context.set_default_timeout(TIMEOUT_MS)
            load_axe(context)
            page = context.new_page()
            page.on("dialog", leave_or_refuse)
            if PEOPLE[person]:
                sign_in(page, PEOPLE[person])
                page.wait_for_url(lambda url: "/auth/login" not in url)
            self.pages[(person, width)] = page
        return self.pages[(person, width)]

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


@pytest.fixture(scope="module")
def pages(browser, site):
    _, server, _ = site
    opened = Pages(browser, server.url)
    yield opened
    opened.close()


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("state", STATES, ids=[state.name for state in STATES])
def test_no_blocking_axe_violations(pages, site, state, width, scheme):
    app, _, furnished = site
    page = pages.get(state.person, width)
    page.emulate_media(color_scheme=scheme)
    if state.settings:
        before = site_support.read_settings(app, state.settings)
        site_support.save_settings(app, **state.settings)
    try:
        state.go(page, furnished.ids)
        page.wait_for_load_state("load")
        if state.ready:
            page.locator(state.ready).first.wait_for(state="attached")
        violations = blocking_violations(page)
        overflow = page.evaluate(SIDEWAYS_OVERFLOW)
    finally:
        if state.settings:
            site_support.save_settings(app, **before)
    assert violations == [], f"{state.name} at {width}px, {scheme}:\n{describe(violations)}"
    assert overflow <= 0, f"{state.name} at {width}px scrolls sideways by {overflow}px"


def test_skip_link_is_the_first_stop_and_moves_focus_to_the_content(pages):
    page = pages.get("user", 1280)
    page.goto("/account/")
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    assert focused.inner_text() == "Skip to content"
    assert focused.is_visible()  # shown once focused, for people who see the screen
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"
    assert page.evaluate("document.activeElement.tagName") == "MAIN"


def test_the_brand_and_an_error_page_lead_back_to_chat(pages):
    page = pages.get("user", 360)
    page.goto("/no-such-page")
    page.get_by_role("link", name="Back to Chat").click()
    page.wait_for_url("**/chat")
    page.goto("/account/")
    page.locator("header .brand").click()
    page.wait_for_url("**/chat")


# The name a screen reader gives a button: its aria-label, else its text (or an input's value).
BUTTON_NAMES_PER_ROW = """rows => rows.map(row =>
  [...row.querySelectorAll('button, input[type=submit]')].map(b =>
    b.getAttribute('aria-label') || (b.tagName === 'INPUT' ? b.value : b.textContent.trim())))"""


@pytest.mark.parametrize(
    "path", ["/admin/api-keys", "/admin/models", "/admin/settings/connections"]
)
def test_buttons_repeated_per_row_are_named_per_row(pages, path):
    page = pages.get("admin", 1280)
    page.goto(path)
    rows = page.eval_on_selector_all("main tbody tr, main .connection", BUTTON_NAMES_PER_ROW)
    names = [name for row in rows for name in row]
    assert len([row for row in rows if row]) >= 2, f"{path}: fewer than two rows with buttons"
    repeated = sorted({name for name in names if names.count(name) > 1})
    assert not repeated, f"{path}: buttons of different rows share a name: {repeated}"
