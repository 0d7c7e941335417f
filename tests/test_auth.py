"""Sign-up, sign-in, sign-out: pages and their JSON equivalents."""

import pytest

from tests.support.accounts import PASSWORD, login_client


def test_first_account_is_admin_and_later_ones_wait(client, auth, app):
    auth.signup(name="Ada", email="ada@example.com")
    assert client.get("/api/v1/auths/").get_json()["role"] == "admin"
    auth.logout()
    response = auth.signup(name="Bob", email="bob@example.com")
    # Not signed in: a sign-up for an address that has an account must look the same.
    assert response.location == "/auth/login"
    assert client.get("/api/v1/auths/").status_code == 401
    auth.login(email="bob@example.com")
    assert client.get("/api/v1/auths/").get_json()["role"] == "pending"
    assert client.get("/account/").location == "/auth/pending"


def test_default_user_role_setting_applies_to_later_signups(client, make_user, save_settings):
    make_user("root@example.com", role="admin")
    save_settings(DEFAULT_USER_ROLE="user")
    response = client.post(
        "/api/v1/auths/signup",
        json={"name": "Bob", "email": "bob@example.com", "password": PASSWORD},
    )
    assert response.status_code == 200
    assert response.get_json()["role"] == "user"


def test_signup_disabled_refuses_new_accounts(client, make_user, save_settings, count_users):
    make_user("root@example.com", role="admin")
    save_settings(ENABLE_SIGNUP=False)
    response = client.post(
        "/api/v1/auths/signup",
        json={"name": "Eve", "email": "eve@example.com", "password": PASSWORD},
    )
    assert response.status_code == 403
    assert "disabled" in response.get_json()["detail"]
    page = client.post(
        "/auth/signup", data={"name": "Eve", "email": "e@x.io", "password": PASSWORD}
    )
    assert b"Sign-up is disabled" in page.data
    assert count_users() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "A", "email": "a@example.com", "password": "short"}, "at least 8"),
        ({"name": "", "email": "a@example.com", "password": PASSWORD}, "Name is required"),
        ({"name": "A", "email": "not-an-email", "password": PASSWORD}, "valid email"),
        ({"name": "A", "email": "a@example.com"}, "password is required."),
        ({"name": 5, "email": "a@example.com", "password": PASSWORD}, "name must be text."),
        ({"name": "A", "email": ["a@example.com"], "password": PASSWORD}, "valid email"),
    ],
)
def test_signup_validation(client, body, message, count_users):
    response = client.post("/api/v1/auths/signup", json=body)
    assert response.status_code == 400
    assert message in response.get_json()["detail"]
    assert count_users() == 0


def test_signup_refuses_duplicate_email_case_insensitively(
    client, make_user, count_users, save_settings
):
    make_user("ada@example.com", role="admin")
    save_settings(DEFAULT_USER_ROLE="user")  # sign-ups need no approval: they may say so
    response = client.post(
        "/api/v1/auths/signup",
        json={"name": "Ada 2", "email": "  ADA@Example.com ", "password": PASSWORD},
    )
    assert response.status_code == 400
    assert "already exists" in response.get_json()["detail"]
    assert count_users() == 1


@pytest.mark.parametrize("body", ["[1, 2]", "not json", '"text"', ""])
def test_json_endpoints_refuse_non_objects(client, body):
    response = client.post(
        "/api/v1/auths/signup", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["detail"]


def test_signup_page_keeps_what_was_typed(client, make_user, save_settings):
    make_user("ada@example.com", role="admin")
    save_settings(DEFAULT_USER_ROLE="user")
    response = client.post(
        "/auth/signup", data={"name": "Ada Again", "email": "ada@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert b"already exists" in response.data
    assert b'value="Ada Again"' in response.data


def test_signup_page_shows_short_password_inline(client):
    response = client.post("/auth/signup", data={"name": "A", "email": "a@x.io", "password": "123"})
    assert b"Password must be at least 8 characters." in response.data


def test_signin_does_not_reveal_whether_the_email_exists(client, make_user):
    make_user("ada@example.com", role="admin")
    wrong_password = client.post(
        "/api/v1/auths/signin", json={"email": "ada@example.com", "password": "wrong password"}
    )
    unknown_email = client.post(
        "/api/v1/auths/signin", json={"email": "nobody@example.com", "password": "wrong password"}
    )
    assert wrong_password.status_code == unknown_email.status_code == 400
    assert wrong_password.get_json() == unknown_email.get_json()


def test_signin_sets_a_hardened_session_cookie(client, make_user):
    make_user("ada@example.com", role="admin")
    response = client.post(
        "/api/v1/auths/signin", json={"email": " Ada@Example.COM", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.get_json()["email"] == "ada@example.com"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_user_object_lists_every_permission(client, make_user):
    make_user("root@example.com", role="admin")
    make_user("bob@example.com", role="user")
    body = login_client(client.application, "bob@example.com").get("/api/v1/auths/").get_json()
    assert set(body) == {"id", "name", "email", "role", "permissions"}
    assert body["permissions"] == {
        "features": {"api_keys": False},
        "chat": {"file_upload": True},
        "workspace": {"knowledge": False, "models": False},
    }


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/users", "/admin/users"),
        ("https://evil.example/", "/chat"),
        ("//evil.example/", "/chat"),
        ("/\\evil.example", "/chat"),
        ("javascript:alert(1)", "/chat"),
    ],
)
def test_login_next_stays_on_this_site(client, make_user, target, expected):
    make_user("ada@example.com", role="admin")
    response = client.post(
        "/auth/login",
        query_string={"next": target},
        data={"email": "ada@example.com", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.location == expected


def test_wrong_password_on_the_page_flashes_and_keeps_the_email(client, auth, make_user):
    make_user("ada@example.com", role="admin")
    response = auth.login(password="not the password")
    assert b"Wrong email or password." in response.data
    assert b'value="ada@example.com"' in response.data


def test_logout_ends_the_session(client, auth, make_user):
    make_user("ada@example.com", role="admin")
    auth.login()
    assert client.get("/account/").status_code == 200
    auth.logout()
    assert client.get("/account/").status_code == 302


def test_pages_redirect_to_sign_in_with_next(client):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.location == "/auth/login?next=/admin/users"


def test_pending_user_sees_only_the_waiting_page(client, make_user):
    make_user("root@example.com", role="admin")
    make_user("pat@example.com", role="pending")
    pending = login_client(client.application, "pat@example.com")
    assert pending.get("/account/").location == "/auth/pending"
    assert b"Waiting for an administrator" in pending.get("/auth/pending").data
    assert pending.get("/api/v1/auths/").status_code == 200
    assert pending.get("/api/v1/auths/api_keys").status_code == 403
    assert pending.get("/api/v1/users/").status_code == 403


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    from webui.config import load_secret_key

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("WEBUI_SECRET_KEY", raising=False)
    first = load_secret_key(str(tmp_path))
    assert len(first) >= 32
    assert load_secret_key(str(tmp_path)) == first
    assert (tmp_path / ".secret_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert load_secret_key(str(tmp_path)) == "from-the-environment"


# --- changing the password ---------------------------------------------------------------


def signed_in_email(client) -> str | None:
    """Whom the session of this client belongs to (None: nobody)."""
    response = client.get("/api/v1/auths/")
    return response.get_json()["email"] if response.status_code == 200 else None


def change_password(browser, current: str, new: str):
    return browser.post(
        "/account/password", data={"current_password": current, "new_password": new}
    )


def test_changing_the_password_ends_every_other_session(app, make_user):
    make_user("ada@example.com")
    here, elsewhere = login_client(app, "ada@example.com"), login_client(app, "ada@example.com")
    assert elsewhere.get("/api/v1/auths/").status_code == 200

    response = change_password(here, PASSWORD, "a brand new passphrase")
    assert response.status_code == 302
    assert here.get("/api/v1/auths/").status_code == 200  # this browser stays signed in
    assert elsewhere.get("/api/v1/auths/").status_code == 401
    assert elsewhere.get("/account/").status_code == 302  # to the sign-in page
    renewed = login_client(app, "ada@example.com", "a brand new passphrase")
    assert signed_in_email(renewed) == "ada@example.com"
    old = app.test_client().post(
        "/api/v1/auths/signin", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert old.status_code == 400


def test_a_wrong_current_password_changes_nothing(app, make_user):
    make_user("ada@example.com")
    browser = login_client(app, "ada@example.com")
    response = change_password(browser, "not my password", "a brand new passphrase")
    assert response.status_code == 400 and b"This is not your current password" in response.data
    assert browser.get("/api/v1/auths/").status_code == 200
    still = login_client(app, "ada@example.com")  # the old password still works
    assert signed_in_email(still) == "ada@example.com"


@pytest.mark.parametrize(
    "email",
    [
        "a@b",
        "@example.com",
        "ada@",
        "ada@@example.com",
        "ada@exa mple.com",
        "ada@.com",
        "a\nb@x.io",
    ],
)
def test_sign_up_needs_a_real_email_address(client, email):
    response = client.post(
        "/api/v1/auths/signup", json={"name": "Ada", "email": email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "valid email" in response.get_json()["detail"]


def test_sign_up_stores_the_address_trimmed_and_lower_case(client):
    response = client.post(
        "/api/v1/auths/signup",
        json={"name": "Ada", "email": " Ada@Example.COM ", "password": PASSWORD},
    )
    assert response.status_code == 200 and response.get_json()["email"] == "ada@example.com"
