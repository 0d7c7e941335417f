"""Groups and default permissions: pages and JSON."""

import pytest

from tests.support.accounts import login_client


def permissions_of(app, email):
    return login_client(app, email).get("/api/v1/auths/").get_json()["permissions"]


def test_group_grant_is_a_union_with_the_defaults(app, admin_client, make_user):
    bob = make_user("bob@example.com")
    assert permissions_of(app, "bob@example.com")["features"]["api_keys"] is False

    group = admin_client.post(
        "/api/v1/groups/create",
        json={"name": "API Users", "permissions": {"features": {"api_keys": True}}},
    ).get_json()
    assert group["permissions"]["features"]["api_keys"] is True
    admin_client.post(f"/api/v1/groups/id/{group['id']}/update", json={"user_ids": [bob]})
    assert permissions_of(app, "bob@example.com")["features"]["api_keys"] is True

    admin_client.post(f"/api/v1/groups/id/{group['id']}/update", json={"user_ids": []})
    assert permissions_of(app, "bob@example.com")["features"]["api_keys"] is False


def test_a_group_cannot_take_away_a_default(app, admin_client, make_user):
    bob = make_user("bob@example.com")
    group = admin_client.post(
        "/api/v1/groups/create",
        json={"name": "Locked", "permissions": {"chat": {"file_upload": False}}},
    ).get_json()
    admin_client.post(f"/api/v1/groups/id/{group['id']}/update", json={"user_ids": [bob]})
    assert permissions_of(app, "bob@example.com")["chat"]["file_upload"] is True


def test_default_permissions_json(app, admin_client, make_user):
    make_user("bob@example.com")
    saved = admin_client.post(
        "/api/v1/users/default/permissions", json={"workspace": {"knowledge": True}}
    )
    assert saved.status_code == 200
    assert saved.get_json()["workspace"]["knowledge"] is True
    assert admin_client.get("/api/v1/users/default/permissions").get_json() == saved.get_json()
    assert permissions_of(app, "bob@example.com")["workspace"]["knowledge"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"features": {"teleport": True}},
        {"features": {"api_keys": "yes"}},
        {"features": True},
    ],
)
def test_default_permissions_refuse_bad_input(admin_client, body):
    before = admin_client.get("/api/v1/users/default/permissions").get_json()
    response = admin_client.post("/api/v1/users/default/permissions", json=body)
    assert response.status_code == 400
    assert response.get_json()["detail"]
    assert admin_client.get("/api/v1/users/default/permissions").get_json() == before


def test_default_permissions_page(app, admin_client, make_user):
    make_user("bob@example.com")
    page = admin_client.post(
        "/admin/permissions",
        data={"perm-features.api_keys": "y", "perm-chat.file_upload": "y"},
        follow_redirects=True,
    )
    assert b"Default permissions saved." in page.data
    assert permissions_of(app, "bob@example.com")["features"]["api_keys"] is True


def test_groups_in_the_browser(app, admin_client, make_user):
    bob = make_user("bob@example.com")
    created = admin_client.post("/admin/groups", data={"name": "API Users", "description": "bots"})
    assert created.status_code == 302
    group_id = created.location.rsplit("/", 1)[1]

    saved = admin_client.post(
        f"/admin/groups/{group_id}",
        data={
            "name": "API Users",
            "description": "bots",
            "perm-features.api_keys": "y",
            "member": bob,
        },
        follow_redirects=True,
    )
    assert b"saved" in saved.data
    assert permissions_of(app, "bob@example.com")["features"]["api_keys"] is True
    listing = admin_client.get("/admin/groups")
    assert b"API Users" in listing.data and b"features.api_keys" in listing.data

    admin_client.post(f"/admin/groups/{group_id}/delete")
    assert admin_client.get("/api/v1/groups/").get_json() == []
    assert permissions_of(app, "bob@example.com")["features"]["api_keys"] is False


def test_group_names_are_unique_and_required(admin_client):
    assert admin_client.post("/api/v1/groups/create", json={"name": "Ops"}).status_code == 200
    duplicate = admin_client.post("/api/v1/groups/create", json={"name": " ops "})
    assert duplicate.status_code == 400 and "already exists" in duplicate.get_json()["detail"]
    assert admin_client.post("/api/v1/groups/create", json={"name": ""}).status_code == 400
    page = admin_client.post("/admin/groups", data={"name": "Ops", "description": "typed text"})
    assert b"already exists" in page.data and b"typed text" in page.data
    assert len(admin_client.get("/api/v1/groups/").get_json()) == 1


def test_group_update_is_all_or_nothing(admin_client, make_user):
    bob = make_user("bob@example.com")
    group = admin_client.post("/api/v1/groups/create", json={"name": "Ops"}).get_json()
    response = admin_client.post(
        f"/api/v1/groups/id/{group['id']}/update",
        json={"name": "Renamed", "user_ids": [bob, "no-such-user"]},
    )
    assert response.status_code == 404
    after = admin_client.get(f"/api/v1/groups/id/{group['id']}").get_json()
    assert after["name"] == "Ops" and after["user_ids"] == []


def test_unknown_group_ids_are_404(admin_client):
    assert admin_client.post("/api/v1/groups/id/nope/update", json={"name": "x"}).status_code == 404
    assert admin_client.delete("/api/v1/groups/id/nope/delete").status_code == 404
    assert admin_client.get("/admin/groups/nope").status_code == 404


def test_deleting_a_user_removes_them_from_groups(admin_client, make_user):
    bob = make_user("bob@example.com")
    group = admin_client.post("/api/v1/groups/create", json={"name": "Ops"}).get_json()
    admin_client.post(f"/api/v1/groups/id/{group['id']}/update", json={"user_ids": [bob]})
    admin_client.delete(f"/api/v1/users/{bob}")
    assert admin_client.get(f"/api/v1/groups/id/{group['id']}").get_json()["user_ids"] == []
