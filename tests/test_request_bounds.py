"""Every list a request may carry has a named bound (``webui/core/parsers.py``): a longer list,
or a longer entry, is a 400 whose detail names the field and the bound, and nothing is saved.
The parsers behind them are linear: repeats are dropped with a dict, never a list scan."""

import json

import pytest

from webui.core.parsers import (
    MAX_BATCH_FILES,
    MAX_CONNECTIONS,
    MAX_EMBEDDING_INPUTS,
    MAX_ENDPOINTS,
    MAX_GROUP_IDS,
    MAX_ID_LENGTH,
    MAX_MEMBER_IDS,
    MAX_PATH_LENGTH,
    MAX_SECRET_LENGTH,
    MAX_URL_LENGTH,
)
from webui.services.fulltext import query_terms

KEYS = "/api/v1/auths/api_keys"


def paths(count: int, length: int = 8) -> list[str]:
    """``count`` distinct allowlist paths of ``length`` characters each."""
    return [f"/{number:0{length - 1}d}" for number in range(count)]


def refused(response, *words: str) -> str:
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    detail = response.get_json()["detail"]
    for word in words:
        assert word in detail, detail
    return detail


@pytest.fixture
def admin(admin_client, save_settings):
    """An admin's browser session, keys switched on."""
    save_settings(ENABLE_API_KEYS=True)
    return admin_client


def listed_keys(client) -> list[dict]:
    return client.get(KEYS).get_json()["items"]


# --- a key's own allowlist ------------------------------------------------------------------


def test_a_new_key_holds_at_most_the_bound_of_paths_of_bounded_length(admin):
    too_many = admin.post(KEYS, json={"name": "k", "allowed_endpoints": paths(MAX_ENDPOINTS + 1)})
    refused(too_many, "allowed_endpoints", f"at most {MAX_ENDPOINTS} paths", f"{MAX_ENDPOINTS + 1}")
    too_long = admin.post(
        KEYS, json={"name": "k", "allowed_endpoints": paths(1, MAX_PATH_LENGTH + 1)}
    )
    refused(too_long, "allowed_endpoints", f"at most {MAX_PATH_LENGTH} characters")
    assert listed_keys(admin) == []

    most = paths(MAX_ENDPOINTS, MAX_PATH_LENGTH)
    created = admin.post(KEYS, json={"name": "k", "allowed_endpoints": most})
    assert created.status_code == 201 and created.get_json()["allowed_endpoints"] == most


def test_a_key_update_past_the_bound_changes_nothing(admin):
    key = admin.post(KEYS, json={"name": "k", "allowed_endpoints": ["/api/models"]}).get_json()
    response = admin.post(f"{KEYS}/{key['id']}", json={"allowed_endpoints": paths(1000)})
    refused(response, "allowed_endpoints", f"at most {MAX_ENDPOINTS} paths (it holds 1000)")
    assert listed_keys(admin)[0]["allowed_endpoints"] == ["/api/models"]


def test_a_mebibyte_allowlist_is_refused_by_its_count_before_any_entry_is_read(admin):
    """The issue's request: a body of about 1 MiB of distinct paths (74 s of CPU before).
    Its last entry is invalid, and the answer is about the count: no entry was looked at."""
    key = admin.post(KEYS, json={"name": "k"}).get_json()
    entries = [*paths(100_000, 7), "no-leading-slash"]
    body = json.dumps({"allowed_endpoints": entries}, separators=(",", ":"))
    assert 900_000 < len(body) < 1024 * 1024
    response = admin.post(
        f"{KEYS}/{key['id']}", data=body, headers={"Content-Type": "application/json"}
    )
    detail = refused(response, "allowed_endpoints", "it holds 100001")
    assert "no-leading-slash" not in detail
    assert listed_keys(admin)[0]["allowed_endpoints"] is None


def test_the_account_page_refuses_a_list_past_the_bound_and_keeps_the_form(admin):
    ticked = ["/api/models"] * (MAX_ENDPOINTS + 1)  # a browser never sends repeats; a script may
    response = admin.post(
        "/account/keys", data={"name": "CI", "expiry": "never", "endpoints": ticked}
    )
    assert response.status_code == 400
    assert f"must hold at most {MAX_ENDPOINTS} paths".encode() in response.data
    assert b'value="CI"' in response.data
    assert listed_keys(admin) == []


def test_the_administrators_allowlist_is_bounded_too(admin):
    config = "/api/v1/auths/admin/config"
    before = admin.get(config).get_json()["API_KEYS_ALLOWED_ENDPOINTS"]
    too_many = admin.post(config, json={"API_KEYS_ALLOWED_ENDPOINTS": paths(MAX_ENDPOINTS + 1)})
    refused(too_many, "API_KEYS_ALLOWED_ENDPOINTS", f"at most {MAX_ENDPOINTS} paths")
    too_long = admin.post(config, json={"API_KEYS_ALLOWED_ENDPOINTS": "/" + "a" * MAX_PATH_LENGTH})
    refused(too_long, "API_KEYS_ALLOWED_ENDPOINTS", f"at most {MAX_PATH_LENGTH} characters")
    assert admin.get(config).get_json()["API_KEYS_ALLOWED_ENDPOINTS"] == before


# --- group members ----------------------------------------------------------------------------


@pytest.fixture
def group(admin):
    return admin.post("/api/v1/groups/create", json={"name": "Ops"}).get_json()


@pytest.mark.parametrize("action", ["update", "users/add", "users/remove"])
def test_group_member_ids_are_bounded_in_number_and_length(admin, group, action):
    path = f"/api/v1/groups/id/{group['id']}/{action}"
    many = [f"u{number}" for number in range(MAX_MEMBER_IDS + 1)]
    refused(admin.post(path, json={"user_ids": many}), "user_ids", f"at most {MAX_MEMBER_IDS}")
    long_id = ["u" * (MAX_ID_LENGTH + 1)]
    refused(
        admin.post(path, json={"user_ids": long_id}),
        "user_ids",
        f"at most {MAX_ID_LENGTH} characters",
    )
    assert admin.get(f"/api/v1/groups/id/{group['id']}").get_json()["user_ids"] == []


def test_repeated_member_ids_count_once(admin, group, make_user):
    bob = make_user("bob@example.com")
    path = f"/api/v1/groups/id/{group['id']}/users/add"
    added = admin.post(path, json={"user_ids": [bob, bob, bob]})
    assert added.status_code == 200 and added.get_json()["user_ids"] == [bob]


# --- groups a collection or a model is shared with ------------------------------------------


def test_a_collection_is_shared_with_a_bounded_list_of_groups(admin, save_settings):
    many = {"read": {"group_ids": [f"g{n}" for n in range(MAX_GROUP_IDS + 1)]}}
    created = admin.post("/api/v1/knowledge/create", json={"name": "K", "access_control": many})
    refused(created, "group_ids", f"at most {MAX_GROUP_IDS} group ids")
    collection = admin.post("/api/v1/knowledge/create", json={"name": "K"}).get_json()
    long_id = {"read": {"group_ids": ["g" * (MAX_ID_LENGTH + 1)]}}
    changed = admin.post(
        f"/api/v1/knowledge/{collection['id']}/access/update", json={"access_control": long_id}
    )
    refused(changed, "group_ids", f"at most {MAX_ID_LENGTH} characters")


def test_a_batch_of_files_for_a_collection_is_bounded(admin):
    collection = admin.post("/api/v1/knowledge/create", json={"name": "K"}).get_json()
    batch = [{"file_id": f"f{n}"} for n in range(MAX_BATCH_FILES + 1)]
    response = admin.post(f"/api/v1/knowledge/{collection['id']}/files/batch/add", json=batch)
    refused(response, "request body", f"at most {MAX_BATCH_FILES} files")


def test_a_models_groups_are_bounded_on_the_admin_page(admin, make_group):
    group_id = make_group("Ops")
    response = admin.post(
        "/admin/models",
        data={
            "model_id": "gpt-test",
            "access": "restricted",
            "group_ids": [group_id] * (MAX_GROUP_IDS + 1),
        },
    )
    assert response.status_code == 400
    assert f"group_ids must hold at most {MAX_GROUP_IDS} group ids".encode() in response.data


# --- connections --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            {"OPENAI_API_BASE_URLS": [f"http://h{n}.test" for n in range(MAX_CONNECTIONS + 1)]},
            ("OPENAI_API_BASE_URLS", f"at most {MAX_CONNECTIONS} URLs"),
        ),
        (
            {"OPENAI_API_BASE_URLS": ["http://h.test/" + "a" * MAX_URL_LENGTH]},
            ("OPENAI_API_BASE_URLS", f"at most {MAX_URL_LENGTH} characters"),
        ),
        (
            {"OPENAI_API_BASE_URLS": ["http://h.test"], "OPENAI_API_KEYS": ["k" * 4001]},
            ("OPENAI_API_KEYS", f"at most {MAX_SECRET_LENGTH} characters"),
        ),
        (
            {"OPENAI_API_CONFIGS": {str(n): {"enable": True} for n in range(MAX_CONNECTIONS + 1)}},
            ("OPENAI_API_CONFIGS", f"at most {MAX_CONNECTIONS} connections"),
        ),
    ],
)
def test_connection_lists_are_bounded(admin, body, words):
    before = admin.get("/openai/config").get_json()
    refused(admin.post("/openai/config/update", json=body), *words)
    assert admin.get("/openai/config").get_json() == before


def test_an_embeddings_request_holds_a_bounded_number_of_texts(
    app, connected_upstreams, make_user, make_key
):
    alice_key = {"Authorization": f"Bearer {make_key(make_user('alice@example.com'))}"}
    body = {"model": "gpt-test", "input": ["x"] * (MAX_EMBEDDING_INPUTS + 1)}
    response = app.test_client().post("/api/embeddings", json=body, headers=alice_key)
    refused(response, "input", f"at most {MAX_EMBEDDING_INPUTS} texts")


# --- search terms: repeats dropped in linear time ----------------------------------------------


def test_search_terms_keep_each_word_once_in_the_order_given():
    assert query_terms("Deploy the deploy KEYS keys rotate") == ["deploy", "keys", "rotate"]
