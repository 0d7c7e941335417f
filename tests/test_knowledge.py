"""Knowledge collections: create, read, change, share with groups, and who may do what."""

import pytest

from tests.support.accounts import login_client
from tests.support.files import file_rows, upload_ok
from webui.extensions import db
from webui.models import Group


@pytest.fixture
def people(people_with_keys):
    return people_with_keys("alice", "bob", "carol", USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=True)


def create(client, headers, name="Handbook", **extra) -> dict:
    response = client.post(
        "/api/v1/knowledge/create", json={"name": name, **extra}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def add_file(client, headers, knowledge_id, file_id):
    return client.post(
        f"/api/v1/knowledge/{knowledge_id}/file/add", json={"file_id": file_id}, headers=headers
    )


def test_create_needs_the_knowledge_permission(client, people, save_settings):
    save_settings(USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=False)
    response = client.post(
        "/api/v1/knowledge/create", json={"name": "x"}, headers=people["alice_key"]
    )
    assert response.status_code == 403 and "workspace.knowledge" in response.get_json()["detail"]
    assert (
        client.post(
            "/api/v1/knowledge/create", json={"name": "x"}, headers=people["admin_key"]
        ).status_code
        == 200
    )


def test_collection_lifecycle(app, client, people):
    key = people["alice_key"]
    collection = create(client, key, "Handbook", description="Company rules")
    assert collection["name"] == "Handbook" and collection["description"] == "Company rules"
    assert collection["user_id"] == people["alice"] and collection["files"] == []
    assert collection["access_control"]["read"]["group_ids"] == []
    kid = collection["id"]

    file_id = upload_ok(client, "rules.txt", b"Holidays: 25 days a year.", key)["id"]
    added = add_file(client, key, kid, file_id)
    assert added.status_code == 200
    assert [f["id"] for f in added.get_json()["files"]] == [file_id]
    assert added.get_json()["data"]["file_ids"] == [file_id]
    # Adding it again changes nothing.
    assert add_file(client, key, kid, file_id).get_json()["data"]["file_ids"] == [file_id]

    shown = client.get(f"/api/v1/knowledge/{kid}", headers=key).get_json()
    assert shown["files"][0]["filename"] == "rules.txt"
    listing = client.get("/api/v1/knowledge/", headers=key).get_json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == kid

    updated = client.post(
        f"/api/v1/knowledge/{kid}/update",
        json={"name": "Staff handbook", "description": ""},
        headers=key,
    )
    assert (
        updated.get_json()["name"] == "Staff handbook" and updated.get_json()["description"] == ""
    )

    removed = client.post(
        f"/api/v1/knowledge/{kid}/file/remove", json={"file_id": file_id}, headers=key
    )
    assert removed.status_code == 200 and removed.get_json()["files"] == []
    again = client.post(
        f"/api/v1/knowledge/{kid}/file/remove", json={"file_id": file_id}, headers=key
    )
    assert again.status_code == 404

    assert client.delete(f"/api/v1/knowledge/{kid}/delete", headers=key).get_json() is True
    assert client.get(f"/api/v1/knowledge/{kid}", headers=key).status_code == 404
    assert file_rows(app) == [file_id]  # the files stay


def test_deleting_a_file_takes_it_out_of_collections(client, people):
    key = people["alice_key"]
    kid = create(client, key)["id"]
    file_id = upload_ok(client, "a.txt", b"alpha", key)["id"]
    add_file(client, key, kid, file_id)
    client.delete(f"/api/v1/files/{file_id}", headers=key)
    assert client.get(f"/api/v1/knowledge/{kid}", headers=key).get_json()["files"] == []


def test_unprocessed_and_failed_files_cannot_be_added(client, people):
    key = people["alice_key"]
    kid = create(client, key)["id"]
    pending = upload_ok(client, "later.txt", b"later", key, query="?process=false")["id"]
    failed = upload_ok(client, "fake.pdf", b"not a pdf", key)["id"]

    response = add_file(client, key, kid, pending)
    assert response.status_code == 400 and "not been processed" in response.get_json()["detail"]
    response = add_file(client, key, kid, failed)
    assert response.status_code == 400 and "could not be indexed" in response.get_json()["detail"]

    client.post("/api/v1/retrieval/process/file", json={"file_id": pending}, headers=key)
    assert add_file(client, key, kid, pending).status_code == 200


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({}, 400, "name"),
        ({"name": "  "}, 400, "name"),
        ({"name": "x" * 101}, 400, "100"),
        ({"name": "ok", "description": 5}, 400, "description"),
        ({"name": "ok", "access_control": None}, 400, "Public"),
        ({"name": "ok", "access_control": {"read": {"user_ids": ["u1"]}}}, 400, "groups"),
        ({"name": "ok", "access_control": {"read": {"group_ids": ["nope"]}}}, 404, "nope"),
        ({"name": "ok", "access_control": {"read": {"group_ids": "g"}}}, 400, "group_ids"),
    ],
)
def test_create_validates_its_body(client, people, body, status, words):
    response = client.post("/api/v1/knowledge/create", json=body, headers=people["alice_key"])
    assert response.status_code == status and words in response.get_json()["detail"]
    assert client.get("/api/v1/knowledge/", headers=people["alice_key"]).get_json()["total"] == 0


def test_bodies_must_be_json_objects(client, people):
    kid = create(client, people["alice_key"])["id"]
    for path in ("/api/v1/knowledge/create", f"/api/v1/knowledge/{kid}/file/add"):
        response = client.post(
            path, data="[]", content_type="application/json", headers=people["alice_key"]
        )
        assert response.status_code == 400
    missing = client.post(f"/api/v1/knowledge/{kid}/file/add", json={}, headers=people["alice_key"])
    assert missing.status_code == 400 and "file_id" in missing.get_json()["detail"]


# --- object-level access -------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/api/v1/knowledge/{id}", None),
        ("POST", "/api/v1/knowledge/{id}/update", {"name": "mine now"}),
        ("POST", "/api/v1/knowledge/{id}/file/add", {"file_id": "{bob_file}"}),
        ("POST", "/api/v1/knowledge/{id}/file/remove", {"file_id": "{alice_file}"}),
        ("DELETE", "/api/v1/knowledge/{id}/delete", None),
        ("POST", "/api/v1/retrieval/query/doc", {"collection_name": "{id}", "query": "secret"}),
        (
            "POST",
            "/api/v1/retrieval/query/collection",
            {"collection_names": ["{id}"], "query": "secret"},
        ),
    ],
)
def test_another_users_collection_is_404_like_an_unknown_id(client, people, method, path, body):
    alice_file = upload_ok(client, "plans.txt", b"the secret plans", people["alice_key"])["id"]
    bob_file = upload_ok(client, "bob.txt", b"bob's words", people["bob_key"])["id"]
    kid = create(client, people["alice_key"], "Alice private")["id"]
    add_file(client, people["alice_key"], kid, alice_file)

    def call(target):
        def fill(value):
            if isinstance(value, str):
                return value.format(id=target, bob_file=bob_file, alice_file=alice_file)
            if isinstance(value, list):
                return [fill(item) for item in value]
            return {key: fill(item) for key, item in value.items()}

        return client.open(
            path.format(id=target),
            method=method,
            json=fill(body) if body else None,
            headers=people["bob_key"],
        )

    theirs, unknown = call(kid), call("no-such-id")
    assert theirs.status_code == unknown.status_code == 404
    assert "secret" not in theirs.get_data(as_text=True) and "Alice" not in theirs.get_data(
        as_text=True
    )
    after = client.get(f"/api/v1/knowledge/{kid}", headers=people["alice_key"]).get_json()
    assert after["name"] == "Alice private" and after["data"]["file_ids"] == [alice_file]
    assert client.get("/api/v1/knowledge/", headers=people["bob_key"]).get_json()["total"] == 0


def test_someone_elses_file_cannot_be_added_to_ones_collection(client, people):
    alice_file = upload_ok(client, "a.txt", b"alice text", people["alice_key"])["id"]
    bob_kid = create(client, people["bob_key"], "Bob's")["id"]
    response = add_file(client, people["bob_key"], bob_kid, alice_file)
    assert response.status_code == 404
    assert (
        client.get(f"/api/v1/knowledge/{bob_kid}", headers=people["bob_key"]).get_json()["files"]
        == []
    )


def test_sharing_with_a_group_gives_its_members_read_access_only(app, client, people, make_group):
    team = make_group("Team", people["alice"], people["bob"])
    file_id = upload_ok(client, "faq.txt", b"The office opens at nine.", people["alice_key"])["id"]
    kid = create(
        client,
        people["alice_key"],
        "FAQ",
        access_control={"read": {"group_ids": [team], "user_ids": []}},
    )["id"]
    add_file(client, people["alice_key"], kid, file_id)

    # Bob (in Team) reads and queries it; Carol (not in Team) does not see it at all.
    shown = client.get(f"/api/v1/knowledge/{kid}", headers=people["bob_key"])
    assert shown.status_code == 200 and shown.get_json()["access_control"]["read"]["group_ids"] == [
        team
    ]
    assert client.get("/api/v1/knowledge/", headers=people["bob_key"]).get_json()["total"] == 1
    found = client.post(
        "/api/v1/retrieval/query/collection",
        json={"collection_names": [kid], "query": "when does the office open"},
        headers=people["bob_key"],
    ).get_json()
    assert found["documents"][0] == ["The office opens at nine."]
    assert client.get(f"/api/v1/knowledge/{kid}", headers=people["carol_key"]).status_code == 404

    # Reading is not changing; the file itself stays private to its owner.
    for path, body in [
        (f"/api/v1/knowledge/{kid}/update", {"name": "x"}),
        (f"/api/v1/knowledge/{kid}/file/remove", {"file_id": file_id}),
    ]:
        assert client.post(path, json=body, headers=people["bob_key"]).status_code == 403
    assert (
        client.delete(f"/api/v1/knowledge/{kid}/delete", headers=people["bob_key"]).status_code
        == 403
    )
    assert client.get(f"/api/v1/files/{file_id}", headers=people["bob_key"]).status_code == 404

    # Making it private again ends Bob's access at once.
    client.post(
        f"/api/v1/knowledge/{kid}/update", json={"access_control": {}}, headers=people["alice_key"]
    )
    assert client.get(f"/api/v1/knowledge/{kid}", headers=people["bob_key"]).status_code == 404


def test_deleting_the_group_ends_its_access(app, client, people, make_group):
    team = make_group("Team", people["alice"], people["bob"])
    kid = create(client, people["alice_key"], access_control={"read": {"group_ids": [team]}})["id"]
    assert client.get(f"/api/v1/knowledge/{kid}", headers=people["bob_key"]).status_code == 200
    with app.app_context():
        db.session.delete(db.session.get(Group, team))
        db.session.commit()
    assert client.get(f"/api/v1/knowledge/{kid}", headers=people["bob_key"]).status_code == 404
    assert (
        client.get(f"/api/v1/knowledge/{kid}", headers=people["alice_key"]).get_json()[
            "access_control"
        ]["read"]["group_ids"]
        == []
    )


def test_admin_may_read_and_change_any_collection(client, people):
    kid = create(client, people["alice_key"])["id"]
    assert client.get("/api/v1/knowledge/", headers=people["admin_key"]).get_json()["total"] == 1
    renamed = client.post(
        f"/api/v1/knowledge/{kid}/update", json={"name": "Audited"}, headers=people["admin_key"]
    )
    assert renamed.get_json()["name"] == "Audited"
    assert (
        client.delete(f"/api/v1/knowledge/{kid}/delete", headers=people["admin_key"]).status_code
        == 200
    )


# --- Workspace > Knowledge ------------------------------------------------------------------


def test_knowledge_pages_create_add_share_query_and_delete(app, client, people, make_group):
    team = make_group("Team", people["alice"], people["bob"])
    make_group("Others", people["carol"])
    file_id = upload_ok(
        client,
        "guide.txt",
        b"Parking is behind the building.\n\nLunch is served at noon in the canteen.",
        people["alice_key"],
    )["id"]
    browser = login_client(app, "alice@example.com")

    created = browser.post(
        "/workspace/knowledge", data={"name": "Office guide", "description": "How things work"}
    )
    assert created.status_code == 302
    kid = created.headers["Location"].rstrip("/").split("/")[-1]
    page = browser.get(f"/workspace/knowledge/{kid}")
    assert (
        b"Office guide" in page.data and b"guide.txt" in page.data
    )  # offered in the add-file list
    assert b"Others" not in page.data  # only the viewer's own groups are offered for sharing

    added = browser.post(
        f"/workspace/knowledge/{kid}/files/add", data={"file_id": file_id}, follow_redirects=True
    )
    assert b"guide.txt added" in added.data

    shared = browser.post(
        f"/workspace/knowledge/{kid}/update",
        data={"name": "Office guide", "description": "", "group": [team]},
        follow_redirects=True,
    )
    assert b"Collection saved" in shared.data
    bob = login_client(app, "bob@example.com")
    assert b"Office guide" in bob.get("/workspace/knowledge").data
    bob_view = bob.get(f"/workspace/knowledge/{kid}?q=when+is+lunch")
    assert bob_view.status_code == 200
    assert b"Lunch is served at noon" in bob_view.data and b"Delete collection" not in bob_view.data
    assert bob.post(f"/workspace/knowledge/{kid}/delete").status_code == 403
    carol = login_client(app, "carol@example.com")
    assert carol.get(f"/workspace/knowledge/{kid}").status_code == 404

    removed = browser.post(
        f"/workspace/knowledge/{kid}/files/{file_id}/remove", follow_redirects=True
    )
    assert b"File removed" in removed.data
    deleted = browser.post(f"/workspace/knowledge/{kid}/delete", follow_redirects=True)
    assert b"deleted" in deleted.data and b"No collections yet" in deleted.data


def test_knowledge_page_keeps_the_form_on_errors(app, people, save_settings):
    browser = login_client(app, "alice@example.com")
    response = browser.post("/workspace/knowledge", data={"name": "", "description": "kept text"})
    assert response.status_code == 400 and b"kept text" in response.data
    save_settings(USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=False)
    assert browser.post("/workspace/knowledge", data={"name": "x"}).status_code == 403
    assert b"lacks the Knowledge collections permission" in browser.get("/workspace/knowledge").data


def test_only_admins_share_with_groups_they_are_not_in(client, people, make_group):
    """The page offers only your own groups; the API and the form hold to the same rule."""
    outsiders = make_group("Outsiders", people["carol"])
    own = make_group("Own", people["alice"])
    refused = client.post(
        "/api/v1/knowledge/create",
        json={"name": "Leak", "access_control": {"read": {"group_ids": [outsiders]}}},
        headers=people["alice_key"],
    )
    assert refused.status_code == 400 and "Outsiders" in refused.get_json()["detail"]
    assert client.get("/api/v1/knowledge/", headers=people["alice_key"]).get_json()["total"] == 0

    kid = create(client, people["alice_key"], access_control={"read": {"group_ids": [own]}})["id"]
    moved = client.post(
        f"/api/v1/knowledge/{kid}/update",
        json={"access_control": {"read": {"group_ids": [own, outsiders]}}},
        headers=people["alice_key"],
    )
    assert moved.status_code == 400
    assert client.get(f"/api/v1/knowledge/{kid}", headers=people["carol_key"]).status_code == 404

    # An admin may share it with any group, and its owner may keep that choice.
    by_admin = client.post(
        f"/api/v1/knowledge/{kid}/update",
        json={"access_control": {"read": {"group_ids": [own, outsiders]}}},
        headers=people["admin_key"],
    )
    assert by_admin.status_code == 200
    renamed = client.post(
        f"/api/v1/knowledge/{kid}/update",
        json={"name": "Shared", "access_control": {"read": {"group_ids": [own, outsiders]}}},
        headers=people["alice_key"],
    )
    assert renamed.status_code == 200
    assert client.get(f"/api/v1/knowledge/{kid}", headers=people["carol_key"]).status_code == 200
