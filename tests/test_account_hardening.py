"""Accounts under attack (issue 25): wrong current passwords are counted like failed sign-ins,
names hold no character that hides or reorders text, approval acts only on pending accounts,
and a sign-up that needs approval does not tell whether the address has an account."""

import re

import pytest
import sqlalchemy as sa

from tests.support.accounts import ADMIN_EMAIL, PASSWORD, login_client
from webui import create_app
from webui.core import counters
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import AuditEvent, User
from webui.security import ratelimit
from webui.services import users

PASSWORD_API = "/api/v1/auths/update/password"
SIGNUP = "/api/v1/auths/signup"
CSRF_TOKEN = re.compile(r"[\w-]+\.[\w-]+\.[\w-]+")  # differs on every page
NEW_PASSWORD = "a brand new passphrase"
ATTACKER = {"REMOTE_ADDR": "10.0.0.9"}
OFFICE = {"REMOTE_ADDR": "10.0.0.10"}

# Loops of requests must fall in one rate-limit window however slow the machine.
pytestmark = pytest.mark.usefixtures("frozen_counter_clock")


def account(app, email):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        return None if user is None else {"id": user.id, "role": user.role, "name": user.name}


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def password_is(app, email, password) -> bool:
    response = app.test_client().post(
        "/api/v1/auths/signin", json={"email": email, "password": password}
    )
    return response.status_code == 200


# --- item 4: wrong current passwords are counted, per address and per account ------------------


def change_password(browser, current, address=ATTACKER):
    body = {"password": current, "new_password": NEW_PASSWORD}
    return browser.post(PASSWORD_API, json=body, environ_base=address)


def assert_429(response, words):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    detail = response.get_json()["detail"]
    assert f"Too many wrong current passwords {words}" in detail and "try again in" in detail


@pytest.fixture
def ada(app, make_user):
    make_user(ADMIN_EMAIL, role="admin")
    make_user("ada@example.com")
    return login_client(app, "ada@example.com")


def test_wrong_current_passwords_end_in_429_and_even_the_right_one_waits(
    app, ada, frozen_counter_clock, monkeypatch
):
    monkeypatch.setattr(ratelimit, "clock", frozen_counter_clock)  # what the worker remembers
    statuses = [change_password(ada, f"guess {n}").status_code for n in range(40)]
    assert statuses == [400] * 20 + [429] * 20
    # While blocked the right password is refused too: 200 vs 429 would answer the guess.
    assert_429(change_password(ada, PASSWORD), "from your address")
    assert password_is(app, "ada@example.com", PASSWORD)
    assert ada.get("/api/v1/auths/").status_code == 200  # the session itself is untouched

    frozen_counter_clock.advance(60)  # the window ends
    assert change_password(ada, PASSWORD).get_json() is True
    assert password_is(app, "ada@example.com", NEW_PASSWORD)


def test_guesses_from_many_addresses_are_counted_for_the_account(app, ada):
    app.config["RATELIMIT_FAILED_AUTH"] = "3 per minute"
    for n in range(3):
        address = {"REMOTE_ADDR": f"10.0.1.{n}"}
        assert change_password(ada, "a wrong guess", address).status_code == 400
    assert_429(change_password(ada, PASSWORD, {"REMOTE_ADDR": "10.0.2.1"}), "for your account")
    assert password_is(app, "ada@example.com", PASSWORD)
    # Signing in is not what was guessed at: it keeps working.
    assert login_client(app, "ada@example.com").get("/api/v1/auths/").status_code == 200


def test_guesses_at_several_accounts_are_counted_for_the_address(app, ada, make_user):
    app.config["RATELIMIT_FAILED_AUTH"] = "3 per minute"
    make_user("bob@example.com")
    bob = login_client(app, "bob@example.com")
    assert change_password(ada, "a wrong guess").status_code == 400
    assert change_password(ada, "another guess").status_code == 400
    assert change_password(bob, "a wrong guess").status_code == 400
    assert_429(change_password(bob, PASSWORD), "from your address")
    assert change_password(bob, PASSWORD, OFFICE).get_json() is True  # another address


@pytest.fixture
def database_counters(monkeypatch, app_config):
    """The deployment default (counters in the database), and a limit of 4 a minute."""
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    app_config.pop("RATELIMIT_STORAGE_URI", None)
    app_config["RATELIMIT_FAILED_AUTH"] = "4 per minute"
    return app_config


def test_the_limit_holds_across_workers(database_counters, app, ada):
    """Two app objects on one database stand in for two workers (or hosts)."""
    other = create_app(database_counters)
    workers = (ada, login_client(other, "ada@example.com"))
    statuses = [change_password(workers[n % 2], "a wrong guess").status_code for n in range(4)]
    assert statuses == [400] * 4
    for worker in workers:
        assert change_password(worker, PASSWORD, OFFICE).status_code == 429  # the account
    with other.app_context():
        db.engine.dispose()
    counters.dispose(other)


def test_the_account_page_flashes_answers_429_and_keeps_the_form(app, ada):
    app.config["RATELIMIT_FAILED_AUTH"] = "2 per minute"
    form = {"current_password": "a wrong guess", "new_password": NEW_PASSWORD}
    for _ in range(2):
        page = ada.post("/account/password", data=form, environ_base=ATTACKER)
        assert page.status_code == 400 and "This is not your current password" in page.text
    page = ada.post(
        "/account/password", data={**form, "current_password": PASSWORD}, environ_base=ATTACKER
    )
    assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1
    assert "Your password was not changed: Too many wrong current passwords" in page.text
    assert 'name="current_password"' in page.text and 'name="new_password"' in page.text
    assert password_is(app, "ada@example.com", PASSWORD)


# --- item 6: names that hide or reorder text are refused ---------------------------------------

HIDDEN = [
    ("\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ("\u202a", "U+202A (LEFT-TO-RIGHT EMBEDDING)"),
    ("\u2067", "U+2067 (RIGHT-TO-LEFT ISOLATE)"),
    ("\u200f", "U+200F (RIGHT-TO-LEFT MARK)"),
    ("\u061c", "U+061C (ARABIC LETTER MARK)"),
    ("\u200b", "U+200B (ZERO WIDTH SPACE)"),
    ("\u200d", "U+200D (ZERO WIDTH JOINER)"),  # inside a Latin word
    ("\ufeff", "U+FEFF (ZERO WIDTH NO-BREAK SPACE)"),
    ("\u3164", "U+3164 (HANGUL FILLER)"),
    ("\x1b", "U+001B (a control character)"),
]
FINE_NAMES = [
    "José Ñúñez",
    "Zoë",
    "李小龍",
    "Bob 👩\u200d💻",  # a joiner between emoji
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # a non-joiner in Persian
]


def spoofed(char: str) -> str:
    return f"Bob{char}txt.exe"


def assert_refused(response, described):
    assert response.status_code == 400
    detail = response.get_json()["detail"]
    assert f"holds the invisible character {described}" in detail and "remove it" in detail


@pytest.mark.parametrize(("char", "described"), HIDDEN)
def test_sign_up_and_profile_refuse_hidden_characters(app, client, make_user, char, described):
    response = client.post(
        SIGNUP, json={"name": spoofed(char), "email": "bob@example.com", "password": PASSWORD}
    )
    assert_refused(response, described)
    assert response.get_json()["detail"].startswith("Name holds")
    assert account(app, "bob@example.com") is None

    make_user(ADMIN_EMAIL, role="admin")
    admin = login_client(app, ADMIN_EMAIL)
    renamed = admin.post("/api/v1/auths/update/profile", json={"name": spoofed(char)})
    assert_refused(renamed, described)
    added = admin.post(
        "/api/v1/auths/add",
        json={"name": spoofed(char), "email": "carol@example.com", "password": PASSWORD},
    )
    assert_refused(added, described)
    assert account(app, "carol@example.com") is None
    assert account(app, ADMIN_EMAIL)["name"] == "Root"


@pytest.mark.parametrize(("char", "described"), HIDDEN[:3])
def test_the_pages_flash_the_refusal_and_keep_the_form(app, client, make_user, char, described):
    page = client.post(
        "/auth/signup",
        data={"name": spoofed(char), "email": "ada@example.com", "password": PASSWORD},
    )
    assert page.status_code == 200 and f"holds the invisible character {described}" in page.text
    assert 'value="ada@example.com"' in page.text
    assert account(app, "ada@example.com") is None

    make_user(ADMIN_EMAIL, role="admin")
    admin = login_client(app, ADMIN_EMAIL)
    profile = admin.post("/account/profile", data={"profile-name": spoofed(char)})
    assert profile.status_code == 400
    assert f"Your profile was not saved: name holds the invisible character {described}" in (
        profile.text
    )
    assert account(app, ADMIN_EMAIL)["name"] == "Root"


@pytest.mark.parametrize(("char", "described"), HIDDEN)
def test_key_names_refuse_hidden_characters(app, people_with_keys, char, described):
    people_with_keys("bob")
    bob = login_client(app, "bob@example.com")
    created = bob.post("/api/v1/auths/api_keys", json={"name": spoofed(char)})
    assert_refused(created, described)
    assert created.get_json()["detail"].startswith("name holds")
    [key] = bob.get("/api/v1/auths/api_keys").get_json()["items"]
    renamed = bob.post(f"/api/v1/auths/api_keys/{key['id']}", json={"name": spoofed(char)})
    assert_refused(renamed, described)
    assert [k["name"] for k in bob.get("/api/v1/auths/api_keys").get_json()["items"]] == ["bob bot"]
    page = bob.post("/account/keys", data={"name": spoofed(char), "expiry": "never"})
    assert page.status_code == 400 and f"invisible character {described}" in page.text


@pytest.mark.parametrize(("char", "described"), HIDDEN)
def test_group_names_refuse_hidden_characters(admin_client, char, described):
    created = admin_client.post("/api/v1/groups/create", json={"name": spoofed(char)})
    assert_refused(created, described)
    assert created.get_json()["detail"].startswith("Group name holds")
    group = admin_client.post("/api/v1/groups/create", json={"name": "Ops"}).get_json()
    renamed = admin_client.post(
        f"/api/v1/groups/id/{group['id']}/update", json={"name": spoofed(char)}
    )
    assert_refused(renamed, described)
    assert [g["name"] for g in admin_client.get("/api/v1/groups/").get_json()] == ["Ops"]


@pytest.mark.parametrize("name", FINE_NAMES)
def test_names_in_other_scripts_and_emoji_are_kept(app, people_with_keys, name):
    people_with_keys("bob")
    bob = login_client(app, "bob@example.com")
    assert bob.post("/api/v1/auths/update/profile", json={"name": name}).get_json()["name"] == name
    created = bob.post("/api/v1/auths/api_keys", json={"name": name})
    assert created.status_code == 201 and created.get_json()["name"] == name


# --- item 8: approval acts only on pending accounts ----------------------------------------------


@pytest.mark.parametrize("role", ["admin", "user"])
def test_approving_an_account_that_is_not_pending_changes_nothing(
    app, admin_client, make_user, role
):
    other = make_user("pat@example.com", role=role)
    response = admin_client.post(f"/admin/users/{other}/approve")
    assert response.status_code == 409
    assert f"pat@example.com is not pending approval (role: {role})." in response.text
    assert account(app, "pat@example.com")["role"] == role
    assert "user.role_changed" not in audit_actions(app)


def test_an_approval_read_before_a_promotion_does_not_demote(app, make_user):
    """The admin's page showed Pat as pending; another admin promoted Pat a moment before
    the approval arrived. The approval must find Pat no longer pending."""
    make_user(ADMIN_EMAIL, role="admin")
    pat = make_user("pat@example.com", role="pending")
    with app.test_request_context():
        stale = db.session.get(User, pat)
        assert stale.role == "pending"
        with db.engine.begin() as elsewhere:  # the other admin's request
            elsewhere.execute(sa.update(User).where(User.id == pat).values(role="admin"))
        with pytest.raises(ServiceError) as refused:
            users.approve(stale)
    assert refused.value.status == 409
    assert refused.value.detail == "pat@example.com is not pending approval (role: admin)."
    assert account(app, "pat@example.com")["role"] == "admin"


# --- item 12: a sign-up that needs approval does not tell whether the address is taken ---------


def sign_up(app, email, name="Someone", password="another good passphrase"):
    """A sign-up from a new browser: the response."""
    body = {"name": name, "email": email, "password": password}
    return app.test_client().post(SIGNUP, json=body, environ_base=ATTACKER)


def test_where_sign_ups_wait_an_existing_address_gets_the_same_answer(app, make_user, count_users):
    make_user(ADMIN_EMAIL, role="admin")
    make_user("ada@example.com", name="Ada")
    new, taken = sign_up(app, "new@example.com"), sign_up(app, " ADA@example.com")
    assert new.status_code == taken.status_code == 200
    answers = [response.get_json() for response in (new, taken)]
    # Open WebUI's user shape; the taken address gets a fresh id that names no account.
    assert set(answers[0]) == set(answers[1]) == {"id", "name", "email", "role", "detail"}
    assert answers[1] == {**answers[0], "email": "ada@example.com", "id": answers[1]["id"]}
    assert answers[0]["id"] == account(app, "new@example.com")["id"]
    assert answers[1]["id"] not in {account(app, "ada@example.com")["id"], answers[0]["id"]}
    assert answers[0]["role"] == "pending" and "waits for an administrator" in answers[0]["detail"]
    assert "Set-Cookie" not in new.headers and "Set-Cookie" not in taken.headers

    # Nothing was made or changed for the address that had an account.
    assert count_users() == 3
    assert account(app, "ada@example.com")["name"] == "Ada"
    assert password_is(app, "ada@example.com", PASSWORD)
    assert audit_actions(app).count("user.signed_up") == 1
    assert account(app, "new@example.com")["role"] == "pending"
    assert password_is(app, "new@example.com", "another good passphrase")  # the pending page


def test_the_sign_up_page_answers_the_same_either_way(app, make_user):
    make_user(ADMIN_EMAIL, role="admin")
    make_user("ada@example.com")
    answers = []
    for email in ("new@example.com", "ada@example.com"):
        browser = app.test_client()
        data = {"name": "Someone", "email": email, "password": "another good passphrase"}
        response = browser.post("/auth/signup", data=data)
        assert response.status_code == 302 and response.location == "/auth/login"
        assert browser.get("/api/v1/auths/").status_code == 401  # nobody is signed in
        answers.append(CSRF_TOKEN.sub("token", browser.get("/auth/login").text))
    assert answers[0] == answers[1]
    assert "waits for an administrator" in answers[0]


def test_a_taken_address_costs_a_password_hash_too(app, make_user, monkeypatch):
    make_user(ADMIN_EMAIL, role="admin")
    make_user("ada@example.com")
    hashed = []

    def counting_hash(password, *args, **kwargs):
        hashed.append(password)
        return original(password, *args, **kwargs)

    original = users.generate_password_hash
    monkeypatch.setattr(users, "generate_password_hash", counting_hash)
    monkeypatch.setattr("webui.models.accounts.generate_password_hash", counting_hash)
    sign_up(app, "new@example.com", password="the new one's passphrase")
    sign_up(app, "ada@example.com", password="the taken one's passphrase")
    assert hashed == ["the new one's passphrase", "the taken one's passphrase"]


def test_where_sign_ups_are_active_at_once_the_answer_still_says_taken(
    app, make_user, save_settings
):
    """Documented: the new account is signed in at once, so an existing one cannot hide."""
    make_user(ADMIN_EMAIL, role="admin")
    make_user("ada@example.com")
    save_settings(DEFAULT_USER_ROLE="user")
    taken = sign_up(app, "ada@example.com")
    assert taken.status_code == 400 and "already exists" in taken.get_json()["detail"]
    new = sign_up(app, "new@example.com")
    assert new.status_code == 200 and new.get_json()["role"] == "user" and "id" in new.get_json()
