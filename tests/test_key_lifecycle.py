"""A key's life after creation through the API: changing its fields and rotating its secret."""

import re
import time

import httpx
import pytest
import sqlalchemy as sa

from tests.support.accounts import bearer, login_client
from webui.extensions import db
from webui.models import ApiKey
from webui.models.audit import AuditEvent
from webui.security import key_format

KEYS = "/api/v1/auths/api_keys"
DAY = 86400
LIFECYCLE_ACTIONS = ("key.created", "key.updated", "key.rotated", "key.deleted")


@pytest.fixture
def bobs_key(bob):
    """Bob's key "CI" as the create response gives it (with ``key``, the secret)."""
    body = bob.post(KEYS, json={"name": "CI"}).get_json()
    assert body["key"].startswith("sk-")
    return body


def audit_rows(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
        return [(row.target, row.actor_id, row.detail) for row in rows]


def listed(client) -> dict:
    return {item["id"]: item for item in client.get(KEYS).get_json()["items"]}


# --- changing a key ---------------------------------------------------------------------


def test_every_field_can_be_changed_and_the_answer_is_the_listed_key(bob, bobs_key):
    later = int(time.time()) + 10 * DAY
    body = {
        "name": "CI – nightly",
        "expires_at": later,
        "allowed_endpoints": ["/api/models", "/api/v1/files"],
        "read_only": True,
        "rate_limit": 30,
    }
    response = bob.post(f"{KEYS}/{bobs_key['id']}", json=body)
    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    assert "key" not in changed
    assert changed == listed(bob)[bobs_key["id"]]
    assert changed["name"] == "CI – nightly"
    assert changed["expires_at"] == later
    assert changed["allowed_endpoints"] == ["/api/models", "/api/v1/files"]
    assert changed["read_only"] is True
    assert changed["rate_limit_per_minute"] == 30
    assert (changed["prefix"], changed["created_at"]) == (
        bobs_key["prefix"],
        bobs_key["created_at"],
    )

    # null clears what may be cleared; fields not sent stay as they are.
    cleared = bob.post(
        f"{KEYS}/{bobs_key['id']}",
        json={"expires_at": None, "allowed_endpoints": None, "rate_limit": None},
    ).get_json()
    assert cleared["expires_at"] is None and cleared["allowed_endpoints"] is None
    assert cleared["rate_limit_per_minute"] is None
    assert cleared["read_only"] is True and cleared["name"] == "CI – nightly"


def test_a_changed_key_obeys_its_new_restrictions_at_once(app, bob, bobs_key):
    script = app.test_client()
    secret = bearer(bobs_key["key"])
    assert script.get("/api/v1/auths/", headers=secret).status_code == 200
    bob.post(f"{KEYS}/{bobs_key['id']}", json={"allowed_endpoints": ["/api/models"]})
    assert script.get("/api/v1/auths/", headers=secret).status_code == 403
    bob.post(f"{KEYS}/{bobs_key['id']}", json={"read_only": True, "allowed_endpoints": None})
    assert script.get("/api/v1/auths/", headers=secret).status_code == 200
    refused = script.post("/api/v1/knowledge/create", headers=secret, json={"name": "n"})
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Nothing to change"),
        ({"colour": "red"}, "Unknown field colour"),
        ({"name": "   "}, "name is required"),
        ({"name": "x" * 101}, "at most 100"),
        ({"name": "Other"}, "already have a key named 'Other'"),
        ({"expires_at": 1000}, "in the future"),
        ({"expires_at": "tomorrow"}, "epoch seconds"),
        ({"allowed_endpoints": "/api/models"}, "list of paths"),
        ({"allowed_endpoints": ["api/models"]}, "must start with /"),
        ({"read_only": "yes"}, "read_only must be true or false"),
        ({"rate_limit": 0}, "rate_limit must be a whole number from 1"),
        ({"rate_limit": "lots"}, "rate_limit must be a whole number from 1"),
        ({"name": "Fine", "rate_limit": -1}, "rate_limit"),
    ],
)
def test_bad_changes_are_400_and_change_nothing(app, bob, bobs_key, body, message):
    bob.post(KEYS, json={"name": "Other"})
    before = listed(bob)[bobs_key["id"]]
    response = bob.post(f"{KEYS}/{bobs_key['id']}", json=body)
    assert response.status_code == 400
    assert message in response.get_json()["detail"]
    assert listed(bob)[bobs_key["id"]] == before
    assert audit_rows(app, "key.updated") == []


def test_a_key_may_keep_its_own_name(bob, bobs_key):
    response = bob.post(f"{KEYS}/{bobs_key['id']}", json={"name": " CI ", "read_only": True})
    assert response.status_code == 200 and response.get_json()["name"] == "CI"


def test_expiry_stays_within_the_administrators_maximum(bob, bobs_key, save_settings):
    save_settings(API_KEYS_MAX_LIFETIME_DAYS=30)
    path = f"{KEYS}/{bobs_key['id']}"
    never = bob.post(path, json={"expires_at": None})
    assert never.status_code == 400 and "within 30 days" in never.get_json()["detail"]
    too_late = bob.post(path, json={"expires_at": int(time.time()) + 31 * DAY})
    assert too_late.status_code == 400 and "too late" in too_late.get_json()["detail"]
    extended = bob.post(path, json={"expires_at": int(time.time()) + 29 * DAY})
    assert extended.status_code == 200
    # Its expiry is within the maximum now, so a change may leave it alone.
    assert bob.post(path, json={"name": "renamed"}).status_code == 200


# --- every write of a key obeys the maximum lifetime in force -------------------------------


def expire(app, key_id: str) -> None:
    """Make a key expired a minute ago, as if its time had run out."""
    with app.app_context():
        db.session.get(ApiKey, key_id).expires_at = int(time.time()) - 60
        db.session.commit()


def within(seconds: int, expected: float) -> bool:
    return abs(seconds - expected) <= 120


def test_a_change_that_keeps_a_never_expiring_key_past_the_maximum_is_refused(
    app, bob, bobs_key, save_settings
):
    """The key was made before the maximum; renaming it must not carry "never" on."""
    save_settings(API_KEYS_MAX_LIFETIME_DAYS=30)
    path = f"{KEYS}/{bobs_key['id']}"
    refused = bob.post(path, json={"name": "renamed"})
    assert refused.status_code == 400
    detail = refused.get_json()["detail"]
    assert "expires_at is required" in detail and "never expires" in detail
    assert "within 30 days" in detail
    assert listed(bob)[bobs_key["id"]]["name"] == "CI"
    assert audit_rows(app, "key.updated") == []

    later = int(time.time()) + 7 * DAY
    changed = bob.post(path, json={"name": "renamed", "expires_at": later})
    assert changed.status_code == 200 and changed.get_json()["expires_at"] == later


def test_a_change_that_keeps_an_expiry_later_than_the_maximum_is_refused(bob, save_settings):
    key = bob.post(KEYS, json={"name": "CI", "expires_at": int(time.time()) + 90 * DAY})
    save_settings(API_KEYS_MAX_LIFETIME_DAYS=30)
    refused = bob.post(f"{KEYS}/{key.get_json()['id']}", json={"read_only": True})
    assert refused.status_code == 400 and "expires on" in refused.get_json()["detail"]
    assert listed(bob)[key.get_json()["id"]]["read_only"] is False


@pytest.mark.parametrize("maximum", [None, 30])
def test_an_expired_key_stays_expired_unless_given_a_new_expiry(
    app, bob, bobs_key, save_settings, maximum
):
    save_settings(API_KEYS_MAX_LIFETIME_DAYS=maximum)
    expire(app, bobs_key["id"])
    path, script = f"{KEYS}/{bobs_key['id']}", app.test_client()
    secret = bearer(bobs_key["key"])

    renamed = bob.post(path, json={"name": "renamed", "read_only": True})
    assert renamed.status_code == 200
    still = script.get("/api/v1/auths/", headers=secret)
    assert still.status_code == 401 and "expired" in still.get_json()["detail"]
    if maximum is not None:
        never = bob.post(path, json={"expires_at": None})
        assert never.status_code == 400 and "within 30 days" in never.get_json()["detail"]
        too_late = bob.post(path, json={"expires_at": int(time.time()) + 31 * DAY})
        assert too_late.status_code == 400
        assert script.get("/api/v1/auths/", headers=secret).status_code == 401

    # A new expiry, within the maximum when there is one, is what brings a key back.
    revived = bob.post(path, json={"expires_at": int(time.time()) + 7 * DAY})
    assert revived.status_code == 200
    assert script.get("/api/v1/auths/", headers=secret).status_code == 200


def test_rotating_under_a_maximum_gives_a_never_expiring_key_the_latest_allowed_expiry(
    app, bob, bobs_key, save_settings
):
    save_settings(API_KEYS_MAX_LIFETIME_DAYS=30)
    response = bob.post(f"{KEYS}/{bobs_key['id']}/rotate")
    assert response.status_code == 201
    rotated = response.get_json()
    assert within(rotated["expires_at"], time.time() + 30 * DAY)
    assert listed(bob)[bobs_key["id"]]["expires_at"] == rotated["expires_at"]
    [(target, _, detail)] = audit_rows(app, "key.updated")
    assert target == bobs_key["id"]
    assert detail["changes"]["expires_at"] == {"old": None, "new": rotated["expires_at"]}
    assert len(audit_rows(app, "key.rotated")) == 1


def test_rotating_under_a_maximum_brings_a_later_expiry_within_it_and_keeps_an_earlier_one(
    bob, save_settings
):
    far = bob.post(KEYS, json={"name": "far", "expires_at": int(time.time()) + 90 * DAY})
    soon_at = int(time.time()) + 10 * DAY
    soon = bob.post(KEYS, json={"name": "soon", "expires_at": soon_at})
    save_settings(API_KEYS_MAX_LIFETIME_DAYS=30)
    far_rotated = bob.post(f"{KEYS}/{far.get_json()['id']}/rotate").get_json()
    assert within(far_rotated["expires_at"], time.time() + 30 * DAY)
    soon_rotated = bob.post(f"{KEYS}/{soon.get_json()['id']}/rotate").get_json()
    assert soon_rotated["expires_at"] == soon_at


def test_rotating_without_a_maximum_keeps_never(bob, bobs_key):
    assert bob.post(f"{KEYS}/{bobs_key['id']}/rotate").get_json()["expires_at"] is None


def test_rotating_an_expired_key_is_refused_and_keeps_its_secret(app, bob, bobs_key):
    expire(app, bobs_key["id"])
    response = bob.post(f"{KEYS}/{bobs_key['id']}/rotate")
    assert response.status_code == 409
    detail = response.get_json()["detail"]
    assert "expired on" in detail and "give it a new expiry first" in detail
    assert listed(bob)[bobs_key["id"]]["prefix"] == bobs_key["prefix"]
    assert audit_rows(app, "key.rotated") == []


def test_changes_are_audited_with_old_and_new_values(app, bob, bobs_key):
    bob.post(f"{KEYS}/{bobs_key['id']}", json={"name": "Deploy", "rate_limit": 5})
    bob.post(f"{KEYS}/{bobs_key['id']}", json={"name": "Deploy"})  # no change: no row
    [(target, actor, detail)] = audit_rows(app, "key.updated")
    assert target == bobs_key["id"] and actor == bob.get("/api/v1/auths/").get_json()["id"]
    assert detail["changes"] == {
        "name": {"old": "CI", "new": "Deploy"},
        "rate_limit_per_minute": {"old": None, "new": 5},
    }
    assert detail["prefix"] == bobs_key["prefix"]


# --- rotating a key ---------------------------------------------------------------------


def test_rotation_gives_a_new_secret_and_keeps_everything_else(app, bob, bobs_key):
    path = f"{KEYS}/{bobs_key['id']}"
    bob.post(path, json={"allowed_endpoints": ["/api/v1/auths"], "rate_limit": 100})
    script = app.test_client()
    old = bearer(bobs_key["key"])
    assert script.get("/api/v1/auths/", headers=old).status_code == 200
    used = listed(bob)[bobs_key["id"]]
    assert used["last_used_at"] is not None

    response = bob.post(f"{path}/rotate")
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    rotated = response.get_json()
    new_secret = rotated.pop("key")
    assert key_format.is_well_formed(new_secret) and new_secret != bobs_key["key"]
    assert rotated["prefix"] == key_format.visible_prefix(new_secret)
    assert rotated["last_chars"] == key_format.visible_suffix(new_secret)
    kept = ("id", "name", "created_at", "expires_at", "last_used_at", "last_used_ip")
    kept += ("allowed_endpoints", "read_only", "rate_limit_per_minute")
    assert {f: rotated[f] for f in kept} == {f: used[f] for f in kept}
    assert rotated == listed(bob)[bobs_key["id"]]

    refused = script.get("/api/v1/auths/", headers=old)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert script.get("/api/v1/auths/", headers=bearer(new_secret)).status_code == 200

    with app.app_context():
        row = db.session.get(ApiKey, bobs_key["id"])
        assert row.digest == key_format.key_digest(new_secret)
        stored = str(db.session.execute(sa.text("SELECT * FROM api_keys")).all())
    assert new_secret not in stored and bobs_key["key"] not in stored


def test_rotation_is_audited_without_secrets(app, bob, bobs_key):
    new_secret = bob.post(f"{KEYS}/{bobs_key['id']}/rotate").get_json()["key"]
    [(target, _, detail)] = audit_rows(app, "key.rotated")
    assert target == bobs_key["id"]
    assert detail["old_prefix"] == bobs_key["prefix"]
    assert detail["prefix"] == key_format.visible_prefix(new_secret)
    assert new_secret not in str(detail) and bobs_key["key"] not in str(detail)


def test_rotation_needs_keys_to_be_usable(bob, bobs_key, save_settings):
    save_settings(ENABLE_API_KEYS=False)
    response = bob.post(f"{KEYS}/{bobs_key['id']}/rotate")
    assert response.status_code == 403 and "Enable API Keys" in response.get_json()["detail"]


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"USER_PERMISSIONS_FEATURES_API_KEYS": False}, "features.api_keys"),
        ({"ENABLE_API_KEYS": False}, "Enable API Keys"),
    ],
)
def test_an_owner_who_may_not_use_keys_may_delete_them_but_not_change_them(
    app, bob, bobs_key, save_settings, settings, says
):
    other = bob.post(KEYS, json={"name": "other"}).get_json()
    bob.post(f"{KEYS}/{bobs_key['id']}", json={"read_only": True})
    save_settings(**settings)
    path = f"{KEYS}/{bobs_key['id']}"
    changes = [
        {"name": "renamed"},
        {"allowed_endpoints": ["/api/models"]},
        {"read_only": False},
        {"rate_limit": 1},
        {"expires_at": int(time.time()) + DAY},
    ]
    for change in changes:
        response = bob.post(path, json=change)
        assert response.status_code == 403, change
        assert says in response.get_json()["detail"]
    assert bob.post(f"{path}/rotate").status_code == 403
    assert bob.post(KEYS, json={"name": "new"}).status_code == 403
    assert bob.post("/api/v1/auths/api_key").status_code == 403
    unchanged = listed(bob)[bobs_key["id"]]
    assert unchanged["name"] == "CI" and unchanged["read_only"] is True
    assert unchanged["prefix"] == bobs_key["prefix"]
    assert [row[0] for row in audit_rows(app, "key.updated")] == [bobs_key["id"]]

    # Revoking your own key stays possible, whatever the permission says.
    assert bob.delete(path).get_json() == {"deleted": True}
    assert bob.delete(f"{KEYS}/{other['id']}").get_json() == {"deleted": True}
    assert listed(bob) == {}


def test_an_admin_changes_keys_without_a_grant_but_not_while_keys_are_off(
    app, save_settings, make_user
):
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=False)
    make_user("root@example.com", role="admin")
    admin = login_client(app, "root@example.com")
    key = admin.post(KEYS, json={"name": "ops"}).get_json()
    assert admin.post(f"{KEYS}/{key['id']}", json={"name": "ops 2"}).status_code == 200
    save_settings(ENABLE_API_KEYS=False)
    assert admin.post(f"{KEYS}/{key['id']}", json={"name": "ops 3"}).status_code == 403
    assert admin.delete(f"{KEYS}/{key['id']}").status_code == 200


# --- who may change a key ---------------------------------------------------------------


def test_another_persons_key_is_not_found(app, bob, bobs_key):
    admin = login_client(app, "root@example.com")
    for path in (f"{KEYS}/{bobs_key['id']}", f"{KEYS}/{bobs_key['id']}/rotate"):
        response = admin.post(path, json={"name": "mine now"})
        assert response.status_code == 404, path
    assert admin.post(f"{KEYS}/no-such-id", json={"name": "x"}).status_code == 404
    assert listed(bob)[bobs_key["id"]]["name"] == "CI"
    assert audit_rows(app, "key.updated") == audit_rows(app, "key.rotated") == []


def test_keys_cannot_change_or_rotate_keys(app, bob, bobs_key):
    script = app.test_client()
    for path in (f"{KEYS}/{bobs_key['id']}", f"{KEYS}/{bobs_key['id']}/rotate"):
        response = script.post(path, json={"name": "x"}, headers=bearer(bobs_key["key"]))
        assert response.status_code == 403, path
        assert "browser session" in response.get_json()["detail"]
    assert listed(bob)[bobs_key["id"]]["name"] == "CI"


def test_the_whole_lifecycle_through_the_api(app, bob):
    """create → rename → restrict → rotate → old secret 401 → new secret 200 → delete."""
    script = app.test_client()
    created = bob.post(KEYS, json={"name": "Lifecycle"})
    assert created.status_code == 201
    key_id, first = created.get_json()["id"], created.get_json()["key"]
    assert script.get("/api/v1/files/", headers=bearer(first)).status_code == 200

    renamed = bob.post(f"{KEYS}/{key_id}", json={"name": "Lifecycle v2"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Lifecycle v2"
    restricted = bob.post(
        f"{KEYS}/{key_id}",
        json={"allowed_endpoints": ["/api/v1/files"], "read_only": True, "rate_limit": 60},
    )
    assert restricted.status_code == 200
    assert script.get("/api/v1/auths/", headers=bearer(first)).status_code == 403

    second = bob.post(f"{KEYS}/{key_id}/rotate").get_json()["key"]
    assert script.get("/api/v1/files/", headers=bearer(first)).status_code == 401
    assert script.get("/api/v1/files/", headers=bearer(second)).status_code == 200
    assert listed(bob)[key_id]["allowed_endpoints"] == ["/api/v1/files"]

    assert bob.delete(f"{KEYS}/{key_id}").get_json() == {"deleted": True}
    assert script.get("/api/v1/files/", headers=bearer(second)).status_code == 401
    actions = [row.action for row in audit_events(app, key_id)]
    assert actions == ["key.created", "key.updated", "key.updated", "key.rotated", "key.deleted"]


def audit_events(app, key_id: str) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.target == key_id, AuditEvent.action.in_(LIFECYCLE_ACTIONS))
                .order_by(AuditEvent.id)
            )
        )


@pytest.mark.slow  # a live gunicorn with two workers
def test_the_old_secret_is_refused_by_every_worker_at_once(bob, bobs_key, live_server):
    path = f"{KEYS}/{bobs_key['id']}/rotate"
    with httpx.Client(base_url=live_server.url, timeout=30.0) as script:

        def statuses(secret: str) -> set[int]:
            # Many requests on fresh connections, so both workers answer some of them.
            return {
                script.get(
                    "/api/v1/auths/", headers={**bearer(secret), "Connection": "close"}
                ).status_code
                for _ in range(20)
            }

        assert statuses(bobs_key["key"]) == {200}
        new_secret = bob.post(path).get_json()["key"]
        assert statuses(bobs_key["key"]) == {401}
        assert statuses(new_secret) == {200}


def test_the_audit_page_tells_changes_and_rotations_in_words(app, bob, bobs_key):
    bob.post(f"{KEYS}/{bobs_key['id']}", json={"name": "Deploy", "rate_limit": 5})
    new_secret = bob.post(f"{KEYS}/{bobs_key['id']}/rotate").get_json()["key"]
    admin = login_client(app, "root@example.com")
    html = admin.get("/admin/audit", query_string={"action": "key"}).get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    assert "changed the API key" in text
    assert "name from CI to Deploy; requests a minute from nothing to 5." in text
    old_ends = f"{bobs_key['prefix']}…{bobs_key['last_chars']}"
    new_ends = f"{key_format.visible_prefix(new_secret)}…{key_format.visible_suffix(new_secret)}"
    assert f"a new secret ({old_ends} replaced by {new_ends}); the old one no longer" in text
    assert new_secret not in html
