"""Connections, /api/models, chat completions, the Ollama proxy and usage, through the test client
against a real fake upstream on a loopback port."""

import json

import pytest
import sqlalchemy as sa

from tests.support.accounts import bearer, login_client
from tests.support.chromium import sign_in
from tests.support.fake_upstream import UPSTREAM_KEY, connection_settings, running_upstream
from webui.core import catalog
from webui.extensions import db
from webui.models import SettingRow, Usage
from webui.services import connections, model_access
from webui.services.usage import totals_per_user, usage_by_key

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def app_config(app_config):
    # Short timeouts so "hang" tests finish quickly; the hang itself lasts longer.
    return {**app_config, "AIOHTTP_CLIENT_TIMEOUT": 1, "AIOHTTP_CLIENT_TIMEOUT_MODEL_LIST": 1}


@pytest.fixture
def people(make_user, make_key, connected_upstreams):
    """An admin and a user with keys, and the app pointed at both fake upstreams."""
    admin = make_user("root@example.com", role="admin")
    user = make_user("ada@example.com")
    return {
        "admin": admin,
        "user": user,
        "admin_key": make_key(admin, "admin bot"),
        "user_key": make_key(user, "monitoring bot"),
    }


def model_ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [model["id"] for model in response.get_json()["data"]]


def restrict(app, model_id: str, group_ids=()):
    with app.app_context():
        model_access.set_access(model_id, public=False, group_ids=list(group_ids), actor_id=None)


def usage_rows(app) -> list[Usage]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Usage).order_by(Usage.created_at, Usage.id)).all()
        db.session.expunge_all()
        return rows


def sse_data(text: str) -> list[str]:
    return [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]


# --- connections as settings ------------------------------------------------------------------


def test_defaults_point_at_a_local_ollama(app):
    with app.test_request_context():
        conns = connections.connections("ollama")
        assert [c.base_url for c in conns] == ["http://localhost:11434"]
        assert connections.api_enabled("ollama")


def test_upstream_keys_are_sealed_in_the_database_and_masked(app, save_settings, openai_up):
    save_settings(**connection_settings(openai=openai_up))
    with app.test_request_context():
        stored = db.session.get(SettingRow, "OPENAI_API_KEYS").value
        assert UPSTREAM_KEY not in json.dumps(stored)
        (conn,) = connections.connections("openai")
        assert conn.api_key == UPSTREAM_KEY
        assert UPSTREAM_KEY not in repr(conn)
        assert conn.masked_key == "sk-…cdef"


@pytest.mark.parametrize(
    "value, message",
    [
        ("ftp://example.com", "http"),
        ("http://user:secret@example.com", "credentials"),
        ("http://example.com/?key=1", "query"),
    ],
)
def test_bad_base_urls_are_refused(value, message):
    with pytest.raises(ValueError, match=message):
        catalog.parse_base_urls(value)


def test_environment_lists_are_semicolon_separated():
    assert catalog.parse_base_urls("http://a:1/v1/; http://b:2/v1") == [
        "http://a:1/v1",
        "http://b:2/v1",
    ]
    assert catalog.parse_api_keys("k1;;k3") == ["k1", "", "k3"]


# --- /api/models ----------------------------------------------------------------------------


def test_models_are_the_union_of_enabled_connections(client, people):
    response = client.get("/api/models", headers=bearer(people["user_key"]))
    data = response.get_json()["data"]
    by_id = {model["id"]: model for model in data}
    assert set(by_id) == {"gpt-test", "gpt-secret", "llama-test:latest", "embed-test:latest"}
    assert by_id["gpt-test"]["connection_type"] == "openai"
    assert by_id["gpt-test"]["owned_by"] == "test-org"
    assert by_id["llama-test:latest"]["connection_type"] == "ollama"
    assert by_id["llama-test:latest"]["connection"] == 0
    assert model_ids(client.get("/api/v1/models", headers=bearer(people["user_key"]))) == model_ids(
        response
    )


def test_models_need_a_credential(client, people):
    assert client.get("/api/models").status_code == 401


def test_unreachable_upstream_is_skipped(client, people, openai_up, save_settings):
    openai_up.set_mode("fail", "/v1/models")
    assert model_ids(
        client.get("/api/models?refresh=true", headers=bearer(people["user_key"]))
    ) == ["llama-test:latest", "embed-test:latest"]
    save_settings(OLLAMA_BASE_URLS=["http://127.0.0.1:9"])  # nothing listens on the discard port
    assert (
        model_ids(client.get("/api/models?refresh=true", headers=bearer(people["user_key"]))) == []
    )


def test_hanging_and_garbage_upstreams_are_skipped(client, people, openai_up, ollama_up):
    openai_up.set_mode("hang", "/v1/models")
    ollama_up.set_mode("garbage", "/api/tags")
    assert (
        model_ids(client.get("/api/models?refresh=true", headers=bearer(people["user_key"]))) == []
    )


def test_model_list_is_cached_until_refresh(client, people, openai_up):
    headers = bearer(people["user_key"])
    client.get("/api/models", headers=headers)
    openai_up.openai_models.append("gpt-new")
    assert "gpt-new" not in model_ids(client.get("/api/models", headers=headers))
    assert "gpt-new" in model_ids(client.get("/api/models?refresh=true", headers=headers))


def test_disabled_connection_and_switch_hide_models(client, people, save_settings):
    save_settings(OPENAI_API_CONFIGS={"0": {"enable": False}})
    assert model_ids(client.get("/api/models", headers=bearer(people["user_key"]))) == [
        "llama-test:latest",
        "embed-test:latest",
    ]
    save_settings(ENABLE_OLLAMA_API=False)
    assert model_ids(client.get("/api/models", headers=bearer(people["user_key"]))) == []


# --- access per model ----------------------------------------------------------------------------


def test_restricted_model_is_invisible_and_unusable_for_others(app, client, people):
    restrict(app, "gpt-secret")
    user_headers = bearer(people["user_key"])
    assert "gpt-secret" not in model_ids(client.get("/api/models", headers=user_headers))
    response = client.post(
        "/api/chat/completions",
        headers=user_headers,
        json={"model": "gpt-secret", "messages": HELLO},
    )
    assert response.status_code == 400
    assert response.get_json()["detail"] == "Model not found"
    # Admins see and use every model.
    admin_headers = bearer(people["admin_key"])
    assert "gpt-secret" in model_ids(client.get("/api/models", headers=admin_headers))
    assert (
        client.post(
            "/api/chat/completions",
            headers=admin_headers,
            json={"model": "gpt-secret", "messages": HELLO},
        ).status_code
        == 200
    )


def test_group_members_may_use_a_model_shared_with_their_group(
    app, client, people, make_user, make_key, make_group
):
    other = make_user("bob@example.com")
    other_key = make_key(other, "bob bot")
    group = make_group("Researchers", people["user"])
    restrict(app, "gpt-secret", [group])
    assert "gpt-secret" in model_ids(client.get("/api/models", headers=bearer(people["user_key"])))
    assert "gpt-secret" not in model_ids(client.get("/api/models", headers=bearer(other_key)))
    # The Ollama list follows the same rules.
    restrict(app, "llama-test:latest")
    tags = client.get("/ollama/api/tags", headers=bearer(other_key)).get_json()["models"]
    assert [tag["name"] for tag in tags] == ["embed-test:latest"]


# --- caches of other workers -------------------------------------------------------------------
# Each worker keeps its enabled connections and access rules under the settings version it
# last read; two app objects on one database stand in for two worker processes.


@pytest.fixture
def other_worker(app_config, people):
    from webui import create_app

    return create_app(app_config).test_client()


def test_a_model_restricted_through_one_worker_is_hidden_by_another_at_once(
    app, people, other_worker
):
    headers = bearer(people["user_key"])
    assert "gpt-secret" in model_ids(other_worker.get("/api/models", headers=headers))  # cached
    restrict(app, "gpt-secret")
    assert "gpt-secret" not in model_ids(other_worker.get("/api/models", headers=headers))
    response = other_worker.post(
        "/api/chat/completions", headers=headers, json={"model": "gpt-secret", "messages": HELLO}
    )
    assert response.status_code == 400


def test_a_connection_disabled_through_one_worker_is_dropped_by_another_at_once(
    people, other_worker, save_settings
):
    headers = bearer(people["user_key"])
    assert "gpt-test" in model_ids(other_worker.get("/api/models", headers=headers))  # cached
    save_settings(OPENAI_API_CONFIGS={"0": {"enable": False}})
    assert model_ids(other_worker.get("/api/models", headers=headers)) == [
        "llama-test:latest",
        "embed-test:latest",
    ]


def test_admin_models_page_sets_access(app, people, make_group):
    group = make_group("Ops", people["user"])
    admin = login_client(app, "root@example.com")
    page = admin.get("/admin/models")
    assert page.status_code == 200 and b"gpt-secret" in page.data
    response = admin.post(
        "/admin/models",
        data={"model_id": "gpt-secret", "access": "restricted", "group_ids": [group]},
        follow_redirects=True,
    )
    assert response.status_code == 200
    with app.app_context():
        rule = model_access.access_rules()["gpt-secret"]
        assert (rule.public, rule.group_ids) == (False, [group])
    user = login_client(app, "ada@example.com")
    assert user.get("/admin/models").status_code == 403


# --- chat completions ------------------------------------------------------------------------


def test_chat_is_forwarded_with_the_connections_credentials(client, people, openai_up, ollama_up):
    response = client.post(
        "/api/chat/completions",
        headers=bearer(people["user_key"]),
        json={
            "model": "gpt-test",
            "messages": HELLO,
            "temperature": 0.2,
        },
    )
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["choices"][0]["message"]["content"] == "Hello from upstream"
    sent = openai_up.last("/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert sent.body == {"model": "gpt-test", "messages": HELLO, "temperature": 0.2}
    # The caller's own key never travels upstream, and Ollama never sees the OpenAI key.
    assert all(people["user_key"] not in json.dumps(r.headers) for r in openai_up.requests)
    assert all("authorization" not in r.headers for r in ollama_up.requests)


def test_ollama_models_are_served_in_the_openai_shape(client, people, ollama_up):
    response = client.post(
        "/api/v1/chat/completions",
        headers=bearer(people["user_key"]),
        json={"model": "llama-test:latest", "messages": HELLO},
    )
    assert response.status_code == 200
    assert response.get_json()["object"] == "chat.completion"
    assert ollama_up.last("/v1/chat/completions").body["model"] == "llama-test:latest"


@pytest.mark.parametrize(
    "body, detail",
    [
        ({"messages": HELLO}, "model is required"),
        ({"model": "gpt-test"}, "messages is required"),
        ({"model": "gpt-test", "messages": "hi"}, "messages is required"),
        ({"model": "gpt-test", "messages": HELLO, "stream": "yes"}, "stream must be"),
        ({"model": "no-such-model", "messages": HELLO}, "Model not found"),
    ],
)
def test_bad_chat_requests_get_400(client, people, body, detail):
    response = client.post("/api/chat/completions", headers=bearer(people["user_key"]), json=body)
    assert response.status_code == 400
    assert detail in response.get_json()["detail"]


def test_chat_body_must_be_a_json_object(client, people):
    response = client.post(
        "/api/chat/completions",
        headers=bearer(people["user_key"]),
        data="[1]",
        content_type="application/json",
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "mode, status, words",
    [
        ("fail", 502, "answered 500"),
        ("hang", 504, "did not answer"),
        ("garbage", 502, "not a JSON"),
    ],
)
def test_upstream_failures_map_to_502_and_504(client, people, openai_up, mode, status, words):
    headers = bearer(people["user_key"])
    client.get("/api/models", headers=headers)
    openai_up.set_mode(mode, "/v1/chat/completions")
    response = client.post(
        "/api/chat/completions", headers=headers, json={"model": "gpt-test", "messages": HELLO}
    )
    assert response.status_code == status
    assert words in response.get_json()["detail"]
    assert UPSTREAM_KEY not in response.get_data(as_text=True)


def test_upstream_refusing_the_key_is_a_502_not_a_401(client, people, openai_up):
    headers = bearer(people["user_key"])
    client.get("/api/models", headers=headers)
    openai_up.required_key = "sk-rotated-at-the-provider"
    response = client.post(
        "/api/chat/completions", headers=headers, json={"model": "gpt-test", "messages": HELLO}
    )
    assert response.status_code == 502
    assert "answered 401" in response.get_json()["detail"]


def test_ollama_connection_timeout_is_a_504(client, people, ollama_up):
    headers = bearer(people["user_key"])
    client.get("/api/models", headers=headers)
    ollama_up.set_mode("hang", "/v1/chat/completions")
    response = client.post(
        "/api/chat/completions",
        headers=headers,
        json={"model": "llama-test:latest", "messages": HELLO},
    )
    assert response.status_code == 504


def test_upstream_that_went_away_is_a_502(client, people, ollama_up):
    headers = bearer(people["user_key"])
    client.get("/api/models", headers=headers)  # listed while the upstream was up
    ollama_up.set_mode("fail", "/v1/chat/completions")
    response = client.post(
        "/api/chat/completions",
        headers=headers,
        json={"model": "llama-test:latest", "messages": HELLO},
    )
    assert response.status_code == 502


def test_streaming_passes_events_through_and_ends_with_done(client, people, openai_up):
    response = client.post(
        "/api/chat/completions",
        headers=bearer(people["user_key"]),
        json={
            "model": "gpt-test",
            "messages": HELLO,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    events = sse_data(response.get_data(as_text=True))
    assert events[-1] == "[DONE]"
    words = [
        json.loads(e)["choices"][0]["delta"].get("content", "")
        for e in events[:-1]
        if json.loads(e)["choices"]
    ]
    assert "".join(words) == "Hello from upstream"
    assert openai_up.last("/v1/chat/completions").body["stream"] is True


def test_stream_that_stalls_ends_with_an_error_event(client, people, openai_up):
    headers = bearer(people["user_key"])
    client.get("/api/models", headers=headers)
    openai_up.set_mode("stall", "/v1/chat/completions")
    response = client.post(
        "/api/chat/completions",
        headers=headers,
        json={"model": "gpt-test", "messages": HELLO, "stream": True},
    )
    events = sse_data(response.get_data(as_text=True))
    assert json.loads(events[-2])["error"]["code"] == 504
    assert events[-1] == "[DONE]"


def test_stream_that_is_not_a_stream_is_a_502(client, people, openai_up):
    headers = bearer(people["user_key"])
    client.get("/api/models", headers=headers)
    openai_up.set_mode("garbage", "/v1/chat/completions")
    response = client.post(
        "/api/chat/completions",
        headers=headers,
        json={"model": "gpt-test", "messages": HELLO, "stream": True},
    )
    assert response.status_code == 502


def test_browser_session_chats_with_a_csrf_token(app, people, save_settings):
    # CSRF is on for this client, so the page's token is what makes the call work.
    app.config["WTF_CSRF_ENABLED"] = True
    browser = app.test_client()
    page = browser.get("/auth/login")
    token = page.get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    browser.post(
        "/auth/login",
        data={"email": "ada@example.com", "password": "correct horse battery", "csrf_token": token},
    )
    chat_page = browser.get("/chat")
    assert chat_page.status_code == 200 and b"gpt-test" in chat_page.data
    token = chat_page.get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    body = {"model": "gpt-test", "messages": HELLO, "stream": True}
    assert browser.post("/api/chat/completions", json=body).status_code == 400  # no token
    response = browser.post("/api/chat/completions", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert sse_data(response.get_data(as_text=True))[-1] == "[DONE]"


# --- usage per key ----------------------------------------------------------------------------


def test_each_completion_is_recorded_per_key(app, client, people, openai_up):
    headers = bearer(people["user_key"])
    client.post(
        "/api/chat/completions", headers=headers, json={"model": "gpt-test", "messages": HELLO}
    )
    client.post(
        "/api/chat/completions",
        headers=headers,
        json={"model": "llama-test:latest", "messages": HELLO, "stream": True},
    ).get_data()
    openai_up.set_mode("fail", "/v1/chat/completions")
    client.post(
        "/api/chat/completions", headers=headers, json={"model": "gpt-test", "messages": HELLO}
    )
    login_client(app, "ada@example.com").post(
        "/api/chat/completions", json={"model": "llama-test:latest", "messages": HELLO}
    )

    rows = usage_rows(app)
    assert sorted((r.model, r.status, r.stream, r.api_key_id is None) for r in rows) == [
        ("gpt-test", 200, False, False),
        ("gpt-test", 502, False, False),
        ("llama-test:latest", 200, False, True),
        ("llama-test:latest", 200, True, False),
    ]
    first = next(r for r in rows if (r.model, r.status) == ("gpt-test", 200))
    assert (first.prompt_tokens, first.completion_tokens, first.total_tokens) == (7, 3, 10)
    assert {r.user_id for r in rows} == {people["user"]}
    key_id = first.api_key_id
    with app.app_context():
        by_key = usage_by_key(people["user"])
        assert by_key[key_id]["requests"] == 3
        assert by_key[key_id]["last_model"] == "gpt-test"
        assert by_key[None] == {**by_key[None], "requests": 1, "last_model": "llama-test:latest"}
        (totals,) = totals_per_user()
        assert (totals["requests"], totals["failed"], totals["prompt_tokens"]) == (4, 1, 14)


def test_admin_sees_usage_totals(app, client, people):
    client.post(
        "/api/chat/completions",
        headers=bearer(people["user_key"]),
        json={"model": "gpt-test", "messages": HELLO},
    )
    page = login_client(app, "root@example.com").get("/admin/models").get_data(as_text=True)
    assert "ada@example.com" in page
    # Keys used is a count (a dict key named "keys" once printed the dict's method).
    assert '<td class="keys-used">1</td>' in page and "built-in method" not in page


# --- the Ollama proxy ---------------------------------------------------------------------------


def test_ollama_tags_chat_and_generate(client, people, ollama_up):
    headers = bearer(people["user_key"])
    tags = client.get("/ollama/api/tags", headers=headers).get_json()["models"]
    assert [t["name"] for t in tags] == ["llama-test:latest", "embed-test:latest"]

    response = client.post(
        "/ollama/api/chat", headers=headers, json={"model": "llama-test", "messages": HELLO}
    )
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    parts = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert "".join(p["message"]["content"] for p in parts) == "Hello from upstream"
    assert parts[-1]["done"] is True
    assert ollama_up.last("/api/chat").body["model"] == "llama-test:latest"

    response = client.post(
        "/ollama/api/generate",
        headers=headers,
        json={"model": "llama-test:latest", "prompt": "Hi", "stream": False},
    )
    assert response.get_json()["response"] == "Hello from upstream"


def test_ollama_embed_and_show(client, people):
    headers = bearer(people["user_key"])
    embed = client.post(
        "/ollama/api/embed",
        headers=headers,
        json={"model": "embed-test:latest", "input": ["a", "b"]},
    )
    assert embed.status_code == 200 and len(embed.get_json()["embeddings"]) == 2
    show = client.post("/ollama/api/show", headers=headers, json={"model": "llama-test:latest"})
    assert show.get_json()["details"]["family"] == "test"


def test_ollama_unknown_or_restricted_model(app, client, people):
    headers = bearer(people["user_key"])
    response = client.post(
        "/ollama/api/chat", headers=headers, json={"model": "nope", "messages": HELLO}
    )
    assert response.status_code == 400
    restrict(app, "llama-test:latest")
    response = client.post(
        "/ollama/api/chat", headers=headers, json={"model": "llama-test:latest", "messages": HELLO}
    )
    assert response.get_json()["detail"] == "Model not found"


def test_ollama_chat_usage_is_recorded(app, client, people):
    client.post(
        "/ollama/api/chat",
        headers=bearer(people["user_key"]),
        json={"model": "llama-test:latest", "messages": HELLO},
    ).get_data()
    (row,) = usage_rows(app)
    assert (row.endpoint, row.status, row.prompt_tokens, row.completion_tokens) == (
        "/ollama/api/chat",
        200,
        5,
        3,
    )


def test_ollama_is_503_without_an_enabled_connection(client, people, save_settings):
    save_settings(ENABLE_OLLAMA_API=False)
    for method, path in [
        ("get", "/ollama/api/tags"),
        ("post", "/ollama/api/chat"),
        ("post", "/ollama/api/pull"),
    ]:
        response = getattr(client, method)(
            path,
            headers=bearer(people["admin_key"]),
            json={"model": "llama-test:latest", "messages": HELLO},
        )
        assert response.status_code == 503, path
        assert "Connections" in response.get_json()["detail"]


def test_ollama_upstream_failure_is_a_502(client, people, ollama_up):
    headers = bearer(people["user_key"])
    client.get("/ollama/api/tags", headers=headers)
    ollama_up.set_mode("fail", "/api/chat")
    response = client.post(
        "/ollama/api/chat", headers=headers, json={"model": "llama-test:latest", "messages": HELLO}
    )
    assert response.status_code == 502


def test_managing_ollama_models_is_for_admins(client, people, ollama_up):
    user_headers = bearer(people["user_key"])
    for method, path in [
        ("post", "/ollama/api/pull"),
        ("post", "/ollama/api/create"),
        ("delete", "/ollama/api/delete"),
    ]:
        response = getattr(client, method)(path, headers=user_headers, json={"model": "new-model"})
        assert response.status_code == 403, path
    assert ollama_up.calls("/api/pull") == []

    admin_headers = bearer(people["admin_key"])
    pulled = client.post(
        "/ollama/api/pull", headers=admin_headers, json={"model": "new-model:latest"}
    )
    assert pulled.status_code == 200
    assert json.loads(pulled.get_data(as_text=True).splitlines()[-1]) == {"status": "success"}
    assert "new-model:latest" in model_ids(client.get("/api/models", headers=user_headers))
    deleted = client.delete(
        "/ollama/api/delete", headers=admin_headers, json={"model": "new-model:latest"}
    )
    assert deleted.status_code == 200
    assert "new-model:latest" not in model_ids(client.get("/api/models", headers=user_headers))


def test_endpoint_allowlist_applies_to_the_ollama_proxy(client, people, save_settings, make_key):
    save_settings(
        ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS=True,
        API_KEYS_ALLOWED_ENDPOINTS="/api/models,/api/chat/completions",
    )
    headers = bearer(people["user_key"])
    assert client.get("/api/models", headers=headers).status_code == 200
    assert client.get("/ollama/api/tags", headers=headers).status_code == 403
    save_settings(API_KEYS_ALLOWED_ENDPOINTS="/api/models,/ollama/api/tags")
    assert client.get("/ollama/api/tags", headers=headers).status_code == 200
    assert (
        client.post(
            "/ollama/api/chat",
            headers=headers,
            json={"model": "llama-test:latest", "messages": HELLO},
        ).status_code
        == 403
    )
    # A key's own list narrows it further.
    narrow = make_key(people["user"], "tags only", allowed_endpoints=["/api/models"])
    assert client.get("/ollama/api/tags", headers=bearer(narrow)).status_code == 403


# --- Admin Panel > Settings > Connections ------------------------------------------------------


def test_connections_page_masks_keys_and_verifies(app, people, openai_up):
    admin = login_client(app, "root@example.com")
    page = admin.get("/admin/settings/connections").get_data(as_text=True)
    assert openai_up.url + "/v1" in page
    assert "sk-…cdef" in page and UPSTREAM_KEY not in page

    verified = admin.post("/admin/settings/connections/openai/0/verify", follow_redirects=True)
    text = verified.get_data(as_text=True)
    assert "answered with 2 model(s): gpt-test, gpt-secret" in text
    assert openai_up.last("/v1/models").headers["authorization"] == f"Bearer {UPSTREAM_KEY}"

    openai_up.set_mode("fail")
    verified = admin.post("/admin/settings/connections/openai/0/verify", follow_redirects=True)
    assert "answered 500: the upstream broke on purpose" in verified.get_data(as_text=True)


def test_admin_adds_edits_and_removes_connections(app, client, people, ollama_up):
    admin = login_client(app, "root@example.com")
    with running_upstream(required_key="sk-second-upstream-key") as second:
        second.openai_models = ["second-model"]
        added = admin.post(
            "/admin/settings/connections/add",
            data={
                "kind": "openai",
                "base_url": second.url + "/v1/",
                "api_key": "sk-second-upstream-key",
                "enabled": "y",
            },
            follow_redirects=True,
        )
        assert added.status_code == 200 and "sk-second-upstream-key" not in added.get_data(
            as_text=True
        )
        headers = bearer(people["user_key"])
        assert "second-model" in model_ids(client.get("/api/models", headers=headers))
        client.post(
            "/api/chat/completions",
            headers=headers,
            json={"model": "second-model", "messages": HELLO},
        )
        assert (
            second.last("/v1/chat/completions").headers["authorization"]
            == "Bearer sk-second-upstream-key"
        )

        # Saving the row with an empty key field keeps the key; unticking disables it.
        admin.post(
            "/admin/settings/connections/openai/1",
            data={"openai-1-base_url": second.url + "/v1", "openai-1-api_key": ""},
        )
        with app.test_request_context():
            conn = connections.connections("openai")[1]
            assert (conn.api_key, conn.enabled) == ("sk-second-upstream-key", False)
        assert "second-model" not in model_ids(client.get("/api/models", headers=headers))

        admin.post("/admin/settings/connections/openai/0/delete")
        with app.test_request_context():
            (remaining,) = connections.connections("openai")
            assert (remaining.index, remaining.api_key) == (0, "sk-second-upstream-key")


def test_bad_connection_form_keeps_input_and_saves_nothing(app, people):
    admin = login_client(app, "root@example.com")
    response = admin.post(
        "/admin/settings/connections/add", data={"kind": "ollama", "base_url": "not a url"}
    )
    assert response.status_code == 400
    assert "not a url" in response.get_data(as_text=True)
    with app.test_request_context():
        assert len(connections.connections("ollama")) == 1


def test_connection_switches(app, client, people):
    admin = login_client(app, "root@example.com")
    admin.post("/admin/settings/connections/switches", data={"ENABLE_OPENAI_API": "y"})
    assert model_ids(client.get("/api/models", headers=bearer(people["user_key"]))) == [
        "gpt-test",
        "gpt-secret",
    ]


def test_pages_list_models_for_the_viewer(app, people):
    restrict(app, "gpt-secret")
    user = login_client(app, "ada@example.com")
    page = user.get("/models").get_data(as_text=True)
    assert "gpt-test" in page and "gpt-secret" not in page
    assert "gpt-secret" not in user.get("/chat").get_data(as_text=True)
    assert user.get("/admin/settings/connections").status_code == 403


# --- the Chat page in Chromium ---------------------------------------------------------


@pytest.mark.slow  # Chromium against a live gunicorn
def test_chat_page_streams_an_answer_in_chromium(app, crowd, people):
    from playwright.sync_api import expect

    page = crowd.person("ada")
    sign_in(page, "ada@example.com")
    expect(page.locator(".who .role")).to_have_text("user")
    page.goto("/chat")
    page.select_option("#chat-model", "llama-test:latest")
    page.fill("#chat-message", "Hello there")
    page.keyboard.press("Enter")
    expect(page.locator(".message-assistant .message-text")).to_have_text("Hello from upstream")
    expect(page.locator(".message-user .message-text")).to_have_text("Hello there")
    assert page.locator("#chat-error").is_hidden()
    (row,) = usage_rows(app)
    assert (row.model, row.status, row.stream, row.api_key_id) == (
        "llama-test:latest",
        200,
        True,
        None,
    )
