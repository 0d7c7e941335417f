"""A key's model and network lists on its Edit page in a real browser (Chromium against
gunicorn), issue 27 items 1 and 2: a bad network is refused beside its field with the form
kept, a good one is saved and shown in the key list and on the page again."""

import pytest

from tests.support.chromium import flashes, open_account_settings, sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails the tests
    expect = None

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn

EMAIL = "bob@example.com"


@pytest.fixture
def bob_page(crowd, live_server, make_user, make_key, save_settings):
    """Bob, with a key, on Settings › Account."""
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    make_user("root@example.com", role="admin")
    make_key(make_user(EMAIL), "deploy bot")
    page = crowd.person("bob")
    sign_in(page, EMAIL)
    open_account_settings(page)
    return page


def test_the_key_page_sets_models_and_networks(bob_page):
    page = bob_page
    page.get_by_role("link", name="Edit deploy bot").click()
    form = page.locator("form.key-form")
    models = form.get_by_label("Allowed models (optional)")
    networks = form.get_by_label("Allowed networks (optional)")
    models.fill("gpt-test, llama3:8b")
    networks.fill("10.0.0.1/8, 2001:db8::/32")
    form.get_by_role("button", name="Save changes").click()

    expect(flashes(page)).to_contain_text("The key was not changed")
    field = page.locator(".field.has-error").filter(has=page.locator("#allowed_networks"))
    expect(field.locator(".error")).to_have_text(
        "Allowed networks: '10.0.0.1/8' has host bits set: write the network as 10.0.0.0/8."
    )
    expect(models).to_have_value("gpt-test, llama3:8b")  # what was typed is kept

    networks.fill("10.0.0.0/8, 2001:DB8::/32")
    form.get_by_role("button", name="Save changes").click()
    expect(flashes(page)).to_contain_text("API key 'deploy bot' saved.")
    row = page.locator("tr[data-key-name='deploy bot']")
    expect(row.locator(".key-models")).to_have_text("models: gpt-test, llama3:8b")
    expect(row.locator(".key-networks")).to_have_text("from: 10.0.0.0/8, 2001:db8::/32")

    page.get_by_role("link", name="Edit deploy bot").click()
    expect(models).to_have_value("gpt-test, llama3:8b")
    expect(networks).to_have_value("10.0.0.0/8, 2001:db8::/32")
