"""CSRF is enforced for browser sessions, on forms and on JSON calls."""

import re

import pytest

from tests.support.accounts import PASSWORD


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def page_token(client, path="/auth/login"):
    return (
        re.search(rb'name="csrf-token" content="([^"]+)"', client.get(path).data).group(1).decode()
    )


def test_a_form_post_without_the_token_is_refused(client, make_user):
    make_user("ada@example.com", role="admin")
    response = client.post("/auth/login", data={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/account/").status_code == 302  # not signed in


def test_a_form_post_with_the_token_works(client, make_user):
    make_user("ada@example.com", role="admin")
    token = page_token(client)
    response = client.post(
        "/auth/login", data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_session_json_calls_need_the_header(client, make_user):
    make_user("ada@example.com", role="admin")
    client.post("/api/v1/auths/signin", json={"email": "ada@example.com", "password": PASSWORD})
    refused = client.post("/api/v1/auths/admin/config", json={"ENABLE_API_KEYS": True})
    assert refused.status_code == 400
    assert "CSRF" in refused.get_json()["detail"]
    token = page_token(client, "/account/")
    accepted = client.post(
        "/api/v1/auths/admin/config", json={"ENABLE_API_KEYS": True}, headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 200
    assert accepted.get_json()["ENABLE_API_KEYS"] is True


def test_requests_with_a_valid_key_need_no_token(app, make_user, make_key, save_settings):
    admin = make_user("ada@example.com", role="admin")
    save_settings(ENABLE_API_KEYS=True)
    secret = make_key(admin)
    response = app.test_client().get(
        "/api/v1/auths/api_keys", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200
    # An invalid key does not get past CSRF into a session either: it is simply refused.
    bad = app.test_client().post(
        "/api/v1/auths/admin/config", json={}, headers={"Authorization": "Bearer sk-webui_x"}
    )
    assert bad.status_code == 401


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/api/v1/chats/new"),
        ("POST", "/api/v1/files/"),
        ("DELETE", "/api/v1/chats/"),
        ("POST", "/ollama/api/chat"),
        ("POST", "/api/v1/auths/admin/config"),
    ],
)
def test_an_api_write_with_no_credential_is_a_401_not_a_csrf_refusal(client, method, path):
    response = client.open(path, method=method, json={})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "CSRF" not in response.get_json()["detail"]


def test_a_public_api_write_with_no_credential_is_still_checked_as_before(client, make_user):
    make_user("ada@example.com", role="admin")
    response = client.post(
        "/api/v1/auths/signin", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200


def test_a_page_write_with_no_session_still_needs_the_token(client):
    response = client.post("/auth/logout")
    assert response.status_code == 400
