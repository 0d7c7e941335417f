"""Settings > Account: a key's lifecycle on the pages (test client), the shown-once secret
through POST → redirect → GET, and the guidance when keys are unavailable."""

import re
import time
from html.parser import HTMLParser

import pytest

from tests.support.accounts import ADMIN_EMAIL, bearer, login_client

ACCOUNT = "/account/"
KEYS_API = "/api/v1/auths/api_keys"
NEW_KEY = re.compile(rb'id="new-key" value="([^"]+)"')


def create(client, name="CI", **fields) -> dict:
    """Generate a key on the page; returns its listed fields and the secret shown once."""
    response = client.post("/account/keys", data={"name": name, "expiry": "never", **fields})
    assert response.status_code == 302, response.data
    secret = shown_key(client.get(ACCOUNT))
    item = next(i for i in client.get(KEYS_API).get_json()["items"] if i["name"] == name)
    return {**item, "secret": secret}


def shown_key(response) -> str | None:
    found = NEW_KEY.search(response.data)
    return found.group(1).decode() if found else None


def key_fields(client, key_id: str) -> dict:
    return next(i for i in client.get(KEYS_API).get_json()["items"] if i["id"] == key_id)


def works(app, secret: str) -> int:
    return app.test_client().get("/api/v1/auths/", headers=bearer(secret)).status_code


class IdCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.ids += [value for name, value in attrs if name == "id"]


def messages(html: bytes) -> str:
    """The text of the page's flashes and field errors."""
    found = re.findall(rb'<(?:div class="flash[^"]*"|small class="error")[^>]*>(.*?)</', html, re.S)
    return " ".join(text.decode() for text in found)


def duplicate_ids(html: bytes) -> list[str]:
    collector = IdCollector()
    collector.feed(html.decode())
    return sorted({i for i in collector.ids if collector.ids.count(i) > 1})


# --- the secret, shown once -----------------------------------------------------------------


def test_creating_redirects_and_the_next_page_shows_the_key_once(app, bob):
    response = bob.post("/account/keys", data={"name": "Monitoring Bot", "expiry": "never"})
    assert response.status_code == 302
    assert response.location.endswith("/account/#new-key-box")
    assert b"sk-" not in response.data

    shown = bob.get(ACCOUNT)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    secret = shown_key(shown)
    assert secret and works(app, secret) == 200
    assert b"API key &#39;Monitoring Bot&#39; created." in shown.data
    assert b"data-unsaved-secret" in shown.data

    reloaded = bob.get(ACCOUNT)  # what the browser's reload does after the redirect
    assert reloaded.status_code == 200
    assert shown_key(reloaded) is None and secret.encode() not in reloaded.data
    assert b"created." not in reloaded.data and b"flash-error" not in reloaded.data
    assert reloaded.headers["Cache-Control"] == "no-store"
    assert [i["name"] for i in bob.get(KEYS_API).get_json()["items"]] == ["Monitoring Bot"]


def test_the_secret_in_the_session_cookie_is_sealed(app, bob):
    bob.post("/account/keys", data={"name": "CI", "expiry": "never"})
    cookie = bob.get_cookie("session").value
    secret = shown_key(bob.get(ACCOUNT))
    assert secret and secret not in cookie
    # The cookie is signed but readable: not even the secret's visible part is in it.
    assert secret[len("sk-webui_") :][:8] not in cookie


def test_a_refused_key_keeps_the_form_and_flashes(bob):
    create(bob, "CI")
    response = bob.post(
        "/account/keys",
        data={
            "name": "CI",
            "expiry": "never",
            "allowed_endpoints": "/api/models",
            "rate_limit": "7",
        },
    )
    assert response.status_code == 400
    assert b"The key was not created" in response.data
    assert b"You already have a key named &#39;CI&#39;; choose another name." in response.data
    assert b"name: " not in response.data
    assert b'value="/api/models"' in response.data and b'value="7"' in response.data


# --- changing a key on its page ----------------------------------------------------------------


def test_the_key_page_shows_the_key_as_it_is(bob):
    key = create(bob, "CI", allowed_endpoints="/api/models, /api/v1/knowledge/abc", rate_limit="9")
    page = bob.get(f"/account/keys/{key['id']}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.data.decode()
    assert 'value="CI"' in html and 'value="9"' in html
    # A path the server offers is ticked; one it does not offer stays in the text field.
    assert re.search(r'value="/api/models" id="[^"]+" checked>', html)
    assert 'value="/api/v1/knowledge/abc"' in html
    assert "Keep: never" in html
    assert duplicate_ids(page.data) == []


def test_rename_restrict_and_extend_on_the_key_page(app, bob):
    key = create(bob, "CI")
    response = bob.post(
        f"/account/keys/{key['id']}",
        data={
            "name": "CI nightly",
            "expiry": "date",
            "expiry_date": "2099-01-31",
            "endpoints": ["/api/models", "/api/v1/files"],
            "allowed_endpoints": "/api/v1/knowledge/abc",
            "read_only": "y",
            "rate_limit": "12",
        },
    )
    assert response.status_code == 302
    page = bob.get(ACCOUNT)
    assert b"API key &#39;CI nightly&#39; saved." in page.data
    changed = key_fields(bob, key["id"])
    assert changed["name"] == "CI nightly"
    assert time.strftime("%Y-%m-%d", time.gmtime(changed["expires_at"] - 1)) == "2099-01-31"
    assert changed["allowed_endpoints"] == ["/api/models", "/api/v1/files", "/api/v1/knowledge/abc"]
    assert changed["read_only"] is True and changed["rate_limit_per_minute"] == 12
    assert changed["prefix"] == key["prefix"] and works(app, key["secret"]) == 403
    expiry_option = '<option selected value="keep">Keep: 2099-02-01 00:00 UTC</option>'
    assert expiry_option in bob.get(f"/account/keys/{key['id']}").data.decode()

    # Keeping the expiry and clearing the restrictions.
    bob.post(f"/account/keys/{key['id']}", data={"name": "CI nightly", "expiry": "keep"})
    cleared = key_fields(bob, key["id"])
    assert cleared["expires_at"] == changed["expires_at"]
    assert cleared["allowed_endpoints"] is None and cleared["read_only"] is False
    assert cleared["rate_limit_per_minute"] is None and works(app, key["secret"]) == 200


def test_an_empty_endpoint_list_set_through_the_api_survives_the_page(bob):
    key = create(bob, "CI")
    bob.post(f"{KEYS_API}/{key['id']}", json={"allowed_endpoints": []})
    bob.post(f"/account/keys/{key['id']}", data={"name": "renamed", "expiry": "keep"})
    assert key_fields(bob, key["id"])["allowed_endpoints"] == []


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": ""}, b"Give the key a name"),
        ({"name": "Other"}, b"You already have a key named &#39;Other&#39;; choose another name."),
        ({"rate_limit": "lots"}, b"Requests per minute must be a whole number from 1"),
        ({"allowed_endpoints": "api/models"}, b"Allowed endpoints: &#39;api/models&#39; must"),
        (
            {"expiry": "date", "expiry_date": "2001-01-01"},
            b"The expiry date must be in the future.",
        ),
        ({"expiry": "date"}, b"Pick the date"),
        ({"endpoints": ["/not/offered"]}, b"not a valid choice"),
    ],
)
def test_bad_changes_flash_keep_the_form_and_change_nothing(bob, form, message):
    create(bob, "Other")
    key = create(bob, "CI")
    data = {"name": "CI", "expiry": "keep", **form}
    response = bob.post(f"/account/keys/{key['id']}", data=data)
    assert response.status_code == 400
    assert b"The key was not changed; see the message below." in response.data
    assert message in response.data
    said = messages(response.data)
    for api_word in ("rate_limit", "expires_at", "allowed_endpoints", "or null", "name: "):
        assert api_word not in said
    for value in form.values():
        if isinstance(value, str) and value:
            assert f'value="{value}"'.encode() in response.data
    after = key_fields(bob, key["id"])
    assert {
        k: after[k] for k in ("name", "expires_at", "allowed_endpoints", "rate_limit_per_minute")
    } == {k: key[k] for k in ("name", "expires_at", "allowed_endpoints", "rate_limit_per_minute")}


def test_expiry_is_held_to_the_administrators_maximum(bob, save_settings):
    key = create(bob, "CI")
    save_settings(API_KEYS_MAX_LIFETIME_DAYS=30)
    page = bob.get(f"/account/keys/{key['id']}").data.decode()
    assert 'value="never"' not in page and 'value="keep"' in page and 'value="30"' in page

    too_late = bob.post(
        f"/account/keys/{key['id']}",
        data={"name": "CI", "expiry": "date", "expiry_date": "2099-01-31"},
    )
    assert too_late.status_code == 400
    assert b"Keys must expire within 30 days (the administrator&#39;s maximum)" in too_late.data
    assert b"API_KEYS_MAX_LIFETIME_DAYS" not in too_late.data

    extended = bob.post(f"/account/keys/{key['id']}", data={"name": "CI", "expiry": "30"})
    assert extended.status_code == 302
    expires = key_fields(bob, key["id"])["expires_at"]
    assert 29 * 86400 < expires - time.time() <= 30 * 86400


def test_keeping_an_expiry_past_a_newer_maximum_asks_for_one(bob, save_settings):
    key = create(bob, "CI")  # never expires
    save_settings(API_KEYS_MAX_LIFETIME_DAYS=30)
    kept = bob.post(f"/account/keys/{key['id']}", data={"name": "renamed", "expiry": "keep"})
    assert kept.status_code == 400
    assert (
        b"This key never expires, but keys must now expire within 30 days "
        b"(the administrator&#39;s maximum); choose when it expires." in kept.data
    )
    assert b'value="renamed"' in kept.data and key_fields(bob, key["id"])["name"] == "CI"

    chosen = bob.post(f"/account/keys/{key['id']}", data={"name": "renamed", "expiry": "7"})
    assert chosen.status_code == 302
    changed = key_fields(bob, key["id"])
    assert changed["name"] == "renamed" and 6 * 86400 < changed["expires_at"] - time.time()


# --- rotating and deleting ------------------------------------------------------------------


def test_rotating_shows_the_new_secret_once_and_the_old_one_stops(app, bob):
    key = create(bob, "CI", rate_limit="50")
    assert works(app, key["secret"]) == 200
    response = bob.post(f"/account/keys/{key['id']}/rotate")
    assert response.status_code == 302 and response.location.endswith("#new-key-box")

    page = bob.get(ACCOUNT)
    assert page.headers["Cache-Control"] == "no-store"
    assert b"has a new secret; the old one no longer works." in page.data
    secret = shown_key(page)
    assert secret and secret != key["secret"]
    assert works(app, key["secret"]) == 401 and works(app, secret) == 200
    assert shown_key(bob.get(ACCOUNT)) is None

    rotated = key_fields(bob, key["id"])
    assert rotated["name"] == "CI" and rotated["rate_limit_per_minute"] == 50
    assert rotated["created_at"] == key["created_at"] and rotated["last_used_at"] is not None


def test_rotating_under_a_maximum_says_the_expiry_it_now_has(app, bob, save_settings):
    key = create(bob, "CI")  # never expires
    save_settings(API_KEYS_MAX_LIFETIME_DAYS=30)
    assert bob.post(f"/account/keys/{key['id']}/rotate").status_code == 302
    page = bob.get(ACCOUNT)
    expires = key_fields(bob, key["id"])["expires_at"]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires))
    assert f"It now expires on {when}: the administrator&#39;s maximum lifetime.".encode() in (
        page.data
    )
    assert works(app, shown_key(page)) == 200


def test_an_owner_without_the_permission_may_delete_a_key_but_not_change_it(
    app, bob, save_settings
):
    key = create(bob, "CI")
    save_settings(USER_PERMISSIONS_FEATURES_API_KEYS=False)
    page = bob.get(f"/account/keys/{key['id']}")
    assert b'id="key-locked"' in page.data and b"features.api_keys" in page.data
    assert f'action="/account/keys/{key["id"]}"'.encode() not in page.data
    assert b">Rotate</button>" not in page.data and b">Delete</button>" in page.data

    refused = bob.post(f"/account/keys/{key['id']}", data={"name": "renamed", "expiry": "keep"})
    assert refused.status_code == 403
    assert b"lacks the API Keys permission" in refused.data
    assert key_fields(bob, key["id"])["name"] == "CI"

    assert bob.post(f"/account/keys/{key['id']}/delete").status_code == 302
    assert b"API key &#39;CI&#39; deleted." in bob.get(ACCOUNT).data
    assert bob.get(KEYS_API).get_json()["items"] == []


def test_rotating_is_refused_while_keys_are_switched_off(bob, save_settings):
    key = create(bob, "CI")
    save_settings(ENABLE_API_KEYS=False)
    assert b">Rotate</button>" not in bob.get(ACCOUNT).data
    bob.post(f"/account/keys/{key['id']}/rotate")
    page = bob.get(ACCOUNT)
    assert b"The key was not rotated: API keys are turned off" in page.data
    assert shown_key(page) is None


def test_deleting_asks_first_and_redirects(bob):
    key = create(bob, "CI")
    html = bob.get(ACCOUNT).data.decode()
    assert 'data-confirm="Delete the API key CI? Scripts using it stop working at once."' in html
    response = bob.post(f"/account/keys/{key['id']}/delete")
    assert response.status_code == 302
    assert b"API key &#39;CI&#39; deleted." in bob.get(ACCOUNT).data
    assert bob.get(KEYS_API).get_json()["items"] == []


def test_another_persons_key_is_not_found_on_the_pages(app, bob):
    key = create(bob, "CI")
    admin = login_client(app, ADMIN_EMAIL)
    assert admin.get(f"/account/keys/{key['id']}").status_code == 404
    for action in ("", "/rotate", "/delete"):
        path = f"/account/keys/{key['id']}{action}"
        assert admin.post(path, data={"name": "mine", "expiry": "keep"}).status_code == 404, path
    assert key_fields(bob, key["id"])["prefix"] == key["prefix"]
    assert works(app, key["secret"]) == 200


def test_keys_cannot_use_the_key_pages(app, bob):
    key = create(bob, "CI")
    script = app.test_client()
    for path in (f"/account/keys/{key['id']}", f"/account/keys/{key['id']}/rotate"):
        assert script.post(path, headers=bearer(key["secret"])).status_code == 403


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


def test_the_key_forms_need_the_csrf_token(csrf_on, app, bob, make_key):
    bob_id = bob.get("/api/v1/auths/").get_json()["id"]
    key = {"secret": make_key(bob_id, "CI")}
    key["id"] = bob.get(KEYS_API).get_json()["items"][0]["id"]
    for action in ("", "/rotate"):
        response = bob.post(f"/account/keys/{key['id']}{action}", data={"name": "x"})
        assert response.status_code == 400
    assert key_fields(bob, key["id"])["name"] == "CI"
    assert works(app, key["secret"]) == 200


# --- the page itself ------------------------------------------------------------------------


def test_no_duplicate_ids_with_keys_and_a_new_key_shown(bob):
    create(bob, "One")
    bob.post("/account/keys", data={"name": "Two", "expiry": "never"})
    page = bob.get(ACCOUNT)
    assert shown_key(page) and duplicate_ids(page.data) == []
    refused = bob.post("/account/keys", data={"name": "", "expiry": "never"})
    assert duplicate_ids(refused.data) == []


def test_endpoints_are_offered_from_the_apis_own_routes(bob):
    html = bob.get(ACCOUNT).data.decode()
    offered = re.findall(r'name="endpoints" type="checkbox" value="([^"]+)"', html)
    assert {"/api/models", "/api/chat/completions", "/api/v1/files", "/ollama/api/chat"} <= set(
        offered
    )
    assert not [path for path in offered if "<" in path]
    assert 'name="allowed_endpoints"' in html


def test_an_empty_list_points_to_the_next_step(bob):
    html = bob.get(ACCOUNT).data.decode()
    assert 'id="no-keys"' in html and "Generate one above" in html
    assert "<table" not in html[html.index('id="api-keys"') : html.index("<h2>Profile")]
    create(bob, "CI")
    assert 'id="no-keys"' not in bob.get(ACCOUNT).data.decode()


# --- "Can't see the API Keys section?" --------------------------------------------------------


def guidance(client) -> dict:
    html = client.get(ACCOUNT).data.decode()
    start = html.find('id="keys-help"')
    box = html[start : html.index("</div>", start)] if start >= 0 else ""
    return {
        "shown": "see the API Keys section?" in box,
        "off": 'id="keys-off"' in box,
        "no permission": 'id="keys-not-permitted"' in box,
        "form": "Generate New API Key" in html,
        "settings link": 'href="/admin/settings"' in box,
        "groups link": 'href="/admin/groups"' in box,
    }


def test_guidance_is_hidden_when_keys_can_be_made(app, bob):
    for person in (bob, login_client(app, ADMIN_EMAIL)):
        assert guidance(person) == {
            "shown": False,
            "off": False,
            "no permission": False,
            "form": True,
            "settings link": False,
            "groups link": False,
        }


def test_guidance_when_the_switch_is_off_links_admins_to_the_setting(app, bob, save_settings):
    save_settings(ENABLE_API_KEYS=False)
    admin = guidance(login_client(app, ADMIN_EMAIL))
    assert admin == {
        "shown": True,
        "off": True,
        "no permission": False,
        "form": False,
        "settings link": True,
        "groups link": False,
    }
    user = guidance(bob)
    assert user["shown"] and user["off"] and not user["no permission"]
    assert not user["settings link"] and not user["form"]


def test_guidance_when_the_person_lacks_the_permission(app, bob, make_user, save_settings):
    make_user("carol@example.com")
    carol = login_client(app, "carol@example.com")
    save_settings(USER_PERMISSIONS_FEATURES_API_KEYS=False)
    for person in (bob, carol):
        assert guidance(person) == {
            "shown": True,
            "off": False,
            "no permission": True,
            "form": False,
            "settings link": False,
            "groups link": False,
        }
    save_settings(ENABLE_API_KEYS=False)
    both = guidance(carol)
    assert both["off"] and both["no permission"]
