"""Service accounts in Chromium against a live gunicorn: an admin creates one from Admin ›
Users, mints its key on its page, and a script uses the key for /api/models; signing in as
it is refused (the API and pages without a browser: tests/test_service_accounts.py)."""

import httpx
import pytest

from tests.support.chromium import flashes, open_admin_tab, sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails the tests
    expect = None

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn


@pytest.fixture
def admin(crowd, make_user, make_group, connected_upstreams, save_settings):
    """The admin's page, signed in; ada may own accounts; plain users lack features.api_keys."""
    save_settings(USER_PERMISSIONS_FEATURES_API_KEYS=False)
    make_user("root@example.com", role="admin")
    make_user("ada@example.com")
    make_group("Deployers")
    page = crowd.person("admin")
    sign_in(page, "root@example.com")
    return page


def test_an_admin_creates_a_service_account_and_its_key_lists_models(admin, live_server):
    open_admin_tab(admin, "Users")
    admin.get_by_role("link", name="Manage service accounts").click()
    admin.get_by_label("Name", exact=True).fill("ci-deploy")
    admin.get_by_label("Owner").select_option(label="Ada (ada@example.com)")
    admin.get_by_label("Deployers").check()
    admin.get_by_role("button", name="Create service account").click()

    expect(flashes(admin)).to_contain_text("Created the service account ci-deploy")
    expect(admin.locator("#service-owner")).to_contain_text("Ada")
    admin.get_by_label("Key name").fill("pipeline")
    admin.get_by_role("button", name="Mint key").click()
    secret = admin.locator("#new-key").input_value()
    assert secret.startswith("sk-")
    expect(admin.locator('[data-key-name="pipeline"]')).to_be_visible()

    answer = httpx.get(
        f"{live_server.url}/api/models", headers={"Authorization": f"Bearer {secret}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]

    admin.reload()  # the secret is shown once
    expect(admin.locator("#new-key")).to_have_count(0)
    open_admin_tab(admin, "API Keys")
    row = admin.locator('tr[data-key-name="pipeline"]')
    expect(row.locator(".badge.service")).to_have_text("service")
    expect(row).to_contain_text("owner: Ada")


def test_signing_in_as_a_service_account_says_why_not(admin, crowd, live_server):
    open_admin_tab(admin, "Users")
    admin.get_by_role("link", name="Manage service accounts").click()
    admin.get_by_label("Name", exact=True).fill("night-bot")
    admin.get_by_role("button", name="Create service account").click()
    expect(flashes(admin)).to_contain_text("Created the service account night-bot")
    email = httpx.get(
        f"{live_server.url}/api/v1/service-accounts",
        cookies={c["name"]: c["value"] for c in admin.context.cookies()},
        timeout=30,
    ).json()["items"][0]["email"]

    stranger = crowd.person("stranger")
    stranger.goto("/auth/login")
    stranger.get_by_label("Email").fill(email)
    stranger.get_by_label("Password").fill("anything at all")
    stranger.get_by_role("button", name="Sign in").click()
    expect(flashes(stranger)).to_contain_text("Service accounts cannot sign in; use its API keys.")
    expect(stranger.get_by_label("Email")).to_have_value(email)
