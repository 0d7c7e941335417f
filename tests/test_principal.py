"""One principal for both credentials: the same immutable shape from a session and a key,
built by one statement, and read by views the same way."""

import dataclasses

import pytest
from flask import g

from tests.support.accounts import bearer, login_client
from webui.extensions import db
from webui.security.principal import Principal
from webui.sql_trace import traced_statements

WHO = "/api/v1/auths/"


@pytest.fixture
def bob(app, make_user, make_key, save_settings):
    make_user("root@example.com", role="admin")
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    admin = login_client(app, "root@example.com")
    bob_id = make_user("bob@example.com")
    group = admin.post(
        "/api/v1/groups/create",
        json={"name": "uploaders", "permissions": {"workspace": {"knowledge": True}}},
    ).get_json()
    admin.post(f"/api/v1/groups/id/{group['id']}/update", json={"user_ids": [bob_id]})
    return {"id": bob_id, "group_id": group["id"], "key": make_key(bob_id, "bot")}


def captured(app, client, headers=None) -> Principal:
    seen = {}

    def keep(response):
        seen["principal"] = g.get("principal")
        return response

    app.after_request_funcs.setdefault(None, []).append(keep)
    try:
        assert client.get(WHO, headers=headers or {}).status_code == 200
    finally:
        app.after_request_funcs[None].remove(keep)
    return seen["principal"]


def test_a_session_and_a_key_give_the_same_principal(app, bob):
    by_session = captured(app, login_client(app, "bob@example.com"))
    by_key = captured(app, app.test_client(), bearer(bob["key"]))
    assert type(by_session) is type(by_key) is Principal
    same = ("id", "name", "email", "role", "groups")
    assert [getattr(by_session, f) for f in same] == [getattr(by_key, f) for f in same]
    assert by_session.id == bob["id"] and by_session.group_ids == {bob["group_id"]}
    assert dict(by_key.groups[0][1]) == {"workspace.knowledge": True}
    assert by_session.key is None
    assert by_key.key.name == "bot" and by_key.key.user_id == bob["id"]


def test_the_principal_cannot_be_changed(app, bob):
    principal = captured(app, app.test_client(), bearer(bob["key"]))
    with pytest.raises(dataclasses.FrozenInstanceError):
        principal.role = "admin"
    with pytest.raises(TypeError):
        principal.groups[0][1]["features.api_keys"] = True  # grants are read-only too
    with pytest.raises(dataclasses.FrozenInstanceError):
        principal.key.read_only = False


def test_a_principal_carries_no_secret(app, bob):
    principal = captured(app, app.test_client(), bearer(bob["key"]))
    fields = {f.name for f in dataclasses.fields(principal)} | {
        f.name for f in dataclasses.fields(principal.key)
    }
    assert not fields & {"password_hash", "digest", "secret"}
    assert bob["key"] not in repr(principal)


def test_a_signed_in_request_builds_its_principal_with_one_statement(app, bob):
    client = login_client(app, "bob@example.com")
    client.get(WHO)  # the session cookie is settled
    with app.app_context():
        engine = db.engine
    with traced_statements(engine) as seen:
        assert client.get(WHO).status_code == 200
    assert len(seen) == 1, seen
