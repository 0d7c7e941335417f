"""A key's whole life in a real browser (Chromium against gunicorn): create, reload, rename,
restrict, rotate and delete on the account pages, with a plain HTTP client using the secrets
copied from the page the way a script would."""

import httpx
import pytest

from tests.support.accounts import bearer
from tests.support.chromium import flashes, open_account_settings, sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails the tests
    expect = None

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn

EMAIL = "bob@example.com"


@pytest.fixture
def bob_page(crowd, live_server, make_user, save_settings):
    """Bob, signed in, allowed to make keys, with a clipboard the page may write and we read."""
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    make_user("root@example.com", role="admin")
    make_user(EMAIL)
    page = crowd.person("bob")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, EMAIL)
    return page


def leaving_asks_first(page) -> bool:
    """Whether the page would ask before it is left (its beforeunload handler objects)."""
    return page.evaluate(
        "() => { const e = new Event('beforeunload', {cancelable: true});"
        " window.dispatchEvent(e); return e.defaultPrevented; }"
    )


def copy_new_key(page) -> str:
    """Press Copy on the shown-once key; returns what reached the clipboard."""
    page.wait_for_load_state()  # app.js, at the end of the page, has run
    assert leaving_asks_first(page)
    button = page.locator("#new-key-box button[data-copy]")
    expect(button).to_have_text("Copy")
    button.click()
    expect(button).to_have_text("Copied")
    secret = page.evaluate("() => navigator.clipboard.readText()")
    assert secret.startswith("sk-") and secret == page.locator("input#new-key").input_value()
    assert not leaving_asks_first(page)
    expect(button).to_have_text("Copy", timeout=4000)  # back after about two seconds
    return secret


def key_row(page, name: str):
    return page.locator(f'tr[data-key-name="{name}"]')


def edit_key(page, name: str) -> None:
    key_row(page, name).get_by_role("link", name="Edit").click()
    expect(page.locator("h1")).to_contain_text(f"API key {name}")


def status_with(url: str, secret: str, path: str = "/api/v1/auths/") -> int:
    with httpx.Client(base_url=url, headers=bearer(secret), timeout=30.0) as script:
        return script.get(path).status_code


def test_key_lifecycle_in_the_browser(crowd, live_server, bob_page):
    page = bob_page

    # Create: the key is shown once, after a redirect.
    open_account_settings(page)
    expect(page.locator("#no-keys")).to_contain_text("You have no API keys yet")
    form = page.locator("form.key-form")
    form.get_by_label("Name", exact=True).fill("Deploy bot")
    form.get_by_role("button", name="Generate New API Key").click()
    expect(flashes(page)).to_contain_text("API key 'Deploy bot' created.")
    first = copy_new_key(page)
    assert status_with(live_server.url, first) == 200

    # Reload: no error, no second submission, no key.
    page.reload()
    expect(page.locator("input#new-key")).to_have_count(0)
    expect(page.locator(".flash-error")).to_have_count(0)
    expect(key_row(page, "Deploy bot")).to_have_count(1)
    assert first not in page.content()
    assert not leaving_asks_first(page)

    # Rename.
    edit_key(page, "Deploy bot")
    page.get_by_label("Name", exact=True).fill("Deploy bot v2")
    page.get_by_role("button", name="Save changes").click()
    expect(flashes(page)).to_contain_text("API key 'Deploy bot v2' saved.")
    expect(key_row(page, "Deploy bot v2")).to_have_count(1)

    # Restrict: a path chosen from the API's routes, read-only, a limit of its own.
    edit_key(page, "Deploy bot v2")
    page.get_by_text("Choose from this server's API routes").click()
    page.locator('input[name="endpoints"][value="/api/v1/auths"]').check()
    page.get_by_label("Read-only (GET requests only)").check()
    page.get_by_label("Requests per minute (optional)").fill("100")
    page.get_by_role("button", name="Save changes").click()
    expect(flashes(page)).to_contain_text("saved.")
    row = key_row(page, "Deploy bot v2")
    expect(row).to_contain_text("read-only")
    expect(row).to_contain_text("/api/v1/auths")
    expect(row).to_contain_text("100/min")
    assert status_with(live_server.url, first) == 200
    assert status_with(live_server.url, first, "/api/v1/files/") == 403

    # Rotate: a new secret, shown once; the old one is refused from the next request.
    row.get_by_role("button", name="Rotate").click()
    expect(flashes(page)).to_contain_text("has a new secret; the old one no longer works.")
    assert any("new secret" in message for message in crowd.dialogs)
    second = copy_new_key(page)
    assert second != first
    assert status_with(live_server.url, first) == 401
    assert status_with(live_server.url, second) == 200
    expect(key_row(page, "Deploy bot v2")).to_contain_text("100/min")

    # Delete, after confirming.
    key_row(page, "Deploy bot v2").get_by_role("button", name="Delete").click()
    expect(flashes(page)).to_contain_text("API key 'Deploy bot v2' deleted.")
    assert any(message.startswith("Delete the API key") for message in crowd.dialogs)
    expect(key_row(page, "Deploy bot v2")).to_have_count(0)
    assert status_with(live_server.url, second) == 401


def test_a_refused_change_keeps_the_form(bob_page):
    page = bob_page
    open_account_settings(page)
    for name in ("One", "Two"):
        # The creation form is folded once a key exists; the <details> says so when it
        # arrives (asking is_visible() could answer for the page before it loaded).
        folded = page.locator("details:has(form.key-form)")
        if folded.get_attribute("open") is None:
            folded.locator(":scope > summary").click()
        page.locator("form.key-form").get_by_label("Name", exact=True).fill(name)
        page.get_by_role("button", name="Generate New API Key").click()
        expect(flashes(page)).to_contain_text(f"API key '{name}' created.")
        copy_new_key(page)
    edit_key(page, "Two")
    page.get_by_label("Name", exact=True).fill("One")
    page.get_by_label("Requests per minute (optional)").fill("12")
    page.get_by_role("button", name="Save changes").click()
    expect(flashes(page)).to_contain_text("The key was not changed")
    expect(page.locator(".error")).to_contain_text("You already have a key named 'One'")
    expect(page.get_by_label("Requests per minute (optional)")).to_have_value("12")
