"""Groups and default permissions: pages and JSON."""

import pytest
from conftest import login_client


@pytest.fixture
def admin(app, make_user):
    make_user("root@example.com", role="admin")
    return login_client(app, "root@example.com")


def permissions_of(app, email):
    return login_client(app, email).get("/api/v1/auths/").get_json()["permissions"]


def test_group_grant_is_a_union_with_the_defaults(app, admin, make_user):
    bob = make_user("bob@example.com")
    assert permissions_of(app, "bob@example.com")["features"]["api_keys"] is False

    group = admin.post(
        "/api/v1/groups/create",
        json={"name": "API Users", "permissions": {"features": {"api_keys": True}}},
    ).get_json()
    assert group["permissions"]["features"]["api_keys"] is True
    admin.post(f"/api/v1/groups/id/{group['id']}/update", json={"user_ids": [bob]})
    assert permissions_of(app, "bob@example.com")["features"]["api_keys"] is True

    admin.post(f"/api/v1/groups/id/{group['id']}/update", json={"user_ids": []})
    assert permissions_of(app, "bob@example.com")["features"]["api_keys"] is False


def test_a_group_cannot_take_away_a_default(app, admin, make_user):
    bob = make_user("bob@example.com")
    group = admin.post(
        "/api/v1/groups/create",
        json={"name": "Locked", "permissions": {"chat": {"file_upload": False}}},
    ).get_json()
    admin.post(f"/api/v1/groups/id/{group['id']}/update", json={"user_ids": [bob]})
    assert permissions_of(app, "bob@example.com")["chat"]["file_upload"] is True


def test_default_permissions_json(app, admin, make_user):
    make_user("bob@example.com")
    saved = admin.post("/api/v1/users/default/permissions", json={"workspace": {"knowledge": True}})
    assert saved.status_code == 200
    assert saved.get_json()["workspace"]["knowledge"] is True
    assert admin.get("/api/v1/users/default/permissions").get_json() == saved.get_json()
    assert permissions_of(app, "bob@example.com")["workspace"]["knowledge"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"features": {"teleport": True}},
        {"features": {"api_keys": "yes"}},
        {"features": True},
    ],
)
def test_default_permissions_refuse_bad_input(admin, body):
    before = admin.get("/api/v1/users/default/permissions").get_json()
    response = admin.post("/api/v1/users/default/permissions", json=body)
    assert response.status_code == 400
    assert response.get_json()["detail"]
    assert admin.get("/api/v1/users/default/permissions").get_json() == before


def test_default_permissions_page(app, admin, make_user):
    make_user("bob@example.com")
    page = admin.post(
        "/admin/permissions",
        data={"perm-features.api_keys": "y", "perm-chat.file_upload": "y"},
        follow_redirects=True,
    )
    assert b"Default permissions saved." in page.data
    assert permissions_of(app, "bob@example.com")["features"]["api_keys"] is True


def test_groups_in_the_browser(app, admin, make_user):
    bob = make_user("bob@example.com")
    created = admin.post("/admin/groups", data={"name": "API Users", "description": "bots"})
    assert created.status_code == 302
    group_id = created.location.rsplit("/", 1)[1]

    saved = admin.post(
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
    listing = admin.get("/admin/groups")
    assert b"API Users" in listing.data and b"features.api_keys" in listing.data

    admin.post(f"/admin/groups/{group_id}/delete")
    assert admin.get("/api/v1/groups/").get_json() == []
    assert permissions_of(app, "bob@example.com")["features"]["api_keys"] is False


def test_group_names_are_unique_and_required(admin):
    assert admin.post("/api/v1/groups/create", json={"name": "Ops"}).status_code == 200
    duplicate = admin.post("/api/v1/groups/create", json={"name": " ops "})
    assert duplicate.status_code == 400 and "already exists" in duplicate.get_json()["detail"]
    assert admin.post("/api/v1/groups/create", json={"name": ""}).status_code == 400
    page = admin.post("/admin/groups", data={"name": "Ops", "description": "typed text"})
    assert b"already exists" in page.data and b"typed text" in page.data
    assert len(admin.get("/api/v1/groups/").get_json()) == 1


def test_group_update_is_all_or_nothing(admin, make_user):
    bob = make_user("bob@example.com")
    group = admin.post("/api/v1/groups/create", json={"name": "Ops"}).get_json()
    response = admin.post(
        f"/api/v1/groups/id/{group['id']}/update",
        json={"name": "Renamed", "user_ids": [bob, "no-such-user"]},
    )
    assert response.status_code == 404
    after = admin.get(f"/api/v1/groups/id/{group['id']}").get_json()
    assert after["name"] == "Ops" and after["user_ids"] == []


def test_unknown_group_ids_are_404(admin):
    assert admin.post("/api/v1/groups/id/nope/update", json={"name": "x"}).status_code == 404
    assert admin.delete("/api/v1/groups/id/nope/delete").status_code == 404
    assert admin.get("/admin/groups/nope").status_code == 404


def test_deleting_a_user_removes_them_from_groups(admin, make_user):
    bob = make_user("bob@example.com")
    group = admin.post("/api/v1/groups/create", json={"name": "Ops"}).get_json()
    admin.post(f"/api/v1/groups/id/{group['id']}/update", json={"user_ids": [bob]})
    admin.delete(f"/api/v1/users/{bob}")
    assert admin.get(f"/api/v1/groups/id/{group['id']}").get_json()["user_ids"] == []
