"""The request guard: every rejection reason, immediate effect of changes, the cost budget."""

import time

import pytest
import sqlalchemy as sa

from tests.support.accounts import PASSWORD, bearer, login_client
from tests.support.files import upload, upload_ok
from webui.extensions import db
from webui.models import ApiKey
from webui.security import key_format
from webui.security.guard import INVALID_KEY, is_path_allowed
from webui.sql_trace import traced_statements

WHO = "/api/v1/auths/"
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def admin(admin_client, save_settings):
    """The signed-in admin, with keys switched on and granted to every user."""
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    return admin_client


@pytest.fixture
def bob_id(admin, make_user):
    return make_user("bob@example.com")


@pytest.fixture
def bob_key(bob_id, make_key):
    return make_key(bob_id, "bob's key")


@pytest.fixture
def api(app):
    return app.test_client()


# --- 401: missing, malformed, unknown, deleted, expired ----------------------------------

VALID_LOOKING = (
    key_format.KEY_PREFIX
    + "A" * key_format.BODY_LENGTH
    + key_format.checksum("A" * key_format.BODY_LENGTH)
)


def broken_checksum() -> str:
    secret = key_format.generate_key()
    return secret[:-1] + ("0" if secret[-1] != "0" else "1")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer ",
        "Bearer    \t ",
        "Basic dXNlcjpwYXNzd29yZA==",
        "Token " + VALID_LOOKING,
        "Bearer sk-one sk-two",
        "Bearer " + "sk-" + "a" * 10_000,
        "Bearer sk-webui_ünïcødé",
        "Bearer sk-webui_\x7fcontrol",
        "Bearer " + broken_checksum(),
        "Bearer " + VALID_LOOKING,
        "Bearer sk-1234567890abcdef1234567890abcdef",
    ],
)
def test_bad_credentials_get_the_same_401(admin, api, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api.get(WHO, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"detail": INVALID_KEY}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_keys_are_not_taken_from_the_query_string_or_a_cookie(admin, api, bob_key):
    assert api.get(WHO, query_string={"api_key": bob_key, "token": bob_key}).status_code == 401
    api.set_cookie("token", bob_key)
    assert api.get(WHO).status_code == 401


def test_a_deleted_key_is_refused_on_the_next_request(app, api, bob_id, bob_key):
    assert api.get(WHO, headers=bearer(bob_key)).status_code == 200
    bob = login_client(app, "bob@example.com")
    key_id = bob.get("/api/v1/auths/api_keys").get_json()["items"][0]["id"]
    bob.delete(f"/api/v1/auths/api_keys/{key_id}")
    assert api.get(WHO, headers=bearer(bob_key)).status_code == 401


def test_an_expired_key_says_it_expired(app, api, bob_id, make_key):
    secret = make_key(bob_id, "short-lived", expires_at=int(time.time()) + 60)
    assert api.get(WHO, headers=bearer(secret)).status_code == 200
    with app.app_context():
        db.session.execute(sa.update(ApiKey).values(expires_at=int(time.time()) - 1))
        db.session.commit()
    response = api.get(WHO, headers=bearer(secret))
    assert response.status_code == 401
    assert "expired" in response.get_json()["detail"]
    assert response.headers["WWW-Authenticate"] == "Bearer"


# --- 403: valid key, not allowed ------------------------------------------------------------


def test_switch_off_refuses_every_key_and_back_on_the_same_key_works(admin, api, bob_key):
    admin_key = admin.post("/api/v1/auths/api_keys", json={"name": "admin"}).get_json()["key"]
    admin.post("/api/v1/auths/admin/config", json={"ENABLE_API_KEYS": False})
    for secret in (bob_key, admin_key):
        response = api.get(WHO, headers=bearer(secret))
        assert response.status_code == 403
        assert "Enable API Keys" in response.get_json()["detail"]
    admin.post("/api/v1/auths/admin/config", json={"ENABLE_API_KEYS": True})
    assert api.get(WHO, headers=bearer(bob_key)).status_code == 200


def test_permission_removed_through_the_defaults(admin, api, bob_key):
    admin.post("/api/v1/users/default/permissions", json={"features": {"api_keys": False}})
    response = api.get(WHO, headers=bearer(bob_key))
    assert response.status_code == 403
    assert "features.api_keys" in response.get_json()["detail"]


def only_a_group_grants_keys(admin, member_id: str) -> str:
    """Keys off by default, granted by one group with ``member_id`` in it; the group's id."""
    admin.post("/api/v1/users/default/permissions", json={"features": {"api_keys": False}})
    group = admin.post(
        "/api/v1/groups/create",
        json={"name": "API Users", "permissions": {"features": {"api_keys": True}}},
    ).get_json()
    admin.post(f"/api/v1/groups/id/{group['id']}/update", json={"user_ids": [member_id]})
    return group["id"]


def test_permission_removed_by_leaving_the_granting_group(admin, api, bob_id, bob_key):
    group_id = only_a_group_grants_keys(admin, bob_id)
    assert api.get(WHO, headers=bearer(bob_key)).status_code == 200
    admin.post(f"/api/v1/groups/id/{group_id}/update", json={"user_ids": []})
    assert api.get(WHO, headers=bearer(bob_key)).status_code == 403


def test_a_group_grant_edited_in_place_holds_at_once(admin, api, bob_id, bob_key):
    # The lookup remembers decoded grants by their JSON text: an edit is new text.
    group_id = only_a_group_grants_keys(admin, bob_id)
    assert api.get(WHO, headers=bearer(bob_key)).status_code == 200
    admin.post(
        f"/api/v1/groups/id/{group_id}/update",
        json={"permissions": {"features": {"api_keys": False}}},
    )
    refused = api.get(WHO, headers=bearer(bob_key))
    assert refused.status_code == 403
    assert "features.api_keys" in refused.get_json()["detail"]
    admin.post(
        f"/api/v1/groups/id/{group_id}/update",
        json={"permissions": {"features": {"api_keys": True}}},
    )
    assert api.get(WHO, headers=bearer(bob_key)).status_code == 200


def test_a_keys_allowed_endpoints_edited_hold_at_once(admin, api, bob_id, make_key):
    secret = make_key(bob_id, "narrow", allowed_endpoints=["/api/v1/auths"])
    assert api.get(WHO, headers=bearer(secret)).status_code == 200
    assert api.get("/api/models", headers=bearer(secret)).status_code == 403
    with api.application.app_context():
        db.session.execute(
            sa.update(ApiKey)
            .where(ApiKey.prefix == key_format.visible_prefix(secret))
            .values(allowed_endpoints=["/api/models"])
        )
        db.session.commit()
    assert api.get("/api/models", headers=bearer(secret)).status_code == 200
    assert api.get(WHO, headers=bearer(secret)).status_code == 403


def test_owner_demoted_to_pending_or_deleted(admin, api, bob_id, bob_key):
    admin.post(f"/api/v1/users/{bob_id}/update", json={"role": "pending"})
    # WHO lets pending people in (they may ask who they are): only the key check refuses here,
    # and its reason tells the owner what to wait for.
    demoted = api.get(WHO, headers=bearer(bob_key))
    assert demoted.status_code == 403
    assert demoted.get_json()["detail"] == (
        "The owner of this API key is waiting for an administrator's approval."
    )
    admin.post(f"/api/v1/users/{bob_id}/update", json={"role": "user"})
    assert api.get(WHO, headers=bearer(bob_key)).status_code == 200
    admin.delete(f"/api/v1/users/{bob_id}")
    assert api.get(WHO, headers=bearer(bob_key)).status_code == 401


def test_admin_demoted_loses_admin_routes_at_once(admin, api, make_user, make_key):
    second = make_user("second@example.com", role="admin")
    secret = make_key(second, "admin key")
    assert api.get("/api/v1/users/", headers=bearer(secret)).status_code == 200
    admin.post(f"/api/v1/users/{second}/update", json={"role": "user"})
    assert api.get("/api/v1/users/", headers=bearer(secret)).status_code == 403


def test_read_only_keys_may_read(api, bob_id, make_key):
    secret = make_key(bob_id, "reader", read_only=True)
    assert api.get(WHO, headers=bearer(secret)).status_code == 200
    assert api.head(WHO, headers=bearer(secret)).status_code == 200
    assert api.options(WHO, headers=bearer(secret)).status_code == 200


# Writes a key may make: no session-only route, no role, a permission bob is granted. Each
# is tried first with a read-only key, then with a writable key of the same owner.
KEY_WRITES = {
    "upload a file": lambda api, key: upload(api, "notes.txt", b"hello", headers=key),
    "create a knowledge base": lambda api, key: api.post(
        "/api/v1/knowledge/create", json={"name": "notes"}, headers=key
    ),
    "chat": lambda api, key: api.post(
        "/api/chat/completions", json={"model": "none", "messages": HELLO}, headers=key
    ),
}


@pytest.fixture
def reader_and_writer(save_settings, bob_id, make_key):
    """Headers of bob's read-only key and of his writable one; both ask, in vain, to be taken
    for a GET."""
    save_settings(USER_PERMISSIONS_CHAT_FILE_UPLOAD=True, USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=True)
    override = {"X-HTTP-Method-Override": "GET"}
    return (
        {**bearer(make_key(bob_id, "reader", read_only=True)), **override},
        {**bearer(make_key(bob_id, "writer")), **override},
    )


@pytest.mark.parametrize("write", KEY_WRITES.values(), ids=KEY_WRITES.keys())
def test_a_read_only_key_cannot_write_where_keys_may(api, reader_and_writer, write):
    reader, writer = reader_and_writer
    refused = write(api, reader)
    assert refused.status_code == 403
    assert "read-only" in refused.get_json()["detail"]
    assert write(api, writer).status_code != 403  # nothing else refuses this request


def test_a_read_only_key_cannot_delete(api, reader_and_writer):
    reader, writer = reader_and_writer
    file_id = upload_ok(api, "notes.txt", b"hello", headers=writer)["id"]
    refused = api.delete(f"/api/v1/files/{file_id}", headers=reader)
    assert refused.status_code == 403
    assert "read-only" in refused.get_json()["detail"]
    assert api.get(f"/api/v1/files/{file_id}", headers=reader).status_code == 200
    assert api.delete(f"/api/v1/files/{file_id}", headers=writer).status_code == 200


def test_roles_still_apply_to_keys(api, bob_key):
    response = api.get("/api/v1/users/", headers=bearer(bob_key))
    assert response.status_code == 403 and "admin" in response.get_json()["detail"]


def test_a_key_on_a_page_is_refused_with_json(api, bob_key):
    for path in ("/account/", "/admin/users", "/auth/login"):
        response = api.get(path, headers=bearer(bob_key))
        assert response.status_code == 403
        assert "only on the API" in response.get_json()["detail"]


def test_unrouted_paths_and_methods_get_a_json_404_even_with_a_key(api, bob_key):
    # A method a path does not serve is "not provided" too, never a 405: paths collide
    # (GET /api/v1/users/all against DELETE /api/v1/users/<id>).
    assert api.get("/api/v1/nothing-here", headers=bearer(bob_key)).status_code == 404
    wrong_method = api.put(WHO, headers=bearer(bob_key))
    assert wrong_method.status_code == 404
    assert "not provided by webui" in wrong_method.get_json()["detail"]
    assert api.get("/api/v1/nothing-here").get_json()["detail"]


# --- the key alone decides; no cookie -------------------------------------------------------------


def test_the_key_decides_even_with_an_admin_session(admin, bob_key):
    response = admin.get(WHO, headers=bearer(bob_key))
    assert response.get_json()["email"] == "bob@example.com"
    assert admin.get("/api/v1/users/", headers=bearer(bob_key)).status_code == 403
    assert admin.get(WHO, headers=bearer(VALID_LOOKING)).status_code == 401


def test_key_requests_set_no_cookie(admin, api, bob_key):
    for response in (
        api.get(WHO, headers=bearer(bob_key)),
        api.get(WHO, headers=bearer(VALID_LOOKING)),
        admin.get(WHO, headers=bearer(bob_key)),
    ):
        assert "Set-Cookie" not in response.headers


def test_a_sign_in_carrying_a_key_sets_no_cookie(admin, api, bob_key):
    """A successful sign-in writes the session; with a Bearer key it must not be sent."""
    signin = {"email": "root@example.com", "password": PASSWORD}
    response = api.post("/api/v1/auths/signin", json=signin, headers=bearer(bob_key))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert api.get(WHO).status_code == 401  # this client is signed in as nobody
    assert "Set-Cookie" in api.post("/api/v1/auths/signin", json=signin).headers  # without a key


# --- allowlists -----------------------------------------------------------------------------------

ALLOWLIST_CASES = [
    ("/api/v1/files", "/api/v1/files", True),
    ("/api/v1/files", "/api/v1/files/", True),
    ("/api/v1/files", "/api/v1/files/abc/content", True),
    ("/api/v1/files", "/api/v1/filesystem", False),
    ("/api/v1/files/", "/api/v1/files/", True),
    ("/api/v1/files/", "/api/v1/files/abc", False),
    ("/api/v1/files/", "/api/v1/files", False),
    ("/api/models", "/api/Models", False),
    ("/api/models", "/api/v1/models", False),
]


@pytest.mark.parametrize(("entry", "path", "allowed"), ALLOWLIST_CASES)
def test_allowlist_rule(entry, path, allowed):
    assert is_path_allowed(path, [entry]) is allowed


def test_empty_allowlist_allows_nothing():
    assert not is_path_allowed("/api/models", [])


def test_global_allowlist_applies_to_every_key_including_admins(admin, api, bob_key):
    admin_key = admin.post("/api/v1/auths/api_keys", json={"name": "admin"}).get_json()["key"]
    admin.post(
        "/api/v1/auths/admin/config",
        json={
            "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS": True,
            "API_KEYS_ALLOWED_ENDPOINTS": "/api/v1/auths/",
        },
    )
    for secret in (bob_key, admin_key):
        assert api.get(WHO, headers=bearer(secret)).status_code == 200
        assert api.get(WHO, query_string={"x": "1"}, headers=bearer(secret)).status_code == 200
        refused = api.get("/api/v1/auths/api_keys", headers=bearer(secret))
        assert refused.status_code == 403
        assert "allowed endpoints" in refused.get_json()["detail"]
    # Sessions are not bound by the key allowlist.
    assert admin.get("/api/v1/users/").status_code == 200

    admin.post("/api/v1/auths/admin/config", json={"API_KEYS_ALLOWED_ENDPOINTS": ""})
    assert api.get(WHO, headers=bearer(bob_key)).status_code == 403


def test_a_keys_own_allowlist_narrows_the_global_one(admin, api, bob_id, make_key):
    admin.post(
        "/api/v1/auths/admin/config",
        json={
            "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS": True,
            "API_KEYS_ALLOWED_ENDPOINTS": "/api/v1/auths",
        },
    )
    narrow = make_key(bob_id, "narrow", allowed_endpoints=["/api/v1/auths/api_keys"])
    wide = make_key(bob_id, "wide", allowed_endpoints=["/api/v1"])
    assert api.get("/api/v1/auths/api_keys", headers=bearer(narrow)).status_code == 200
    assert api.get(WHO, headers=bearer(narrow)).status_code == 403
    # The key's list cannot widen what the administrator allows.
    assert api.get("/api/v1/users/", headers=bearer(wide)).status_code == 403
    assert api.get(WHO, headers=bearer(wide)).status_code == 200


def test_a_keys_own_allowlist_applies_without_global_restrictions(api, bob_id, make_key):
    secret = make_key(bob_id, "only-list", allowed_endpoints=["/api/v1/auths/api_keys"])
    assert api.get("/api/v1/auths/api_keys", headers=bearer(secret)).status_code == 200
    response = api.get(WHO, headers=bearer(secret))
    assert (
        response.status_code == 403 and "key's allowed endpoints" in response.get_json()["detail"]
    )


# --- last used and the cost budget ----------------------------------------------------------------


@pytest.fixture
def statements(app):
    """Collects the SQL statements the database receives while requests are served."""
    with app.app_context():
        engine = db.engine
    with traced_statements(engine) as seen:
        yield seen


def test_last_used_is_recorded_at_most_once_a_minute(app, api, bob_key, statements):
    api.get(WHO, headers=bearer(bob_key), environ_base={"REMOTE_ADDR": "127.0.0.7"})
    assert sum(s.lstrip().upper().startswith("UPDATE") for s in statements) == 1
    statements.clear()
    api.get(WHO, headers=bearer(bob_key))
    assert not any(
        s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")) for s in statements
    )
    with app.app_context():
        item = db.session.scalar(sa.select(ApiKey))
        assert item.last_used_ip == "127.0.0.7"
        assert abs(item.last_used_at - time.time()) < 60


def test_a_keyed_request_costs_one_statement(api, bob_key, admin, bob_id, statements):
    group = admin.post(
        "/api/v1/groups/create", json={"name": "g", "permissions": {"chat": {"file_upload": True}}}
    ).get_json()
    admin.post(f"/api/v1/groups/id/{group['id']}/update", json={"user_ids": [bob_id]})
    api.get(WHO, headers=bearer(bob_key))  # first use writes last_used_at
    statements.clear()
    response = api.get(WHO, headers=bearer(bob_key))
    assert response.status_code == 200
    assert len(statements) == 1, statements


def test_a_malformed_key_costs_no_lookup(api, admin, statements):
    statements.clear()
    assert api.get(WHO, headers=bearer(broken_checksum())).status_code == 401
    assert api.get(WHO, headers=bearer("sk-nonsense")).status_code == 401
    # Nothing is read to judge it (the audit trail may record the refusal).
    assert not any(s.lstrip().upper().startswith("SELECT") for s in statements), statements
