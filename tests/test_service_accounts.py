"""Issue 27 item 5: service accounts. An administrator creates one (no password, an owner,
groups), mints, rotates and revokes its keys; the keys act like a user's of its groups; it
cannot sign in; it survives its owner's deletion. Through the API and the admin pages (the
browser test is tests/test_service_accounts_browser.py)."""

import io

import pytest
import sqlalchemy as sa

from tests.support.accounts import ADMIN_EMAIL, PASSWORD, bearer, login_client
from tests.support.statements import keyed_request_statements
from webui.extensions import db
from webui.models import AuditEvent, User

API = "/api/v1/service-accounts"
WHO = "/api/v1/auths/"
PAGE = "/admin/users/service-accounts"
SIGNIN_REFUSED = "Service accounts cannot sign in; use its API keys."
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def people(make_user, connected_upstreams, save_settings):
    """An admin (signed in) and ada, a user; keys are on, but users lack features.api_keys."""
    save_settings(USER_PERMISSIONS_FEATURES_API_KEYS=False)
    admin_id = make_user(ADMIN_EMAIL, role="admin")
    ada_id = make_user("ada@example.com")
    return {"admin_id": admin_id, "ada_id": ada_id}


@pytest.fixture
def admin(app, people):
    return login_client(app, ADMIN_EMAIL)


def create(admin, **body) -> dict:
    response = admin.post(API, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def mint(admin, account_id: str, name: str = "ci", **fields) -> dict:
    response = admin.post(f"{API}/{account_id}/keys", json={"name": name, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def bot(admin, people) -> dict:
    """A service account owned by ada, with one key: the account and the key's secret."""
    account = create(admin, name="ci-bot", owner_id=people["ada_id"])
    return {**account, "secret": mint(admin, account["id"])["key"]}


# --- creating and reading ----------------------------------------------------------------------


def test_an_admin_creates_a_service_account_with_owner_and_groups(app, admin, people, make_group):
    group_id = make_group("Deployers")
    account = create(admin, name="deployer", owner_id=people["ada_id"], group_ids=[group_id])

    assert account["is_service"] is True and account["role"] == "user"
    assert account["owner"]["id"] == people["ada_id"] and account["owner"]["name"] == "Ada"
    assert account["group_ids"] == [group_id] and account["keys"] == []
    listed = admin.get(API).get_json()
    assert [item["name"] for item in listed["items"]] == ["deployer"]
    assert listed["items"][0]["owner"]["email"] == "ada@example.com"
    assert admin.get(f"{API}/{account['id']}").get_json()["name"] == "deployer"
    [event] = events(app, "user.service_created")
    assert event.target == account["id"] and event.actor_id == people["admin_id"]
    assert event.detail["owner_id"] == people["ada_id"]


@pytest.mark.parametrize(
    "body, detail",
    [
        ({"owner_id": "x"}, "name is required"),
        ({"name": "svc"}, "owner_id is required"),
        ({"name": "svc", "owner_id": "no-such-person"}, "no person with this id"),
        ({"name": "svc", "owner_id": "ADA", "group_ids": "g"}, "group_ids must be a list"),
        ({"name": "svc", "owner_id": "ADA", "group_ids": ["nope"]}, "no group with the id"),
        ({"name": "svc", "owner_id": "ADA", "role": "admin"}, "Unknown field role"),
        ({"name": "svc", "owner_id": "ADA", "password": PASSWORD}, "Unknown field password"),
    ],
)
def test_bad_bodies_are_400_with_a_detail_and_create_nothing(admin, people, body, detail):
    if body.get("owner_id") == "ADA":
        body = {**body, "owner_id": people["ada_id"]}
    response = admin.post(API, json=body)
    assert response.status_code == 400
    assert detail in response.get_json()["detail"]
    assert admin.get(API).get_json()["items"] == []


def test_a_body_that_is_no_object_is_400(admin):
    response = admin.post(API, json=["svc"])
    assert response.status_code == 400 and "JSON object" in response.get_json()["detail"]


def test_a_taken_name_and_a_service_owner_are_refused(admin, bot):
    taken = admin.post(API, json={"name": "ci-bot", "owner_id": bot["owner"]["id"]})
    assert taken.status_code == 400 and "exists already" in taken.get_json()["detail"]
    owned_by_bot = admin.post(API, json={"name": "other", "owner_id": bot["id"]})
    assert owned_by_bot.status_code == 400
    assert "no person with this id" in owned_by_bot.get_json()["detail"]


def test_non_admins_get_403_and_unknown_ids_404(app, admin, bot, people, make_key, save_settings):
    ada = login_client(app, "ada@example.com")
    assert ada.get(API).status_code == 403
    assert ada.post(API, json={"name": "x", "owner_id": people["ada_id"]}).status_code == 403
    assert ada.post(f"{API}/{bot['id']}/keys", json={"name": "mine"}).status_code == 403
    assert ada.delete(f"{API}/{bot['id']}").status_code == 403
    # The service account's own key is a user's key: not an admin's.
    assert app.test_client().get(API, headers=bearer(bot["secret"])).status_code == 403
    for path in (f"{API}/nope", f"{API}/nope/keys/x"):
        response = admin.delete(path)
        assert response.status_code == 404 and response.get_json()["detail"]
    assert admin.get(f"{API}/nope").status_code == 404
    assert admin.post(f"{API}/nope/keys", json={"name": "k"}).status_code == 404


def test_a_persons_id_is_no_service_account(admin, people):
    """The service-account routes never reach a person: ada is not deleted through them."""
    response = admin.delete(f"{API}/{people['ada_id']}")
    assert response.status_code == 404
    assert response.get_json()["detail"] == "Service account not found."
    assert admin.get(f"/api/v1/users/{people['ada_id']}").status_code == 200


def test_an_admins_key_may_read_but_not_change(app, admin, bot, people, make_key):
    headers = bearer(make_key(people["admin_id"], "admin bot"))
    client = app.test_client()
    assert client.get(f"{API}/{bot['id']}", headers=headers).status_code == 200
    refused = client.post(API, json={"name": "x", "owner_id": people["ada_id"]}, headers=headers)
    assert refused.status_code == 403 and "browser session" in refused.get_json()["detail"]
    assert (
        client.post(f"{API}/{bot['id']}/keys", json={"name": "k"}, headers=headers).status_code
        == 403
    )


# --- it cannot sign in -----------------------------------------------------------------------


def test_signing_in_as_a_service_account_is_refused_with_a_clear_detail(app, bot):
    response = app.test_client().post(
        "/api/v1/auths/signin", json={"email": bot["email"], "password": ""}
    )
    assert response.status_code == 403
    assert response.get_json() == {"detail": SIGNIN_REFUSED}
    assert "Set-Cookie" not in response.headers
    [event] = events(app, "signin.failed")
    assert event.target == bot["id"] and event.detail["reason"] == "service accounts cannot sign in"


def test_the_sign_in_page_refuses_it_and_keeps_the_form(app, bot):
    page = app.test_client().post(
        "/auth/login", data={"email": bot["email"], "password": "whatever it is"}
    )
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert SIGNIN_REFUSED.replace("'", "&#39;") in text
    assert f'value="{bot["email"]}"' in text


# --- its keys ----------------------------------------------------------------------------------


def test_a_minted_key_is_shown_once_and_works_on_open_webui_routes(app, admin, bot):
    """Users lack features.api_keys here, yet the service account's key works: a service
    account exists only to hold keys."""
    headers = bearer(bot["secret"])
    client = app.test_client()
    me = client.get(WHO, headers=headers).get_json()
    assert me["id"] == bot["id"] and me["role"] == "user"
    models = client.get("/api/models", headers=headers)
    assert models.status_code == 200 and models.get_json()["data"]
    model = models.get_json()["data"][0]["id"]
    chat = client.post(
        "/api/chat/completions", json={"model": model, "messages": HELLO}, headers=headers
    )
    assert chat.status_code == 200, chat.get_json()
    assert client.get("/ollama/api/tags", headers=headers).status_code == 200
    listed = admin.get(f"{API}/{bot['id']}").get_json()["keys"]
    assert [key["name"] for key in listed] == ["ci"] and "key" not in listed[0]


def test_minting_answers_no_store_and_is_audited(app, admin, bot, people):
    response = admin.post(f"{API}/{bot['id']}/keys", json={"name": "deploy", "read_only": True})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["key"].startswith("sk-") and response.get_json()["read_only"]
    created = [e for e in events(app, "key.created") if e.detail["name"] == "deploy"]
    assert created[0].actor_id == people["admin_id"] and created[0].detail["owner_id"] == bot["id"]


def test_bad_key_bodies_are_400(admin, bot):
    for body, detail in (
        ({}, "name is required"),
        ({"name": "ci"}, "already have a key named"),
        ({"name": "x", "expires_at": "soon"}, "expires_at"),
        ({"name": "x", "owner": "me"}, "Unknown field owner"),
    ):
        response = admin.post(f"{API}/{bot['id']}/keys", json=body)
        assert response.status_code == 400, body
        assert detail in response.get_json()["detail"]


def test_keys_switched_off_stop_minting_and_using(app, admin, bot, save_settings):
    save_settings(ENABLE_API_KEYS=False)
    assert admin.post(f"{API}/{bot['id']}/keys", json={"name": "k2"}).status_code == 403
    assert app.test_client().get(WHO, headers=bearer(bot["secret"])).status_code == 403


def test_its_keys_get_what_its_groups_grant(app, admin, people, make_group, save_settings):
    """A group's permission reaches the service account's key as it reaches a member's."""
    save_settings(USER_PERMISSIONS_CHAT_FILE_UPLOAD=False)
    group = admin.post(
        "/api/v1/groups/create",
        json={"name": "Uploaders", "permissions": {"chat": {"file_upload": True}}},
    ).get_json()
    plain = create(admin, name="plain", owner_id=people["ada_id"])
    member = create(admin, name="uploader", owner_id=people["ada_id"], group_ids=[group["id"]])
    upload = {"file": (io.BytesIO(b"hello"), "notes.txt")}
    client = app.test_client()
    headers = bearer(mint(admin, plain["id"])["key"])
    assert client.post("/api/v1/files/", data=upload, headers=headers).status_code == 403
    upload = {"file": (io.BytesIO(b"hello"), "notes.txt")}
    headers = bearer(mint(admin, member["id"])["key"])
    assert client.post("/api/v1/files/", data=upload, headers=headers).status_code == 200


def test_rotating_replaces_the_secret_and_revoking_ends_the_key(app, admin, bot):
    client = app.test_client()
    key_id = admin.get(f"{API}/{bot['id']}").get_json()["keys"][0]["id"]
    rotated = admin.post(f"{API}/{bot['id']}/keys/{key_id}/rotate")
    assert rotated.status_code == 201 and rotated.headers["Cache-Control"] == "no-store"
    new_secret = rotated.get_json()["key"]
    assert client.get(WHO, headers=bearer(bot["secret"])).status_code == 401
    assert client.get(WHO, headers=bearer(new_secret)).status_code == 200
    assert events(app, "key.rotated")[0].detail["owner_id"] == bot["id"]

    revoked = admin.delete(f"{API}/{bot['id']}/keys/{key_id}")
    assert revoked.status_code == 200 and revoked.get_json() == {"deleted": True}
    assert client.get(WHO, headers=bearer(new_secret)).status_code == 401
    assert events(app, "key.revoked")[0].target == key_id
    assert admin.delete(f"{API}/{bot['id']}/keys/{key_id}").status_code == 404


def test_another_accounts_key_is_not_found_through_this_one(app, admin, bot, people, make_key):
    other = create(admin, name="other", owner_id=people["ada_id"])
    key_id = admin.get(f"{API}/{bot['id']}").get_json()["keys"][0]["id"]
    assert admin.delete(f"{API}/{other['id']}/keys/{key_id}").status_code == 404
    assert app.test_client().get(WHO, headers=bearer(bot["secret"])).status_code == 200


def test_a_service_accounts_key_costs_one_statement(app, bot):
    statements = keyed_request_statements(app, bearer(bot["secret"]), WHO)
    assert len(statements) == 1, statements


def test_its_role_stays_user(admin, bot):
    response = admin.post(f"/api/v1/users/{bot['id']}/update", json={"role": "admin"})
    assert response.status_code == 400
    assert response.get_json()["detail"] == "A service account's role is always user."


# --- deleting it, and deleting its owner -------------------------------------------------------


def test_deleting_it_deletes_its_keys(app, admin, bot):
    response = admin.delete(f"{API}/{bot['id']}")
    assert response.status_code == 200 and response.get_json() == {"deleted": True}
    assert app.test_client().get(WHO, headers=bearer(bot["secret"])).status_code == 401
    assert admin.get(f"{API}/{bot['id']}").status_code == 404
    [event] = events(app, "user.deleted")
    assert event.target == bot["id"] and len(event.detail["keys_deleted"]) == 1


def test_deleting_the_owner_passes_it_to_the_deleting_admin(app, admin, bot, people):
    assert admin.delete(f"/api/v1/users/{people['ada_id']}").status_code == 200

    account = admin.get(f"{API}/{bot['id']}").get_json()
    assert account["owner"]["id"] == people["admin_id"]
    assert app.test_client().get(WHO, headers=bearer(bot["secret"])).status_code == 200
    [event] = events(app, "user.owner_changed")
    assert event.target == bot["id"] and event.actor_id == people["admin_id"]
    assert event.detail["old"] == people["ada_id"] and event.detail["new"] == people["admin_id"]
    assert event.detail["reason"] == "owner deleted"
    audit = admin.get("/admin/audit").get_data(as_text=True)
    assert "gave the service account" in audit and "owner&#39;s account was deleted" in audit


def test_the_owner_deleted_from_the_users_page_passes_it_on_too(app, admin, bot, people):
    admin.post(f"/admin/users/{people['ada_id']}/delete")
    with app.app_context():
        assert db.session.get(User, bot["id"]).owner_id == people["admin_id"]


def test_an_admin_deleting_themselves_keeps_what_they_own(app, admin, people, make_user):
    """An admin who owns a service account cannot delete their own account through the API:
    it would have nobody to pass to."""
    make_user("second@example.com", role="admin")
    create(admin, name="mine", owner_id=people["admin_id"])
    response = admin.delete(f"/api/v1/users/{people['admin_id']}")
    assert response.status_code == 409
    assert "another administrator must delete it" in response.get_json()["detail"]
    with app.app_context():
        assert db.session.get(User, people["admin_id"]) is not None


# --- the inventory and the pages ---------------------------------------------------------------


def test_the_key_inventory_marks_service_accounts_with_their_owner(admin, bot):
    items = admin.get("/api/v1/auths/admin/api_keys").get_json()["items"]
    [item] = [item for item in items if item["user"]["id"] == bot["id"]]
    assert item["user"]["is_service"] is True
    assert item["user"]["owner"] == {"id": bot["owner"]["id"], "name": "Ada"}
    page = admin.get("/admin/api-keys").get_data(as_text=True)
    assert '<span class="badge service">service</span>' in page
    assert "owner: Ada" in page


def test_the_users_page_lists_service_accounts_apart_with_their_owner(admin, bot):
    page = admin.get("/admin/users").get_data(as_text=True)
    section = page.split('id="service-accounts"', 1)[1].split("</section>", 1)[0]
    assert "ci-bot" in section and "Ada" in section and "badge service" in section
    people_table = page.split('<table class="users stack">', 1)[1].split("</table>", 1)[0]
    assert "ci-bot" not in people_table  # no role form, no password: not among the people


def test_the_pages_create_an_account_and_show_a_minted_key_once(app, admin, people):
    created = admin.post(PAGE, data={"name": "pager", "owner_id": people["ada_id"]})
    assert created.status_code == 302
    with app.app_context():
        account = db.session.scalar(sa.select(User).where(User.name == "pager"))
        assert account.is_service and account.owner_id == people["ada_id"]
    detail = created.headers["Location"]
    assert admin.get(detail).status_code == 200

    minted = admin.post(f"{detail}/keys", data={"name": "night", "expiry": "30"})
    assert minted.status_code == 302
    shown = admin.get(detail)
    assert shown.headers["Cache-Control"] == "no-store"
    secret = shown.get_data(as_text=True).split('id="new-key" value="', 1)[1].split('"', 1)[0]
    assert app.test_client().get(WHO, headers=bearer(secret)).status_code == 200
    assert 'id="new-key"' not in admin.get(detail).get_data(as_text=True)  # once


def test_a_refused_page_form_keeps_what_was_typed(admin, bot):
    refused = admin.post(PAGE, data={"name": "ci-bot", "owner_id": bot["owner"]["id"]})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "exists already" in text and 'value="ci-bot"' in text
    no_owner = admin.post(PAGE, data={"name": "fresh", "owner_id": "nobody"})
    assert no_owner.status_code == 400 and 'value="fresh"' in no_owner.get_data(as_text=True)
    bad_key = admin.post(f"{PAGE}/{bot['id']}/keys", data={"name": "ci", "expiry": "never"})
    assert bad_key.status_code == 400
    assert "already have a key named" in bad_key.get_data(as_text=True)


def test_the_pages_rotate_revoke_and_delete(app, admin, bot):
    detail = f"{PAGE}/{bot['id']}"
    key_id = admin.get(f"{API}/{bot['id']}").get_json()["keys"][0]["id"]
    assert admin.post(f"{detail}/keys/{key_id}/rotate").status_code == 302
    assert 'id="new-key"' in admin.get(detail).get_data(as_text=True)
    assert app.test_client().get(WHO, headers=bearer(bot["secret"])).status_code == 401
    assert admin.post(f"{detail}/keys/{key_id}/revoke").status_code == 302
    assert admin.get(f"{API}/{bot['id']}").get_json()["keys"] == []
    assert admin.post(f"{detail}/delete").status_code == 302
    assert admin.get(detail).status_code == 404
