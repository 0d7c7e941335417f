"""The OpenAPI declarations of the user and group routes are true: real answers (an admin's
session, people's keys) fit the schemas /openapi.json publishes, who may call each one is
what the permission decorators say, and a wrong-typed body field is a 400 naming it, before
the view changes anything."""

import pytest

from tests.support.accounts import ADMIN_EMAIL, login_client
from tests.support.openapi_checks import assert_fits

# The declarations against real answers: not the database, so CI runs these on SQLite only.
pytestmark = pytest.mark.document

GROUP = "/api/v1/groups/id/{group_id}"
USER = "/api/v1/users/{user_id}"


@pytest.fixture
def people(people_with_keys):
    return people_with_keys("alice", "bob")


@pytest.fixture
def admin(app, people):
    return login_client(app, ADMIN_EMAIL)


def operation(document, path: str, method: str) -> dict:
    return document["paths"][path][method]


def test_people_answers_fit_their_schemas(client, admin, people, document):
    everyone = assert_fits(document, "/api/v1/users/", "get", admin.get("/api/v1/users/"))
    emails = {user["email"] for user in everyone["users"]}
    assert emails == {ADMIN_EMAIL, "alice@example.com", "bob@example.com"}
    every = assert_fits(document, "/api/v1/users/all", "get", admin.get("/api/v1/users/all"))
    assert every["total"] == 3
    found = admin.get("/api/v1/users/search?query=ALICE&page=1")
    assert [
        user["id"] for user in assert_fits(document, "/api/v1/users/search", "get", found)["users"]
    ] == [people["alice"]]
    alice = f"/api/v1/users/{people['alice']}"
    assert assert_fits(document, USER, "get", admin.get(alice))["role"] == "user"
    info = assert_fits(document, f"{USER}/info", "get", admin.get(f"{alice}/info"))
    assert isinstance(info["created_at"], int)
    assert assert_fits(document, f"{USER}/groups", "get", admin.get(f"{alice}/groups")) == []
    # What a key may read about its owner.
    mine = client.get("/api/v1/users/permissions", headers=people["alice_key"])
    assert assert_fits(document, "/api/v1/users/permissions", "get", mine)["features"]["api_keys"]
    my_groups = client.get("/api/v1/users/groups", headers=people["alice_key"])
    assert assert_fits(document, "/api/v1/users/groups", "get", my_groups) == []
    missing = admin.get("/api/v1/users/no-such-id")
    assert_fits(document, USER, "get", missing)


def test_role_changes_and_deletion_fit_their_schemas(admin, people, document):
    bob = f"/api/v1/users/{people['bob']}"
    promoted = admin.post(f"{bob}/update", json={"role": "admin", "name": "ignored"})
    assert assert_fits(document, f"{USER}/update", "post", promoted)["role"] == "admin"
    assert assert_fits(document, USER, "delete", admin.delete(bob)) is True
    # The last administrator may not step down: a declared 409.
    admin.delete(f"/api/v1/users/{people['alice']}")
    with_one_admin = admin.get("/api/v1/users/all").get_json()["users"]
    assert [user["role"] for user in with_one_admin] == ["admin"]
    demoted = admin.post(f"/api/v1/users/{people['admin']}/update", json={"role": "user"})
    assert demoted.status_code == 409
    assert_fits(document, f"{USER}/update", "post", demoted)


def test_default_permissions_fit_their_schemas(admin, document):
    path = "/api/v1/users/default/permissions"
    saved = admin.post(path, json={"workspace": {"knowledge": True}})
    assert assert_fits(document, path, "post", saved)["workspace"]["knowledge"] is True
    assert assert_fits(document, path, "get", admin.get(path)) == saved.get_json()
    defaults = admin.get(f"{path}/defaults")
    assert (
        assert_fits(document, f"{path}/defaults", "get", defaults)["workspace"]["knowledge"]
        is False
    )


def test_group_answers_fit_their_schemas(client, admin, people, document):
    created = admin.post(
        "/api/v1/groups/create",
        json={
            "name": "Engineers",
            "description": None,
            "permissions": {"workspace": {"knowledge": True}},
        },
    )
    group = assert_fits(document, "/api/v1/groups/create", "post", created)
    assert group["description"] == "" and group["user_ids"] == []
    one = f"/api/v1/groups/id/{group['id']}"
    changed = admin.post(f"{one}/update", json={"description": "Builders", "user_ids": []})
    assert assert_fits(document, f"{GROUP}/update", "post", changed)["description"] == "Builders"
    added = admin.post(f"{one}/users/add", json={"user_ids": [people["alice"], people["bob"]]})
    assert assert_fits(document, f"{GROUP}/users/add", "post", added)["member_count"] == 2
    removed = admin.post(f"{one}/users/remove", json={"user_ids": [people["bob"]]})
    assert assert_fits(document, f"{GROUP}/users/remove", "post", removed)["member_count"] == 1
    assert assert_fits(document, GROUP, "get", admin.get(one))["user_ids"] == [people["alice"]]
    for suffix in ("/info", "/export", "/preview"):
        info = assert_fits(document, GROUP + suffix, "get", admin.get(one + suffix))
        assert info["member_count"] == 1
    members = assert_fits(document, f"{GROUP}/members", "get", admin.get(f"{one}/members"))
    assert [member["id"] for member in members] == [people["alice"]]
    posted = assert_fits(document, f"{GROUP}/users", "post", admin.post(f"{one}/users"))
    assert posted == members
    listed = assert_fits(document, "/api/v1/groups/", "get", admin.get("/api/v1/groups/"))
    assert [item["name"] for item in listed] == ["Engineers"]
    theirs = admin.get(f"/api/v1/users/{people['alice']}/groups")
    assert [item["id"] for item in assert_fits(document, f"{USER}/groups", "get", theirs)] == [
        group["id"]
    ]
    my_groups = client.get("/api/v1/users/groups", headers=people["alice_key"])
    assert assert_fits(document, "/api/v1/users/groups", "get", my_groups)[0]["id"] == group["id"]
    mine = client.get("/api/v1/users/permissions", headers=people["alice_key"])
    granted = assert_fits(document, "/api/v1/users/permissions", "get", mine)
    assert granted["workspace"]["knowledge"] is True
    unknown = admin.post(f"{one}/users/add", json={"user_ids": ["nobody"]})
    assert_fits(document, f"{GROUP}/users/add", "post", unknown)
    assert assert_fits(document, f"{GROUP}/delete", "delete", admin.delete(f"{one}/delete"))
    assert_fits(document, GROUP, "get", admin.get(one))


def test_who_may_call_is_declared(document):
    mine = [
        (path, method, item)
        for path, methods in document["paths"].items()
        if path.startswith(("/api/v1/users", "/api/v1/groups"))
        for method, item in methods.items()
    ]
    assert len(mine) == 25
    for path, method, item in mine:
        access = item["x-webui-access"]
        own = path in ("/api/v1/users/permissions", "/api/v1/users/groups")
        assert access["role"] == (None if own else "admin"), (method, path)
        assert item["tags"] == (["Your account"] if own else ["Administration"]), (method, path)
        changes = method in ("delete",) or path.endswith(
            ("/update", "/create", "/add", "/remove", "/default/permissions")
        )
        assert access["keys"] == (not (changes and method != "get")), (method, path)


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/update", {"role": "owner"}, "role must be one of admin, user, pending."),
        ("/update", {"role": None}, "role must be one of admin, user, pending."),
        ("/update", {"name": "Bob"}, "role is required."),
        ("/update", ["admin"], "The request body must be a JSON object"),
    ],
)
def test_wrong_role_changes_are_named(admin, people, path, body, says):
    response = admin.post(f"/api/v1/users/{people['bob']}{path}", json=body)
    assert response.status_code == 400
    assert says in response.get_json()["detail"]
    assert admin.get(f"/api/v1/users/{people['bob']}").get_json()["role"] == "user"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"features": True}, "features must be an object."),
        ({"features": {"api_keys": "yes"}}, "features.api_keys must be true or false."),
        (
            {"features": {"teleport": True}},
            "Unknown field teleport in features: it takes api_keys.",
        ),
        ({"billing": {}}, "Unknown field billing: it takes chat, features, workspace."),
    ],
)
def test_wrong_default_permissions_are_named(admin, body, says):
    path = "/api/v1/users/default/permissions"
    before = admin.get(path).get_json()
    response = admin.post(path, json=body)
    assert response.status_code == 400
    assert response.get_json()["detail"] == says
    assert admin.get(path).get_json() == before


NAME_RULE = "name must be text of 1 to 100 characters, not only spaces."


@pytest.mark.parametrize(
    ("suffix", "body", "says"),
    [
        ("create", {"name": 7}, NAME_RULE),
        ("create", {"name": "   "}, NAME_RULE),
        ("create", {"name": "x" * 101}, NAME_RULE),
        ("create", {"description": "x"}, "name is required."),
        ("create", {"name": "Ops", "description": 5}, "description must be text of at most"),
        (
            "create",
            {"name": "Ops", "permissions": {"chat": {"file_upload": 1}}},
            "permissions.chat.file_upload must be true or false.",
        ),
        ("update", {"permissions": None}, "permissions must be an object."),
        ("update", {"user_ids": "alice"}, "user_ids must be a list."),
        ("update", {"user_ids": [1]}, "user_ids[0] must be text."),
        ("users/add", {}, "user_ids is required."),
        ("users/add", {"user_ids": ["x" * 65]}, "user_ids[0] must be at most 64 characters."),
        ("users/remove", {"user_ids": None}, "user_ids must be a list."),
    ],
)
def test_wrong_types_in_group_bodies_are_named(admin, people, suffix, body, says):
    group = admin.post("/api/v1/groups/create", json={"name": "Existing"}).get_json()
    path = "/api/v1/groups/create" if suffix == "create" else f"/api/v1/groups/id/{group['id']}/"
    response = admin.post(path if suffix == "create" else path + suffix, json=body)
    assert response.status_code == 400
    assert says in response.get_json()["detail"]
    listed = admin.get("/api/v1/groups/").get_json()
    assert [(item["name"], item["user_ids"]) for item in listed] == [("Existing", [])]
