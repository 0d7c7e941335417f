"""Issue 27 items 1 and 2: a key limited to some models, and to some client networks, as the
API answers it (the key page in the browser: tests/test_keys_page_browser.py)."""

import pytest
import sqlalchemy as sa

from tests.support.accounts import bearer, login_client
from webui.extensions import db
from webui.models import AuditEvent
from webui.services import model_access

HELLO = [{"role": "user", "content": "Hello"}]
TWO_MODELS = ["gpt-test", "llama-test"]  # of the fake upstreams' four


@pytest.fixture
def people(make_user, connected_upstreams):
    return {
        "admin": make_user("root@example.com", role="admin"),
        "user": make_user("ada@example.com"),
    }


def model_ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [model["id"] for model in response.get_json()["data"]]


# --- item 1: models ---------------------------------------------------------------------------


def test_a_key_lists_only_its_models(client, people, make_key):
    headers = bearer(make_key(people["user"], "chat bot", allowed_models=TWO_MODELS))
    assert model_ids(client.get("/api/models", headers=headers)) == [
        "llama-test:latest",
        "gpt-test",
    ]
    assert model_ids(client.get("/api/v1/models", headers=headers)) == [
        "llama-test:latest",
        "gpt-test",
    ]
    openai = client.get("/openai/models", headers=headers).get_json()["data"]
    assert [model["id"] for model in openai] == ["gpt-test"]
    tags = client.get("/ollama/api/tags", headers=headers).get_json()["models"]
    assert [tag["name"] for tag in tags] == ["llama-test:latest"]


def test_a_key_without_a_list_sees_every_model_its_owner_may(client, people, make_key):
    headers = bearer(make_key(people["user"], "all", allowed_models=[]))
    assert len(model_ids(client.get("/api/models", headers=headers))) == 4


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/chat/completions", {"model": "gpt-secret", "messages": HELLO}),
        ("/openai/chat/completions", {"model": "gpt-secret", "messages": HELLO}),
        ("/api/v1/embeddings", {"model": "gpt-secret", "input": "hi"}),
        ("/ollama/api/chat", {"model": "embed-test:latest", "messages": HELLO}),
        ("/ollama/api/embed", {"model": "embed-test", "input": "hi"}),
    ],
)
def test_a_call_for_another_model_is_403_naming_it(client, people, make_key, path, body):
    headers = bearer(make_key(people["user"], "chat bot", allowed_models=TWO_MODELS))
    response = client.post(path, headers=headers, json=body)
    assert response.status_code == 403
    named = body["model"] if body["model"].startswith("gpt") else "embed-test:latest"
    assert f"may not use the model '{named}'" in response.get_json()["detail"]


def test_a_listed_model_is_used(client, people, make_key):
    headers = bearer(make_key(people["user"], "chat bot", allowed_models=TWO_MODELS))
    answer = client.post(
        "/api/chat/completions", headers=headers, json={"model": "gpt-test", "messages": HELLO}
    )
    assert answer.status_code == 200, answer.get_json()
    # Ollama's "llama-test" is "llama-test:latest", listed or asked for either way.
    body = {"model": "llama-test", "messages": HELLO, "stream": False}
    assert client.post("/ollama/api/chat", headers=headers, json=body).status_code == 200


def test_group_access_stays_the_ceiling(app, client, people, make_key):
    headers = bearer(make_key(people["user"], "chat bot", allowed_models=["gpt-secret"]))
    with app.app_context():
        model_access.set_access("gpt-secret", public=False, group_ids=[], actor_id=None)
    assert model_ids(client.get("/api/models", headers=headers)) == []
    response = client.post(
        "/api/chat/completions", headers=headers, json={"model": "gpt-secret", "messages": HELLO}
    )
    assert response.status_code == 400  # as for any model the owner may not use


def test_admins_keys_are_limited_too(client, people, make_key):
    headers = bearer(make_key(people["admin"], "admin bot", allowed_models=["gpt-secret"]))
    assert model_ids(client.get("/api/models", headers=headers)) == ["gpt-secret"]


def test_the_keys_api_sets_changes_and_clears_the_model_list(app, people):
    owner = login_client(app, "ada@example.com")
    created = owner.post(
        "/api/v1/auths/api_keys",
        json={"name": "bot", "allowed_models": [" gpt-test ", "gpt-test", "llama-test"]},
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["allowed_models"] == ["gpt-test", "llama-test"]
    key_id, secret = created.get_json()["id"], created.get_json()["key"]
    changed = owner.post(f"/api/v1/auths/api_keys/{key_id}", json={"allowed_models": ["gpt-test"]})
    assert changed.get_json()["allowed_models"] == ["gpt-test"]
    # Holds from the next request.
    assert model_ids(app.test_client().get("/api/models", headers=bearer(secret))) == ["gpt-test"]
    cleared = owner.post(f"/api/v1/auths/api_keys/{key_id}", json={"allowed_models": []})
    assert cleared.get_json()["allowed_models"] is None
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("key.updated") == 2


@pytest.mark.parametrize(
    "value, words",
    [
        ("gpt-test", None),  # a comma-separated string is accepted, as forms send it
        ([1, 2], "allowed_models must be a list of model ids"),
        ({"a": 1}, "allowed_models must be a list of model ids"),
        (["x" * 201], "at most 200 characters"),
        ([f"m{i}" for i in range(101)], "at most 100 models"),
    ],
)
def test_bad_model_lists_are_400(app, people, value, words):
    owner = login_client(app, "ada@example.com")
    response = owner.post("/api/v1/auths/api_keys", json={"name": "bot", "allowed_models": value})
    if words is None:
        assert response.status_code == 201
        assert response.get_json()["allowed_models"] == ["gpt-test"]
    else:
        assert response.status_code == 400
        assert words in response.get_json()["detail"]


def test_the_inventory_and_account_page_show_the_models(app, people, make_key):
    make_key(people["user"], "chat bot", allowed_models=["gpt-test"])
    inventory = login_client(app, "root@example.com").get("/admin/api-keys").get_data(as_text=True)
    assert "models: <code>gpt-test</code>" in inventory
    page = login_client(app, "ada@example.com").get("/account/").get_data(as_text=True)
    assert "models: <code>gpt-test</code>" in page
