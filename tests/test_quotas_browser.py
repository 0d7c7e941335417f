"""Quotas in a real browser (Chromium against gunicorn), issue 27 item 3: an administrator
sets a person's quota on Admin › Quotas (a bad number refused with the form kept), the person
then sees the warning banner and their key's use on the key page, fitting a phone's width,
and cannot give the key a quota above their own."""

import pytest

from tests.support.chromium import flashes, open_admin_tab, sign_in
from webui.extensions import db
from webui.models import Usage, User

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails the tests
    expect = None

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn

EMAIL = "bob@example.com"


def used_tokens(app, email: str, tokens: int) -> None:
    with app.app_context():
        user_id = db.session.query(User.id).filter_by(email=email).scalar()
        db.session.add(
            Usage(
                user_id=user_id,
                endpoint="/api/chat/completions",
                model="gpt-test",
                status=200,
                total_tokens=tokens,
            )
        )
        db.session.commit()


def fits_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_admin_quota_warns_the_owner_and_caps_the_key(
    app, crowd, live_server, make_user, make_key, save_settings
):
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    make_user("root@example.com", role="admin")
    make_key(make_user(EMAIL), "deploy bot")

    admin = crowd.person("admin")
    sign_in(admin, "root@example.com")
    open_admin_tab(admin, "Quotas")
    admin.get_by_role("link", name=f"Edit quotas of {EMAIL}").click()
    tokens = admin.get_by_label("Tokens (optional)")
    tokens.fill("a thousand")
    admin.get_by_role("button", name="Save quotas").click()
    expect(flashes(admin)).to_contain_text("The quotas were not saved: token_quota must be")
    expect(tokens).to_have_value("a thousand")  # what was typed is kept
    tokens.fill("1000")
    admin.get_by_role("button", name="Save quotas").click()
    expect(flashes(admin)).to_contain_text(f"Quotas of {EMAIL} saved.")
    expect(admin.locator("#user-quotas")).to_contain_text("1,000")

    used_tokens(app, EMAIL, 900)
    bob = crowd.person("bob")
    bob.set_viewport_size({"width": 360, "height": 800})
    sign_in(bob, EMAIL)
    bob.goto("/account/")  # at this width the header's links sit behind its menu button
    expect(bob.locator(".quota-warning")).to_contain_text(
        "You have used 900 of the 1,000 tokens of your quota for this day (90%)."
    )
    assert fits_sideways(bob)

    bob.get_by_role("link", name="Edit deploy bot").click()
    expect(bob.locator("#key-quota-use")).to_contain_text(
        "Tokens this day: 900 of 1,000 used, 100 left"
    )
    assert fits_sideways(bob)
    form = bob.locator("form.key-form")
    form.get_by_label("Token quota (optional)").fill("2000")
    form.get_by_role("button", name="Save changes").click()
    expect(bob.locator(".flash-error")).to_contain_text("The key was not changed")
    expect(bob.locator(".field.has-error .error")).to_have_text(
        "Token quota 2000 is above your quota of 1000: a key's quota may only be lower."
    )
