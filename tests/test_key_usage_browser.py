"""A key's 30-day usage in a real browser (Chromium against gunicorn), issue 27 item 8: the
chart on the key page fits 360 px in both schemes with its bars drawn in a colour that
stands out from the card, and the admin inventory sorts by the 30-day columns."""

import re

import pytest
import sqlalchemy as sa

from tests.support.accounts import ADMIN_EMAIL
from tests.support.chromium import sign_in
from webui.extensions import db
from webui.models import ApiKey, Usage, now

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails the tests
    expect = None

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn

DAY = 86400
SIDEWAYS_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def keys_with_usage(app, make_user, make_key, save_settings):
    """Bob's "deploy bot" used on three days (today the busiest); Ada's "quiet bot" once."""
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    make_user(ADMIN_EMAIL, role="admin")
    bob, ada = make_user("bob@example.com"), make_user("ada@example.com")
    make_key(bob, "deploy bot")
    make_key(ada, "quiet bot")
    today = now() - now() % DAY
    with app.app_context():
        key_of = dict(db.session.execute(sa.select(ApiKey.user_id, ApiKey.id)).all())
        used = [(bob, today, 4), (bob, today - 2 * DAY, 2), (bob, today - 20 * DAY, 1)]
        for user_id, day, times in [*used, (ada, today, 1)]:
            for n in range(times):
                db.session.add(
                    Usage(
                        user_id=user_id,
                        api_key_id=key_of[user_id],
                        endpoint="/api/chat/completions",
                        model="gpt-test" if n % 2 == 0 else "a-model-with-a-rather-long-name:70b",
                        status=200,
                        prompt_tokens=12,
                        completion_tokens=30,
                        total_tokens=42,
                        created_at=day + 60 + n,
                    )
                )
        db.session.commit()
    return key_of[bob]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_key_page_chart_fits_360_px_and_stands_out(crowd, keys_with_usage, scheme):
    page = crowd.person("bob")
    page.set_viewport_size({"width": 360, "height": 800})
    page.emulate_media(color_scheme=scheme)
    sign_in(page, "bob@example.com")
    page.goto(f"/account/keys/{keys_with_usage}")

    chart = page.get_by_role("img", name="Requests per day: 7 requests in the last 30 days")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar")).to_have_count(30)
    assert page.evaluate(SIDEWAYS_OVERFLOW) == 0
    box = chart.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    tallest = chart.locator("rect.bar").last.bounding_box()
    assert tallest["height"] > 20  # today, the busiest day, is drawn tall

    colours = chart.evaluate(
        """svg => ({
            bar: getComputedStyle(svg.querySelector('rect.bar')).fill,
            accent: getComputedStyle(svg).color,
            card: getComputedStyle(svg.closest('.card')).backgroundColor,
        })"""
    )
    assert colours["bar"] == colours["accent"] != colours["card"]
    models = page.get_by_role("region", name="Requests and tokens per model")
    expect(models).to_have_attribute("tabindex", "0")  # it scrolls sideways at 360 px
    expect(models.locator("#key-usage-models")).to_contain_text("gpt-test")


def test_the_inventory_sorts_by_requests_in_30_days(crowd, keys_with_usage):
    page = crowd.person("admin")
    page.set_viewport_size({"width": 360, "height": 800})
    sign_in(page, ADMIN_EMAIL)
    page.goto("/admin/api-keys")  # at 360 px the navigation is folded behind its button
    rows = page.locator("#all-keys tbody tr")
    expect(rows).to_have_count(2)
    filters = page.locator("#key-filters")
    filters.get_by_label("Sort by").select_option(label="requests, last 30 days")
    filters.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=usage$"))
    names = rows.evaluate_all("rows => rows.map(row => row.dataset.keyName)")
    assert names == ["deploy bot", "quiet bot"]
    expect(rows.first.locator(".recent-requests")).to_have_text("7 requests")
    assert page.evaluate(SIDEWAYS_OVERFLOW) == 0
    page.set_viewport_size({"width": 1280, "height": 800})
    table_box = page.get_by_role("region", name="API keys")
    # With these short emails the whole table, Revoke buttons included, shows without scrolling.
    assert table_box.evaluate("box => box.scrollWidth - box.clientWidth") == 0
