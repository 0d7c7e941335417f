"""Issue 27 item 7: a banner on the owner's pages for keys expiring within a week (stronger
within a day), and "Make a replacement", the new-key form filled from the expiring key."""

import re
import time

import pytest
import sqlalchemy as sa

from tests.support.accounts import bearer, login_client
from tests.support.statements import keyed_request_statements
from webui.extensions import db
from webui.models import ApiKey, now

DAY = 86400
HOUR = 3600
WHO = "/api/v1/auths/"


@pytest.fixture
def people(people_with_keys, make_user):
    people = people_with_keys("ada")
    people["bob"] = make_user("bob@example.com")
    return people


def expiring_key(
    app, make_key, user_id, name="ci-bot", expires_in=5 * DAY, lifetime=30 * DAY, **options
) -> str:
    """A key made ``lifetime`` seconds before it expires, ``expires_in`` from now; its id."""
    make_key(user_id, name, expires_at=now() + expires_in, **options)
    with app.app_context():
        api_key = db.session.scalar(sa.select(ApiKey).where(ApiKey.name == name))
        api_key.created_at = api_key.expires_at - lifetime
        db.session.commit()
        return api_key.id


def banners(html: str) -> list[str]:
    return re.findall(r'<div class="flash [^"]*expiring-key"[^>]*>.*?</div>', html, re.S)


# --- the banner -------------------------------------------------------------------------------


def test_a_key_expiring_within_a_week_shows_a_banner_on_every_page(app, people, make_key):
    key_id = expiring_key(app, make_key, people["ada"])
    owner = login_client(app, "ada@example.com")
    for path in ("/account/", "/chat/"):
        (banner,) = banners(owner.get(path).get_data(as_text=True))
        assert 'class="flash flash-warning expiring-key" role="status"' in banner
        assert "Key <strong>ci-bot</strong> expires on" in banner
        assert f'<a href="/account/keys/{key_id}/replace">Make a replacement</a>' in banner
        assert "within a day" not in banner


def test_within_a_day_the_banner_is_an_alert(app, people, make_key):
    expiring_key(app, make_key, people["ada"], expires_in=12 * HOUR)
    owner = login_client(app, "ada@example.com")
    (banner,) = banners(owner.get("/account/").get_data(as_text=True))
    assert 'class="flash flash-error expiring-key" role="alert"' in banner
    assert "Expires within a day:" in banner


def test_no_banner_for_later_expired_or_others_keys(app, people, make_key):
    expiring_key(app, make_key, people["ada"], name="later", expires_in=8 * DAY)
    expiring_key(app, make_key, people["ada"], name="soon")
    with app.app_context():  # one already expired
        db.session.execute(
            sa.update(ApiKey).where(ApiKey.name == "soon").values(expires_at=now() - 60)
        )
        db.session.commit()
    expiring_key(app, make_key, people["admin"], name="root's")
    assert (
        banners(login_client(app, "ada@example.com").get("/account/").get_data(as_text=True)) == []
    )
    assert banners(login_client(app, "bob@example.com").get("/chat/").get_data(as_text=True)) == []


def test_a_keyed_request_still_costs_one_statement(app, people, make_key):
    expiring_key(app, make_key, people["ada"])
    statements = keyed_request_statements(app, people["ada_key"], WHO)
    assert len(statements) == 1, statements


# --- Make a replacement -------------------------------------------------------------------------


def field_value(html: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html).group(1)


def selected(html: str, name: str) -> str:
    select = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S).group(0)
    return re.search(r'<option selected value="([^"]*)"', select).group(1)


def test_the_replacement_form_copies_the_keys_restrictions(app, people, make_key):
    key_id = expiring_key(
        app,
        make_key,
        people["ada"],
        allowed_endpoints=["/api/models", "/api/v1/knowledge/abc"],
        read_only=True,
        rate_limit=60,
        allowed_models=["gpt-test", "llama-test"],
        allowed_networks=["203.0.113.0/24"],
    )
    owner = login_client(app, "ada@example.com")
    response = owner.get(f"/account/keys/{key_id}/replace")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<details open id="new-key-form">' in html
    assert "A replacement for <strong>ci-bot</strong>" in html
    assert field_value(html, "name") == "ci-bot (replacement)"
    assert field_value(html, "rate_limit") == "60"
    assert field_value(html, "allowed_models") == "gpt-test, llama-test"
    assert field_value(html, "allowed_networks") == "203.0.113.0/24"
    assert field_value(html, "allowed_endpoints") == "/api/v1/knowledge/abc"
    assert re.search(r'<input[^>]*type="checkbox" value="/api/models"[^>]*checked', html)
    assert re.search(r'<input[^>]*checked[^>]*name="read_only"|name="read_only"[^>]*checked', html)
    assert selected(html, "expiry") == "30"  # the same lifetime


def test_creating_the_replacement_keeps_the_restrictions(app, people, make_key):
    expiring_key(app, make_key, people["ada"], allowed_models=["gpt-test"], read_only=True)
    owner = login_client(app, "ada@example.com")
    form = {
        "name": "ci-bot (replacement)",
        "expiry": "30",
        "read_only": "y",
        "allowed_models": "gpt-test",
    }
    assert owner.post("/account/keys", data=form).status_code == 302
    items = {item["name"]: item for item in owner.get("/api/v1/auths/api_keys").get_json()["items"]}
    new = items["ci-bot (replacement)"]
    assert new["allowed_models"] == ["gpt-test"] and new["read_only"] is True
    assert abs(new["expires_at"] - (now() + 30 * DAY)) < 60
    assert "ci-bot" in items  # the old key stays until it expires or is deleted


def test_a_lifetime_not_offered_becomes_a_date(app, people, make_key):
    key_id = expiring_key(app, make_key, people["ada"], lifetime=10 * DAY)
    html = login_client(app, "ada@example.com").get(f"/account/keys/{key_id}/replace")
    html = html.get_data(as_text=True)
    assert selected(html, "expiry") == "date"
    expected = time.strftime("%Y-%m-%d", time.gmtime(now() + 10 * DAY))
    assert field_value(html, "expiry_date") == expected


def test_the_lifetime_is_held_to_the_administrators_maximum(app, people, make_key, save_settings):
    key_id = expiring_key(app, make_key, people["ada"], lifetime=90 * DAY)
    save_settings(API_KEYS_MAX_LIFETIME_DAYS=20)
    html = login_client(app, "ada@example.com").get(f"/account/keys/{key_id}/replace")
    assert selected(html.get_data(as_text=True), "expiry") == "20"


def test_a_long_name_is_cut_to_fit(app, people, make_key):
    key_id = expiring_key(app, make_key, people["ada"], name="n" * 100)
    html = login_client(app, "ada@example.com").get(f"/account/keys/{key_id}/replace")
    name = field_value(html.get_data(as_text=True), "name")
    assert len(name) == 100 and name.endswith("n (replacement)")


def test_another_persons_key_cannot_be_copied(app, people, make_key):
    key_id = expiring_key(app, make_key, people["admin"], name="root's")
    bob = login_client(app, "bob@example.com")
    assert bob.get(f"/account/keys/{key_id}/replace").status_code == 404
    key = bearer(make_key(people["ada"], "other"))
    assert app.test_client().get(f"/account/keys/{key_id}/replace", headers=key).status_code == 403
