"""Admin Panel: General settings, Users; their JSON equivalents."""

import pytest

from tests.support.accounts import login_client


def user_by_email(admin_client, email):
    users = admin_client.get("/api/v1/users/").get_json()["users"]
    return next(user for user in users if user["email"] == email)


def test_admin_approves_a_pending_user_in_the_browser(admin_client, make_user, app):
    pat_id = make_user("pat@example.com", role="pending")
    page = admin_client.get("/admin/users")
    assert b"pat@example.com" in page.data
    response = admin_client.post(f"/admin/users/{pat_id}/role", data={f"{pat_id}-role": "user"})
    assert response.status_code == 302
    assert user_by_email(admin_client, "pat@example.com")["role"] == "user"
    assert login_client(app, "pat@example.com").get("/account/").status_code == 200


def test_last_admin_can_be_neither_demoted_nor_deleted(admin_client):
    root = user_by_email(admin_client, "root@example.com")
    demote = admin_client.post(f"/api/v1/users/{root['id']}/update", json={"role": "user"})
    assert demote.status_code == 409
    assert admin_client.delete(f"/api/v1/users/{root['id']}").status_code == 409
    page = admin_client.post(
        f"/admin/users/{root['id']}/role",
        data={f"{root['id']}-role": "pending"},
        follow_redirects=True,
    )
    assert b"last administrator" in page.data
    assert user_by_email(admin_client, "root@example.com")["role"] == "admin"


def test_a_second_admin_makes_demotion_possible(admin_client, make_user):
    other = make_user("second@example.com", role="admin")
    assert (
        admin_client.post(f"/api/v1/users/{other}/update", json={"role": "user"}).status_code == 200
    )
    assert user_by_email(admin_client, "second@example.com")["role"] == "user"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"role": "owner"}, 400, "role must be one of admin, user, pending"),
        ({}, 400, "role is required"),
        ({"role": None}, 400, "role must be one of admin, user, pending"),
    ],
)
def test_role_change_validation(admin_client, make_user, body, status, message):
    user_id = make_user("bob@example.com")
    response = admin_client.post(f"/api/v1/users/{user_id}/update", json=body)
    assert response.status_code == status
    assert message in response.get_json()["detail"]
    assert user_by_email(admin_client, "bob@example.com")["role"] == "user"


def test_unknown_user_ids_are_404(admin_client):
    assert admin_client.post("/api/v1/users/nope/update", json={"role": "user"}).status_code == 404
    assert admin_client.delete("/api/v1/users/nope").status_code == 404
    assert admin_client.post("/admin/users/nope/role", data={}).status_code == 404


def test_deleting_a_user(admin_client, make_user):
    bob = make_user("bob@example.com")
    assert admin_client.delete(f"/api/v1/users/{bob}").get_json() is True
    emails = [u["email"] for u in admin_client.get("/api/v1/users/").get_json()["users"]]
    assert emails == ["root@example.com"]


def test_non_admins_cannot_reach_the_admin_panel(app, admin_client, make_user):
    make_user("bob@example.com")
    bob = login_client(app, "bob@example.com")
    assert bob.get("/admin/users").status_code == 403
    assert bob.get("/admin/settings").status_code == 403
    assert bob.get("/api/v1/users/").status_code == 403
    assert bob.get("/api/v1/auths/admin/config").status_code == 403


def test_admin_config_roundtrip(admin_client):
    config = admin_client.get("/api/v1/auths/admin/config").get_json()
    assert config == {
        "ENABLE_SIGNUP": True,
        "DEFAULT_USER_ROLE": "pending",
        "ENABLE_API_KEYS": False,
        "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS": False,
        "API_KEYS_ALLOWED_ENDPOINTS": "",
        "API_KEYS_DISABLE_UNUSED_DAYS": None,
        **{k: v for k, v in config.items() if k.startswith("API_KEYS_MAX")},
    }
    saved = admin_client.post(
        "/api/v1/auths/admin/config",
        json={
            "ENABLE_API_KEYS": True,
            "API_KEYS_ALLOWED_ENDPOINTS": " /api/models , /api/v1/files/,/api/models",
        },
    ).get_json()
    assert saved["ENABLE_API_KEYS"] is True
    assert saved["API_KEYS_ALLOWED_ENDPOINTS"] == "/api/models,/api/v1/files/"
    assert admin_client.get("/api/v1/auths/admin/config").get_json() == saved


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"API_KEYS_ALLOWED_ENDPOINTS": "api/models"}, "API_KEYS_ALLOWED_ENDPOINTS"),
        ({"API_KEYS_ALLOWED_ENDPOINTS": "/api/models?x=1"}, "API_KEYS_ALLOWED_ENDPOINTS"),
        ({"API_KEYS_ALLOWED_ENDPOINTS": "/api/*"}, "API_KEYS_ALLOWED_ENDPOINTS"),
        ({"API_KEYS_ALLOWED_ENDPOINTS": "/api/#x"}, "API_KEYS_ALLOWED_ENDPOINTS"),
        ({"API_KEYS_ALLOWED_ENDPOINTS": "/api/my models"}, "API_KEYS_ALLOWED_ENDPOINTS"),
        ({"API_KEYS_ALLOWED_ENDPOINTS": 42}, "API_KEYS_ALLOWED_ENDPOINTS"),
        ({"ENABLE_API_KEYS": "maybe"}, "ENABLE_API_KEYS"),
        ({"DEFAULT_USER_ROLE": "owner"}, "DEFAULT_USER_ROLE"),
        ({"NOT_A_SETTING": True}, "NOT_A_SETTING"),
    ],
)
def test_admin_config_refuses_invalid_values_and_saves_nothing(admin_client, body, field):
    before = admin_client.get("/api/v1/auths/admin/config").get_json()
    response = admin_client.post(
        "/api/v1/auths/admin/config", json={"ENABLE_API_KEYS": True, **body}
    )
    assert response.status_code == 400
    assert field in response.get_json()["detail"]
    assert admin_client.get("/api/v1/auths/admin/config").get_json() == before


def test_settings_page_saves_and_previews_the_allowlist(admin_client):
    response = admin_client.post(
        "/admin/settings",
        data={
            "ENABLE_SIGNUP": "y",
            "DEFAULT_USER_ROLE": "user",
            "ENABLE_API_KEYS": "y",
            "API_KEYS_ALLOWED_ENDPOINTS": "/api/v1/auths, /api/nothing-here",
        },
        follow_redirects=True,
    )
    assert b"Settings saved." in response.data
    assert b"/api/v1/auths/api_keys/&lt;key_id&gt;" in response.data
    assert b"Matches none of this app" in response.data
    config = admin_client.get("/api/v1/auths/admin/config").get_json()
    assert config["DEFAULT_USER_ROLE"] == "user"
    assert config["ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS"] is False


def test_settings_page_keeps_the_form_on_a_bad_entry(admin_client):
    response = admin_client.post(
        "/admin/settings",
        data={
            "ENABLE_API_KEYS": "y",
            "DEFAULT_USER_ROLE": "pending",
            "API_KEYS_ALLOWED_ENDPOINTS": "/ok,api/bad",
        },
    )
    assert response.status_code == 200
    assert b"Nothing was saved" in response.data
    assert b"must start with /" in response.data
    assert b'value="/ok,api/bad"' in response.data
    assert admin_client.get("/api/v1/auths/admin/config").get_json()["ENABLE_API_KEYS"] is False
