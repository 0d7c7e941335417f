"""The declared operations of the Ollama routes, the connections' config and verify, and the
platform routes (version, config, base models, embeddings) are true: real answers (from the
fake upstreams) fit the schemas /openapi.json gives for them, failures answer the statuses
declared, and a wrong-typed body field is a 400 naming the field."""

import json

import pytest
from jsonschema import Draft202012Validator

from tests.support.accounts import ADMIN_EMAIL, bearer, login_client

# The declarations against real answers: not the database, so CI runs these on SQLite only.
pytestmark = pytest.mark.document

NDJSON = "application/x-ndjson"
JSON = "application/json"
CHAT = {"model": "llama-test:latest", "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture
def people(app, make_user, make_key, connected_upstreams):
    admin_id = make_user(ADMIN_EMAIL, role="admin")
    ada_id = make_user("ada@example.com")
    return {
        "admin": login_client(app, ADMIN_EMAIL),
        "admin_key": bearer(make_key(admin_id, "admin bot")),
        "ada_key": bearer(make_key(ada_id, "ada bot")),
    }


def openapi_path(rule: str) -> str:
    return rule.replace("<int:url_idx>", "{url_idx}")


def declared(document: dict, method: str, rule: str, status: int) -> dict:
    """The answer the document declares for this status of this operation."""
    operation = document["paths"][openapi_path(rule)][method.lower()]
    answer = operation["responses"][str(status)]
    if "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
    return answer


def assert_fits(document: dict, response, method: str, rule: str) -> None:
    """The response's status is declared, its media type too, and a JSON body fits."""
    answer = declared(document, method, rule, response.status_code)
    content = answer.get("content")
    if content is None:
        assert not response.get_data(), response.get_data()[:200]
        return
    assert response.mimetype in content, (response.mimetype, list(content))
    if response.mimetype == JSON:
        schema = content[JSON]["schema"]
        validator = Draft202012Validator({**schema, "components": document["components"]})
        errors = [error.message for error in validator.iter_errors(response.get_json())]
        assert not errors, (rule, errors[:3], response.get_json())


def call(client, document, method, rule, path=None, **options):
    """Send the request, read the whole answer (a stream too) and check it fits."""
    response = client.open(path or rule, method=method, **options)
    response.get_data()
    response.close()
    assert_fits(document, response, method, rule)
    return response


# --- real answers fit --------------------------------------------------------------------------


def test_the_ollama_listings_fit_their_schemas(client, people, document):
    key = people["ada_key"]
    for rule, path in [
        ("/ollama/", None),
        ("/ollama/api/tags", None),
        ("/ollama/api/tags", "/ollama/api/tags?refresh=true"),
        ("/ollama/api/tags/<int:url_idx>", "/ollama/api/tags/0"),
        ("/ollama/v1/models", None),
        ("/ollama/v1/models/<int:url_idx>", "/ollama/v1/models/0"),
        ("/ollama/api/version", None),
        ("/ollama/api/version/<int:url_idx>", "/ollama/api/version/0"),
    ]:
        response = call(client, document, "GET", rule, path, headers=key)
        assert response.status_code == 200, (path or rule, response.get_json())
    models = client.get("/ollama/api/tags", headers=key).get_json()["models"]
    assert {"llama-test:latest", "embed-test:latest"} <= {model["name"] for model in models}


def test_the_loaded_models_fit_for_an_admin(client, people, document):
    response = call(client, document, "GET", "/ollama/api/ps", headers=people["admin_key"])
    assert response.status_code == 200 and response.get_json()["models"]


def test_chat_and_generate_stream_json_lines_as_declared(client, people, document):
    key = people["ada_key"]
    for rule, body in [
        ("/ollama/api/chat", CHAT),
        ("/ollama/api/generate", {"model": "llama-test", "prompt": "Hi"}),
    ]:
        response = call(client, document, "POST", rule, headers=key, json=body)
        assert response.status_code == 200 and response.mimetype == NDJSON
        lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
        assert lines[-1]["done"] is True


def test_chat_without_streaming_is_the_json_the_description_promises(client, people):
    response = client.post(
        "/ollama/api/chat", headers=people["ada_key"], json={**CHAT, "stream": False}
    )
    assert response.status_code == 200 and response.mimetype == JSON
    assert response.get_json()["message"]["content"] == "Hello from upstream"


def test_the_json_model_calls_fit_their_schemas(client, people, document):
    key = people["ada_key"]
    for rule, body in [
        ("/ollama/api/embed", {"model": "embed-test", "input": ["one", "two"]}),
        ("/ollama/api/show", {"model": "llama-test:latest"}),
        ("/ollama/api/embeddings", {"model": "embed-test", "prompt": "hi"}),
        ("/ollama/v1/embeddings", {"model": "embed-test:latest", "input": "hi"}),
        ("/api/embeddings", {"model": "gpt-test", "input": ["one", "two"]}),
        ("/api/v1/embeddings", {"model": "embed-test:latest", "input": "hi"}),
    ]:
        response = call(client, document, "POST", rule, headers=key, json=body)
        assert response.status_code == 200, (rule, response.get_json())


def test_managing_models_answers_as_declared(client, people, document, ollama_up):
    key = people["admin_key"]
    pulled = call(
        client, document, "POST", "/ollama/api/pull", headers=key, json={"model": "new:latest"}
    )
    assert pulled.status_code == 200 and pulled.mimetype == NDJSON
    created = call(
        client,
        document,
        "POST",
        "/ollama/api/create/<int:url_idx>",
        "/ollama/api/create/0",
        headers=key,
        json={"model": "mine:latest", "from": "llama-test:latest"},
    )
    assert created.status_code == 200
    deleted = call(
        client, document, "DELETE", "/ollama/api/delete", headers=key, json={"model": "new:latest"}
    )
    assert deleted.status_code == 200
    gone = call(
        client, document, "DELETE", "/ollama/api/delete", headers=key, json={"model": "new:latest"}
    )
    assert gone.status_code == 502  # Ollama's 404, as the description says


def test_the_platform_routes_fit_their_schemas(client, people, document):
    assert call(client, document, "GET", "/api/version").status_code == 200
    anonymous = call(client, document, "GET", "/api/config")
    assert "enable_ollama_api" not in anonymous.get_json()["features"]
    signed_in = call(client, document, "GET", "/api/config", headers=people["ada_key"])
    assert signed_in.get_json()["features"]["enable_ollama_api"] is True
    base = call(client, document, "GET", "/api/models/base", headers=people["admin_key"])
    assert {"gpt-test", "llama-test:latest"} <= {model["id"] for model in base.get_json()["data"]}


def test_the_connection_settings_fit_their_schemas(people, document, ollama_up):
    admin = people["admin"]
    for rule in ("/openai/config", "/ollama/config"):
        assert call(admin, document, "GET", rule).status_code == 200
    updated = call(
        admin,
        document,
        "POST",
        "/ollama/config/update",
        json={"ENABLE_OLLAMA_API": "on", "OLLAMA_API_CONFIGS": None},
    )
    assert updated.status_code == 200 and updated.get_json()["ENABLE_OLLAMA_API"] is True
    openai = call(admin, document, "POST", "/openai/config/update", json={})
    assert openai.status_code == 200
    verified = call(admin, document, "POST", "/ollama/verify", json={"url": ollama_up.url})
    assert verified.status_code == 200 and verified.get_json()["data"]


# --- failures answer the statuses declared --------------------------------------------------


def test_a_failing_ollama_server_is_a_declared_502(client, people, document, ollama_up):
    ollama_up.set_mode("fail", "/api/chat", "/api/version", "/api/embed")
    key = people["ada_key"]
    for rule, method, body in [
        ("/ollama/api/chat", "POST", CHAT),
        ("/ollama/api/version", "GET", None),
        ("/ollama/v1/embeddings", "POST", {"model": "embed-test", "input": "x"}),
    ]:
        response = call(client, document, method, rule, headers=key, json=body)
        assert response.status_code == 502, (rule, response.get_json())


def test_a_slow_ollama_server_is_a_declared_504(app, client, people, document, ollama_up):
    app.config["AIOHTTP_CLIENT_TIMEOUT"] = 0.2
    ollama_up.hang_seconds = 1.0
    ollama_up.set_mode("hang", "/api/version")
    response = call(client, document, "GET", "/ollama/api/version", headers=people["ada_key"])
    assert response.status_code == 504


def test_no_ollama_connection_is_a_declared_503(client, people, document, save_settings):
    save_settings(ENABLE_OLLAMA_API=False)
    key = people["ada_key"]
    for rule, method, body in [
        ("/ollama/", "GET", None),
        ("/ollama/api/tags", "GET", None),
        ("/ollama/v1/models", "GET", None),
        ("/ollama/api/chat", "POST", CHAT),
    ]:
        response = call(client, document, method, rule, headers=key, json=body)
        assert response.status_code == 503, (rule, response.get_json())


def test_verifying_a_server_that_refuses_the_key_is_a_declared_502(people, document, openai_up):
    response = call(
        people["admin"], document, "POST", "/openai/verify", json={"url": openai_up.url + "/v1"}
    )
    assert response.status_code == 502


# --- wrong types are refused, naming the field -------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "body", "sentence"),
    [
        ("/ollama/api/chat", {**CHAT, "model": 5}, "model must be text or null."),
        ("/ollama/api/chat", {**CHAT, "stream": "yes"}, "stream must be true or false or null."),
        ("/ollama/api/chat", {"model": "x", "messages": "hi"}, "messages must be a list or null."),
        ("/ollama/api/generate", {"model": "x", "prompt": 1}, "prompt must be text or null."),
        ("/ollama/api/show", {"name": ["x"]}, "name must be text or null."),
        (
            "/api/embeddings",
            {"model": "gpt-test", "input": 3},
            "input must be a string or a list of strings to embed.",
        ),
        ("/ollama/v1/embeddings", {"model": 1, "input": "x"}, "model must be text."),
    ],
)
def test_a_wrong_type_is_a_400_naming_the_field(client, people, rule, body, sentence):
    response = client.post(rule, headers=people["ada_key"], json=body)
    assert response.status_code == 400
    assert response.get_json()["detail"] == sentence


def test_an_ollama_body_is_checked_whatever_its_content_type(client, people):
    response = client.post(
        "/ollama/api/chat",
        headers=people["ada_key"],
        data=json.dumps({**CHAT, "model": 5}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert response.get_json()["detail"] == "model must be text or null."


@pytest.mark.parametrize(
    ("rule", "body", "sentence"),
    [
        (
            "/openai/config/update",
            {"ENABLE_OPENAI_API": 5},
            "ENABLE_OPENAI_API must be true or false.",
        ),
        (
            "/openai/config/update",
            {"OPENAI_API_BASE_URLS": "http://x"},
            "OPENAI_API_BASE_URLS must be a list of URLs.",
        ),
        (
            "/openai/config/update",
            {"OPENAI_API_KEYS": 1},
            "OPENAI_API_KEYS must be a list of API keys.",
        ),
        (
            "/ollama/config/update",
            {"OLLAMA_API_CONFIGS": {"0": "off"}},
            'OLLAMA_API_CONFIGS must be an object like {"0": {"enable": true}}.',
        ),
        ("/ollama/verify", {"url": 5}, "url must be text."),
        ("/openai/verify", {"url": "http://x", "key": None}, "key must be text."),
    ],
)
def test_a_wrong_setting_type_is_a_400_naming_the_field(people, rule, body, sentence):
    before = people["admin"].get("/openai/config").get_json()
    response = people["admin"].post(rule, json=body)
    assert response.status_code == 400
    assert response.get_json()["detail"] == sentence
    assert people["admin"].get("/openai/config").get_json() == before
