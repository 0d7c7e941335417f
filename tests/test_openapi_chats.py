"""The OpenAPI declarations of saved chats, chat completions and the model lists are true:
real answers (against the fake upstreams) fit the schemas /openapi.json publishes, and a
wrong-typed body field is a 400 naming it, before the view or any model server is called."""

import json

import pytest
from jsonschema import Draft202012Validator

from tests.support.openapi_checks import assert_fits

# The declarations against real answers: not the database, so CI runs these on SQLite only.
pytestmark = pytest.mark.document

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def people(people_with_keys, connected_upstreams):
    return people_with_keys("alice")


@pytest.fixture
def alice(people):
    return people["alice_key"]


def conversation(title: str) -> dict:
    first = {"id": "m0", "parentId": None, "role": "user", "content": "Where to eat?"}
    second = {"id": "m1", "parentId": "m0", "role": "assistant", "content": "Try bifanas."}
    return {
        "title": title,
        "models": ["gpt-test"],
        "messages": [first, second],
        "history": {"messages": {"m0": first, "m1": second}, "currentId": "m1"},
    }


def new_chat(client, headers, title="Lisbon") -> dict:
    response = client.post("/api/v1/chats/new", json={"chat": conversation(title)}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_saved_chat_answers_fit_their_schemas(client, alice, document):
    created = client.post("/api/v1/chats/new", json={"chat": conversation("Lisbon")}, headers=alice)
    chat = assert_fits(document, "/api/v1/chats/new", "post", created)
    one = f"/api/v1/chats/{chat['id']}"
    assert_fits(document, "/api/v1/chats/{chat_id}", "get", client.get(one, headers=alice))
    tagged = client.post(f"{one}/tags", json={"name": "Food Trips"}, headers=alice)
    assert assert_fits(document, "/api/v1/chats/{chat_id}/tags", "post", tagged)[0]["id"] == (
        "food_trips"
    )
    pinned = client.post(f"{one}/pin", headers=alice)
    assert assert_fits(document, "/api/v1/chats/{chat_id}/pin", "post", pinned)["pinned"]
    is_pinned = client.get(f"{one}/pinned", headers=alice)
    assert assert_fits(document, "/api/v1/chats/{chat_id}/pinned", "get", is_pinned) is True
    copy = client.post(f"{one}/clone", headers=alice)  # no body at all: the title is made
    cloned = assert_fits(document, "/api/v1/chats/{chat_id}/clone", "post", copy)
    assert cloned["title"] == "Clone of Lisbon"
    edited = client.post(f"{one}/messages/m1", json={"content": "Bifanas."}, headers=alice)
    assert_fits(document, "/api/v1/chats/{chat_id}/messages/{message_id}", "post", edited)
    for path in ("/api/v1/chats/", "/api/v1/chats/pinned", "/api/v1/chats/all/tags"):
        listed = assert_fits(document, path, "get", client.get(path, headers=alice))
        assert listed
    found = client.get("/api/v1/chats/search?text=bifanas", headers=alice)
    found_ids = {item["id"] for item in assert_fits(document, "/api/v1/chats/search", "get", found)}
    assert chat["id"] in found_ids
    by_tag = client.post(
        "/api/v1/chats/tags", json={"name": "food trips", "skip": "0", "limit": 5}, headers=alice
    )
    assert len(assert_fits(document, "/api/v1/chats/tags", "post", by_tag)) == 2  # and clone
    archived = client.post(f"{one}/archive", headers=alice)
    assert assert_fits(document, "/api/v1/chats/{chat_id}/archive", "post", archived)["archived"]
    for path in ("/api/v1/chats/archived", "/api/v1/chats/all/archived"):
        assert assert_fits(document, path, "get", client.get(path, headers=alice))
    count = client.get("/api/v1/chats/archived/count", headers=alice)
    assert assert_fits(document, "/api/v1/chats/archived/count", "get", count) == 1
    gone = client.delete(one, headers=alice)
    assert assert_fits(document, "/api/v1/chats/{chat_id}", "delete", gone) is True
    missing = client.get(one, headers=alice)
    assert_fits(document, "/api/v1/chats/{chat_id}", "get", missing)


def test_import_and_export_fit_their_schemas(client, alice, document):
    exported = [
        {
            "chat": conversation("From Open WebUI"),
            "meta": {"tags": ["Imported"]},
            "pinned": None,
            "created_at": 1_700_000_000,
            "updated_at": None,
            "folder_id": None,  # Open WebUI's exports carry more fields: taken and ignored
        }
    ]
    imported = client.post("/api/v1/chats/import", json={"chats": exported}, headers=alice)
    saved = assert_fits(document, "/api/v1/chats/import", "post", imported)
    assert saved[0]["meta"] == {"tags": ["imported"]}
    lines = client.get("/api/v1/chats/all", headers=alice)
    assert lines.mimetype == "application/x-ndjson"
    assert (
        "application/x-ndjson"
        in (document["paths"]["/api/v1/chats/all"]["get"]["responses"]["200"]["content"])
    )
    chat_schema = {"$ref": "#/components/schemas/Chat", "components": document["components"]}
    for line in lines.get_data(as_text=True).splitlines():
        Draft202012Validator(chat_schema).validate(json.loads(line))


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/api/v1/chats/new", {"chat": "hello"}, "chat is required: an object like"),
        ("/api/v1/chats/new", {"chat": {"title": 7}}, "chat.title must be text or null."),
        ("/api/v1/chats/new", {"chat": {"messages": {}}}, "chat.messages must be a list."),
        (
            "/api/v1/chats/new",
            {"chat": {"history": {"messages": {"m0": "hi"}}}},
            "chat.history.messages.m0 must be an object: chat.history.messages maps",
        ),
        ("/api/v1/chats/tags", {"name": "x", "skip": True}, "skip must be a whole number"),
        ("/api/v1/chats/tags", {"name": "x", "limit": 61}, "limit must be a whole number"),
        ("/api/v1/chats/tags", {"name": ["x"]}, "name must be text."),
        ("/api/v1/chats/import", {"chats": {}}, "chats must be a list."),
        ("/api/v1/chats/import", {"chats": [{"chat": {}, "pinned": "yes"}]}, "chats[0].pinned"),
        (
            "/api/v1/chats/import",
            {"chats": [{"chat": {}, "created_at": "2024-01-01"}]},
            "chats[0].created_at must be a time in epoch seconds",
        ),
        ("/api/v1/chats/import", {"chats": [{}]}, "chat is required in chats[0]."),
    ],
)
def test_wrong_types_in_chat_bodies_are_named(client, alice, path, body, says):
    response = client.post(path, json=body, headers=alice)
    assert response.status_code == 400
    assert says in response.get_json()["detail"]


@pytest.mark.parametrize(
    ("suffix", "method", "body", "says"),
    [
        ("", "post", {"chat": None}, "chat is required: an object with the fields to change."),
        ("/clone", "post", {"title": 5}, "title must be text or null."),
        ("/messages/m1", "post", {"content": 1}, "content must be text."),
        ("/tags", "post", {"name": 3}, "name must be text."),
        ("/tags", "delete", {}, "name is required."),
    ],
)
def test_wrong_types_in_one_chats_bodies_are_named(client, alice, suffix, method, body, says):
    chat = new_chat(client, alice)
    response = getattr(client, method)(
        f"/api/v1/chats/{chat['id']}{suffix}", json=body, headers=alice
    )
    assert response.status_code == 400
    assert response.get_json()["detail"] == says


def test_a_chat_completion_fits_its_schema(client, alice, document, openai_up):
    body = {
        "model": "gpt-test",
        "messages": HELLO,
        "stream": False,
        # What OpenAI clients send besides: accepted and forwarded as they are.
        "temperature": 0.2,
        "user": "someone",
        "tools": [],
        "stream_options": None,
    }
    response = client.post("/api/chat/completions", json=body, headers=alice)
    answer = assert_fits(document, "/api/chat/completions", "post", response)
    assert answer["choices"][0]["message"]["content"] == "Hello from upstream"
    assert openai_up.last("/v1/chat/completions").body["temperature"] == 0.2


def test_a_streamed_chat_completion_is_server_sent_events(client, alice, document):
    for path in ("/openai/chat/completions", "/ollama/v1/chat/completions"):
        assert "stream" in document["paths"][path]["post"]["description"]
    response = client.post(
        "/openai/chat/completions",
        json={"model": "gpt-test", "messages": HELLO, "stream": True},
        headers=alice,
    )
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.get_data(as_text=True).rstrip().endswith("data: [DONE]")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            {"model": 5, "messages": HELLO},
            "model is required: the id of a model from GET /api/models.",
        ),
        ({"messages": HELLO}, "model is required."),
        ({"model": "gpt-test", "messages": "hi"}, "messages is required: a list like"),
        ({"model": "gpt-test", "messages": []}, "messages is required: a list like"),
        ({"model": "gpt-test", "messages": ["hi"]}, "messages[0] must be an object."),
        ({"model": "gpt-test", "messages": [{"content": "hi"}]}, "role is required in messages[0]"),
        (
            {"model": "gpt-test", "messages": HELLO, "stream": "yes"},
            "stream must be true or false.",
        ),
        ({"model": "gpt-test", "messages": HELLO, "files": "f"}, "files must be a list like"),
        (
            {"model": "gpt-test", "messages": HELLO, "files": [{"id": "x"}]},
            'files[0] must be {"type": "file" or "collection"',
        ),
    ],
)
def test_wrong_types_in_a_chat_request_are_named_and_never_sent(
    client, alice, openai_up, body, says
):
    response = client.post("/api/chat/completions", json=body, headers=alice)
    assert response.status_code == 400
    assert says in response.get_json()["detail"]
    assert openai_up.calls("/v1/chat/completions") == []


def test_model_lists_fit_their_schemas(client, people, alice, document):
    for path in ("/api/models", "/api/v1/models"):
        listed = assert_fits(
            document, path, "get", client.get(f"{path}?refresh=true", headers=alice)
        )
        kinds = {model["connection_type"] for model in listed["data"]}
        assert kinds == {"openai", "ollama"}
    openai_models = client.get("/openai/models", headers=alice)
    listed = assert_fits(document, "/openai/models", "get", openai_models)
    assert {model["id"] for model in listed["data"]} == {"gpt-test", "gpt-secret"}
    admin = people["admin_key"]
    asked = client.get("/openai/models/0", headers=admin)
    assert assert_fits(document, "/openai/models/{url_idx}", "get", asked)["data"]
    assert_fits(
        document, "/openai/models/{url_idx}", "get", client.get("/openai/models/9", headers=admin)
    )


def test_an_upstream_failure_is_a_declared_answer(client, people, document, openai_up):
    openai_up.set_mode("fail", "/v1/models")
    response = client.get("/openai/models/0", headers=people["admin_key"])
    assert response.status_code == 502
    assert_fits(document, "/openai/models/{url_idx}", "get", response)
