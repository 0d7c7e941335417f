"""Issue 27 item 7: the administrator's policy disables keys unused for N days; the owner
re-enables them (the guard's check, its record, the inventory, the key page, the API)."""

import pytest
import sqlalchemy as sa

from tests.support.accounts import ADMIN_EMAIL, login_client
from tests.support.statements import keyed_request_statements
from webui.extensions import db
from webui.models import ApiKey, AuditEvent, now
from webui.sql_trace import traced_statements

WHO = "/api/v1/auths/"
DAY = 86400
DORMANT_DETAIL = (
    "This key was disabled after 30 days without use; its owner can re-enable it in Settings."
)


@pytest.fixture
def people(people_with_keys):
    return people_with_keys("ada")


def key_row(app, name: str = "ada bot") -> ApiKey:
    with app.app_context():
        api_key = db.session.scalar(sa.select(ApiKey).where(ApiKey.name == name))
        db.session.expunge(api_key)
        return api_key


def age_key(app, days: float, used: bool = True, name: str = "ada bot") -> None:
    """Make the key's last use (or, for a never-used key, its creation) ``days`` ago."""
    at = now() - int(days * DAY)
    values = {"last_used_at": at} if used else {"last_used_at": None, "created_at": at}
    with app.app_context():
        db.session.execute(sa.update(ApiKey).where(ApiKey.name == name).values(**values))
        db.session.commit()


def audit_actions(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
        return [(event.target, event.detail) for event in events]


def set_policy(admin, days: str):
    return admin.post(
        "/admin/api-keys/policy",
        data={"API_KEYS_MAX_LIFETIME_DAYS": "", "API_KEYS_DISABLE_UNUSED_DAYS": days},
    )


# --- the policy form ----------------------------------------------------------------------------


def test_the_policy_form_saves_the_limit_and_an_empty_field_means_never(app, people):
    admin = login_client(app, ADMIN_EMAIL)
    assert set_policy(admin, "30").status_code == 302
    page = admin.get("/admin/api-keys").get_data(as_text=True)
    assert 'name="API_KEYS_DISABLE_UNUSED_DAYS"' in page and 'value="30"' in page
    assert admin.get("/api/v1/auths/admin/config").get_json()["API_KEYS_DISABLE_UNUSED_DAYS"] == 30
    assert set_policy(admin, "").status_code == 302
    config = admin.get("/api/v1/auths/admin/config").get_json()
    assert config["API_KEYS_DISABLE_UNUSED_DAYS"] is None


@pytest.mark.parametrize("value", ["0", "3651", "ten", "-1", "1.5"])
def test_a_bad_limit_is_refused_with_the_form_kept(app, people, value):
    admin = login_client(app, ADMIN_EMAIL)
    response = set_policy(admin, value)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Nothing was saved" in html and "from 1 to 3650, or empty" in html
    assert f'value="{value}"' in html
    config = admin.get("/api/v1/auths/admin/config").get_json()
    assert config["API_KEYS_DISABLE_UNUSED_DAYS"] is None


def test_the_api_refuses_a_bad_limit_naming_the_field(app, people):
    admin = login_client(app, ADMIN_EMAIL)
    response = admin.post("/api/v1/auths/admin/config", json={"API_KEYS_DISABLE_UNUSED_DAYS": 0})
    assert response.status_code == 400
    assert "API_KEYS_DISABLE_UNUSED_DAYS" in response.get_json()["detail"]


# --- the guard ------------------------------------------------------------------------------------


def test_a_key_unused_past_the_limit_is_refused_and_recorded_once(app, people, save_settings):
    api = app.test_client()
    age_key(app, 31)
    assert api.get(WHO, headers=people["ada_key"]).status_code == 200  # no policy yet
    age_key(app, 31)
    save_settings(API_KEYS_DISABLE_UNUSED_DAYS=30)

    for _ in range(2):
        response = api.get(WHO, headers=people["ada_key"])
        assert response.status_code == 403
        assert response.get_json() == {"detail": DORMANT_DETAIL}
    row = key_row(app)
    assert row.disabled_reason == "dormant" and abs(row.disabled_at - now()) < 60
    ((target, detail),) = audit_actions(app, "key.disabled")
    assert target == row.id
    assert detail["reason"] == "dormant" and detail["unused_days"] == 30
    assert detail["name"] == "ada bot"


def test_a_never_used_key_counts_from_its_creation(app, people, save_settings):
    save_settings(API_KEYS_DISABLE_UNUSED_DAYS=30)
    api = app.test_client()
    age_key(app, 29, used=False)
    assert api.get(WHO, headers=people["ada_key"]).status_code == 200
    age_key(app, 31, used=False)
    assert api.get(WHO, headers=people["ada_key"]).status_code == 403


def test_a_key_used_within_the_limit_works(app, people, save_settings):
    save_settings(API_KEYS_DISABLE_UNUSED_DAYS=30)
    age_key(app, 29)
    assert app.test_client().get(WHO, headers=people["ada_key"]).status_code == 200
    assert key_row(app).disabled_at is None


def test_the_policy_holds_from_the_next_request(app, people):
    """Saved through the admin page; the next keyed request sees it (settings version)."""
    api = app.test_client()
    age_key(app, 10)
    assert api.get(WHO, headers=people["ada_key"]).status_code == 200
    age_key(app, 10)
    admin = login_client(app, ADMIN_EMAIL)
    assert set_policy(admin, "7").status_code == 302
    response = api.get(WHO, headers=people["ada_key"])
    assert response.status_code == 403
    assert "disabled after 7 days without use" in response.get_json()["detail"]


def test_an_accepted_request_still_costs_one_statement(app, people, save_settings):
    save_settings(API_KEYS_DISABLE_UNUSED_DAYS=30)
    statements = keyed_request_statements(app, people["ada_key"], WHO)
    assert len(statements) == 1, statements


def test_a_refusal_of_a_dormant_key_writes_only_its_record(app, people, save_settings):
    save_settings(API_KEYS_DISABLE_UNUSED_DAYS=30)
    age_key(app, 31)
    api = app.test_client()
    with app.app_context():
        engine = db.engine
    with traced_statements(engine) as statements:
        assert api.get(WHO, headers=people["ada_key"]).status_code == 403
        written = [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "INSERT"))]
        key_updates = [s for s in written if "api_keys" in s]
        assert len(key_updates) == 1 and "disabled_at" in key_updates[0], written
        assert all("api_keys" in s or "audit_events" in s for s in written), written
        statements.clear()
        assert api.get(WHO, headers=people["ada_key"]).status_code == 403
        # Already disabled: decided from the lookup's row, no further write to the key.
        assert not any("UPDATE api_keys" in s for s in statements), statements


# --- what the owner and the administrator see, and re-enabling -----------------------------------


@pytest.fixture
def disabled(app, people, save_settings):
    """Ada's key, disabled by a refused request under a 30-day policy; returns its id."""
    save_settings(API_KEYS_DISABLE_UNUSED_DAYS=30)
    age_key(app, 31)
    assert app.test_client().get(WHO, headers=people["ada_key"]).status_code == 403
    return key_row(app).id


def test_a_disabled_key_stays_disabled_when_the_policy_is_switched_off(
    app, disabled, people, save_settings
):
    save_settings(API_KEYS_DISABLE_UNUSED_DAYS=None)
    response = app.test_client().get(WHO, headers=people["ada_key"])
    assert response.status_code == 403
    assert "disabled after a long time without use" in response.get_json()["detail"]


def test_the_api_lists_the_key_as_disabled(app, disabled):
    owner = login_client(app, "ada@example.com")
    (item,) = owner.get("/api/v1/auths/api_keys").get_json()["items"]
    assert item["disabled_reason"] == "dormant" and abs(item["disabled_at"] - now()) < 60


def test_the_inventory_shows_and_filters_disabled_keys(app, disabled, people):
    admin = login_client(app, ADMIN_EMAIL)
    page = admin.get("/admin/api-keys").get_data(as_text=True)
    assert 'ada bot <span class="warning">disabled (dormant)</span>' in page
    assert "admin bot <span" not in page
    only = admin.get("/admin/api-keys?disabled=true").get_data(as_text=True)
    assert 'data-key-name="ada bot"' in only and 'data-key-name="admin bot"' not in only
    others = admin.get("/admin/api-keys?disabled=false").get_data(as_text=True)
    assert 'data-key-name="ada bot"' not in others and 'data-key-name="admin bot"' in others
    items = admin.get("/api/v1/auths/admin/api_keys?disabled=true").get_json()["items"]
    assert [item["name"] for item in items] == ["ada bot"]
    assert items[0]["disabled_reason"] == "dormant"


def test_a_bad_disabled_filter_is_400(app, disabled):
    admin = login_client(app, ADMIN_EMAIL)
    response = admin.get("/api/v1/auths/admin/api_keys?disabled=maybe")
    assert response.status_code == 400 and "disabled" in response.get_json()["detail"]
    page = admin.get("/admin/api-keys?disabled=maybe")
    assert page.status_code == 400 and "Filters not applied" in page.get_data(as_text=True)


def test_the_owner_re_enables_the_key_on_its_page(app, disabled, people):
    owner = login_client(app, "ada@example.com")
    page = owner.get(f"/account/keys/{disabled}").get_data(as_text=True)
    assert "Disabled (dormant)" in page
    assert f'action="/account/keys/{disabled}/enable"' in page
    assert "disabled (dormant)" in owner.get("/account/").get_data(as_text=True)

    response = owner.post(f"/account/keys/{disabled}/enable")
    assert response.status_code == 302
    assert "re-enabled" in owner.get(f"/account/keys/{disabled}").get_data(as_text=True)
    row = key_row(app)
    assert row.disabled_at is None and row.disabled_reason is None
    assert abs(row.last_used_at - now()) < 60  # counts as a use
    assert app.test_client().get(WHO, headers=people["ada_key"]).status_code == 200
    ((target, detail),) = audit_actions(app, "key.enabled")
    assert target == disabled and detail["name"] == "ada bot" and detail["disabled_at"]
    assert "Re-enable" not in owner.get(f"/account/keys/{disabled}").get_data(as_text=True)


def test_a_re_enabled_key_is_caught_again_after_the_limit(app, disabled, people):
    owner = login_client(app, "ada@example.com")
    assert owner.post(f"/api/v1/auths/api_keys/{disabled}/enable").status_code == 200
    api = app.test_client()
    assert api.get(WHO, headers=people["ada_key"]).status_code == 200
    age_key(app, 31)
    assert api.get(WHO, headers=people["ada_key"]).status_code == 403
    assert len(audit_actions(app, "key.disabled")) == 2


def test_the_api_re_enables_only_the_owners_key_with_a_session(app, disabled, people):
    other = login_client(app, ADMIN_EMAIL)
    assert other.post(f"/api/v1/auths/api_keys/{disabled}/enable").status_code == 404
    by_key = app.test_client().post(
        f"/api/v1/auths/api_keys/{disabled}/enable", headers=people["admin_key"]
    )
    assert by_key.status_code == 403
    assert key_row(app).disabled_at is not None
    owner = login_client(app, "ada@example.com")
    response = owner.post(f"/api/v1/auths/api_keys/{disabled}/enable")
    assert response.status_code == 200
    body = response.get_json()
    assert body["disabled_at"] is None and body["disabled_reason"] is None
    assert abs(body["last_used_at"] - now()) < 60
    # Enabling a key that works changes nothing and records nothing.
    assert owner.post(f"/api/v1/auths/api_keys/{disabled}/enable").status_code == 200
    assert len(audit_actions(app, "key.enabled")) == 1
