"""Browser writes from another site are refused, sign-in and sign-up included: a form on
another site cannot sign a visitor into the attacker's account."""

import pytest

from tests.support.accounts import PASSWORD

SIGNIN = "/api/v1/auths/signin"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_cross_site_sign_in_is_refused(client, make_user, headers):
    make_user("ada@example.com", role="admin")
    body = {"email": "ada@example.com", "password": PASSWORD}
    response = client.post(SIGNIN, json=body, headers=headers)
    assert response.status_code == 403 and "Cross-site" in response.get_json()["detail"]
    assert client.get("/api/v1/auths/").status_code == 401  # no session was started


def test_cross_site_sign_up_and_page_forms_are_refused(client, make_user):
    evil = {"Origin": "https://evil.example"}
    signup = {"name": "Eve", "email": "eve@example.com", "password": PASSWORD}
    assert client.post("/api/v1/auths/signup", json=signup, headers=evil).status_code == 403
    assert client.post("/auth/signup", data=signup, headers=evil).status_code == 403
    assert client.post("/auth/login", data=signup, headers=evil).status_code == 403


def test_the_apps_own_pages_and_scripts_are_served(client, make_user):
    make_user("ada@example.com", role="admin")
    body = {"email": "ada@example.com", "password": PASSWORD}
    # The test client's host is "localhost"; a proxy ending TLS may change the scheme.
    for origin in ("http://localhost", "https://localhost"):
        response = client.post(SIGNIN, json=body, headers={"Origin": origin})
        assert response.status_code == 200
    assert client.post(SIGNIN, json=body).status_code == 200  # curl and SDKs send no Origin
    same = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert client.post(SIGNIN, json=body, headers=same).status_code == 200


def test_reads_and_keys_are_not_affected(client, make_user, make_key, save_settings):
    user = make_user("ada@example.com", role="admin")
    save_settings(ENABLE_API_KEYS=True)
    key = {"Authorization": f"Bearer {make_key(user)}", "Origin": "https://tool.example"}
    created = client.post("/api/v1/knowledge/create", json={"name": "Docs"}, headers=key)
    assert created.status_code == 200  # a key is no browser: its writes carry no ambient cookie
    assert client.get("/api/v1/auths/", headers=key).status_code == 200
    assert client.get("/auth/login", headers={"Origin": "https://evil.example"}).status_code == 200


@pytest.mark.parametrize("origin", ["http://[", "http://[::1", "https://%zz", "\x7f"])
def test_an_unreadable_origin_counts_as_another_site(client, origin):
    body = {"email": "ada@example.com", "password": PASSWORD}
    assert client.post(SIGNIN, json=body, headers={"Origin": origin}).status_code == 403
