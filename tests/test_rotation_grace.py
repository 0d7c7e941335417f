"""Issue 27 item 4: rotating a key with a grace period, during which the old secret keeps
working with the key's restrictions, through the API and the key's page."""

import re

import httpx
import pytest
import sqlalchemy as sa

from tests.support.accounts import bearer, login_client
from webui.extensions import db
from webui.models import ApiKey, now
from webui.models.audit import AuditEvent
from webui.security import guard, key_format
from webui.sql_trace import traced_statements

KEYS = "/api/v1/auths/api_keys"
WHO = "/api/v1/auths/"
HOUR = 3600


@pytest.fixture
def bobs_key(bob):
    """Bob's read-only key "deploy" as created (``key`` holds the secret)."""
    return bob.post(KEYS, json={"name": "deploy", "read_only": True}).get_json()


def rotate(bob, key_id: str, **body):
    return bob.post(f"{KEYS}/{key_id}/rotate", json=body)


def works(client, secret: str) -> bool:
    status = client.get(WHO, headers=bearer(secret)).status_code
    assert status in (200, 401), status
    return status == 200


def audit_details(app, action: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return [row.detail for row in rows]


def test_the_old_secret_works_during_the_grace_period_with_the_keys_restrictions(
    client, bob, bobs_key
):
    old = bobs_key["key"]
    response = rotate(bob, bobs_key["id"], grace_seconds=HOUR)
    assert response.status_code == 201
    body = response.get_json()
    assert now() + HOUR - 5 <= body["previous_valid_until"] <= now() + HOUR
    assert works(client, old) and works(client, body["key"])
    # The same row: the old secret is read-only too, and acts for the same key.
    refused = client.post(f"{KEYS}/self", headers=bearer(old))
    assert refused.status_code == 403 and "read-only" in refused.get_json()["detail"]
    listed = {item["id"]: item for item in bob.get(KEYS).get_json()["items"]}
    assert listed[bobs_key["id"]]["previous_valid_until"] == body["previous_valid_until"]


def test_after_the_grace_period_the_old_secret_is_refused_like_an_unknown_key(
    client, bob, bobs_key, monkeypatch
):
    new = rotate(bob, bobs_key["id"], grace_seconds=300).get_json()["key"]
    later = now() + 301
    monkeypatch.setattr(guard, "now", lambda: later)
    refused = client.get(WHO, headers=bearer(bobs_key["key"]))
    unknown = client.get(WHO, headers=bearer(key_format.generate_key()))
    assert refused.status_code == unknown.status_code == 401
    assert refused.get_json() == unknown.get_json()
    assert works(client, new)


@pytest.mark.parametrize("body", [{}, {"grace_seconds": 0}, {"grace_seconds": None}])
def test_without_a_grace_period_the_old_secret_stops_at_once(client, bob, bobs_key, body):
    response = rotate(bob, bobs_key["id"], **body)
    assert response.status_code == 201
    assert response.get_json()["previous_valid_until"] is None
    assert not works(client, bobs_key["key"])
    assert works(client, response.get_json()["key"])


def test_rotating_with_no_body_at_all_still_works(client, bob, bobs_key):
    response = bob.post(f"{KEYS}/{bobs_key['id']}/rotate")
    assert response.status_code == 201 and not works(client, bobs_key["key"])


@pytest.mark.parametrize(
    "body",
    [
        {"grace_seconds": -1},
        {"grace_seconds": 86401},
        {"grace_seconds": "3600"},
        {"grace_seconds": 1.5},
        {"grace_seconds": True},
        {"grace_seconds": [60]},
        {"grace": 60},
    ],
)
def test_a_bad_grace_period_is_400_and_changes_nothing(app, client, bob, bobs_key, body):
    response = rotate(bob, bobs_key["id"], **body)
    assert response.status_code == 400
    assert "grace_seconds" in response.get_json()["detail"]
    assert works(client, bobs_key["key"])
    assert audit_details(app, "key.rotated") == []


def test_a_grace_period_of_a_full_day_is_allowed(bob, bobs_key):
    response = rotate(bob, bobs_key["id"], grace_seconds=86400)
    assert response.status_code == 201
    assert response.get_json()["previous_valid_until"] >= now() + 86400 - 5


def test_ending_the_grace_period_stops_the_old_secret_now_and_is_audited(
    app, client, bob, bobs_key
):
    new = rotate(bob, bobs_key["id"], grace_seconds=HOUR).get_json()["key"]
    assert works(client, bobs_key["key"])
    ended = bob.post(f"{KEYS}/{bobs_key['id']}/end-grace")
    assert ended.status_code == 200 and ended.get_json()["previous_valid_until"] is None
    assert not works(client, bobs_key["key"]) and works(client, new)
    [update] = audit_details(app, "key.updated")
    assert update["changes"]["previous_valid_until"]["new"] is None
    # Again: nothing left to end, nothing recorded.
    assert bob.post(f"{KEYS}/{bobs_key['id']}/end-grace").status_code == 200
    assert len(audit_details(app, "key.updated")) == 1


def test_a_second_rotation_replaces_the_previous_secret(client, bob, bobs_key):
    second = rotate(bob, bobs_key["id"], grace_seconds=HOUR).get_json()["key"]
    third = rotate(bob, bobs_key["id"], grace_seconds=HOUR).get_json()["key"]
    assert not works(client, bobs_key["key"])
    assert works(client, second) and works(client, third)
    fourth = rotate(bob, bobs_key["id"]).get_json()["key"]  # no grace: the third stops too
    assert not works(client, second) and not works(client, third) and works(client, fourth)


def test_deleting_the_key_ends_both_secrets(client, bob, bobs_key):
    new = rotate(bob, bobs_key["id"], grace_seconds=HOUR).get_json()["key"]
    assert bob.delete(f"{KEYS}/{bobs_key['id']}").status_code == 200
    assert not works(client, bobs_key["key"]) and not works(client, new)


def test_rotation_audit_names_both_secrets_by_their_ends_and_the_grace_end(app, bob, bobs_key):
    body = rotate(bob, bobs_key["id"], grace_seconds=HOUR).get_json()
    [detail] = audit_details(app, "key.rotated")
    assert (detail["old_prefix"], detail["old_last_chars"]) == (
        bobs_key["prefix"],
        bobs_key["last_chars"],
    )
    assert (detail["prefix"], detail["last_chars"]) == (body["prefix"], body["last_chars"])
    assert detail["old_valid_until"] == body["previous_valid_until"]
    assert bobs_key["key"] not in str(detail) and body["key"] not in str(detail)
    admin = login_client(app, "root@example.com")
    page = admin.get(f"/admin/audit?target={bobs_key['id']}").get_data(as_text=True)
    assert f"{bobs_key['prefix']}…{bobs_key['last_chars']} replaced by" in page
    assert "the old one works until" in page


def test_a_use_of_the_old_secret_is_marked_in_the_audit(app, client, bob, bobs_key):
    assert works(client, bobs_key["key"])  # first use: recorded as such
    rotate(bob, bobs_key["id"], grace_seconds=HOUR)
    with app.app_context():  # a minute later, so that the guard records the use again
        db.session.execute(sa.update(ApiKey).values(last_used_at=now() - 120))
        db.session.commit()
    assert works(client, bobs_key["key"])
    used = audit_details(app, "key.used")
    assert [detail.get("old_secret_until") is not None for detail in used] == [False, True]
    admin = login_client(app, "root@example.com")
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "Old secret used" in page


def test_a_request_with_the_old_secret_costs_one_statement(app, bob, bobs_key):
    rotate(bob, bobs_key["id"], grace_seconds=HOUR)
    client = app.test_client()
    assert works(client, bobs_key["key"])  # records last use
    with app.app_context():
        engine = db.engine
    with traced_statements(engine) as statements:
        assert works(client, bobs_key["key"])
        assert len(statements) == 1, statements


def test_the_inventory_shows_a_previous_secret_and_its_end(app, bob, bobs_key):
    admin = login_client(app, "root@example.com")
    assert "previous secret valid until" not in admin.get("/admin/api-keys").get_data(as_text=True)
    rotate(bob, bobs_key["id"], grace_seconds=HOUR)
    page = admin.get("/admin/api-keys").get_data(as_text=True)
    assert "previous secret valid until <time" in page
    [item] = admin.get("/api/v1/auths/admin/api_keys").get_json()["items"]
    assert item["previous_valid_until"] is not None


# --- the key's page ----------------------------------------------------------------------


def test_the_key_page_rotates_with_a_grace_period_and_ends_it(app, client, bob, bobs_key):
    page_url = f"/account/keys/{bobs_key['id']}"
    page = bob.get(page_url).get_data(as_text=True)
    assert '<select id="grace_seconds" name="grace_seconds">' in page
    assert '<option value="3600">1 hour</option>' in page
    assert "The previous secret works until" not in page

    rotated = bob.post(f"{page_url}/rotate", data={"grace_seconds": "3600"})
    assert rotated.status_code == 302
    assert works(client, bobs_key["key"])
    page = bob.get(page_url).get_data(as_text=True)
    notice = re.search(r'id="previous-secret">(.*?)</div>', page, re.S).group(1)
    assert "The previous secret works until <time" in notice
    assert "End grace period" in notice

    ended = bob.post(f"{page_url}/end-grace")
    assert ended.status_code == 302
    assert not works(client, bobs_key["key"])
    assert "The previous secret works until" not in bob.get(page_url).get_data(as_text=True)


def test_the_key_page_refuses_a_grace_period_not_offered(client, bob, bobs_key):
    page_url = f"/account/keys/{bobs_key['id']}"
    refused = bob.post(
        f"{page_url}/rotate", data={"grace_seconds": "999999"}, follow_redirects=True
    )
    assert refused.status_code == 200
    assert "The key was not rotated" in refused.get_data(as_text=True)
    assert works(client, bobs_key["key"])


@pytest.mark.slow  # Chromium against a live gunicorn
def test_the_grace_period_chosen_on_the_key_page_in_a_browser(crowd, live_server, bob, bobs_key):
    from playwright.sync_api import expect

    from tests.support.chromium import sign_in

    page = crowd.person("bob")
    sign_in(page, "bob@example.com")
    page.goto(f"/account/keys/{bobs_key['id']}")
    expect(page.locator("#previous-secret")).to_have_count(0)
    page.get_by_label("The current secret keeps working for").select_option(label="1 hour")
    page.locator("#rotate-form").get_by_role("button", name="Rotate").click()
    new = page.locator("input#new-key").input_value()
    with httpx.Client(base_url=live_server.url, timeout=30.0) as script:
        assert works(script, bobs_key["key"]) and works(script, new)

        page.goto(f"/account/keys/{bobs_key['id']}")
        notice = page.locator("#previous-secret")
        expect(notice).to_contain_text("The previous secret works until")
        # The viewer's local time with a relative hint, as times.js writes it (no longer UTC).
        expect(notice.locator("time")).to_have_text(re.compile(r"^[^U]*\(in \d+ minutes\)$"))
        notice.get_by_role("button", name="End grace period").click()
        expect(page.locator("#previous-secret")).to_have_count(0)
        assert not works(script, bobs_key["key"]) and works(script, new)
