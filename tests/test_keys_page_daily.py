"""Settings > Account as people use it every day (issue 26): the endpoint chooser offers, by
area and in words, only what the person's keys could ever reach, and saving an entry that can
never match warns; the profile names one's groups; admin user management keeps its form
beside its error and offers no action that would be refused."""

import re

import pytest

from tests.support.accounts import ADMIN_EMAIL, login_client

ACCOUNT = "/account/"
KEYS_API = "/api/v1/auths/api_keys"
OFFERED = re.compile(r'name="endpoints" type="checkbox" value="([^"]+)"')


@pytest.fixture
def keys_on(save_settings):
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)


@pytest.fixture
def bob(app, keys_on, make_user):
    """A plain user holding features.api_keys through the defaults, keys switched on."""
    make_user(ADMIN_EMAIL, role="admin")
    make_user("bob@example.com")
    return login_client(app, "bob@example.com")


@pytest.fixture
def root(app, keys_on, make_user):
    make_user(ADMIN_EMAIL, role="admin")
    return login_client(app, ADMIN_EMAIL)


def offered(client) -> set[str]:
    return set(OFFERED.findall(client.get(ACCOUNT).data.decode()))


def flashes(html: bytes) -> list[tuple[str, str]]:
    """(category, text) of each flashed message."""
    found = re.findall(rb'<div class="flash flash-(\w+)"[^>]*>(.*?)</div>', html, re.S)
    return [(category.decode(), text.decode()) for category, text in found]


# --- 1. the endpoint chooser ---------------------------------------------------------------


def test_a_user_is_not_offered_admin_only_or_browser_only_routes(bob):
    choices = offered(bob)
    assert {"/api/v1/models", "/api/v1/files", "/ollama/api/chat"} <= choices
    admin_only = {"/api/v1/users/all", "/api/v1/groups", "/api/v1/audit", "/ollama/api/pull"}
    browser_only = {"/api/v1/auths/signout", "/api/v1/auths/update/password"}
    assert not choices & (admin_only | browser_only)


def test_an_admin_is_offered_the_admin_routes_keys_may_call(root):
    choices = offered(root)
    assert {"/api/v1/users/all", "/api/v1/audit", "/ollama/api/pull"} <= choices
    assert "/ollama/config/update" not in choices  # changing settings needs a browser


def test_routes_the_owners_permissions_deny_are_left_out(bob, save_settings):
    assert "/api/v1/retrieval/process/text" in offered(bob)
    save_settings(USER_PERMISSIONS_CHAT_FILE_UPLOAD=False)
    choices = offered(bob)
    assert "/api/v1/retrieval/process/text" not in choices  # needs chat.file_upload only
    assert "/api/v1/files" in choices  # listing and reading files needs no permission


def test_the_instance_allowlist_narrows_the_choices(bob, save_settings):
    save_settings(
        ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS=True,
        API_KEYS_ALLOWED_ENDPOINTS="/api/v1/models,/api/v1/chats/pinned",
    )
    # /api/v1/chats allows /api/v1/chats/pinned below it, so it can still match.
    assert offered(bob) == {"/api/v1/models", "/api/v1/chats", "/api/v1/chats/pinned"}


def test_choices_are_grouped_by_area_with_a_description(bob):
    html = bob.get(ACCOUNT).data.decode()
    legends = re.findall(r'<fieldset class="endpoint-area">\s*<legend>([^<]+)</legend>', html)
    assert legends[:3] == ["Chat", "Models", "Embeddings"]
    assert {"Files", "Knowledge", "Saved chats"} <= set(legends)
    label = re.search(r'<label for="[^"]+">([^<]*)<code class="muted">/api/v1/models</code>', html)
    assert label and label.group(1).strip() == "The models you may use"


def edit_page_post(client, key_id: str, **fields):
    data = {"name": "CI", "expiry": "keep", **fields}
    return client.post(f"/account/keys/{key_id}", data=data, follow_redirects=True)


def new_key_id(client, **fields) -> str:
    created = client.post(KEYS_API, json={"name": "CI", **fields})
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def test_saving_a_blocked_entry_on_the_page_warns_instead_of_success(bob, save_settings):
    save_settings(ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS=True, API_KEYS_ALLOWED_ENDPOINTS="/api")
    key_id = new_key_id(bob)
    page = edit_page_post(bob, key_id, allowed_endpoints="/api/v1/models, /ollama/api/chat")
    shown = flashes(page.data)
    assert [category for category, _ in shown] == ["warning"]
    assert "/ollama/api/chat" in shown[0][1] and "/api/v1/models" not in shown[0][1]
    fine = edit_page_post(bob, key_id, allowed_endpoints="/api/v1/models")
    assert [category for category, _ in flashes(fine.data)] == ["success"]


def test_creating_a_key_for_an_admin_only_route_warns(bob):
    page = bob.post(
        "/account/keys",
        data={"name": "CI", "expiry": "never", "allowed_endpoints": "/api/v1/users/all"},
        follow_redirects=True,
    )
    shown = flashes(page.data)
    assert [category for category, _ in shown] == ["warning"]
    assert "/api/v1/users/all" in shown[0][1] and "Copy it now" in shown[0][1]


def test_the_api_answers_warnings_only_when_there_are_some(bob, save_settings):
    save_settings(ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS=True, API_KEYS_ALLOWED_ENDPOINTS="/api")
    created = bob.post(KEYS_API, json={"name": "CI", "allowed_endpoints": ["/api/v1/models"]})
    assert created.status_code == 201 and "warnings" not in created.get_json()
    key_id = created.get_json()["id"]
    blocked = ["/ollama/api/tags", "/api/v1/groups", "/api/v1/knowledge/abc"]
    changed = bob.post(f"{KEYS_API}/{key_id}", json={"allowed_endpoints": blocked})
    assert changed.status_code == 200
    warnings = changed.get_json()["warnings"]
    assert len(warnings) == 2
    assert "/ollama/api/tags" in warnings[0] and "/api/v1/groups" in warnings[1]
    assert changed.get_json()["allowed_endpoints"] == blocked  # saved all the same
    again = bob.post(f"{KEYS_API}/{key_id}", json={"allowed_endpoints": None})
    assert "warnings" not in again.get_json()


# --- 2. the profile names one's groups -----------------------------------------------------


def profile_line(client) -> str:
    html = client.get(ACCOUNT).data.decode()
    found = re.search(r"<h2>Profile</h2>\s*<p>(.*?)</p>", html, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1))


def test_the_profile_names_the_groups_one_belongs_to(app, bob, make_user, make_group):
    carol = make_user("carol@example.com")
    make_group("Research", carol)
    make_group("Bots", carol)
    make_group("Others")
    assert profile_line(login_client(app, "carol@example.com")).endswith("groups: Bots, Research")


def test_the_profile_says_none_without_groups(bob):
    assert profile_line(bob).endswith("groups: none")


# --- 4. placeholders read as examples ------------------------------------------------------


def test_key_form_placeholders_read_as_examples(bob):
    html = bob.get(ACCOUNT).data.decode()
    form = html[html.index('class="key-form"') :]
    placeholders = re.findall(r'placeholder="([^"]*)"', form[: form.index("</form>")])
    assert len(placeholders) >= 3  # name, paths, rate limit at least
    assert all(text.startswith("e.g. ") for text in placeholders), placeholders


# --- 5. Admin › Users and the key rows -----------------------------------------------------

NEW_USER = {"name": "Carol Chen", "email": "carol@example.com", "role": "user"}


def section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]


def user_row(html: str, email: str) -> str:
    start = html.index(f'data-email="{email}"')
    return html[start : html.index("</tr>", start)]


def test_the_add_user_error_shows_beside_its_form_with_the_values_kept(root):
    response = root.post("/admin/users/add", data={**NEW_USER, "password": "short"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    add_user = section(html, "add-user")
    assert "The account was not created" in add_user and 'role="alert"' in add_user
    assert 'value="Carol Chen"' in add_user and 'value="carol@example.com"' in add_user
    assert 'action="/admin/users/add#add-user"' in add_user  # the page opens at the form
    assert "The account was not created" not in section(html, "pending")


def test_the_last_admin_and_ones_own_row_offer_no_delete_or_demotion(root, make_user):
    make_user("bob@example.com")
    html = root.get("/admin/users").get_data(as_text=True)
    assert "<th></th>" not in html
    mine = user_row(html, ADMIN_EMAIL)
    assert "/delete" not in mine and "/role" not in mine and "the last administrator" in mine
    bob = user_row(html, "bob@example.com")
    assert 'aria-label="Delete Bob (bob@example.com)"' in bob
    assert 'aria-label="Change role of Bob (bob@example.com)"' in bob

    make_user("second@example.com", role="admin")
    html = root.get("/admin/users").get_data(as_text=True)
    mine = user_row(html, ADMIN_EMAIL)
    assert "/role" in mine  # no longer the last admin: demotion is offered
    assert "/delete" not in mine  # but never deleting oneself
    assert 'aria-label="Delete Second (second@example.com)"' in user_row(html, "second@example.com")


def test_the_server_refuses_deleting_ones_own_account(app, root, make_user):
    make_user("second@example.com", role="admin")
    with app.app_context():
        from webui.services.users import find_user_by_email

        own_id = find_user_by_email(ADMIN_EMAIL).id
    page = root.post(f"/admin/users/{own_id}/delete", follow_redirects=True)
    assert ("error", "You cannot delete your own account; another administrator can.") in (
        flashes(page.data)
    )
    assert ADMIN_EMAIL in root.get("/admin/users").get_data(as_text=True)


def test_pending_rows_name_their_approve_button(root, make_user):
    make_user("pat@example.com", role="pending")
    row = user_row(root.get("/admin/users").get_data(as_text=True), "pat@example.com")
    assert 'aria-label="Approve Pat (pat@example.com)"' in row


def test_key_rows_name_their_buttons_and_no_header_is_empty(bob):
    bob.post(KEYS_API, json={"name": "ci-bot"})
    html = bob.get(ACCOUNT).get_data(as_text=True)
    row = html[html.index('data-key-name="ci-bot"') :]
    row = row[: row.index("</tr>")]
    assert 'aria-label="Rotate key ci-bot"' in row and 'aria-label="Delete key ci-bot"' in row
    assert "<th></th>" not in html
