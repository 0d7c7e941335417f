"""Settings › Account in a real browser (Chromium against gunicorn), issue 26: the shown-once
key takes the focus and keeps it on Copy, the expiry date shows only when it is wanted, and
the endpoint chooser is grouped by area."""

import pytest

from tests.support.chromium import flashes, open_account_settings, sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails the tests
    expect = None

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn

EMAIL = "bob@example.com"


@pytest.fixture
def bob_page(crowd, live_server, make_user, save_settings):
    """Bob, signed in and allowed to make keys, on Settings › Account."""
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    make_user("root@example.com", role="admin")
    make_user(EMAIL)
    page = crowd.person("bob")
    sign_in(page, EMAIL)
    open_account_settings(page)
    return page


def focused_id(page) -> str:
    return page.evaluate("() => document.activeElement.id")


def generate_key(page, name: str) -> None:
    form = page.locator("form.key-form")
    form.get_by_label("Name").fill(name)
    form.get_by_role("button", name="Generate New API Key").click()
    expect(flashes(page)).to_contain_text(f"API key '{name}' created.")
    page.wait_for_load_state()  # the page's scripts have run


@pytest.mark.parametrize("clipboard", ["granted", "refused"])
def test_the_new_key_is_announced_focused_and_copy_keeps_the_focus(
    live_server, bob_page, clipboard
):
    page = bob_page
    if clipboard == "granted":
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    generate_key(page, "Deploy bot")
    box = page.locator("#new-key-box")
    expect(box).to_have_attribute("role", "status")
    expect(page.locator("#new-key")).to_be_focused()

    copy = box.locator("button[data-copy]")
    page.keyboard.press("Tab")  # from the key to its Copy button
    expect(copy).to_be_focused()
    page.keyboard.press("Enter")
    expect(copy).to_have_text("Copied")
    expect(copy).to_be_focused()
    assert focused_id(page) != "new-key"
    copy.click()  # a second copy keeps it there too
    expect(copy).to_be_focused()
    if clipboard == "granted":
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied == page.locator("#new-key").input_value()
