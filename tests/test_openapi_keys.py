"""The OpenAPI declarations of sign-up and sign-in, the account, API keys (personal, the
administrator's inventory, usage, service accounts), quotas and the audit trail are true:
real answers fit the schemas /openapi.json publishes, a wrong-typed body field is a 400
naming it, and who may call each operation is published as the guard decides it."""

import time

import pytest

from tests.support.accounts import ADMIN_EMAIL, PASSWORD, bearer, login_client
from tests.support.openapi_checks import assert_fits
from tests.support.usage import add_usage

# The declarations against real answers: not the database, so CI runs these on SQLite only.
pytestmark = pytest.mark.document

KEYS = "/api/v1/auths/api_keys"
ONE_KEY = "/api/v1/auths/api_keys/{key_id}"
SERVICE = "/api/v1/service-accounts"


@pytest.fixture
def people(people_with_keys):
    return people_with_keys("alice")


@pytest.fixture
def alice(app, people):
    return login_client(app, "alice@example.com")


@pytest.fixture
def admin(app, people):
    return login_client(app, ADMIN_EMAIL)


def test_sign_up_and_the_account_fit_their_schemas(app, client, document, save_settings):
    first = client.post(
        "/api/v1/auths/signup", json={"name": "Root", "email": ADMIN_EMAIL, "password": PASSWORD}
    )
    account = assert_fits(document, "/api/v1/auths/signup", "post", first)
    assert account["role"] == "admin" and account["permissions"]["features"]
    stranger = app.test_client()
    waiting = stranger.post(
        "/api/v1/auths/signup", json={"name": "Eve", "email": "eve@x.io", "password": PASSWORD}
    )
    pending = assert_fits(document, "/api/v1/auths/signup", "post", waiting)
    assert pending["role"] == "pending" and pending["detail"]
    signed_in = stranger.post(
        "/api/v1/auths/signin", json={"email": "eve@x.io", "password": PASSWORD}
    )
    assert assert_fits(document, "/api/v1/auths/signin", "post", signed_in)["role"] == "pending"
    me = stranger.get("/api/v1/auths/")  # a pending account may ask who it is
    assert assert_fits(document, "/api/v1/auths/", "get", me)["email"] == "eve@x.io"
    wrong = stranger.post("/api/v1/auths/signin", json={"email": "eve@x.io", "password": "nope"})
    assert_fits(document, "/api/v1/auths/signin", "post", wrong)
    out = stranger.post("/api/v1/auths/signout")
    assert assert_fits(document, "/api/v1/auths/signout", "post", out) == {"status": True}


def test_your_profile_fits_its_schemas(client, people, alice, document):
    renamed = alice.post("/api/v1/auths/update/profile", json={"name": "Alice L."})
    assert assert_fits(document, "/api/v1/auths/update/profile", "post", renamed)["name"] == (
        "Alice L."
    )
    changed = alice.post(
        "/api/v1/auths/update/password",
        json={"password": PASSWORD, "new_password": "a new passphrase"},
    )
    assert assert_fits(document, "/api/v1/auths/update/password", "post", changed) is True
    by_key = client.get("/api/v1/auths/", headers=people["alice_key"])
    assert assert_fits(document, "/api/v1/auths/", "get", by_key)["name"] == "Alice L."


def test_personal_key_answers_fit_their_schemas(app, client, people, alice, document):
    created = alice.post(
        KEYS,
        json={
            "name": "CI",
            "expires_at": int(time.time()) + 86400,
            "allowed_endpoints": ["/api/models", "/api/v1/audit"],  # the audit trail: admins only
            "read_only": False,
            "rate_limit": 60,
            "allowed_models": "gpt-test",
            "allowed_networks": ["10.0.0.0/8"],
            "token_quota": None,
            "quota_period": "day",
        },
    )
    key = assert_fits(document, KEYS, "post", created)
    assert key["key"].startswith("sk-") and key["warnings"]
    assert created.headers["Cache-Control"] == "no-store"
    one = f"{KEYS}/{key['id']}"
    listed = assert_fits(document, KEYS, "get", alice.get(KEYS))
    assert "key" not in listed["items"][0]
    by_key = assert_fits(document, KEYS, "get", client.get(KEYS, headers=people["alice_key"]))
    assert {item["name"] for item in by_key["items"]} == {"CI", "alice bot"}
    changed = alice.post(one, json={"name": "CI runner", "allowed_networks": None})
    assert assert_fits(document, ONE_KEY, "post", changed)["allowed_networks"] is None
    rotated = alice.post(f"{one}/rotate", json={"grace_seconds": 60})
    new = assert_fits(document, f"{ONE_KEY}/rotate", "post", rotated)
    assert new["key"] != key["key"] and new["previous_valid_until"]
    again = alice.post(f"{one}/rotate")  # no body at all: no grace period
    assert assert_fits(document, f"{ONE_KEY}/rotate", "post", again)["previous_valid_until"] is None
    ended = alice.post(f"{one}/end-grace")
    assert_fits(document, f"{ONE_KEY}/end-grace", "post", ended)
    enabled = alice.post(f"{one}/enable")
    assert assert_fits(document, f"{ONE_KEY}/enable", "post", enabled)["disabled_at"] is None
    add_usage(app, people["alice"], key["id"], int(time.time()), model="gpt-test")
    usage = alice.get(f"{one}/usage?bucket=week&days=7")
    series = assert_fits(document, f"{ONE_KEY}/usage", "get", usage)
    assert series["totals"]["requests"] == 1 and series["series"][0]["model"] == "gpt-test"
    deleted = alice.delete(one)
    assert assert_fits(document, ONE_KEY, "delete", deleted) == {"deleted": True}
    assert_fits(document, ONE_KEY, "delete", alice.delete(one))  # 404 now


def test_the_default_key_and_self_revocation_fit_their_schemas(client, people, alice, document):
    path = "/api/v1/auths/api_key"
    made = assert_fits(document, path, "post", alice.post(path))
    assert made["api_key"].startswith("sk-")
    shown_once = alice.get(path)
    assert shown_once.status_code == 404
    assert "shown only once" in assert_fits(document, path, "get", shown_once)["detail"]
    assert assert_fits(document, path, "delete", alice.delete(path)) is True
    no_self = alice.delete(f"{KEYS}/self")  # a session has no key to revoke
    assert_fits(document, f"{KEYS}/self", "delete", no_self)
    revoked = client.delete(f"{KEYS}/self", headers=people["alice_key"])
    assert assert_fits(document, f"{KEYS}/self", "delete", revoked) == {"deleted": True}
    assert client.get(KEYS, headers=people["alice_key"]).status_code == 401


def test_a_leak_report_fits_its_schema(app, people, alice, document):
    secret = alice.post(KEYS, json={"name": "leaked"}).get_json()["key"]
    report = app.test_client().post(f"{KEYS}/revoke-leaked", json={"keys": [secret]})
    assert assert_fits(document, f"{KEYS}/revoke-leaked", "post", report)["detail"]
    assert app.test_client().get(KEYS, headers=bearer(secret)).status_code == 401


def test_the_administrators_key_answers_fit_their_schemas(app, client, people, admin, document):
    add = admin.post(
        "/api/v1/auths/add",
        json={"name": "Carol", "email": "carol@example.com", "password": PASSWORD},
    )
    assert assert_fits(document, "/api/v1/auths/add", "post", add)["role"] == "pending"
    config = "/api/v1/auths/admin/config"
    read = assert_fits(document, config, "get", admin.get(config))
    assert read["ENABLE_API_KEYS"] is True
    saved = admin.post(config, json={"API_KEYS_MAX_LIFETIME_DAYS": 365})
    assert assert_fits(document, config, "post", saved)["API_KEYS_MAX_LIFETIME_DAYS"] == 365
    by_admin_key = client.get(config, headers=people["admin_key"])  # reading: a key will do
    assert_fits(document, config, "get", by_admin_key)

    inventory = "/api/v1/auths/admin/api_keys"
    listed = assert_fits(document, inventory, "get", admin.get(inventory))
    assert listed["total"] == 2
    alices = admin.get(f"{inventory}?user_id={people['alice']}&expired=false&sort=usage")
    [item] = assert_fits(document, inventory, "get", alices)["items"]
    assert item["user"]["email"] == "alice@example.com"
    add_usage(app, people["alice"], item["id"], int(time.time()), model="gpt-test")
    usage = admin.get(f"{inventory}/{item['id']}/usage")
    assert assert_fits(document, f"{inventory}/{{key_id}}/usage", "get", usage)["totals"]
    revoked = admin.delete(f"{inventory}/{item['id']}")
    assert assert_fits(document, f"{inventory}/{{key_id}}", "delete", revoked)["deleted"]


def test_service_account_answers_fit_their_schemas(people, admin, document, make_group):
    group = make_group("Bots")
    created = admin.post(
        SERVICE, json={"name": "deploy", "owner_id": people["alice"], "group_ids": [group]}
    )
    account = assert_fits(document, SERVICE, "post", created)
    assert account["is_service"] and account["keys"] == []
    one = f"{SERVICE}/{account['id']}"
    one_path = f"{SERVICE}/{{user_id}}"
    assert assert_fits(document, SERVICE, "get", admin.get(SERVICE))["total"] == 1
    minted = admin.post(f"{one}/keys", json={"name": "ci", "read_only": True})
    key = assert_fits(document, f"{one_path}/keys", "post", minted)
    assert key["read_only"] and key["key"]
    read = assert_fits(document, one_path, "get", admin.get(one))
    assert [k["name"] for k in read["keys"]] == ["ci"]
    rotated = admin.post(f"{one}/keys/{key['id']}/rotate")
    assert assert_fits(document, f"{one_path}/keys/{{key_id}}/rotate", "post", rotated)["key"]
    revoked = admin.delete(f"{one}/keys/{key['id']}")
    assert_fits(document, f"{one_path}/keys/{{key_id}}", "delete", revoked)
    assert assert_fits(document, one_path, "delete", admin.delete(one)) == {"deleted": True}
    assert_fits(document, one_path, "get", admin.get(one))  # 404 now


def test_quota_answers_fit_their_schemas(people, admin, document, make_group):
    group = make_group("Team", people["alice"])
    person = admin.post(
        f"/api/v1/quotas/users/{people['alice']}",
        json={"token_quota": 1000, "quota_period": "month", "quota_warn_percent": 90},
    )
    holder = assert_fits(document, "/api/v1/quotas/users/{user_id}", "post", person)
    assert holder["name"] == "alice@example.com" and holder["token_quota"] == 1000
    team = admin.post(f"/api/v1/quotas/groups/{group}", json={"request_quota": 50})
    assert assert_fits(document, "/api/v1/quotas/groups/{group_id}", "post", team)["name"] == "Team"
    listed = assert_fits(document, "/api/v1/quotas/", "get", admin.get("/api/v1/quotas/"))
    assert [g["request_quota"] for g in listed["groups"]] == [50]


def test_the_audit_trail_fits_its_schema(people, admin, document):
    admin.post(KEYS, json={"name": "audited"})
    everything = assert_fits(document, "/api/v1/audit", "get", admin.get("/api/v1/audit"))
    assert everything["items"] and everything["total"] >= 1
    first = admin.get("/api/v1/audit?action=key&per_page=1")
    page = assert_fits(document, "/api/v1/audit", "get", first)
    assert page["next"] is not None
    older = admin.get(f"/api/v1/audit?action=key&per_page=1&before={page['next']}&ip=127.0.0.1")
    assert_fits(document, "/api/v1/audit", "get", older)
    refused = admin.get("/api/v1/audit?ip=localhost")
    assert refused.status_code == 400
    assert_fits(document, "/api/v1/audit", "get", refused)
    ip = document["paths"]["/api/v1/audit"]["get"]["parameters"]
    assert {"name": "ip", "in": "query"}.items() <= next(p for p in ip if p["name"] == "ip").items()


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        (KEYS, {"name": 7}, "name is required: give the key a name such as 'Monitoring Bot'"),
        (KEYS, {}, "name is required."),
        (KEYS, {"name": "k", "expires_at": "tomorrow"}, "expires_at must be a time in epoch"),
        (KEYS, {"name": "k", "allowed_endpoints": "/api"}, "allowed_endpoints must be a list of"),
        (KEYS, {"name": "k", "allowed_endpoints": [1]}, "allowed_endpoints[0] must be text."),
        (KEYS, {"name": "k", "read_only": "yes"}, "read_only must be true or false or null."),
        (KEYS, {"name": "k", "rate_limit": "lots"}, "rate_limit must be a whole number from 1"),
        (KEYS, {"name": "k", "allowed_models": [1]}, "allowed_models must be a list of model"),
        (KEYS, {"name": "k", "allowed_networks": 10}, "allowed_networks must be a list of"),
        (KEYS, {"name": "k", "token_quota": 0}, "token_quota must be a whole number from 1"),
        (KEYS, {"name": "k", "quota_period": "year"}, "quota_period must be 'day' or 'month'"),
        (KEYS, {"name": "k", "colour": "red"}, "Unknown field colour"),
        (f"{KEYS}/revoke-leaked", {"keys": "sk-x"}, "keys must be a list of 1 to 100 key"),
        (f"{KEYS}/revoke-leaked", {"keys": []}, "keys must be a list of 1 to 100 key"),
        ("/api/v1/auths/signup", {"name": 5, "email": "a@b.io", "password": PASSWORD}, "name"),
        ("/api/v1/auths/signin", {"email": ["a@b.io"], "password": PASSWORD}, "email must be"),
        ("/api/v1/auths/signin", {"email": "a@b.io"}, "password is required."),
        ("/api/v1/auths/update/profile", {"name": None}, "name must be text."),
        (
            "/api/v1/auths/update/password",
            {"password": PASSWORD, "new_password": "short"},
            "new_password must be at least 8 characters.",
        ),
        (
            "/api/v1/auths/add",
            {"name": "C", "email": None, "password": PASSWORD},
            "email must be a valid email address.",
        ),
        (
            "/api/v1/auths/add",
            {**{"name": "C", "email": "c@x.io"}, "password": PASSWORD, "role": 1},
            "role",
        ),
        ("/api/v1/auths/admin/config", {"ENABLE_API_KEYS": "maybe"}, "ENABLE_API_KEYS must be"),
        (
            "/api/v1/auths/admin/config",
            {"API_KEYS_MAX_LIFETIME_DAYS": 0},
            "API_KEYS_MAX_LIFETIME_DAYS must be at least 1.",
        ),
        ("/api/v1/auths/admin/config", {"NOT_A_SETTING": 1}, "Unknown field NOT_A_SETTING"),
        (SERVICE, {"name": "svc", "owner_id": 5}, "owner_id is required: the id of the person"),
        (SERVICE, {"name": "svc", "owner_id": "x", "group_ids": "g"}, "group_ids must be a list"),
    ],
)
def test_wrong_types_in_key_and_account_bodies_are_named(admin, path, body, says):
    response = admin.post(path, json=body)
    assert response.status_code == 400, response.get_json()
    assert says in response.get_json()["detail"]


@pytest.mark.parametrize(
    ("suffix", "body", "says"),
    [
        ("", {"expires_at": True}, "expires_at must be a time in epoch seconds"),
        ("", {"rate_limit": 1.5}, "rate_limit must be a whole number from 1"),
        ("/rotate", {"grace_seconds": "60"}, "grace_seconds must be a whole number of seconds"),
        ("/rotate", {"grace_seconds": 86401}, "grace_seconds must be a whole number of seconds"),
        ("/rotate", {"grace": 60}, "Unknown field grace"),
    ],
)
def test_wrong_types_in_one_keys_bodies_are_named(alice, suffix, body, says):
    key = alice.post(KEYS, json={"name": "mine"}).get_json()
    response = alice.post(f"{KEYS}/{key['id']}{suffix}", json=body)
    assert response.status_code == 400
    assert says in response.get_json()["detail"]


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/api/v1/quotas/users/{alice}", {"request_quota": "many"}, "request_quota must be a"),
        ("/api/v1/quotas/users/{alice}", {"quota_warn_percent": 101}, "quota_warn_percent must"),
        ("/api/v1/quotas/users/{alice}", {"tokens": 5}, "Unknown field tokens"),
        (SERVICE + "/{svc}/keys", {"name": "x", "expires_at": "soon"}, "expires_at must be"),
    ],
)
def test_wrong_types_in_administrators_bodies_are_named(admin, people, path, body, says):
    svc = admin.post(SERVICE, json={"name": "svc", "owner_id": people["alice"]}).get_json()
    response = admin.post(path.format(alice=people["alice"], svc=svc["id"]), json=body)
    assert response.status_code == 400
    assert says in response.get_json()["detail"]


def test_who_may_call_is_published_as_the_guard_decides(document):
    def access(path, method):
        return document["paths"][path][method]["x-webui-access"]

    for path in ("/api/v1/auths/signup", "/api/v1/auths/signin", f"{KEYS}/revoke-leaked"):
        assert access(path, "post")["public"] is True
    for path, method in (("/api/v1/auths/", "get"), ("/api/v1/auths/signout", "post")):
        assert access(path, method)["pending"] is True
    # Keys may read their own keys and revoke themselves, never manage keys or the account.
    assert access(KEYS, "get")["keys"] and access(f"{KEYS}/self", "delete")["keys"]
    assert access(f"{ONE_KEY}/usage", "get")["keys"]
    for path, method in (
        (KEYS, "post"),
        (ONE_KEY, "post"),
        (ONE_KEY, "delete"),
        (f"{ONE_KEY}/rotate", "post"),
        ("/api/v1/auths/api_key", "post"),
        ("/api/v1/auths/update/password", "post"),
        ("/api/v1/auths/admin/config", "post"),
        (SERVICE, "post"),
        ("/api/v1/quotas/users/{user_id}", "post"),
        ("/api/v1/auths/admin/api_keys/{key_id}", "delete"),
    ):
        assert access(path, method)["keys"] is False, (method, path)
    for path, method in (
        ("/api/v1/auths/add", "post"),
        ("/api/v1/auths/admin/config", "get"),
        ("/api/v1/auths/admin/api_keys", "get"),
        ("/api/v1/auths/admin/api_keys/{key_id}/usage", "get"),
        (SERVICE, "get"),
        ("/api/v1/quotas/", "get"),
        ("/api/v1/audit", "get"),
    ):
        assert access(path, method)["role"] == "admin", (method, path)
    assert access(KEYS, "get")["role"] is None
