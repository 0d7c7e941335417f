"""Malformed input gets a 4xx that says what is wrong, never a 500: JSON bodies (read in one
place, ``api/payloads.py``), page forms, text no database stores, the next= target after
sign-in, and model lists from an upstream. ``test_fuzz.py`` sweeps every route; these pin
each rule down."""

import html

import pytest

from tests.support.accounts import ADMIN_EMAIL, PASSWORD, bearer, login_client
from tests.support.fake_upstream import connection_settings, running_upstream
from webui.core import parsers

SIGNIN = "/api/v1/auths/signin"
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def admin(make_user, save_settings, app):
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    make_user(ADMIN_EMAIL, role="admin")
    return login_client(app, ADMIN_EMAIL)


def detail(response) -> str:
    body = response.get_json()
    assert isinstance(body, dict) and isinstance(body["detail"], str), response.data[:200]
    return body["detail"]


# --- JSON bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"email":' * 50_000, b'{"email": ' + b"[" * 200 + b"]" * 200 + b"}"],
    ids=["arrays", "objects", "closed"],
)
def test_deep_nesting_is_a_400_even_before_sign_in(client, make_user, body):
    make_user(ADMIN_EMAIL, role="admin")
    response = client.post(SIGNIN, data=body, content_type="application/json")
    assert response.status_code == 400
    assert "more than 64 levels deep" in detail(response)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "Ada\ud800", "email": "ada@example.com", "password": PASSWORD}, "name"),
        ({"name": "Ada", "email": "ada@example.com", "password": "\udfff" * 9}, "password"),
        (
            {"name": "Ada", "email": "ada@example.com", "password": PASSWORD, "\ud800": 1},
            "field name",
        ),
    ],
    ids=["value", "password", "key"],
)
def test_lone_surrogates_are_a_400_naming_the_field(client, count_users, body, field):
    response = client.post("/api/v1/auths/signup", json=body)
    assert response.status_code == 400
    assert field in detail(response) and "lone surrogate" in detail(response)
    assert count_users() == 0


def test_a_surrogate_deep_in_a_chat_is_named_and_never_sent_upstream(
    client, make_user, make_key, connected_upstreams, openai_up
):
    key = make_key(make_user("bot@example.com"), "bot")
    messages = [{"role": "user", "content": "fine"}, {"role": "user", "content": "x\ud800"}]
    response = client.post(
        "/api/chat/completions",
        json={"model": "gpt-test", "messages": messages},
        headers=bearer(key),
    )
    assert response.status_code == 400
    assert "messages[1].content" in detail(response)
    assert openai_up.calls("/v1/chat/completions") == []


@pytest.mark.parametrize(
    "raw, words",
    [
        (b'"temperature": 1e999', "too large"),
        (b'"temperature": NaN', "not a JSON number"),
        (b'"seed": -Infinity', "not a JSON number"),
        (b'"seed": 1' + b"0" * 400, "more than 19 digits"),
    ],
)
def test_numbers_json_cannot_carry_are_a_400(
    client, make_user, make_key, connected_upstreams, raw, words
):
    key = make_key(make_user("bot@example.com"), "bot")
    body = b'{"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}], ' + raw + b"}"
    response = client.post(
        "/api/chat/completions", data=body, content_type="application/json", headers=bearer(key)
    )
    assert response.status_code == 400
    assert words in detail(response)


def test_nul_characters_in_json_are_a_400(admin):
    response = admin.post("/api/v1/groups/create", json={"name": "Ops\x00"})
    assert response.status_code == 400
    assert "The field name holds a NUL character" in detail(response)
    assert admin.get("/api/v1/groups/").get_json() == []


def test_json_bodies_need_a_json_content_type(client, make_user):
    """A form on another site can send text/plain or a form, never application/json: such a
    body must not sign anyone in (or change anything)."""
    make_user(ADMIN_EMAIL, role="admin")
    body = f'{{"email": "{ADMIN_EMAIL}", "password": "{PASSWORD}"}}'
    for content_type in ["text/plain", "application/x-www-form-urlencoded", None]:
        response = client.post(SIGNIN, data=body, content_type=content_type)
        assert response.status_code == 415, content_type
        assert "Content-Type: application/json" in detail(response)
        assert "Set-Cookie" not in response.headers
    assert client.get("/api/v1/auths/").status_code == 401


def test_a_json_content_type_with_a_charset_is_json(client, make_user):
    make_user(ADMIN_EMAIL, role="admin")
    body = f'{{"email": "{ADMIN_EMAIL}", "password": "{PASSWORD}"}}'
    response = client.post(SIGNIN, data=body, content_type="application/json; charset=utf-8")
    assert response.status_code == 200
    assert response.get_json()["email"] == ADMIN_EMAIL


def test_parse_json_names_places_and_keeps_what_is_fine():
    assert parsers.parse_json(b'{"a": [1, 2.5, "\\u00e9", {"b": null}]}') == {
        "a": [1, 2.5, "é", {"b": None}]
    }
    assert parsers.parse_json(b"[" * 64 + b"]" * 64) is not None
    with pytest.raises(ValueError, match=r"The field a\[3\]\.b holds a lone surrogate"):
        parsers.parse_json(b'{"a": [1, 2, 3, {"b": "\\udc00"}]}')
    with pytest.raises(ValueError, match="more than 64 levels deep"):
        parsers.parse_json(b"[" * 65 + b"]" * 65)
    with pytest.raises(ValueError, match="not UTF-8"):
        parsers.parse_json(b'{"a": "\xff"}')


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b"[" * 100_000, b'{"name": "x\\ud800"}', b'"text"'],
    ids=["list", "deep", "surrogate", "string"],
)
def test_pages_read_forms_not_json(admin, body):
    response = admin.post("/account/profile", data=body, content_type="application/json")
    assert response.status_code == 400
    assert b"Your profile was not saved" in response.data


def test_the_sign_in_page_is_not_a_json_endpoint(client, make_user):
    make_user(ADMIN_EMAIL, role="admin")
    response = client.post("/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD})
    assert response.status_code == 200  # the form again: nothing was submitted
    assert client.get("/api/v1/auths/").status_code == 401


def test_a_key_expiring_after_the_last_date_is_refused_on_the_form(admin):
    response = admin.post(
        "/account/keys", data={"name": "Far", "expiry": "date", "expiry_date": "9999-12-31"}
    )
    assert response.status_code == 400
    assert b"Choose a date within 100 years, or Never." in response.data


# --- text no database stores -----------------------------------------------------------------


def message(response) -> str:
    """The detail on the API, the page's text elsewhere."""
    return detail(response) if response.is_json else html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize(
    "path, where",
    [
        ("/api/v1/audit?actor_id=%00", "The query parameter 'actor_id'"),
        ("/api/v1/files/a%00b", "The path"),
        ("/workspace/knowledge?q=%00", "The query parameter 'q'"),
    ],
)
def test_nul_characters_in_paths_and_queries_are_a_400(admin, path, where):
    response = admin.get(path)
    assert response.status_code == 400
    assert f"{where} holds a NUL character" in message(response)


def test_nul_characters_in_forms_are_a_400_and_nothing_is_saved(admin):
    response = admin.post("/admin/groups", data={"name": "Ops\x00", "description": "x"})
    assert response.status_code == 400
    assert "The form field 'name' holds a NUL character" in message(response)
    assert admin.get("/api/v1/groups/").get_json() == []


def multipart_part(disposition: str, value: str) -> bytes:
    return f"--B\r\nContent-Disposition: {disposition}\r\n\r\n{value}\r\n--B--\r\n".encode()


@pytest.mark.parametrize(
    "value, answer",
    [
        ("hello\x00", "The form field '' holds a NUL character"),
        ("hello", "No file received: the multipart field must be named 'file'."),
    ],
)
def test_a_multipart_part_without_a_name_is_a_400(admin, value, answer):
    response = admin.post(
        "/api/v1/files/",
        data=multipart_part("form-data", value),
        content_type="multipart/form-data; boundary=B",
    )
    assert response.status_code == 400
    assert answer in message(response)


# --- after sign-in ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/account/\r\nSet-Cookie: stolen=1",
        "/x\nLocation: https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "https://evil.example/",
        "/ /evil.example",
        "account",
    ],
)
def test_next_after_sign_in_stays_on_this_site(client, make_user, target):
    make_user(ADMIN_EMAIL, role="admin")
    response = client.post(
        "/auth/login",
        query_string={"next": target},
        data={"email": ADMIN_EMAIL, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/chat"


def test_next_keeps_a_path_with_its_query(client, make_user):
    make_user(ADMIN_EMAIL, role="admin")
    response = client.post(
        "/auth/login",
        query_string={"next": "/workspace/knowledge?q=²"},
        data={"email": ADMIN_EMAIL, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/workspace/knowledge?q=%C2%B2"


# --- what upstreams answer --------------------------------------------------------------------


def test_an_ollama_model_list_with_a_name_that_is_not_text_is_skipped(
    client, make_user, make_key, save_settings, openai_up
):
    with running_upstream(ollama_models=[["not", "a", "name"]]) as odd_ollama:
        save_settings(
            ENABLE_API_KEYS=True,
            USER_PERMISSIONS_FEATURES_API_KEYS=True,
            **connection_settings(openai_up, odd_ollama),
        )
        key = make_key(make_user("bot@example.com"), "bot")
        response = client.get("/api/models", headers=bearer(key))
    assert response.status_code == 200
    assert {model["id"] for model in response.get_json()["data"]} == {"gpt-test", "gpt-secret"}
