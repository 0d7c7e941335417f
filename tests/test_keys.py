"""Personal API keys: format, storage, Settings > Account and the JSON endpoints."""

import re
import time

import pytest
import sqlalchemy as sa

from tests.support.accounts import bearer, login_client
from tests.support.fake_upstream import connection_settings
from webui.extensions import db
from webui.security import key_format


@pytest.fixture
def admin(admin_client, save_settings):
    """The signed-in admin, with keys switched on (not yet granted to plain users)."""
    save_settings(ENABLE_API_KEYS=True)
    return admin_client


@pytest.fixture
def bob(app, admin, make_user, save_settings):
    """A plain user holding features.api_keys through the defaults."""
    make_user("bob@example.com")
    save_settings(USER_PERMISSIONS_FEATURES_API_KEYS=True)
    return login_client(app, "bob@example.com")


# --- the format ---------------------------------------------------------------------


def test_generated_keys_match_the_documented_pattern_and_checksum():
    secrets = {key_format.generate_key() for _ in range(200)}
    assert len(secrets) == 200
    for secret in secrets:
        assert re.fullmatch(key_format.KEY_REGEX, secret)
        assert key_format.is_well_formed(secret)


def test_a_single_typo_breaks_the_checksum():
    secret = key_format.generate_key()
    position = len(key_format.KEY_PREFIX) + 5
    typo = secret[:position] + ("a" if secret[position] != "a" else "b") + secret[position + 1 :]
    assert not key_format.is_well_formed(typo)
    assert not key_format.is_well_formed(secret[:-1])
    assert not key_format.is_well_formed("sk-" + secret[3:].upper())


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("Basic dXNlcjpwYXNz", None),
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER  abc ", "abc"),
        ("Bearer", ""),
        ("Bearer    ", ""),
        ("Bearer a b", ""),
    ],
)
def test_bearer_token_parsing(header, expected):
    assert key_format.bearer_token(header) == expected


# --- creating and listing -----------------------------------------------------------------


def test_create_shows_the_key_once_and_stores_only_a_digest(app, admin):
    response = admin.post(
        "/api/v1/auths/api_keys",
        json={"name": "Monitoring Bot", "allowed_endpoints": ["/api/models"], "read_only": True},
    )
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    secret = body["key"]
    assert key_format.is_well_formed(secret)
    assert body["name"] == "Monitoring Bot"
    assert body["prefix"] == secret[: len(body["prefix"])] and len(body["prefix"]) < 16
    assert body["allowed_endpoints"] == ["/api/models"] and body["read_only"] is True
    assert body["expires_at"] is None and body["last_used_at"] is None

    listed = admin.get("/api/v1/auths/api_keys").get_json()["items"]
    assert [item["name"] for item in listed] == ["Monitoring Bot"]
    assert "key" not in listed[0] and secret not in str(listed)

    with app.app_context():
        dump = "\n".join(
            str(row) for row in db.session.execute(sa.text("SELECT * FROM api_keys")).all()
        )
    assert secret not in dump
    assert key_format.key_digest(secret) in dump


def test_several_named_keys_per_person_and_only_ones_own_are_listed(admin, bob):
    for name in ("CI", "Bot"):
        assert bob.post("/api/v1/auths/api_keys", json={"name": name}).status_code == 201
    admin.post("/api/v1/auths/api_keys", json={"name": "Admin's"})
    names = sorted(item["name"] for item in bob.get("/api/v1/auths/api_keys").get_json()["items"])
    assert names == ["Bot", "CI"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "name is required"),
        ({"name": "   "}, "name is required"),
        ({"name": "x" * 101}, "at most 100"),
        ({"name": 7}, "name is required"),
        ({"name": "k", "expires_at": 1000}, "in the future"),
        ({"name": "k", "expires_at": "tomorrow"}, "epoch seconds"),
        ({"name": "k", "allowed_endpoints": "/api/models"}, "list of paths"),
        ({"name": "k", "allowed_endpoints": ["api/models"]}, "must start with /"),
        ({"name": "k", "allowed_endpoints": ["/api/*"]}, "wildcard"),
        ({"name": "k", "read_only": "yes"}, "read_only"),
    ],
)
def test_create_refuses_bad_input_and_saves_nothing(admin, body, message):
    response = admin.post("/api/v1/auths/api_keys", json=body)
    assert response.status_code == 400
    assert message in response.get_json()["detail"]
    assert admin.get("/api/v1/auths/api_keys").get_json()["items"] == []


def test_duplicate_names_are_refused(admin):
    admin.post("/api/v1/auths/api_keys", json={"name": "CI"})
    response = admin.post("/api/v1/auths/api_keys", json={"name": "CI"})
    assert (
        response.status_code == 400 and "already have a key named" in response.get_json()["detail"]
    )


def test_expiry_in_the_future_is_kept(admin):
    later = int(time.time()) + 3600
    body = admin.post("/api/v1/auths/api_keys", json={"name": "k", "expires_at": later}).get_json()
    assert body["expires_at"] == later


def test_creating_needs_the_switch_and_the_permission(app, admin, make_user, save_settings):
    make_user("carol@example.com")
    carol = login_client(app, "carol@example.com")
    refused = carol.post("/api/v1/auths/api_keys", json={"name": "k"})
    assert refused.status_code == 403 and "features.api_keys" in refused.get_json()["detail"]

    save_settings(ENABLE_API_KEYS=False)
    off = admin.post("/api/v1/auths/api_keys", json={"name": "k"})
    assert off.status_code == 403 and "Enable API Keys" in off.get_json()["detail"]
    assert admin.post("/api/v1/auths/api_key").status_code == 403


def test_keys_cannot_manage_keys(admin, make_key, app):
    user_id = admin.get("/api/v1/auths/").get_json()["id"]
    secret = make_key(user_id)
    other = admin.post("/api/v1/auths/api_keys", json={"name": "other"}).get_json()
    client = app.test_client()
    for method, path in [
        ("post", "/api/v1/auths/api_keys"),
        ("delete", f"/api/v1/auths/api_keys/{other['id']}"),
        ("post", "/api/v1/auths/api_key"),
        ("get", "/api/v1/auths/api_key"),
        ("delete", "/api/v1/auths/api_key"),
    ]:
        response = getattr(client, method)(path, json={"name": "x"}, headers=bearer(secret))
        assert response.status_code == 403, path
        assert "browser session" in response.get_json()["detail"]
    # …but may list them.
    assert client.get("/api/v1/auths/api_keys", headers=bearer(secret)).status_code == 200


def test_delete_only_ones_own(admin, bob):
    mine = bob.post("/api/v1/auths/api_keys", json={"name": "mine"}).get_json()
    assert admin.delete(f"/api/v1/auths/api_keys/{mine['id']}").status_code == 404
    assert admin.delete("/api/v1/auths/api_keys/no-such-id").status_code == 404
    assert bob.delete(f"/api/v1/auths/api_keys/{mine['id']}").get_json() == {"deleted": True}
    assert bob.get("/api/v1/auths/api_keys").get_json()["items"] == []


def test_open_webui_single_key_endpoints(admin, app):
    first = admin.post("/api/v1/auths/api_key")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    first_key = first.get_json()["api_key"]
    second_key = admin.post("/api/v1/auths/api_key").get_json()["api_key"]
    assert first_key != second_key
    names = [item["name"] for item in admin.get("/api/v1/auths/api_keys").get_json()["items"]]
    assert names == ["default"]

    shown = admin.get("/api/v1/auths/api_key")
    assert shown.status_code == 404 and "shown only once" in shown.get_json()["detail"]
    assert second_key not in shown.get_data(as_text=True)

    client = app.test_client()
    assert client.get("/api/v1/auths/", headers=bearer(first_key)).status_code == 401
    assert client.get("/api/v1/auths/", headers=bearer(second_key)).status_code == 200
    assert admin.delete("/api/v1/auths/api_key").get_json() is True
    assert client.get("/api/v1/auths/", headers=bearer(second_key)).status_code == 401


# --- Settings > Account ---------------------------------------------------------------------


def test_account_page_generates_a_key_shown_once(app, bob):
    created = bob.post("/account/keys", data={"name": "Monitoring Bot", "expiry": "30"})
    assert created.status_code == 302 and created.location.endswith("/account/#new-key-box")
    response = bob.get("/account/")
    assert response.headers["Cache-Control"] == "no-store"
    secret = re.search(rb'id="new-key" value="([^"]+)"', response.data).group(1).decode()
    assert b"will not be shown again" in response.data

    reloaded = bob.get("/account/")
    assert secret.encode() not in reloaded.data
    assert b"Monitoring Bot" in reloaded.data
    assert key_format.visible_prefix(secret).encode() in reloaded.data
    who = app.test_client().get("/api/v1/auths/", headers=bearer(secret)).get_json()
    assert who["email"] == "bob@example.com"
    item = bob.get("/api/v1/auths/api_keys").get_json()["items"][0]
    assert 29 * 86400 < item["expires_at"] - item["created_at"] <= 30 * 86400


def test_account_page_expiry_on_a_date_and_restrictions(bob):
    bob.post(
        "/account/keys",
        data={
            "name": "dated",
            "expiry": "date",
            "expiry_date": "2099-01-31",
            "allowed_endpoints": "/api/models, /api/chat/completions",
            "read_only": "y",
            "rate_limit": " 30 ",
        },
    )
    item = bob.get("/api/v1/auths/api_keys").get_json()["items"][0]
    assert time.strftime("%Y-%m-%d", time.gmtime(item["expires_at"] - 1)) == "2099-01-31"
    assert item["allowed_endpoints"] == ["/api/models", "/api/chat/completions"]
    assert item["read_only"] is True
    assert item["rate_limit_per_minute"] == 30
    assert b"30/min" in bob.get("/account/").data


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "", "expiry": "never"}, b"Give the key a name"),
        ({"name": "x" * 101, "expiry": "never"}, b"100 characters"),
        ({"name": "k", "expiry": "date"}, b"Pick the date"),
        ({"name": "k", "expiry": "date", "expiry_date": "2001-01-01"}, b"in the future"),
        (
            {"name": "k", "expiry": "never", "rate_limit": "lots"},
            b"Requests per minute must be a whole number",
        ),
        (
            {"name": "k", "expiry": "never", "rate_limit": "0"},
            b"Requests per minute must be a whole number from 1",
        ),
        ({"name": "k", "expiry": "never", "allowed_endpoints": "api/models"}, b"must start with /"),
    ],
)
def test_account_page_refuses_bad_input_and_keeps_the_form(bob, form, message):
    response = bob.post("/account/keys", data=form)
    assert response.status_code == 400
    assert message in response.data
    assert b"The key was not created" in response.data
    if form.get("allowed_endpoints"):
        assert form["allowed_endpoints"].encode() in response.data
    if form.get("rate_limit"):
        assert f'value="{form["rate_limit"]}"'.encode() in response.data
    assert bob.get("/api/v1/auths/api_keys").get_json()["items"] == []


def test_key_names_with_html_are_escaped(bob):
    bob.post("/account/keys", data={"name": "<script>alert(1)</script>", "expiry": "never"})
    page = bob.get("/account/").data
    assert b"<script>alert(1)</script>" not in page
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_account_page_explains_what_is_missing(app, admin, make_user, save_settings):
    make_user("carol@example.com")
    carol = login_client(app, "carol@example.com")
    page = carol.get("/account/")
    assert b"API Keys" in page.data and b"features.api_keys" in page.data
    assert b"Generate New API Key" not in page.data
    save_settings(ENABLE_API_KEYS=False)
    assert b"Enable API Keys" in admin.get("/account/").data


def test_account_page_deletes_a_key(app, bob):
    bob.post("/account/keys", data={"name": "temp", "expiry": "never"})
    item = bob.get("/api/v1/auths/api_keys").get_json()["items"][0]
    response = bob.post(f"/account/keys/{item['id']}/delete", follow_redirects=True)
    assert b"deleted" in response.data
    assert bob.get("/api/v1/auths/api_keys").get_json()["items"] == []


def test_account_page_shows_effective_permissions(bob):
    page = bob.get("/account/").data
    assert b'class="granted" data-permission="features.api_keys"' in page
    assert b'class="denied" data-permission="workspace.knowledge"' in page


def test_profile_and_key_forms_do_not_mix(bob):
    bob.post("/account/keys", data={"name": "Build bot", "expiry": "never"})
    page = bob.get("/account/").data.decode()
    assert 'id="profile-name"' in page and 'value="Bob"' in page
    saved = bob.post("/account/profile", data={"profile-name": "Robert"}, follow_redirects=True)
    assert b"Profile saved." in saved.data
    assert bob.get("/api/v1/auths/").get_json()["name"] == "Robert"


def test_account_page_shows_requests_and_last_model_per_key(app, bob, save_settings, openai_up):
    save_settings(**connection_settings(openai=openai_up))
    bob.post("/account/keys", data={"name": "Quiet", "expiry": "never"})
    page = bob.post(
        "/account/keys", data={"name": "Talker", "expiry": "never"}, follow_redirects=True
    ).data
    secret = re.search(rb'id="new-key" value="([^"]+)"', page).group(1).decode()
    api = app.test_client()
    for _ in range(2):
        response = api.post(
            "/api/chat/completions",
            headers=bearer(secret),
            json={"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert response.status_code == 200, response.get_json()
    html = bob.get("/account/").data.decode()
    talker = html[html.index('data-key-name="Talker"') :]
    talker = talker[: talker.index("</tr>")]
    assert "2 <span" in talker and "gpt-test" in talker
    quiet = html[html.index('data-key-name="Quiet"') :]
    assert '<td data-label="Requests">0</td>' in quiet[: quiet.index("</tr>")]
