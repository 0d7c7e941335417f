"""Leak response: anyone reports leaked keys (POST /api/v1/auths/api_keys/revoke-leaked),
a key revokes itself (DELETE /api/v1/auths/api_keys/self), the owner is told."""

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.accounts import bearer, login_client
from webui.extensions import db
from webui.models import ApiKey, AuditEvent, User
from webui.security import key_format
from webui.sql_trace import traced_statements

REPORT = "/api/v1/auths/api_keys/revoke-leaked"
SELF = "/api/v1/auths/api_keys/self"
ANSWER = {"detail": "Thank you. Any valid key among them has been revoked."}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "api.md"


@pytest.fixture
def bob(admin_client, make_user, save_settings):
    """Bob's id; keys are on for everyone."""
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    return make_user("bob@example.com")


def key_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey))


def revoked_events(app) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "key.revoked"))
        )


def a_checksum_failure() -> str:
    secret = key_format.generate_key()
    return secret[:-1] + ("a" if secret[-1] != "a" else "b")


# --- reporting leaked keys --------------------------------------------------------------


def test_a_report_without_any_cookie_revokes_the_key_and_tells_its_owner(app, bob, make_key):
    secret = make_key(bob, "ci-bot")
    assert app.test_client().get("/api/v1/auths/", headers=bearer(secret)).status_code == 200
    app.config["WTF_CSRF_ENABLED"] = True  # as in production: curl sends no CSRF token

    response = app.test_client().post(REPORT, json={"keys": [secret]})

    assert response.status_code == 200 and response.get_json() == ANSWER
    assert app.test_client().get("/api/v1/auths/", headers=bearer(secret)).status_code == 401
    [event] = revoked_events(app)
    assert event.actor_id is None and event.detail["reason"] == "reported as leaked"
    assert event.detail["name"] == "ci-bot" and event.detail["prefix"] == secret[:13]
    assert secret not in str(event.to_dict())
    with app.app_context():
        notice = db.session.get(User, bob).leaked_keys_notice
    assert notice == [{"name": "ci-bot", "prefix": secret[:13]}]


def test_the_answer_is_the_same_whatever_was_found(app, bob, make_key):
    secret = make_key(bob)
    client = app.test_client()
    answers = [
        client.post(REPORT, json={"keys": keys})
        for keys in (
            ["garbage"],
            [a_checksum_failure()],
            [key_format.generate_key()],  # well formed, but nobody's
            [secret, "garbage"],
        )
    ]
    assert {(r.status_code, r.get_data(as_text=True)) for r in answers} == {
        (200, answers[0].get_data(as_text=True))
    }
    assert answers[0].get_json() == ANSWER
    assert key_count(app) == 0


def test_strings_that_fail_the_checksum_are_refused_without_a_key_lookup(app, bob, make_key):
    make_key(bob)
    with app.app_context():
        engine = db.engine
    with traced_statements(engine) as seen:
        response = app.test_client().post(
            REPORT, json={"keys": [a_checksum_failure(), "sk-webui_short", "x" * 50]}
        )
    assert response.status_code == 200
    assert not [statement for statement in seen if "api_keys" in statement], seen
    assert key_count(app) == 1


def test_every_valid_key_of_a_report_is_revoked_and_others_stay(app, bob, make_user, make_key):
    carol = make_user("carol@example.com")
    leaked = [make_key(bob, "one"), make_key(bob, "two"), make_key(carol, "three")]
    kept = make_key(bob, "kept")
    response = app.test_client().post(REPORT, json={"keys": leaked + leaked[:1]})
    assert response.status_code == 200
    assert key_count(app) == 1
    assert app.test_client().get("/api/v1/auths/", headers=bearer(kept)).status_code == 200
    assert sorted(event.detail["name"] for event in revoked_events(app)) == [
        "one",
        "three",
        "two",
    ]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"keys": []},
        {"keys": "sk-webui_x"},
        {"keys": [1]},
        {"keys": ["x"] * 101},
        {"keys": ["x"], "more": True},
        ["x"],
    ],
)
def test_a_bad_report_is_400_with_a_detail(app, body):
    response = app.test_client().post(REPORT, json=body)
    assert response.status_code == 400
    assert response.get_json()["detail"]


def test_a_report_of_100_keys_is_accepted(app):
    keys = [key_format.generate_key() for _ in range(100)]
    assert app.test_client().post(REPORT, json={"keys": keys}).status_code == 200


def test_reports_are_rate_limited_per_address(app, bob, make_key):
    app.config["RATELIMIT_FAILED_AUTH"] = "2 per minute"
    client = app.test_client()
    other = app.test_client()
    here = {"REMOTE_ADDR": "10.0.0.7"}
    statuses = [
        client.post(REPORT, json={"keys": ["x"]}, environ_base=here).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    refused = client.post(REPORT, json={"keys": ["x"]}, environ_base=here)
    assert refused.status_code == 429 and "leak reports" in refused.get_json()["detail"]
    assert int(refused.headers["Retry-After"]) > 0
    elsewhere = other.post(REPORT, json={"keys": ["x"]}, environ_base={"REMOTE_ADDR": "10.0.0.8"})
    assert elsewhere.status_code == 200


def test_a_report_from_a_page_on_another_site_is_refused(app, bob, make_key):
    secret = make_key(bob)
    response = app.test_client().post(
        REPORT, json={"keys": [secret]}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403 and "Cross-site" in response.get_json()["detail"]
    assert key_count(app) == 1


# --- a key revoking itself ---------------------------------------------------------------


def test_a_key_revokes_itself(app, bob, make_key):
    secret = make_key(bob, "deploy")
    other = make_key(bob, "other")
    client = app.test_client()
    response = client.delete(SELF, headers=bearer(secret))
    assert response.status_code == 200 and response.get_json() == {"deleted": True}
    assert client.get("/api/v1/auths/", headers=bearer(secret)).status_code == 401
    assert client.get("/api/v1/auths/", headers=bearer(other)).status_code == 200
    with app.app_context():
        [event] = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "key.deleted")
        ).all()
    assert event.actor_id == bob and event.detail["name"] == "deploy"
    assert event.detail["reason"] == "revoked by itself"


def test_a_browser_session_has_no_self_key(app, bob, make_key):
    secret = make_key(bob)
    response = login_client(app, "bob@example.com").delete(SELF)
    assert response.status_code == 400
    assert "no 'self' key" in response.get_json()["detail"]
    assert app.test_client().get("/api/v1/auths/", headers=bearer(secret)).status_code == 200


def test_without_any_credential_self_revocation_needs_a_key(app):
    assert app.test_client().delete(SELF).status_code == 401


# --- the documented format ----------------------------------------------------------------


def documented_key_regex() -> str:
    """The regular expression docs/api.md gives secret scanners (the line after its label)."""
    match = re.search(r"Key format \(regular expression\):\s*`([^`]+)`", DOCS.read_text())
    assert match, "docs/api.md must give the key format as a regular expression"
    return match.group(1)


def test_the_documented_regex_finds_minted_keys_in_text_and_nothing_else():
    assert documented_key_regex() == key_format.KEY_REGEX
    pattern = re.compile(documented_key_regex())
    for _ in range(200):
        secret = key_format.generate_key()
        assert pattern.search(f"export OPENAI_API_KEY={secret}\n").group(0) == secret
    for other in (
        "sk-" + "a" * 48,  # OpenAI's style
        "sk-proj-" + "A1" * 20,
        "sk-webui-" + "a" * 38,
        "sk-webui_" + "a" * 37,
        "xsk-webui_" + "a" * 38,
        "sk-webui_" + "a" * 39,
        "sk-webui_" + "a" * 37 + "_",
    ):
        assert not pattern.search(other), other


# --- the owner's banner ------------------------------------------------------------------


def test_the_owner_sees_a_banner_naming_the_revoked_key_until_dismissed(
    app, bob, make_user, make_key
):
    secret = make_key(bob, "ci-bot")
    make_user("carol@example.com")
    owner = login_client(app, "bob@example.com")
    carol = login_client(app, "carol@example.com")
    assert "reported" not in owner.get("/account/").get_data(as_text=True)

    app.test_client().post(REPORT, json={"keys": [secret]})

    for _ in range(2):  # shown on every page until dismissed
        page = owner.get("/chat/").get_data(as_text=True)
        assert "Someone reported this API key of yours as leaked" in page
        assert "<strong>ci-bot</strong>" in page and f"<code>{secret[:13]}…</code>" in page
        assert secret not in page
    assert "reported" not in carol.get("/account/").get_data(as_text=True)

    dismissed = owner.post("/account/leaked-keys/dismiss")
    assert dismissed.status_code == 302
    assert "reported" not in owner.get("/account/").get_data(as_text=True)
