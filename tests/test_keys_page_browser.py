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
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_role("button", name="Generate New API Key").click()
    expect(flashes(page)).to_contain_text(f"API key '{name}' created.")
    page.wait_for_load_state()  # the page's scripts have run


@pytest.mark.parametrize("clipboard", ["granted", "refused"])
def test_the_new_key_is_announced_focused_and_copy_keeps_the_focus(
    live_server, bob_page, clipboard
):
    page = bob_page
    if clipboard == "granted":
        page.context.grant_permissions(
            ["clipboard-read", "clipboard-write"], origin=live_server.url
        )
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


def date_field(page):
    return page.locator("form.key-form .field").filter(has=page.get_by_label("Expiry date"))


def test_the_expiry_date_shows_only_when_a_date_is_chosen(bob_page):
    page = bob_page
    expires = page.locator("form.key-form").get_by_label("Expires")
    expect(expires).to_have_value("never")
    expect(date_field(page)).to_be_hidden()
    expires.select_option(label="On a date…")
    expect(date_field(page)).to_be_visible()
    expires.select_option(label="30 days")
    expect(date_field(page)).to_be_hidden()

    # A refused date keeps the choice, and with it the field and its message.
    expires.select_option(label="On a date…")
    page.locator("form.key-form").get_by_label("Name", exact=True).fill("Dated")
    page.get_by_role("button", name="Generate New API Key").click()
    expect(date_field(page)).to_contain_text("Pick the date the key should expire.")
    expect(date_field(page)).to_be_visible()


def test_without_scripts_the_expiry_date_is_never_hidden(browser, live_server, bob_page):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, EMAIL)
        page.goto("/account/")
        expect(page.locator("form.key-form").get_by_label("Expires")).to_have_value("never")
        expect(date_field(page)).to_be_visible()
    finally:
        context.close()


def test_placeholders_are_muted_examples(bob_page):
    name = bob_page.locator("form.key-form").get_by_label("Name", exact=True)
    expect(name).to_have_attribute("placeholder", "e.g. Monitoring Bot")
    text, placeholder = bob_page.evaluate(
        "el => [getComputedStyle(el).color, getComputedStyle(el, '::placeholder').color]",
        name.element_handle(),
    )
    assert text != placeholder


def test_the_chooser_groups_reachable_routes_and_saving_a_blocked_one_warns(
    bob_page, save_settings
):
    save_settings(ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS=True, API_KEYS_ALLOWED_ENDPOINTS="/api")
    page = bob_page
    page.reload()
    form = page.locator("form.key-form")
    form.get_by_text("Choose from this server's API routes").click()
    models = form.locator("fieldset.endpoint-area").filter(
        has=page.locator("legend", has_text="Models")
    )
    expect(models.get_by_label("The models you may use /api/v1/models")).to_be_visible()
    expect(form.locator('input[value="/ollama/api/tags"]')).to_have_count(0)  # blocked
    expect(form.locator('input[value="/api/v1/users/all"]')).to_have_count(0)  # admin-only

    models.get_by_label("The models you may use /api/v1/models").check()
    form.get_by_label("Name", exact=True).fill("Mixed")
    form.get_by_label("Other allowed paths (optional)").fill("/ollama/api/chat")
    form.get_by_role("button", name="Generate New API Key").click()
    expect(flashes(page)).to_have_count(1)
    expect(flashes(page)).to_have_class("flash flash-warning")
    expect(flashes(page)).to_contain_text("/ollama/api/chat can never match")


def test_a_refused_new_user_shows_its_error_beside_the_form(crowd, make_user):
    make_user("root@example.com", role="admin")
    page = crowd.person("root")
    page.set_viewport_size({"width": 360, "height": 800})
    sign_in(page, "root@example.com")
    page.goto("/admin/users")
    add_user = page.locator("#add-user")
    add_user.get_by_label("Name", exact=True).fill("Carol Chen")
    add_user.get_by_label("Email").fill("carol@example.com")
    add_user.get_by_label("Password").fill("short")
    add_user.get_by_role("button", name="Add user").click()
    expect(page.locator("#add-user-error")).to_contain_text("The account was not created")
    expect(page.locator("#add-user-error")).to_be_in_viewport()
    expect(add_user.get_by_label("Name", exact=True)).to_have_value("Carol Chen")
    expect(add_user.get_by_label("Email")).to_have_value("carol@example.com")
