"""Errors on the OpenAI-shaped routes carry Open WebUI's ``detail`` and OpenAI's
``error: {message, type, param, code}``, so the official SDKs show our reason."""

import openai
import pytest

from tests.support.accounts import bearer, login_client

HELLO = [{"role": "user", "content": "Say hello"}]
CHAT = {"model": "no-such-model", "messages": HELLO}


@pytest.fixture
def key(make_user, make_key, connected_upstreams):
    make_user("root@example.com", role="admin")
    return make_key(make_user("ada@example.com"), "bot")


def assert_both_shapes(response, status: int, kind: str) -> str:
    assert response.status_code == status
    body = response.get_json()
    assert set(body) == {"detail", "error"}
    assert body["error"] == {
        "message": body["detail"],
        "type": kind,
        "param": None,
        "code": status,
    }
    return body["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/chat/completions",
        "/api/v1/chat/completions",
        "/openai/chat/completions",
        "/ollama/v1/chat/completions",
    ],
)
def test_chat_completion_errors_carry_both_shapes(client, key, path):
    response = client.post(path, headers=bearer(key), json=CHAT)
    assert assert_both_shapes(response, 400, "invalid_request_error") == "Model not found"


def test_a_body_that_is_not_json_carries_both_shapes(client, key):
    response = client.post(
        "/api/chat/completions", headers=bearer(key), data="hi", content_type="text/plain"
    )
    assert "Content-Type: application/json" in assert_both_shapes(
        response, 415, "invalid_request_error"
    )


@pytest.mark.parametrize("path", ["/api/models", "/api/v1/models", "/openai/models"])
def test_a_bad_key_on_the_model_list_carries_both_shapes(client, key, path):
    response = client.get(path, headers=bearer("sk-" + "0" * 48))
    assert_both_shapes(response, 401, "authentication_error")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_missing_connection_carries_both_shapes(app, key):
    admin = login_client(app, "root@example.com")
    response = admin.get("/openai/models/99")
    assert "position 99" in assert_both_shapes(response, 404, "not_found_error")


def test_other_api_routes_keep_only_detail(client, key):
    response = client.get("/api/v1/chats/no-such-chat", headers=bearer(key))
    assert response.status_code == 404
    assert set(response.get_json()) == {"detail"}
    response = client.post("/ollama/api/chat", headers=bearer(key), json=CHAT)
    assert set(response.get_json()) == {"detail"}


@pytest.mark.slow
@pytest.mark.parametrize("base", ["/api", "/api/v1", "/openai", "/ollama/v1"])
def test_the_openai_sdk_shows_our_reason(live_server, key, base):
    sdk = openai.OpenAI(base_url=live_server.url + base, api_key=key, max_retries=0)
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.chat.completions.create(**CHAT)
    assert "Model not found" in str(raised.value)
    assert raised.value.type == "invalid_request_error"

    stranger = openai.OpenAI(
        base_url=live_server.url + base, api_key="sk-" + "0" * 48, max_retries=0
    )
    with pytest.raises(openai.AuthenticationError) as refused:
        stranger.models.list()
    detail = refused.value.response.json()["detail"]
    assert detail and detail in str(refused.value)
