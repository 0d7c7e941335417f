"""Readable administration: admins add accounts (page and API), approve pending ones from a
counted list, read the audit trail as sentences with links and an actor filter, see owners by
name, times as <time> elements; the workspace's plain multi-file upload and empty states."""

import io
import re

import pytest

from tests.support.accounts import ADMIN_EMAIL, PASSWORD, login_client
from tests.support.files import upload_ok
from webui.extensions import db
from webui.models import AuditEvent, User
from webui.templating import timestamp

ADD = "/api/v1/auths/add"
NEW = {"name": "Carol Chen", "email": "carol@example.com", "password": PASSWORD}


def audit_rows(app, action):
    with app.app_context():
        events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action))
        return [event.to_dict() for event in events]


def account(app, email):
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        return None if user is None else {"id": user.id, "role": user.role, "name": user.name}


def admin_id(app):
    return account(app, ADMIN_EMAIL)["id"]


# --- adding accounts: the page ---------------------------------------------------------------


def test_admin_adds_a_user_on_the_page_and_it_is_audited(app, admin_client):
    response = admin_client.post("/admin/users/add", data={**NEW, "role": "user"})
    assert response.status_code == 302
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert "Created carol@example.com (user)." in page
    carol = account(app, "carol@example.com")
    assert carol["role"] == "user" and carol["name"] == "Carol Chen"
    login_client(app, "carol@example.com")  # the password the admin chose works
    [event] = audit_rows(app, "user.created")
    assert event["actor_id"] == admin_id(app) and event["target"] == carol["id"]
    assert event["detail"] == {"email": "carol@example.com", "role": "user"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": ADMIN_EMAIL}, "An account with this email already exists."),
        ({"email": "not-an-email"}, "Email must be a valid email address"),
        ({"password": "short"}, "Password must be at least 8 characters."),
        ({"role": "owner"}, "Not a valid choice"),
    ],
)
def test_the_add_user_form_keeps_its_values_and_says_why(app, admin_client, changes, message):
    response = admin_client.post("/admin/users/add", data={**NEW, "role": "user", **changes})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The account was not created" in page and message in page
    assert 'value="Carol Chen"' in page  # the form is kept
    assert PASSWORD not in page  # but never the password
    assert account(app, "carol@example.com") is None
    assert audit_rows(app, "user.created") == []


def test_the_add_user_form_needs_its_csrf_token(app, app_config, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    make_user(ADMIN_EMAIL, role="admin")
    client = app.test_client()
    client.post("/auth/login", data={"email": ADMIN_EMAIL, "password": PASSWORD})
    response = client.post("/admin/users/add", data={**NEW, "role": "user"})
    assert response.status_code == 400
    assert account(app, "carol@example.com") is None


# --- adding accounts: the API ----------------------------------------------------------------


def test_add_user_api_answers_the_new_users_public_fields(app, admin_client):
    response = admin_client.post(ADD, json={**NEW, "role": "user"})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"id", "name", "email", "role", "permissions"}
    assert (body["name"], body["email"], body["role"]) == (
        "Carol Chen",
        "carol@example.com",
        "user",
    )
    assert body["permissions"]["chat"]["file_upload"] is True
    assert "password" not in response.get_data(as_text=True)
    [event] = audit_rows(app, "user.created")
    assert event["target"] == body["id"] and event["actor_id"] == admin_id(app)


def test_add_user_api_makes_pending_accounts_unless_told(admin_client):
    body = admin_client.post(ADD, json=NEW).get_json()
    assert body["role"] == "pending"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": ADMIN_EMAIL}, "already exists"),
        ({"email": "ROOT@example.com "}, "already exists"),
        ({"email": "nope@"}, "valid email address"),
        ({"email": None}, "valid email address"),
        ({"password": "1234567"}, "at least 8 characters"),
        ({"name": "  "}, "Name is required"),
        ({"role": "owner"}, "role must be one of admin, user, pending."),
    ],
)
def test_add_user_api_refuses_bad_accounts_with_400(app, admin_client, changes, message):
    response = admin_client.post(ADD, json={**NEW, **changes})
    assert response.status_code == 400
    assert message in response.get_json()["detail"]
    assert account(app, "carol@example.com") is None
    assert audit_rows(app, "user.created") == []


def test_add_user_api_is_for_admin_sessions_only(app, people_with_keys):
    people = people_with_keys("bob")
    bob = login_client(app, "bob@example.com")
    assert bob.post(ADD, json=NEW).status_code == 403
    admin_key = app.test_client().post(ADD, json=NEW, headers=people["admin_key"])
    assert admin_key.status_code == 403  # managing users is session-only, like role changes
    assert app.test_client().post(ADD, json=NEW).status_code == 401
    assert account(app, "carol@example.com") is None


def test_sign_ups_are_audited(app, auth, make_user, save_settings):
    make_user(ADMIN_EMAIL, role="admin")
    save_settings(ENABLE_SIGNUP=True)
    auth.signup(name="Dee", email="dee@example.com")
    dee = account(app, "dee@example.com")
    [event] = audit_rows(app, "user.signed_up")
    assert event["actor_id"] == dee["id"] and event["target"] == dee["id"]
    assert event["detail"] == {"email": "dee@example.com", "role": dee["role"]}


# --- pending accounts --------------------------------------------------------------------------


def pending_badges(html):
    return re.findall(r'class="badge pending-count"[^>]*>(\d+)<', html)


def test_pending_accounts_are_counted_marked_and_approved(app, admin_client, make_user):
    pat = make_user("pat@example.com", role="pending")
    make_user("quinn@example.com", role="pending")
    html = admin_client.get("/admin/users").get_data(as_text=True)
    assert pending_badges(html) == ["2", "2"]  # the Admin Panel link and the Users tab
    assert "2 accounts waiting for approval" in html
    assert re.search(rf'<tr id="user-{pat}" data-email="pat@example.com" class="pending">', html)
    assert pending_badges(admin_client.get("/admin/audit").get_data(as_text=True)) == ["2", "2"]

    response = admin_client.post(f"/admin/users/{pat}/approve")
    assert response.status_code == 302
    assert account(app, "pat@example.com")["role"] == "user"
    html = admin_client.get("/admin/users").get_data(as_text=True)
    assert "Approved pat@example.com" in html
    assert pending_badges(html) == ["1", "1"]
    assert login_client(app, "pat@example.com").get("/account/").status_code == 200

    again = admin_client.post(f"/admin/users/{pat}/approve", follow_redirects=True)
    assert "pat@example.com is not pending approval (role: user)." in again.get_data(as_text=True)
    assert account(app, "pat@example.com")["role"] == "user"


def test_no_badge_without_pending_accounts_and_none_for_users(app, admin_client, make_user):
    html = admin_client.get("/admin/users").get_data(as_text=True)
    assert pending_badges(html) == []
    assert "No accounts are waiting for approval." in html
    make_user("pat@example.com", role="pending")
    make_user("bob@example.com")
    bob_page = login_client(app, "bob@example.com").get("/account/").get_data(as_text=True)
    assert pending_badges(bob_page) == []
    assert login_client(app, "bob@example.com").post("/admin/users/x/approve").status_code == 403


# --- the audit trail as sentences --------------------------------------------------------------


@pytest.fixture
def key_story(app, people_with_keys, make_user):
    """Bob makes two keys through the API; the admin revokes one and approves Pat."""
    people_with_keys()
    bob_id = make_user("bob@example.com", name="Bob Builder")
    pat_id = make_user("pat@example.com", role="pending", name="Pat Pending")
    bob = login_client(app, "bob@example.com")
    kept = bob.post("/api/v1/auths/api_keys", json={"name": "deploy", "read_only": True})
    gone = bob.post("/api/v1/auths/api_keys", json={"name": "old script"})
    admin = login_client(app, ADMIN_EMAIL)
    assert admin.post(f"/admin/api-keys/{gone.get_json()['id']}/revoke").status_code == 302
    assert admin.post(f"/admin/users/{pat_id}/approve").status_code == 302
    return {
        "admin": admin,
        "bob_id": bob_id,
        "pat_id": pat_id,
        "kept": kept.get_json(),
        "gone": gone.get_json(),
    }


def row_of(html, action, contains=""):
    rows = re.findall(rf'<tr data-action="{re.escape(action)}">(.*?)</tr>', html, re.S)
    return next(row for row in rows if contains in row)


def test_audit_events_read_as_sentences_with_links(app, key_story):
    html = key_story["admin"].get("/admin/audit").get_data(as_text=True)
    bob, pat, kept, gone = (key_story[k] for k in ("bob_id", "pat_id", "kept", "gone"))
    bob_link = f'<a href="/admin/users#user-{bob}" class="mention" data-user-id="{bob}">'
    created = row_of(html, "key.created", "deploy")
    assert bob_link + "Bob Builder (bob@example.com)</a> created the API key" in created
    assert (
        f'<a href="/admin/api-keys?user_id={bob}#key-{kept["id"]}" class="mention" '
        f'data-key-id="{kept["id"]}">deploy ({kept["prefix"]}…)</a> (read-only).'
    ) in created
    revoked = row_of(html, "key.revoked")
    assert "Root (root@example.com)</a> revoked the API key" in revoked
    # The revoked key no longer exists: its name links to its history instead.
    assert f'<a href="/admin/audit?target={gone["id"]}" class="mention"' in revoked
    assert f"old script ({gone['prefix']}…)</a> of {bob_link}" in revoked
    approved = row_of(html, "user.role_changed")
    assert f'approved <a href="/admin/users#user-{pat}"' in approved
    assert "Pat Pending (pat@example.com)</a>." in approved
    table = html[html.index('<table id="audit-events"') :]
    assert "{&#34;" not in table and '{"' not in table  # no raw JSON


def test_a_deleted_account_is_named_without_a_link(app, key_story):
    admin = key_story["admin"]
    assert admin.delete(f"/api/v1/users/{key_story['bob_id']}").status_code == 200
    html = admin.get("/admin/audit", query_string={"action": "user.deleted"}).get_data(as_text=True)
    row = row_of(html, "user.deleted")
    assert "deleted the account bob@example.com (user) and 1 API key." in row
    assert f"#user-{key_story['bob_id']}" not in row


def test_the_actor_filter_matches_names_and_emails(app, key_story):
    admin, bob = key_story["admin"], key_story["bob_id"]
    for query in ("bob@EXAMPLE", "builder", "Bob Builder"):
        body = admin.get("/api/v1/audit", query_string={"actor": query}).get_json()
        assert body["total"] >= 2, query
        assert {item["actor_id"] for item in body["items"]} == {bob}
    page = admin.get("/admin/audit", query_string={"actor": "builder"}).get_data(as_text=True)
    assert 'value="builder"' in page
    assert len(re.findall(r'<tr data-action="key.created">', page)) == 2
    assert 'data-action="key.revoked"' not in page  # the admin did that

    none = admin.get("/admin/audit", query_string={"actor": "%"}).get_data(as_text=True)
    assert "0 events." in none and "No events match these filters." in none
    long = admin.get("/api/v1/audit", query_string={"actor": "x" * 255})
    assert long.status_code == 400 and "actor must be at most 254" in long.get_json()["detail"]


def test_sign_in_and_settings_sentences(app, admin_client, save_settings):
    admin_client.post("/api/v1/auths/admin/config", json={"ENABLE_SIGNUP": False})
    app.test_client().post("/auth/login", data={"email": "x@example.com", "password": "wrong"})
    html = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "Root (root@example.com)</a> signed in." in row_of(html, "signin.succeeded")
    assert "changed the setting ENABLE_SIGNUP from on to off." in row_of(
        html, "settings.changed", "ENABLE_SIGNUP"
    )
    assert "A sign-in with an email no account has failed." in row_of(html, "signin.failed")


# --- owners by name, times as <time> ----------------------------------------------------------


def test_owners_are_shown_by_name(app, people_with_keys):
    people = people_with_keys("bob")
    admin_client = login_client(app, ADMIN_EMAIL)
    bob_client = login_client(app, "bob@example.com")
    upload_ok(bob_client, "bob-notes.txt", b"Bob's notes.\n")
    files_page = admin_client.get("/workspace/files").get_data(as_text=True)
    row = re.search(r'<tr data-file-id="[^"]+">(.*?)</tr>', files_page, re.S).group(1)
    assert "bob-notes.txt" in row
    assert f'<a href="/admin/users#user-{people["bob"]}">Bob</a>' in row
    assert people["bob"] not in row.replace(f"#user-{people['bob']}", "")

    keys_page = admin_client.get("/admin/api-keys").get_data(as_text=True)
    assert f'<a href="/admin/users#user-{people["bob"]}" title="bob@example.com">Bob</a>' in (
        keys_page
    )
    assert "Bob (bob@example.com)</option>" in keys_page


def test_times_are_time_elements_with_utc(app):
    with app.test_request_context():
        assert str(timestamp(86400 * 365)) == (
            '<time datetime="1971-01-01T00:00:00Z" title="1971-01-01 00:00:00 UTC">'
            "1971-01-01 00:00 UTC</time>"
        )
        assert str(timestamp(None)) == "never"
        assert str(timestamp(None, "<none>")) == "&lt;none&gt;"
        assert str(timestamp(10**20)) == "100000000000000000000 (epoch seconds)"


def test_pages_with_times_load_the_localising_script(admin_client, make_user):
    make_user("pat@example.com", role="pending")
    for path in ("/admin/users", "/admin/audit", "/workspace/files"):
        html = admin_client.get(path).get_data(as_text=True)
        assert '<script src="/static/times.js?v=' in html, path
    html = admin_client.get("/admin/users").get_data(as_text=True)
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" title="[^"]+ UTC">', html)
    assert admin_client.get("/static/times.js").status_code == 200


# --- the plain upload form and empty states -------------------------------------------------


def test_the_plain_form_uploads_several_files(app, admin_client):
    response = admin_client.post(
        "/workspace/files",
        data={
            "file": [(io.BytesIO(b"one\n"), "one.txt"), (io.BytesIO(b"two\n"), "two.txt")],
            "extract": "y",
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "one.txt uploaded." in html and "two.txt uploaded." in html
    assert html.count("<tr data-file-id=") == 2


def test_the_plain_form_says_which_file_failed_and_why(app, admin_client):
    response = admin_client.post(
        "/workspace/files",
        data={"file": [(io.BytesIO(b""), "empty.txt"), (io.BytesIO(b"ok\n"), "ok.txt")]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "empty.txt was not uploaded: The file is empty" in html
    assert "ok.txt uploaded." in html
    only_empty = admin_client.post(
        "/workspace/files",
        data={"file": [(io.BytesIO(b""), "empty.txt")]},
        content_type="multipart/form-data",
    )
    assert only_empty.status_code == 400
    assert "empty.txt was not uploaded" in only_empty.get_data(as_text=True)


def test_the_upload_form_tells_the_script_the_limit(admin_client, save_settings):
    save_settings(FILE_MAX_SIZE_MB=2)
    html = admin_client.get("/workspace/files").get_data(as_text=True)
    assert f'data-max-bytes="{2 * 1024 * 1024}"' in html
    assert 'data-upload="/api/v1/files/"' in html
    assert "larger than the 2 MB upload limit" in html
    assert '<input id="file" multiple name="file" required type="file">' in html
    assert '<script src="/static/upload.js?v=' in html


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/admin/users", "No accounts are waiting for approval."),
        ("/admin/api-keys", "No one has an API key yet."),
        ("/admin/api-keys?expired=true", "No one has an API key yet."),
        ("/admin/audit?actor=nobody", "No events match these filters."),
        ("/workspace/files", "No files yet."),
        ("/workspace/knowledge", "No collections yet."),
    ],
)
def test_empty_states_point_to_the_next_step(admin_client, path, text):
    response = admin_client.get(path)
    assert response.status_code == 200
    assert text in response.get_data(as_text=True)


def test_filtered_empty_key_list_offers_every_key(app, people_with_keys):
    people_with_keys("bob")
    admin_client = login_client(app, ADMIN_EMAIL)
    html = admin_client.get("/admin/api-keys?expired=true").get_data(as_text=True)
    assert "No keys match these filters" in html


def test_a_key_on_the_add_user_page_is_refused(app, people_with_keys):
    people = people_with_keys()
    response = app.test_client().post("/admin/users/add", data=NEW, headers=people["admin_key"])
    assert response.status_code == 403


def test_events_without_a_sentence_of_their_own_still_read_well(app, admin_client):
    with app.app_context():
        root = admin_id(app)
        db.session.add_all(
            [
                AuditEvent(
                    action="key.archived",  # an action from a later version, say
                    actor_id=root,
                    target="gone-key",
                    detail={"name": "deploy", "prefix": "sk-webui_Ab12", "owner_id": root},
                ),
                AuditEvent(action="user.role_changed", target=root, detail=["an", "odd", "row"]),
                AuditEvent(action="group.updated", detail={"changes": {"members": "odd"}}),
            ]
        )
        db.session.commit()
    response = admin_client.get("/admin/audit")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    rotated = row_of(html, "key.archived")
    assert "Root (root@example.com)</a> — archived: the API key " in rotated
    assert "deploy (sk-webui_Ab12…)</a> (name: deploy)." in rotated
    odd = row_of(html, "user.role_changed")
    assert "Someone not signed in changed the role of " in odd and "None" not in odd
    assert "Someone not signed in — updated (changes: members: odd)." in row_of(
        html, "group.updated"
    )
