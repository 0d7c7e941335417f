"""After signing in (or signing up into an approved account) people land on the chat, admins
too, unless a safe ``next`` says otherwise; the waiting page offers "Check again", which lands
on the chat once an administrator approved the account."""

import pytest

from tests.support.accounts import PASSWORD, login_client
from tests.support.chromium import sign_in, sign_up
from webui.extensions import db
from webui.models import User
from webui.services import users

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails the tests
    expect = None


def approve(app, email: str) -> None:
    with app.app_context():
        users.approve(db.session.scalar(db.select(User).where(User.email == email)))


@pytest.mark.parametrize("role", ["admin", "user"])
def test_signing_in_lands_on_the_chat(client, auth, make_user, role):
    make_user("root@example.com", role="admin")
    make_user("ada@example.com", role=role)
    response = auth.login()
    assert response.status_code == 302 and response.location == "/chat"
    assert client.get("/chat").status_code == 200


def test_a_safe_next_still_wins(client, make_user):
    make_user("ada@example.com", role="admin")
    response = client.post(
        "/auth/login",
        query_string={"next": "/admin/users"},
        data={"email": "ada@example.com", "password": PASSWORD},
    )
    assert response.location == "/admin/users"


def test_the_first_sign_up_lands_on_the_chat_as_admin(client, auth):
    response = auth.signup()
    assert response.location == "/chat"
    assert client.get("/api/v1/auths/").get_json()["role"] == "admin"
    assert b"Welcome, Ada. Your role is admin." in client.get("/chat").data


def test_an_approved_sign_up_lands_on_the_chat(client, auth, make_user, save_settings):
    make_user("root@example.com", role="admin")
    save_settings(DEFAULT_USER_ROLE="user")
    assert auth.signup(name="Bob", email="bob@example.com").location == "/chat"


def test_the_home_page_is_the_chat(client, auth):
    auth.signup()
    assert client.get("/").location == "/chat"


def test_check_again_lands_on_the_chat_once_approved(app, make_user):
    make_user("root@example.com", role="admin")
    make_user("pat@example.com", role="pending")
    pat = login_client(app, "pat@example.com")
    assert pat.get("/chat").location == "/auth/pending"
    page = pat.get("/auth/pending").get_data(as_text=True)
    assert '<a class="button" href="/auth/pending">Check again</a>' in page
    approve(app, "pat@example.com")
    assert pat.get("/auth/pending").location == "/chat"


@pytest.mark.slow
def test_people_land_on_the_chat_in_a_browser(crowd, app, live_server):
    ada = crowd.person("ada")
    sign_up(ada, "Ada Admin", "ada@example.com")
    expect(ada).to_have_url(f"{live_server.url}/chat")
    expect(ada.get_by_text("Welcome, Ada Admin. Your role is admin.")).to_be_visible()

    pat = crowd.person("pat")
    sign_up(pat, "Pat Pending", "pat@example.com")
    sign_in(pat, "pat@example.com")
    expect(pat).to_have_url(f"{live_server.url}/auth/pending")
    pat.get_by_role("link", name="Check again").click()
    expect(pat).to_have_url(f"{live_server.url}/auth/pending")  # still waiting
    approve(app, "pat@example.com")
    pat.get_by_role("link", name="Check again").click()
    expect(pat).to_have_url(f"{live_server.url}/chat")

    ada.locator("header nav").get_by_role("link", name="Settings", exact=True).click()
    ada.get_by_role("button", name="Sign out").click()
    sign_in(ada, "ada@example.com")
    expect(ada).to_have_url(f"{live_server.url}/chat")
