"""The audit trail: a scenario's story, throttled refusals, filters, and no secrets in any row."""

import json
import time

import pytest
import sqlalchemy as sa

from tests.support.accounts import PASSWORD, bearer, login_client
from webui.core.catalog import SETTINGS, Setting
from webui.extensions import db
from webui.models import ApiKey
from webui.models.audit import AuditEvent
from webui.security import key_format

AUDIT = "/api/v1/audit"
WHO = "/api/v1/auths/"
WRONG_PASSWORD = "not-the-password-42"
UPSTREAM_KEY = "sk-proj-UpstreamSecret0123456789abcdefXYZ"


def unknown_key() -> str:
    return key_format.generate_key()


def malformed(secret: str) -> str:
    return secret[:-1] + ("0" if secret[-1] != "0" else "1")


@pytest.fixture
def upstream_setting(app, monkeypatch):
    """A secret setting like the connections' upstream API keys, registered for this test."""
    name = "TEST_UPSTREAM_API_KEY"
    monkeypatch.setitem(SETTINGS, name, Setting(name, lambda v: str(v), "", "Upstream API key"))
    monkeypatch.setitem(app.config["SETTINGS_INITIAL"], name, "")
    return name


def all_rows(app) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return rows


def dump(app) -> str:
    """Every column of every audit row, as text."""
    return "\n".join(
        json.dumps({**row.to_dict(), "fingerprint": row.fingerprint}, default=str)
        for row in all_rows(app)
    )


def run_scenario(app, make_user, save_settings, upstream_setting=None) -> dict:
    """Create, use, deny, expire, revoke: the story the audit page should tell."""
    make_user("root@example.com", role="admin")
    bob_id = make_user("bob@example.com")
    anon = app.test_client()
    # A failed and a successful sign-in.
    assert (
        anon.post(
            "/api/v1/auths/signin", json={"email": "root@example.com", "password": WRONG_PASSWORD}
        ).status_code
        == 400
    )
    admin = login_client(app, "root@example.com")
    admin.post("/api/v1/auths/admin/config", json={"ENABLE_API_KEYS": True})
    if upstream_setting:
        save_settings(**{upstream_setting: UPSTREAM_KEY})
    group = admin.post("/api/v1/groups/create", json={"name": "Bots"}).get_json()
    admin.post(
        f"/api/v1/groups/id/{group['id']}/update",
        json={"user_ids": [bob_id], "permissions": {"features": {"api_keys": True}}},
    )
    bob = login_client(app, "bob@example.com")
    created = bob.post("/api/v1/auths/api_keys", json={"name": "deploy bot", "read_only": True})
    assert created.status_code == 201
    secret = created.get_json()["key"]
    key_id = created.get_json()["id"]
    # Use, then denied uses.
    assert (
        anon.get(WHO, headers=bearer(secret), environ_base={"REMOTE_ADDR": "10.0.0.5"}).status_code
        == 200
    )
    denied = anon.post(
        "/api/v1/auths/api_keys",
        json={"name": "x"},
        headers=bearer(secret),
        environ_base={"REMOTE_ADDR": "10.0.0.5"},
    )
    assert denied.status_code == 403
    assert (
        anon.get(
            WHO, headers=bearer(malformed(secret)), environ_base={"REMOTE_ADDR": "10.0.0.66"}
        ).status_code
        == 401
    )
    # An expired key.
    expiring = bob.post(
        "/api/v1/auths/api_keys", json={"name": "old", "expires_at": int(time.time()) + 3600}
    ).get_json()
    with app.app_context():
        db.session.execute(
            sa.update(ApiKey)
            .where(ApiKey.id == expiring["id"])
            .values(expires_at=int(time.time()) - 5)
        )
        db.session.commit()
    assert anon.get(WHO, headers=bearer(expiring["key"])).status_code == 401
    assert bob.delete(f"/api/v1/auths/api_keys/{expiring['id']}").status_code == 200
    # The admin revokes the bot's key.
    assert admin.delete(f"/api/v1/auths/admin/api_keys/{key_id}").status_code == 200
    return {
        "admin": admin,
        "bob": bob,
        "bob_id": bob_id,
        "secret": secret,
        "key_id": key_id,
        "expiring": expiring,
        "group": group,
    }


def test_the_audit_trail_tells_the_story(app, make_user, save_settings):
    story = run_scenario(app, make_user, save_settings)
    response = story["admin"].get(AUDIT, query_string={"per_page": "100"})
    assert response.status_code == 200
    body = response.get_json()
    items = body["items"]
    assert body["total"] == len(items)
    assert [item["id"] for item in items] == sorted((item["id"] for item in items), reverse=True)
    for item in items:
        assert set(item) == {
            "id",
            "ts",
            "action",
            "actor_id",
            "target",
            "ip",
            "route",
            "detail",
            "count",
        }
    chronological = [item["action"] for item in reversed(items)]
    story_of_the_key = [a for a in chronological if a.startswith("key.")]
    assert story_of_the_key == [
        "key.created",
        "key.used",
        "key.denied",
        "key.denied",
        "key.created",
        "key.expired_used",
        "key.deleted",
        "key.revoked",
    ]
    for action in (
        "signin.failed",
        "signin.succeeded",
        "settings.changed",
        "group.created",
        "group.updated",
        "permissions.changed",
    ):
        assert action in chronological, action

    by_action = {}
    for item in items:
        by_action.setdefault(item["action"], []).append(item)
    created = by_action["key.created"][-1]
    assert created["target"] == story["key_id"] and created["actor_id"] == story["bob_id"]
    assert created["detail"]["prefix"] == key_format.visible_prefix(story["secret"])
    used = by_action["key.used"][0]
    assert used["ip"] == "10.0.0.5" and used["detail"]["first_use"] is True
    read_only, malformed_key = sorted(by_action["key.denied"], key=lambda item: item["id"])
    assert (
        "read-only" in read_only["detail"]["reason"]
        and read_only["detail"]["key_prefix"] == created["detail"]["prefix"]
    )
    assert (
        read_only["route"] == "/api/v1/auths/api_keys"
        and read_only["ip"] == "10.0.0.5"
        and read_only["target"] == story["key_id"]
    )
    assert (
        malformed_key["detail"]["reason"] == "malformed key"
        and malformed_key["detail"]["key_prefix"] is None
    )
    assert malformed_key["ip"] == "10.0.0.66"
    assert by_action["key.expired_used"][0]["target"] == story["expiring"]["id"]
    revoked = by_action["key.revoked"][0]
    assert revoked["target"] == story["key_id"] and revoked["detail"]["owner_id"] == story["bob_id"]
    setting = [i for i in by_action["settings.changed"] if i["target"] == "ENABLE_API_KEYS"][0]
    assert setting["detail"] == {"field": "ENABLE_API_KEYS", "old": False, "new": True}
    permissions = by_action["permissions.changed"][0]
    assert permissions["target"] == story["group"]["id"] and permissions["detail"]["new"] == {
        "features.api_keys": True
    }

    page = story["admin"].get("/admin/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for action in (
        "key.created",
        "key.used",
        "key.denied",
        "key.revoked",
        "key.expired_used",
        "signin.failed",
    ):
        assert f'data-action="{action}"' in html
    assert "bob@example.com" in html  # actors are shown by email


def test_no_audit_row_holds_a_key_a_password_or_an_upstream_key(
    app, make_user, save_settings, upstream_setting
):
    story = run_scenario(app, make_user, save_settings, upstream_setting)
    # More secrets passing through: a default key, a password typed as the email, an upstream
    # key sent as a bearer, a changed upstream key.
    default_key = story["bob"].post("/api/v1/auths/api_key").get_json()["api_key"]
    app.test_client().get(WHO, headers=bearer(default_key))
    app.test_client().post("/api/v1/auths/signin", json={"email": PASSWORD, "password": PASSWORD})
    app.test_client().get(WHO, headers=bearer(UPSTREAM_KEY))
    save_settings(**{upstream_setting: UPSTREAM_KEY + "2"})
    text = dump(app)
    assert "key.created" in text and upstream_setting in text
    secrets = [
        story["secret"],
        story["expiring"]["key"],
        default_key,
        PASSWORD,
        WRONG_PASSWORD,
        UPSTREAM_KEY,
        malformed(story["secret"]),
    ]
    for secret in secrets:
        assert secret not in text
        body = (
            secret[len(key_format.KEY_PREFIX) :]
            if secret.startswith(key_format.KEY_PREFIX)
            else secret
        )
        assert body[4:] not in text  # not even the secret part after the visible prefix
        assert key_format.key_digest(secret) not in text
    rows = [
        row
        for row in all_rows(app)
        if row.action == "settings.changed" and row.target == upstream_setting
    ]
    assert rows and all(row.detail == {"field": upstream_setting, "secret": True} for row in rows)


def test_bad_keys_count_on_one_row_per_reason_whatever_the_key_and_address(
    app, make_user, save_settings
):
    app.config["RATELIMIT_FAILED_AUTH"] = "1000 per minute"
    client = app.test_client()
    first, other = unknown_key(), unknown_key()
    for n in range(30):
        response = client.get(
            WHO, headers=bearer(first), environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}
        )
        assert response.status_code == 401
    for _ in range(5):
        client.get(WHO, headers=bearer(other), environ_base={"REMOTE_ADDR": "10.0.1.9"})
    client.get(WHO, headers=bearer(malformed(first)), environ_base={"REMOTE_ADDR": "10.0.1.9"})
    rows = [row for row in all_rows(app) if row.action == "key.denied"]
    # One row per reason: the first refusal's address and prefix, every refusal's count.
    assert [(row.detail["reason"], row.count) for row in rows] == [
        ("unknown or revoked key", 35),
        ("malformed key", 1),
    ]
    assert rows[0].ip == "10.0.0.0" and rows[0].detail["key_prefix"] == key_format.visible_prefix(
        first
    )
    make_user("root@example.com", role="admin")
    listed = login_client(app, "root@example.com").get(AUDIT, query_string={"action": "key.denied"})
    assert sorted(item["count"] for item in listed.get_json()["items"]) == [1, 35]


@pytest.mark.usefixtures("frozen_counter_clock")  # all 40 in one window, however slow
def test_a_flood_of_different_bad_keys_collapses_once_over_the_limit(app):
    app.config["RATELIMIT_FAILED_AUTH"] = "5 per minute"
    client = app.test_client()
    statuses = [
        client.get(
            WHO, headers=bearer(unknown_key()), environ_base={"REMOTE_ADDR": "10.0.0.7"}
        ).status_code
        for _ in range(40)
    ]
    assert statuses == [401] * 5 + [429] * 35
    rows = [row for row in all_rows(app) if row.action == "key.denied"]
    # Five 401s on one row, and one row for the window over the limit: later refusals
    # write nothing.
    assert [row.count for row in rows] == [5, 1]
    limited = [row for row in rows if row.detail["status"] == 429]
    assert len(limited) == 1 and limited[0].detail["key_prefix"] is None
    assert "failed-authentication limit" in limited[0].detail["reason"]
    assert "unknown or revoked key" in limited[0].detail["reason"]


def test_throttling_ends_with_the_window(app):
    app.config["AUDIT_THROTTLE_SECONDS"] = 600
    client = app.test_client()
    bad = unknown_key()
    client.get(WHO, headers=bearer(bad))
    with app.app_context():  # the first row is now older than the window
        db.session.execute(sa.update(AuditEvent).values(ts=AuditEvent.ts - 601))
        db.session.commit()
    client.get(WHO, headers=bearer(bad))
    client.get(WHO, headers=bearer(bad))
    assert sorted(row.count for row in all_rows(app) if row.action == "key.denied") == [1, 2]


def test_failed_sign_ins_name_only_existing_accounts(app, make_user):
    make_user("root@example.com", role="admin")
    client = app.test_client()
    client.post(
        "/api/v1/auths/signin", json={"email": "root@example.com", "password": WRONG_PASSWORD}
    )
    client.post(
        "/api/v1/auths/signin", json={"email": "nobody@example.com", "password": WRONG_PASSWORD}
    )
    client.post("/auth/login", data={"email": "ROOT@example.com", "password": WRONG_PASSWORD})
    failed = [row for row in all_rows(app) if row.action == "signin.failed"]
    known = [row for row in failed if row.target]
    assert (
        len(known) == 1 and known[0].count == 2 and known[0].detail["email"] == "root@example.com"
    )
    unknown = [row for row in failed if not row.target]
    assert len(unknown) == 1 and unknown[0].detail["email"] is None
    assert "nobody@example.com" not in dump(app)


def test_role_and_group_changes_are_recorded(app, make_user, save_settings):
    admin_id = make_user("root@example.com", role="admin")
    bob_id = make_user("bob@example.com")
    admin = login_client(app, "root@example.com")
    admin.post(f"/api/v1/users/{bob_id}/update", json={"role": "admin"})
    admin.post(f"/api/v1/users/{bob_id}/update", json={"role": "admin"})  # no change, no event
    group = admin.post("/api/v1/groups/create", json={"name": "Ops"}).get_json()
    admin.post(f"/api/v1/groups/id/{group['id']}/update", json={"name": "Operations"})
    admin.delete(f"/api/v1/groups/id/{group['id']}/delete")
    admin.post("/api/v1/users/default/permissions", json={"chat": {"file_upload": False}})
    admin.delete(f"/api/v1/users/{bob_id}")
    rows = all_rows(app)
    actions = [row.action for row in rows]
    assert actions.count("user.role_changed") == 1
    role = next(row for row in rows if row.action == "user.role_changed")
    assert role.actor_id == admin_id and role.target == bob_id and role.detail["new"] == "admin"
    updated = next(row for row in rows if row.action == "group.updated")
    assert updated.detail["changes"] == {"name": {"old": "Ops", "new": "Operations"}}
    assert "group.deleted" in actions and "user.deleted" in actions
    default = next(row for row in rows if row.action == "permissions.changed")
    assert default.target == "USER_PERMISSIONS_CHAT_FILE_UPLOAD" and default.detail["new"] is False


# --- the API's filters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, word",
    [
        ({"action": "key.stolen"}, "action"),
        ({"ip": "10.0.0.999"}, "ip"),
        ({"ip": "somewhere"}, "ip"),
        ({"before": "0"}, "before"),
        ({"before": "x"}, "before"),
        ({"page": "2"}, "Unknown filter 'page'"),
        ({"per_page": "501"}, "per_page"),
        ({"target": "x" * 300}, "target"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_bad_filters_are_400(admin_client, query, word):
    response = admin_client.get(AUDIT, query_string=query)
    assert response.status_code == 400 and word in response.get_json()["detail"]


def test_bad_filters_on_the_page_flash_and_400(admin_client):
    response = admin_client.get("/admin/audit", query_string={"ip": "nowhere"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Filters not applied" in html and 'value="nowhere"' in html


def add_events(app, n: int) -> list[int]:
    """``n`` key.denied events, one per address 10.0.1.<i>, oldest first; their ids."""
    with app.app_context():
        events = [
            AuditEvent(action="key.denied", ip=f"10.0.1.{i}", detail={"reason": "x"}, count=1)
            for i in range(n)
        ]
        db.session.add_all(events)
        db.session.commit()
        return [event.id for event in events]


def test_filters_and_paging(app, admin_client):
    ids = add_events(app, 5)
    family = admin_client.get(AUDIT, query_string={"action": "key"}).get_json()
    assert family["total"] == 5 and {i["action"] for i in family["items"]} == {"key.denied"}
    signins = admin_client.get(AUDIT, query_string={"action": "signin.succeeded"}).get_json()
    assert signins["total"] == 1
    one_ip = admin_client.get(AUDIT, query_string={"ip": "10.0.1.3"}).get_json()
    assert one_ip["total"] == 1 and one_ip["items"][0]["ip"] == "10.0.1.3"
    # Pages by keyset: each ``next`` is the ``before`` of the following page.
    query = {"action": "key", "per_page": "2"}
    page1 = admin_client.get(AUDIT, query_string=query).get_json()
    page2 = admin_client.get(AUDIT, query_string={**query, "before": page1["next"]}).get_json()
    page3 = admin_client.get(AUDIT, query_string={**query, "before": page2["next"]}).get_json()
    assert [i["ip"] for i in page1["items"]] == ["10.0.1.4", "10.0.1.3"]
    assert page1["next"] == ids[3] and [i["ip"] for i in page2["items"]] == ["10.0.1.2", "10.0.1.1"]
    assert [i["ip"] for i in page3["items"]] == ["10.0.1.0"] and page3["next"] is None
    assert page3["total"] == 5
    html = admin_client.get("/admin/audit", query_string=query).get_data(as_text=True)
    assert f'href="/admin/audit?action=key&amp;per_page=2&amp;before={ids[3]}"' in html
    assert "Older" in html and "Newest" not in html
    last = admin_client.get("/admin/audit", query_string={**query, "before": ids[1]})
    assert "Older" not in last.get_data(as_text=True) and "Newest" in last.get_data(as_text=True)


def test_only_admins_read_the_audit_trail(app, make_user, admin_client):
    make_user("bob@example.com")
    bob = login_client(app, "bob@example.com")
    assert bob.get(AUDIT).status_code == 403
    assert bob.get("/admin/audit").status_code == 403
    assert app.test_client().get(AUDIT).status_code == 401


@pytest.mark.parametrize(
    "name, secret",
    [
        ("OPENAI_API_KEYS", True),
        ("WEBUI_SECRET_KEY", True),
        ("ENABLE_API_KEYS", False),
        ("USER_PERMISSIONS_FEATURES_API_KEYS", False),
        ("API_KEYS_ALLOWED_ENDPOINTS", False),
        ("API_KEYS_MAX_LIFETIME_DAYS", False),
    ],
)
def test_which_settings_are_secret(name, secret):
    from webui.core import audit

    assert audit.is_secret_setting(name) is secret


def test_scrub_removes_key_shaped_strings_and_url_credentials():
    from webui.core import audit

    cleaned = audit.scrub(
        {
            "url": "http://bob:hunter2@upstream.example:8080/v1",
            "keys": [UPSTREAM_KEY, key_format.generate_key()],
            "prefix": "sk-webui_AbC1",
            "id": "3f2a9c1e-1111-2222-3333-444455556666",
        }
    )
    assert "hunter2" not in json.dumps(cleaned) and UPSTREAM_KEY not in json.dumps(cleaned)
    assert cleaned["keys"] == [audit.REDACTED, audit.REDACTED]
    assert (
        cleaned["prefix"] == "sk-webui_AbC1"
        and cleaned["id"] == "3f2a9c1e-1111-2222-3333-444455556666"
    )


def test_a_default_permission_change_keeps_its_values(app, admin_client):
    admin_client.post("/api/v1/users/default/permissions", json={"features": {"api_keys": True}})
    rows = [row for row in all_rows(app) if row.action == "permissions.changed"]
    assert [row.detail for row in rows] == [
        {"field": "USER_PERMISSIONS_FEATURES_API_KEYS", "old": False, "new": True}
    ]
