"""A slow or dead model server never freezes a page: each connection's model list is kept with
how the last attempt went; an old list is served at once while a background refresh asks
again, a failure is recorded (so it costs the wait once), admins see which connection is not
answering, and people read a note on the Chat page."""

import time

import pytest

from tests.support.accounts import bearer, login_client
from tests.support.fake_upstream import UPSTREAM_KEY
from webui.services import model_access

TIMEOUT = 1.0  # AIOHTTP_CLIENT_TIMEOUT_MODEL_LIST here; a 'hang' lasts 3 s
AT_ONCE = 0.75 * TIMEOUT  # an answer that did not wait on the upstream comes well before this
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def app_config(app_config):
    return {
        **app_config,
        "AIOHTTP_CLIENT_TIMEOUT": TIMEOUT,
        "AIOHTTP_CLIENT_TIMEOUT_MODEL_LIST": TIMEOUT,
    }


@pytest.fixture
def people(make_user, make_key, connected_upstreams):
    """An admin, and a user with a key; the app pointed at both fake upstreams."""
    make_user("root@example.com", role="admin")
    return {"user_key": bearer(make_key(make_user("ada@example.com")))}


def model_ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [model["id"] for model in response.get_json()["data"]]


def timed(call):
    """(what call() returned, the seconds it took)."""
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def wait_until(condition, seconds: float = 3 * TIMEOUT + 2) -> None:
    """Poll until condition() holds: a background refresh ends within the timeout."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the background refresh never finished"
        time.sleep(0.02)


def states(app) -> dict[str, model_access.ConnectionState]:
    with app.test_request_context():
        return {state.label: state for state in model_access.connection_states()}


OPENAI = "OpenAI connection #1"
OLLAMA = "Ollama connection #1"
ALL_MODELS = ["llama-test:latest", "embed-test:latest", "gpt-test", "gpt-secret"]


# --- an old list is served at once ------------------------------------------------------------


def test_a_hanging_upstream_is_waited_on_once_then_shown_as_not_answering(
    app, client, people, openai_up
):
    assert model_ids(client.get("/api/models", headers=people["user_key"])) == ALL_MODELS
    openai_up.set_mode("hang", "/v1/models")
    app.config["MODELS_CACHE_SECONDS"] = 0  # every list is old from now on
    asked = len(openai_up.calls("/v1/models"))

    response, took = timed(lambda: client.get("/api/models", headers=people["user_key"]))
    assert took < AT_ONCE  # the last known list, without waiting on the hanging upstream
    assert model_ids(response) == ALL_MODELS
    wait_until(lambda: not states(app)[OPENAI].ok)  # the background refresh timed out
    assert len(openai_up.calls("/v1/models")) >= asked + 1

    failed = states(app)[OPENAI]
    assert failed.model_count == 0 and "did not answer within 1 seconds" in failed.detail
    assert states(app)[OLLAMA].ok
    response, took = timed(lambda: client.get("/api/models", headers=people["user_key"]))
    assert took < AT_ONCE
    assert model_ids(response) == ["llama-test:latest", "embed-test:latest"]

    admin_page = login_client(app, "root@example.com").get("/admin/settings/connections")
    text = admin_page.get_data(as_text=True)
    assert "Not answering since" in text and "did not answer within 1 seconds" in text
    assert "Answered with 2 models at" in text  # the Ollama connection

    chat = login_client(app, "ada@example.com").get("/chat").get_data(as_text=True)
    assert "Some model servers are not answering right now (OpenAI connection #1)" in chat
    assert "Tell an administrator if this lasts." in chat
    assert openai_up.url not in chat and UPSTREAM_KEY not in chat


def test_a_dead_upstream_costs_the_wait_once(app, client, people, openai_up):
    openai_up.set_mode("hang", "/v1/models")
    first, took = timed(lambda: client.get("/api/models", headers=people["user_key"]))
    assert model_ids(first) == ["llama-test:latest", "embed-test:latest"]
    assert 0.9 * TIMEOUT <= took < openai_up.hang_seconds  # a cold start waits, up to the timeout
    for _ in range(3):
        again, took = timed(lambda: client.get("/api/models", headers=people["user_key"]))
        assert took < AT_ONCE and model_ids(again) == model_ids(first)
    assert len(openai_up.calls("/v1/models")) == 1


def test_one_background_refresh_per_connection_at_a_time(app, client, people, openai_up):
    client.get("/api/models", headers=people["user_key"])
    openai_up.set_mode("hang", "/v1/models")
    app.config["MODELS_CACHE_SECONDS"] = 0
    for _ in range(5):
        client.get("/api/models", headers=people["user_key"])
    wait_until(lambda: len(openai_up.calls("/v1/models")) == 2)
    time.sleep(0.2)  # a second refresh, if one were started, would have arrived by now
    assert len(openai_up.calls("/v1/models")) == 2


def test_a_connection_that_heals_lists_its_models_again(app, client, people, openai_up):
    openai_up.set_mode("fail", "/v1/models")
    assert "gpt-test" not in model_ids(client.get("/api/models", headers=people["user_key"]))
    assert not states(app)[OPENAI].ok
    openai_up.heal()
    app.config["MODELS_CACHE_SECONDS"] = 0
    client.get("/api/models", headers=people["user_key"])  # old: asks again in the background
    wait_until(lambda: states(app)[OPENAI].ok)
    assert model_ids(client.get("/api/models", headers=people["user_key"])) == ALL_MODELS
    page = login_client(app, "ada@example.com").get("/chat").get_data(as_text=True)
    assert "not answering" not in page


def test_refresh_asks_while_the_caller_waits(client, people, openai_up):
    openai_up.set_mode("fail", "/v1/models")
    assert "gpt-test" not in model_ids(client.get("/api/models", headers=people["user_key"]))
    openai_up.heal()
    listed = client.get("/api/models?refresh=true", headers=people["user_key"])
    assert model_ids(listed) == ALL_MODELS


def test_the_admin_sees_a_failing_connection_and_no_note_names_a_url(app, people, openai_up):
    openai_up.set_mode("fail", "/v1/models")
    admin = login_client(app, "root@example.com")
    text = admin.get("/admin/settings/connections").get_data(as_text=True)
    assert "Not answering since" in text and "answered 500: the upstream broke on purpose" in text
    chat = admin.get("/chat").get_data(as_text=True)
    assert "Some model servers are not answering right now (OpenAI connection #1)" in chat
    assert "Admin Panel &gt; Connections" in chat


def test_a_key_that_cannot_be_sent_fails_one_connection_not_the_pages(
    app, client, people, save_settings
):
    save_settings(OPENAI_API_KEYS=["sk-caf\u00e9"])  # not ASCII: no HTTP header can carry it
    assert model_ids(client.get("/api/models", headers=people["user_key"])) == ALL_MODELS[:2]
    page = login_client(app, "root@example.com").get("/admin/settings/connections")
    assert page.status_code == 200
    assert "its URL or API key is not valid (UnicodeEncodeError)" in page.get_data(as_text=True)


# --- a model nobody listed ----------------------------------------------------------------


def test_an_unknown_model_does_not_wait_on_a_failed_connection(
    app, client, people, openai_up, ollama_up, monkeypatch
):
    openai_up.set_mode("fail", "/v1/models")
    client.get("/api/models", headers=people["user_key"])
    openai_up.set_mode("hang", "/v1/models")
    monkeypatch.setattr(model_access, "RECHECK_AFTER_SECONDS", 0)  # every list counts as old
    tags_asked = len(ollama_up.calls("/api/tags"))

    body = {"model": "no-such-model", "messages": HELLO}
    response, took = timed(
        lambda: client.post("/api/chat/completions", headers=people["user_key"], json=body)
    )
    assert took < AT_ONCE
    assert response.status_code == 400 and response.get_json()["detail"] == "Model not found"
    assert len(ollama_up.calls("/api/tags")) == tags_asked + 1  # the one that answered: asked again
    wait_until(lambda: len(openai_up.calls("/v1/models")) == 2)  # the failed one: in the background


def test_a_model_pulled_a_moment_ago_is_found_on_a_second_look(
    client, people, ollama_up, monkeypatch
):
    client.get("/api/models", headers=people["user_key"])
    ollama_up.ollama_models.append("fresh:latest")  # pulled outside this app
    monkeypatch.setattr(model_access, "RECHECK_AFTER_SECONDS", 0)
    response = client.post(
        "/api/chat/completions",
        headers=people["user_key"],
        json={"model": "fresh:latest", "messages": HELLO},
    )
    assert response.status_code == 200


def test_unknown_models_do_not_make_upstreams_ask_on_every_request(client, people, ollama_up):
    client.get("/api/models", headers=people["user_key"])
    asked = len(ollama_up.calls("/api/tags"))
    for _ in range(5):
        response = client.post(
            "/api/chat/completions",
            headers=people["user_key"],
            json={"model": "no-such-model", "messages": HELLO},
        )
        assert response.status_code == 400
    assert len(ollama_up.calls("/api/tags")) == asked  # the list is younger than a few seconds


# --- a connection change holds at once --------------------------------------------------------


def test_a_disabled_connection_leaves_the_states_and_the_list(app, client, people, save_settings):
    client.get("/api/models", headers=people["user_key"])
    save_settings(OPENAI_API_CONFIGS={"0": {"enable": False}})
    assert model_ids(client.get("/api/models", headers=people["user_key"])) == [
        "llama-test:latest",
        "embed-test:latest",
    ]
    assert list(states(app)) == [OLLAMA]
