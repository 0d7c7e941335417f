"""Issue 27 items 1 and 2: a key limited to some models, and to some client networks, as the
API answers it (the key page in the browser: tests/test_keys_page_browser.py)."""

import pytest
import sqlalchemy as sa

from tests.support.accounts import bearer, login_client
from webui.extensions import db
from webui.models import ApiKey, AuditEvent
from webui.services import model_access
from webui.sql_trace import traced_statements

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


# --- item 2: networks -------------------------------------------------------------------------

WHO = "/api/v1/auths/"
OFFICE = {"REMOTE_ADDR": "203.0.113.7"}
ELSEWHERE = {"REMOTE_ADDR": "198.51.100.9"}


def test_a_key_works_only_from_its_networks(client, people, make_key):
    headers = bearer(
        make_key(people["user"], "office", allowed_networks=["203.0.113.0/24", "2001:db8::/32"])
    )
    assert client.get(WHO, headers=headers, environ_base=OFFICE).status_code == 200
    v6 = {"REMOTE_ADDR": "2001:db8::5"}
    assert client.get(WHO, headers=headers, environ_base=v6).status_code == 200
    mapped = {"REMOTE_ADDR": "::ffff:203.0.113.8"}  # IPv4 seen through an IPv6 socket
    assert client.get(WHO, headers=headers, environ_base=mapped).status_code == 200
    refused = client.get(WHO, headers=headers, environ_base=ELSEWHERE)
    assert refused.status_code == 403
    assert refused.get_json()["detail"] == (
        "This API key may not be used from 198.51.100.9: that address is not in the key's "
        "allowed networks."
    )


def test_a_refusal_moves_no_counter_and_is_audited(app, client, people, make_key):
    headers = bearer(
        make_key(people["user"], "office", allowed_networks=["203.0.113.7"], rate_limit=1)
    )
    for _ in range(3):  # over the key's own limit of 1 a minute, were it counted
        assert client.get(WHO, headers=headers, environ_base=ELSEWHERE).status_code == 403
    with app.app_context():
        api_key = db.session.scalar(sa.select(ApiKey))
        assert api_key.last_used_at is None
        denied = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "key.denied")
        ).all()
    assert len(denied) == 1 and denied[0].count == 3
    assert denied[0].ip == "198.51.100.9"
    assert "198.51.100.9" in denied[0].detail["reason"]
    # The key's own limit is still whole for the allowed address.
    assert client.get(WHO, headers=headers, environ_base=OFFICE).status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_address_decides(app_config, request):
    app_config["TRUSTED_PROXY_COUNT"] = 1
    app = request.getfixturevalue("app")
    people = request.getfixturevalue("people")
    secret = request.getfixturevalue("make_key")(
        people["user"], "office", allowed_networks=["203.0.113.7"]
    )
    client = app.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    allowed = {**bearer(secret), "X-Forwarded-For": "203.0.113.7"}
    assert client.get(WHO, headers=allowed, environ_base=proxy).status_code == 200
    other = {**bearer(secret), "X-Forwarded-For": "192.0.2.1"}
    refused = client.get(WHO, headers=other, environ_base=proxy)
    assert refused.status_code == 403 and "from 192.0.2.1" in refused.get_json()["detail"]


def test_without_a_trusted_proxy_a_forwarded_header_is_ignored(client, people, make_key):
    headers = {
        **bearer(make_key(people["user"], "office", allowed_networks=["203.0.113.7"])),
        "X-Forwarded-For": "203.0.113.7",
    }
    refused = client.get(WHO, headers=headers, environ_base=ELSEWHERE)
    assert refused.status_code == 403 and "from 198.51.100.9" in refused.get_json()["detail"]


@pytest.mark.parametrize(
    "value, stored_or_words",
    [
        (
            ["203.0.113.7/32", "10.0.0.0/8", " 2001:DB8::/32 "],
            ["203.0.113.7", "10.0.0.0/8", "2001:db8::/32"],
        ),
        ("192.0.2.1, 192.0.2.1", ["192.0.2.1"]),
        ([], None),
        (["10.0.0.1/8"], "'10.0.0.1/8' has host bits set: write the network as 10.0.0.0/8"),
        (["example.com"], "'example.com' is not an IPv4 or IPv6 address or network"),
        (["10.0.0.0/33"], "'10.0.0.0/33' is not an IPv4 or IPv6 address or network"),
        ([10], "allowed_networks must be a list of addresses or networks"),
        ([f"10.0.0.{i}" for i in range(101)], "at most 100 addresses or networks"),
    ],
)
def test_network_lists_are_validated(app, people, value, stored_or_words):
    owner = login_client(app, "ada@example.com")
    response = owner.post("/api/v1/auths/api_keys", json={"name": "bot", "allowed_networks": value})
    if isinstance(stored_or_words, str):
        assert response.status_code == 400
        assert stored_or_words in response.get_json()["detail"]
    else:
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["allowed_networks"] == stored_or_words


def test_a_change_holds_from_the_next_request_and_shows_in_the_inventory(app, people):
    owner = login_client(app, "ada@example.com")
    created = owner.post("/api/v1/auths/api_keys", json={"name": "bot"}).get_json()
    headers = bearer(created["key"])
    api = app.test_client()
    assert api.get(WHO, headers=headers, environ_base=ELSEWHERE).status_code == 200
    changed = owner.post(
        f"/api/v1/auths/api_keys/{created['id']}", json={"allowed_networks": ["203.0.113.0/24"]}
    )
    assert changed.status_code == 200
    assert api.get(WHO, headers=headers, environ_base=ELSEWHERE).status_code == 403
    inventory = login_client(app, "root@example.com").get("/admin/api-keys").get_data(as_text=True)
    assert "from: <code>203.0.113.0/24</code>" in inventory


def test_a_limited_key_still_costs_one_statement(app, people, make_key):
    headers = bearer(
        make_key(
            people["user"], "both", allowed_networks=["203.0.113.7"], allowed_models=["gpt-test"]
        )
    )
    client = app.test_client()
    assert client.get(WHO, headers=headers, environ_base=OFFICE).status_code == 200  # last use
    with app.app_context():
        engine = db.engine
    with traced_statements(engine) as statements:
        assert client.get(WHO, headers=headers, environ_base=OFFICE).status_code == 200
        assert len(statements) == 1, statements
        statements.clear()
        assert client.get(WHO, headers=headers, environ_base=ELSEWHERE).status_code == 403
        # Only its audit row is written: no last use, no rate-limit counter.
        written = [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "INSERT"))]
        assert written and all("audit_events" in s for s in written), written


# --- the account page's forms -------------------------------------------------------------------


def test_the_new_key_form_sets_both_lists(app, people):
    owner = login_client(app, "ada@example.com")
    form = {
        "name": "CI",
        "expiry": "never",
        "allowed_models": "gpt-test, llama-test",
        "allowed_networks": "203.0.113.0/24, 2001:db8::1",
    }
    assert owner.post("/account/keys", data=form).status_code == 302
    (item,) = owner.get("/api/v1/auths/api_keys").get_json()["items"]
    assert item["allowed_models"] == ["gpt-test", "llama-test"]
    assert item["allowed_networks"] == ["203.0.113.0/24", "2001:db8::1"]


def test_a_bad_network_on_the_page_flashes_and_keeps_the_form(app, people):
    owner = login_client(app, "ada@example.com")
    form = {
        "name": "CI",
        "expiry": "never",
        "allowed_models": "gpt-test",
        "allowed_networks": "10.0.0.300",
    }
    response = owner.post("/account/keys", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The key was not created" in html
    assert "Allowed networks: &#39;10.0.0.300&#39; is not an IPv4 or IPv6 address" in html
    assert 'value="gpt-test"' in html and 'value="10.0.0.300"' in html
    assert owner.get("/api/v1/auths/api_keys").get_json()["items"] == []
