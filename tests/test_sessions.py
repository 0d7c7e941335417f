"""Browser sessions: signing out ends the session for good, signing in starts a fresh one."""

import re

import pytest

from tests.support.accounts import PASSWORD


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def page_token(client, path="/auth/login") -> str:
    page = client.get(path).data
    return re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()


def sign_in(client, email="ada@example.com"):
    token = page_token(client)
    response = client.post(
        "/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_copied_cookie_stops_working_after_sign_out(app, make_user):
    make_user("ada@example.com", role="admin")
    browser = app.test_client()
    sign_in(browser)
    copied = session_cookie(browser)
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/account/").status_code == 200

    browser.post("/auth/logout", data={"csrf_token": page_token(browser, "/account/")})
    assert browser.get("/account/").status_code == 302
    assert thief.get("/account/").status_code == 302  # the copy names a closed session
    assert thief.get("/api/v1/auths/").status_code == 401


def test_signing_out_one_browser_keeps_the_others(app, make_user):
    make_user("ada@example.com", role="admin")
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop)
    sign_in(phone)
    laptop.post("/auth/logout", data={"csrf_token": page_token(laptop, "/account/")})
    assert laptop.get("/account/").status_code == 302
    assert phone.get("/account/").status_code == 200


def test_a_token_planted_before_sign_in_stops_working(app, make_user):
    make_user("ada@example.com", role="admin")
    client = app.test_client()
    planted = page_token(client)  # what an attacker could have fixed in the victim's cookie
    client.post(
        "/auth/login",
        data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": planted},
    )
    stale = client.post("/account/profile", data={"profile-name": "Eve", "csrf_token": planted})
    assert stale.status_code == 400
    fresh = client.post(
        "/account/profile",
        data={"profile-name": "Ada L.", "csrf_token": page_token(client, "/account/")},
    )
    assert fresh.status_code == 302


def test_each_sign_in_gets_a_new_session(app, make_user):
    make_user("ada@example.com", role="admin")
    client = app.test_client()
    sign_in(client)
    first = session_cookie(client)
    sign_in(client)
    assert session_cookie(client) != first
    stale = app.test_client()
    stale.set_cookie("session", first)
    assert stale.get("/account/").status_code == 302  # the browser's earlier session is closed
