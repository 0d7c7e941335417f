"""The per-request work the guard skips (issue 17) is work nobody needed: a request without a
session cookie never asks Flask-Login, a keyed request never touches the session, and the
cached /api/models answer is byte for byte what jsonify would write."""

import pytest
from flask import Flask, jsonify
from flask_login import user_accessed

from tests.support.accounts import bearer, login_client
from webui.security import key_format
from webui.services import model_access


@pytest.fixture
def logins(app):
    """How many times Flask-Login loaded a user (its ``user_accessed`` signal)."""
    seen = []

    def count(_sender, **_extra):
        seen.append(1)

    user_accessed.connect(count, app)
    yield seen
    user_accessed.disconnect(count, app)


@pytest.fixture
def ada(make_user, make_key, save_settings):
    make_user("root@example.com", role="admin")
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    ada_id = make_user("ada@example.com")
    return make_key(ada_id, "bot")


def test_a_request_without_cookies_opens_no_session_and_loads_no_user(client, logins):
    response = client.get("/health")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Vary"] == "Cookie"  # as Flask says: the guard read the session
    assert logins == []


def test_a_page_that_needs_sign_in_still_redirects_without_cookies(client, logins):
    response = client.get("/account/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    assert logins == []


def test_a_keyed_request_leaves_the_session_and_flask_login_alone(app, ada, logins):
    browser = login_client(app, "ada@example.com")  # a session cookie the request also sends
    logins.clear()
    response = browser.get("/api/v1/auths/", headers=bearer(ada))
    assert response.status_code == 200
    assert response.get_json()["email"] == "ada@example.com"
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    assert logins == []


def test_a_signed_in_browser_is_still_loaded_through_flask_login(app, ada, logins):
    browser = login_client(app, "ada@example.com")
    logins.clear()
    response = browser.get("/api/v1/auths/")
    assert response.status_code == 200
    assert response.get_json()["email"] == "ada@example.com"
    assert logins == [1]
    assert "Set-Cookie" not in response.headers  # an untouched session is not written again


def test_models_are_answered_as_jsonify_writes_them(app, make_user, make_key, connected_upstreams):
    admin = make_user("root@example.com", role="admin")
    key = make_key(admin, "bot")
    client = app.test_client()
    first = client.get("/api/models", headers=bearer(key))
    again = client.get("/api/models", headers=bearer(key))
    assert first.status_code == again.status_code == 200
    assert first.mimetype == "application/json"
    with app.test_request_context():
        expected = jsonify(data=model_access.all_models()).get_data()
    assert first.get_data() == again.get_data() == expected


def test_the_guard_is_the_only_before_request_hook(app):
    # Flask-WTF's own hook returns at once with WTF_CSRF_CHECK_DEFAULT off (the guard calls
    # csrf.protect itself; tests/test_csrf.py shows it still refuses a missing token).
    hooks = app.before_request_funcs[None]
    assert [f"{hook.__module__}.{hook.__name__}" for hook in hooks] == [
        "webui.security.guard.check_request"
    ]


def test_each_view_and_hook_is_checked_for_a_coroutine_once(app, monkeypatch):
    checked = []
    original = Flask.ensure_sync

    def counting(self, func):
        checked.append(func)
        return original(self, func)

    monkeypatch.setattr(Flask, "ensure_sync", counting)
    app._sync_callables.clear()
    client = app.test_client()
    for _ in range(3):
        assert client.get("/health").status_code == 200
    assert checked  # the first request asked Flask
    assert len(checked) == len(set(checked))  # and no function was asked about twice


def test_the_remembered_functions_stay_bounded(app):
    app._sync_callables.clear()
    for number in range(app._MOST_REMEMBERED + 10):
        func = (lambda n: lambda: n)(number)  # a new closure each time, as per-request ones are
        assert app.ensure_sync(func) is func
    assert len(app._sync_callables) <= app._MOST_REMEMBERED


def test_a_coroutine_function_is_still_handed_to_flask(app):
    async def view():
        return "done"

    # Flask refuses (or wraps) a coroutine function; it must not come back unchanged.
    try:
        wrapped = app.ensure_sync(view)
    except RuntimeError as error:  # Flask without its async extra says so
        assert "async" in str(error)
    else:
        assert wrapped is not view


def test_the_bearer_credential_is_parsed_once_a_request(app, ada, monkeypatch):
    parsed = []
    original = key_format.bearer_token

    def counting(value):
        parsed.append(value)
        return original(value)

    monkeypatch.setattr(key_format, "bearer_token", counting)
    response = app.test_client().get("/api/v1/auths/", headers=bearer(ada))
    assert response.status_code == 200
    assert parsed == [f"Bearer {ada}"]  # the session interface and the guard share it
