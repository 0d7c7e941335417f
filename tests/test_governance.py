"""Admin Panel > API Keys: the inventory of every key, its filters, revocation, the key policy."""

import time

import pytest
import sqlalchemy as sa

from tests.support.accounts import bearer, login_client
from webui.extensions import db
from webui.models import ApiKey, Usage, User
from webui.models.audit import AuditEvent

INVENTORY = "/api/v1/auths/admin/api_keys"
WHO = "/api/v1/auths/"
DAY = 86400


@pytest.fixture
def people(app, make_user, save_settings, make_key):
    """An admin, two users with keys; returns ids, secrets and a signed-in admin client."""
    admin_id = make_user("root@example.com", role="admin", name="Root")
    bob_id = make_user("bob@example.com", name="Bob")
    carol_id = make_user("carol@example.com", name="Carol")
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    secrets = {
        "bob-ci": make_key(bob_id, "CI", read_only=True, allowed_endpoints=["/api/models"]),
        "bob-bot": make_key(bob_id, "Bot"),
        "carol": make_key(carol_id, "Notebook"),
    }
    return {
        "admin": admin_id,
        "bob": bob_id,
        "carol": carol_id,
        "secrets": secrets,
        "client": login_client(app, "root@example.com"),
    }


def key_row(app, secret_name: str, people) -> ApiKey:
    from webui.security import key_format

    with app.app_context():
        digest = key_format.key_digest(people["secrets"][secret_name])
        return db.session.scalar(sa.select(ApiKey).where(ApiKey.digest == digest))


def set_times(app, key_id: str, **values) -> None:
    with app.app_context():
        db.session.execute(sa.update(ApiKey).where(ApiKey.id == key_id).values(**values))
        db.session.commit()


def names(response) -> set[str]:
    return {item["name"] for item in response.get_json()["items"]}


# --- the JSON inventory ---------------------------------------------------------------


def test_inventory_lists_every_key_with_owner_usage_and_restrictions(app, people):
    client = app.test_client()
    used = client.get(
        WHO, headers=bearer(people["secrets"]["bob-bot"]), environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert used.status_code == 200

    response = people["client"].get(INVENTORY)
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 3 and len(body["items"]) == 3
    by_name = {item["name"]: item for item in body["items"]}
    bot = by_name["Bot"]
    assert bot["user"] == {
        "id": people["bob"],
        "name": "Bob",
        "email": "bob@example.com",
        "is_service": False,
    }
    assert bot["last_used_ip"] == "10.1.2.3" and bot["last_used_at"] is not None
    assert bot["prefix"].startswith("sk-webui_") and bot["request_count"] in (0, None)
    for field in ("id", "created_at", "expires_at", "allowed_endpoints", "read_only", "expired"):
        assert field in bot
    ci = by_name["CI"]
    assert ci["read_only"] is True and ci["allowed_endpoints"] == ["/api/models"]
    assert ci["last_used_at"] is None and ci["last_used_ip"] is None
    # Nothing secret in the listing.
    text = response.get_data(as_text=True)
    for secret in people["secrets"].values():
        assert secret not in text
    assert "digest" not in text


def test_request_count_comes_from_the_usage_records(app, people):
    bot = key_row(app, "bob-bot", people)
    with app.app_context():
        for _ in range(3):
            db.session.add(
                Usage(
                    user_id=people["bob"],
                    api_key_id=bot.id,
                    endpoint="/api/chat/completions",
                    model="m",
                    status=200,
                )
            )
        db.session.add(
            Usage(
                user_id=people["bob"],
                api_key_id=None,
                endpoint="/api/chat/completions",
                model="m",
                status=200,
            )
        )
        db.session.commit()
    items = people["client"].get(INVENTORY).get_json()["items"]
    counts = {item["name"]: item["request_count"] for item in items}
    assert counts == {"Bot": 3, "CI": 0, "Notebook": 0}


def test_filter_by_user(app, people):
    response = people["client"].get(INVENTORY, query_string={"user_id": people["carol"]})
    assert response.status_code == 200
    assert names(response) == {"Notebook"} and response.get_json()["total"] == 1


def test_filter_unused_for_n_days(app, people):
    at = int(time.time())
    ci, bot, carol = (key_row(app, name, people) for name in ("bob-ci", "bob-bot", "carol"))
    set_times(app, ci.id, created_at=at - 40 * DAY, last_used_at=None)  # never used, old
    set_times(app, bot.id, created_at=at - 40 * DAY, last_used_at=at - 2 * DAY)  # used lately
    set_times(app, carol.id, created_at=at - 90 * DAY, last_used_at=at - 31 * DAY)  # stale
    response = people["client"].get(INVENTORY, query_string={"unused_days": "30"})
    assert response.status_code == 200
    assert names(response) == {"CI", "Notebook"}
    assert names(people["client"].get(INVENTORY, query_string={"unused_days": "35"})) == {"CI"}


def test_filter_expired(app, people):
    carol = key_row(app, "carol", people)
    set_times(app, carol.id, expires_at=int(time.time()) - 60)
    expired = people["client"].get(INVENTORY, query_string={"expired": "true"})
    assert names(expired) == {"Notebook"} and expired.get_json()["items"][0]["expired"] is True
    assert names(people["client"].get(INVENTORY, query_string={"expired": "false"})) == {
        "CI",
        "Bot",
    }
    combined = people["client"].get(
        INVENTORY, query_string={"expired": "false", "user_id": people["bob"]}
    )
    assert names(combined) == {"CI", "Bot"}


@pytest.mark.parametrize(
    "query, word",
    [
        ({"unused_days": "abc"}, "unused_days"),
        ({"unused_days": "0"}, "unused_days"),
        ({"unused_days": "-3"}, "unused_days"),
        ({"unused_days": "1.5"}, "unused_days"),
        ({"expired": "maybe"}, "expired"),
        ({"user_id": "no-such-user"}, "user_id"),
        ({"page": "0"}, "page"),
        ({"per_page": "100000"}, "per_page"),
        ({"owner": "bob"}, "owner"),
    ],
)
def test_bad_filters_are_400_with_a_detail(people, query, word):
    response = people["client"].get(INVENTORY, query_string=query)
    assert response.status_code == 400
    assert word in response.get_json()["detail"]


def test_paging(people):
    first = people["client"].get(INVENTORY, query_string={"per_page": "2"}).get_json()
    second = people["client"].get(INVENTORY, query_string={"per_page": "2", "page": "2"}).get_json()
    assert first["total"] == second["total"] == 3
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert {i["id"] for i in first["items"]}.isdisjoint({i["id"] for i in second["items"]})


def test_only_admins_see_the_inventory(app, people):
    bob = login_client(app, "bob@example.com")
    assert bob.get(INVENTORY).status_code == 403
    assert app.test_client().get(INVENTORY).status_code == 401
    assert (
        app.test_client().get(INVENTORY, headers=bearer(people["secrets"]["bob-bot"])).status_code
        == 403
    )
    # An admin's key may read the inventory, but not revoke (that needs a browser session).
    admin_key = (
        people["client"]
        .post("/api/v1/auths/api_keys", json={"name": "admin key"})
        .get_json()["key"]
    )
    assert app.test_client().get(INVENTORY, headers=bearer(admin_key)).status_code == 200
    bot = key_row(app, "bob-bot", people)
    refused = app.test_client().delete(f"{INVENTORY}/{bot.id}", headers=bearer(admin_key))
    assert refused.status_code == 403


# --- revocation -------------------------------------------------------------------------


def test_revoke_one_key_through_the_api(app, people):
    bot = key_row(app, "bob-bot", people)
    response = people["client"].delete(f"{INVENTORY}/{bot.id}")
    assert response.status_code == 200 and response.get_json() == {"deleted": True}
    assert (
        app.test_client().get(WHO, headers=bearer(people["secrets"]["bob-bot"])).status_code == 401
    )
    assert app.test_client().get(WHO, headers=bearer(people["secrets"]["carol"])).status_code == 200
    assert people["client"].delete(f"{INVENTORY}/{bot.id}").status_code == 404
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "key.revoked"))
        assert event.target == bot.id and event.actor_id == people["admin"]
        assert event.detail["owner_id"] == people["bob"] and event.detail["name"] == "Bot"


def test_bob_cannot_revoke_through_the_admin_api(app, people):
    carol = key_row(app, "carol", people)
    bob = login_client(app, "bob@example.com")
    assert bob.delete(f"{INVENTORY}/{carol.id}").status_code == 403
    assert app.test_client().get(WHO, headers=bearer(people["secrets"]["carol"])).status_code == 200


def test_the_page_lists_every_key_and_revokes_one(app, people):
    page = people["client"].get("/admin/api-keys")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in ("bob@example.com", "carol@example.com", "Notebook", "read-only", "/api/models"):
        assert text in html
    carol = key_row(app, "carol", people)
    assert carol.prefix in html
    response = people["client"].post(f"/admin/api-keys/{carol.id}/revoke", follow_redirects=True)
    assert response.status_code == 200 and "Revoked carol@example.com" in response.get_data(
        as_text=True
    )
    assert app.test_client().get(WHO, headers=bearer(people["secrets"]["carol"])).status_code == 401


def test_the_page_filters_and_says_when_a_filter_is_bad(people):
    filtered = people["client"].get("/admin/api-keys", query_string={"user_id": people["carol"]})
    assert filtered.status_code == 200
    assert 'data-key-name="Notebook"' in filtered.get_data(as_text=True)
    assert 'data-key-name="Bot"' not in filtered.get_data(as_text=True)
    bad = people["client"].get("/admin/api-keys", query_string={"unused_days": "soon"})
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "Filters not applied" in html and "unused_days must be a whole number" in html
    assert 'value="soon"' in html  # the form keeps what was typed


def test_revoke_all_keys_of_one_user(app, people):
    response = people["client"].post(
        f"/admin/api-keys/users/{people['bob']}/revoke", follow_redirects=True
    )
    assert "Revoked all 2 API keys of bob@example.com" in response.get_data(as_text=True)
    for name in ("bob-ci", "bob-bot"):
        assert (
            app.test_client().get(WHO, headers=bearer(people["secrets"][name])).status_code == 401
        )
    assert app.test_client().get(WHO, headers=bearer(people["secrets"]["carol"])).status_code == 200
    with app.app_context():
        revoked = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "key.revoked")
        ).all()
        assert sorted(e.detail["name"] for e in revoked) == ["Bot", "CI"]


def test_emergency_revoke_every_key_names_the_count_and_needs_it_typed(app, people):
    page = people["client"].get("/admin/api-keys/revoke-all")
    assert page.status_code == 200 and "3 API keys" in page.get_data(as_text=True)
    wrong = people["client"].post(
        "/admin/api-keys/revoke-all", data={"expected": "3", "confirm": "2"}
    )
    assert wrong.status_code == 400 and "Nothing was revoked" in wrong.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 3
    # A key created meanwhile changes the count: the admin must look again.
    people["client"].post("/api/v1/auths/api_keys", json={"name": "late"})
    stale = people["client"].post(
        "/admin/api-keys/revoke-all", data={"expected": "3", "confirm": "3"}
    )
    assert stale.status_code == 409 and "changed to 4" in stale.get_data(as_text=True)
    done = people["client"].post(
        "/admin/api-keys/revoke-all", data={"expected": "4", "confirm": "4"}, follow_redirects=True
    )
    assert "Revoked every API key: 4 keys" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 0
    for secret in people["secrets"].values():
        assert app.test_client().get(WHO, headers=bearer(secret)).status_code == 401


def test_deleting_a_user_deletes_their_keys(app, people):
    assert people["client"].delete(f"/api/v1/users/{people['bob']}").status_code == 200
    with app.app_context():
        assert db.session.get(User, people["bob"]) is None
        owners = set(db.session.scalars(sa.select(ApiKey.user_id)))
        assert owners == {people["carol"]}
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.deleted"))
        assert event.target == people["bob"] and len(event.detail["keys_deleted"]) == 2
    for name in ("bob-ci", "bob-bot"):
        assert (
            app.test_client().get(WHO, headers=bearer(people["secrets"][name])).status_code == 401
        )


# --- the key policy -----------------------------------------------------------------------


def test_max_lifetime_policy_binds_new_keys(app, people, save_settings):
    saved = people["client"].post(
        "/admin/api-keys/policy", data={"API_KEYS_MAX_LIFETIME_DAYS": "30"}
    )
    assert saved.status_code == 302
    create = people["client"].post
    never = create("/api/v1/auths/api_keys", json={"name": "forever"})
    assert never.status_code == 400 and "30 days" in never.get_json()["detail"]
    too_late = create(
        "/api/v1/auths/api_keys", json={"name": "late", "expires_at": int(time.time()) + 60 * DAY}
    )
    assert (
        too_late.status_code == 400
        and "API_KEYS_MAX_LIFETIME_DAYS" in too_late.get_json()["detail"]
    )
    fine = create(
        "/api/v1/auths/api_keys", json={"name": "ok", "expires_at": int(time.time()) + 10 * DAY}
    )
    assert fine.status_code == 201
    # Existing keys are untouched; nothing half-written by the refused ones.
    with app.app_context():
        assert set(db.session.scalars(sa.select(ApiKey.name))) == {"CI", "Bot", "Notebook", "ok"}


def test_max_lifetime_is_part_of_the_admin_config_api(people):
    admin = people["client"]
    assert admin.get("/api/v1/auths/admin/config").get_json()["API_KEYS_MAX_LIFETIME_DAYS"] is None
    saved = admin.post("/api/v1/auths/admin/config", json={"API_KEYS_MAX_LIFETIME_DAYS": 30})
    assert saved.status_code == 200 and saved.get_json()["API_KEYS_MAX_LIFETIME_DAYS"] == 30
    refused = admin.post("/api/v1/auths/admin/config", json={"API_KEYS_MAX_LIFETIME_DAYS": "soon"})
    assert refused.status_code == 400
    assert "API_KEYS_MAX_LIFETIME_DAYS" in refused.get_json()["detail"]
    assert admin.get("/api/v1/auths/admin/config").get_json()["API_KEYS_MAX_LIFETIME_DAYS"] == 30


def test_open_webui_single_key_gets_the_longest_lifetime_allowed(app, people, save_settings):
    create = people["client"].post
    assert create("/api/v1/auths/api_key").status_code == 200
    listed = people["client"].get("/api/v1/auths/api_keys").get_json()["items"]
    assert [k["expires_at"] for k in listed if k["name"] == "default"] == [None]
    save_settings(API_KEYS_MAX_LIFETIME_DAYS=30)
    before = int(time.time())
    assert create("/api/v1/auths/api_key").status_code == 200
    listed = people["client"].get("/api/v1/auths/api_keys").get_json()["items"]
    [expires_at] = [k["expires_at"] for k in listed if k["name"] == "default"]
    assert before + 30 * DAY <= expires_at <= int(time.time()) + 30 * DAY


def test_account_page_offers_only_allowed_expiries(app, people, save_settings):
    bob = login_client(app, "bob@example.com")
    assert 'value="never"' in bob.get("/account/").get_data(as_text=True)
    save_settings(API_KEYS_MAX_LIFETIME_DAYS=14)
    html = bob.get("/account/").get_data(as_text=True)
    assert 'value="never"' not in html and 'value="90"' not in html
    assert 'value="7"' in html and "14 days (the maximum)" in html
    created = bob.post(
        "/account/keys", data={"name": "two weeks", "expiry": "14"}, follow_redirects=True
    )
    assert created.status_code == 200 and "Copy it now" in created.get_data(as_text=True)
    refused = bob.post("/account/keys", data={"name": "forever", "expiry": "never"})
    assert refused.status_code == 400
    with app.app_context():
        names_now = set(
            db.session.scalars(sa.select(ApiKey.name).where(ApiKey.user_id == people["bob"]))
        )
        assert names_now == {"CI", "Bot", "two weeks"}


@pytest.mark.parametrize("value", ["abc", "0", "-5", "2.5"])
def test_bad_policy_values_save_nothing(app, people, value):
    response = people["client"].post(
        "/admin/api-keys/policy", data={"API_KEYS_MAX_LIFETIME_DAYS": value}
    )
    assert response.status_code == 400
    assert "Nothing was saved" in response.get_data(as_text=True)
    assert (
        people["client"].post("/api/v1/auths/api_keys", json={"name": "forever"}).status_code == 201
    )


def test_a_per_key_rate_limit_is_set_at_creation_and_shown(app, people):
    create = people["client"].post
    for bad in ("many", 0, -1, 2.5, True, [5]):
        response = create("/api/v1/auths/api_keys", json={"name": "limited", "rate_limit": bad})
        assert response.status_code == 400 and "rate_limit" in response.get_json()["detail"]
    assert (
        create("/api/v1/auths/api_keys", json={"name": "limited", "rate_limit": 30}).status_code
        == 201
    )
    items = people["client"].get(INVENTORY).get_json()["items"]
    limited = [item for item in items if item["name"] == "limited"]
    assert limited[0]["rate_limit_per_minute"] == 30
    assert "30/min" in people["client"].get("/admin/api-keys").get_data(as_text=True)
