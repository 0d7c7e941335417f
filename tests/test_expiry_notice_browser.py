"""Issue 27 item 7 in a real browser (Chromium against gunicorn): the banner of a key that
expires within a week shows on the owner's page, and "Make a replacement" opens the new-key
form filled from that key, ready to create."""

import pytest
import sqlalchemy as sa

from tests.support.chromium import open_account_settings, sign_in
from webui.extensions import db
from webui.models import ApiKey, now

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails the tests
    expect = None

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn

EMAIL = "bob@example.com"
DAY = 86400


@pytest.fixture
def bob_page(app, crowd, live_server, make_user, make_key, save_settings):
    """Bob, whose 30-day key ci-bot (read-only, 60 a minute, one model and one network)
    expires in 3 days, on Settings › Account."""
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    make_user("root@example.com", role="admin")
    make_key(
        make_user(EMAIL),
        "ci-bot",
        expires_at=now() + 3 * DAY,
        read_only=True,
        rate_limit=60,
        allowed_models=["gpt-test"],
        allowed_networks=["203.0.113.0/24"],
    )
    with app.app_context():
        db.session.execute(sa.update(ApiKey).values(created_at=ApiKey.expires_at - 30 * DAY))
        db.session.commit()
    page = crowd.person("bob")
    sign_in(page, EMAIL)
    open_account_settings(page)
    return page


def test_the_banner_offers_a_replacement_filled_from_the_key(bob_page):
    page = bob_page
    banner = page.locator(".expiring-key")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Key ci-bot expires on")

    banner.get_by_role("link", name="Make a replacement").click()
    form = page.locator("form.key-form")
    expect(form).to_be_visible()  # the form's box is open
    expect(page.locator("#replacing")).to_contain_text("A replacement for ci-bot")
    expect(form.get_by_label("Name", exact=True)).to_have_value("ci-bot (replacement)")
    expect(form.get_by_label("Read-only (GET requests only)")).to_be_checked()
    expect(form.get_by_label("Requests per minute (optional)")).to_have_value("60")
    expect(form.get_by_label("Allowed models (optional)")).to_have_value("gpt-test")
    expect(form.get_by_label("Allowed networks (optional)")).to_have_value("203.0.113.0/24")
    expect(form.get_by_label("Expires")).to_have_value("30")  # the same lifetime

    form.get_by_label("Name", exact=True).fill("ci-bot 2")  # the owner may change anything first
    form.get_by_role("button", name="Generate New API Key").click()
    expect(page.locator(".flash-success")).to_contain_text("API key 'ci-bot 2' created.")
    expect(page.locator(".expiring-key")).to_have_count(1)  # the new key expires in 30 days
    row = page.locator("tr[data-key-name='ci-bot 2']")
    expect(row.locator(".key-models")).to_have_text("models: gpt-test")
    expect(row.locator(".key-networks")).to_have_text("from: 203.0.113.0/24")
    expect(row).to_contain_text("read-only")
