"""The Open WebUI routes added for compatibility, with Open WebUI's request and response shapes,
through sessions and keys (the route table itself is checked by test_compat_table.py)."""

import io
import zipfile

import pytest
import sqlalchemy as sa

from tests.support.accounts import ADMIN_EMAIL, PASSWORD, bearer, login_client
from tests.support.fake_upstream import UPSTREAM_KEY
from tests.support.files import make_pdf, upload, upload_ok
from webui.extensions import db
from webui.models import Usage

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def people(app, make_user, make_key, make_group, connected_upstreams, save_settings):
    """An admin and alice (in group "Team"), each with a session and a key; both upstreams."""
    save_settings(USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=True)
    admin_id = make_user(ADMIN_EMAIL, role="admin")
    alice_id = make_user("alice@example.com", name="Alice")
    group_id = make_group("Team", alice_id)
    return {
        "admin_id": admin_id,
        "alice_id": alice_id,
        "group_id": group_id,
        "admin": login_client(app, ADMIN_EMAIL),
        "alice": login_client(app, "alice@example.com"),
        "admin_key": bearer(make_key(admin_id, "admin bot")),
        "alice_key": bearer(make_key(alice_id, "alice bot")),
    }


def ok(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


# --- users ---------------------------------------------------------------------------------------


def test_users_all_is_served_not_405(client, people):
    body = ok(client.get("/api/v1/users/all", headers=people["admin_key"]))
    assert body["total"] == 2
    assert {user["email"] for user in body["users"]} == {ADMIN_EMAIL, "alice@example.com"}
    assert set(body["users"][0]) >= {"id", "name", "email", "role", "permissions"}
    assert client.get("/api/v1/users/all", headers=people["alice_key"]).status_code == 403


def test_users_search_matches_name_or_email(client, people):
    found = ok(client.get("/api/v1/users/search?query=ALI", headers=people["admin_key"]))
    assert [user["email"] for user in found["users"]] == ["alice@example.com"]
    assert found["total"] == 1
    assert (
        ok(client.get("/api/v1/users/search?query=%25", headers=people["admin_key"]))["users"] == []
    )


def test_a_caller_reads_their_own_permissions_and_groups(client, people):
    permissions = ok(client.get("/api/v1/users/permissions", headers=people["alice_key"]))
    assert permissions["workspace"]["knowledge"] is True
    assert permissions["features"]["api_keys"] is True
    groups = ok(people["alice"].get("/api/v1/users/groups"))
    assert [group["name"] for group in groups] == ["Team"]
    assert ok(people["admin"].get("/api/v1/users/groups")) == []


def test_admin_reads_one_user_their_info_and_groups(client, people):
    alice = people["alice_id"]
    user = ok(client.get(f"/api/v1/users/{alice}", headers=people["admin_key"]))
    assert user["email"] == "alice@example.com" and user["role"] == "user"
    info = ok(client.get(f"/api/v1/users/{alice}/info", headers=people["admin_key"]))
    assert info["id"] == alice and isinstance(info["created_at"], int)
    groups = ok(client.get(f"/api/v1/users/{alice}/groups", headers=people["admin_key"]))
    assert [group["id"] for group in groups] == [people["group_id"]]
    assert client.get(f"/api/v1/users/{alice}", headers=people["alice_key"]).status_code == 403
    assert client.get("/api/v1/users/nobody", headers=people["admin_key"]).status_code == 404


def test_default_permission_defaults_are_the_catalogs(client, people, save_settings):
    save_settings(USER_PERMISSIONS_CHAT_FILE_UPLOAD=False)
    defaults = ok(
        client.get("/api/v1/users/default/permissions/defaults", headers=people["admin_key"])
    )
    assert defaults["chat"]["file_upload"] is True  # the catalog's default, not the saved value
    assert defaults["features"]["api_keys"] is False


# --- groups --------------------------------------------------------------------------------------


def test_members_are_added_and_removed_by_id(people):
    admin, group, admin_id = people["admin"], people["group_id"], people["admin_id"]
    added = ok(admin.post(f"/api/v1/groups/id/{group}/users/add", json={"user_ids": [admin_id]}))
    assert added["member_count"] == 2 and admin_id in added["user_ids"]
    again = ok(admin.post(f"/api/v1/groups/id/{group}/users/add", json={"user_ids": [admin_id]}))
    assert again["member_count"] == 2
    removed = ok(
        admin.post(f"/api/v1/groups/id/{group}/users/remove", json={"user_ids": [admin_id]})
    )
    assert removed["user_ids"] == [people["alice_id"]]
    unknown = admin.post(f"/api/v1/groups/id/{group}/users/add", json={"user_ids": ["nobody"]})
    assert unknown.status_code == 404


def test_group_members_info_and_export(people):
    admin, group = people["admin"], people["group_id"]
    members = ok(admin.post(f"/api/v1/groups/id/{group}/users"))
    assert [m["email"] for m in members] == ["alice@example.com"]
    assert ok(admin.get(f"/api/v1/groups/id/{group}/members")) == members
    info = ok(admin.get(f"/api/v1/groups/id/{group}/info"))
    assert info["member_count"] == 1 and info["name"] == "Team"
    assert ok(admin.get(f"/api/v1/groups/id/{group}/export"))["user_ids"] == [people["alice_id"]]


def test_changing_members_needs_a_session(client, people):
    path = f"/api/v1/groups/id/{people['group_id']}/users/add"
    refused = client.post(path, json={"user_ids": []}, headers=people["admin_key"])
    assert refused.status_code == 403 and "browser session" in refused.get_json()["detail"]


# --- auths: profile, password, sign-out ----------------------------------------------------------


def test_profile_and_password_change_through_the_session(app, client, people):
    alice = people["alice"]
    assert ok(alice.post("/api/v1/auths/update/profile", json={"name": " Alice B "}))["name"] == (
        "Alice B"
    )
    wrong = alice.post(
        "/api/v1/auths/update/password", json={"password": "wrong", "new_password": "n3w-password"}
    )
    assert wrong.status_code == 400
    short = alice.post(
        "/api/v1/auths/update/password", json={"password": PASSWORD, "new_password": "short"}
    )
    assert short.status_code == 400 and "8 characters" in short.get_json()["detail"]
    changed = alice.post(
        "/api/v1/auths/update/password", json={"password": PASSWORD, "new_password": "n3w-password"}
    )
    assert ok(changed) is True
    assert ok(alice.get("/api/v1/auths/"))["name"] == "Alice B"  # this session stays
    login_client(app, "alice@example.com", "n3w-password")


def test_profile_password_and_signout_refuse_keys(client, people):
    for path, body in [
        ("/api/v1/auths/update/profile", {"name": "Bot"}),
        ("/api/v1/auths/update/password", {"password": PASSWORD, "new_password": "whatever1"}),
        ("/api/v1/auths/signout", {}),
    ]:
        response = client.post(path, json=body, headers=people["alice_key"])
        assert response.status_code == 403, path


def test_signout_ends_the_session(people):
    alice = people["alice"]
    assert ok(alice.post("/api/v1/auths/signout")) == {"status": True}
    assert alice.get("/api/v1/auths/").status_code == 401


# --- top level -----------------------------------------------------------------------------------


def test_version_config_and_probes(client, people):
    assert isinstance(ok(client.get("/api/version"))["version"], str)
    anonymous = ok(client.get("/api/config"))
    assert anonymous["status"] is True and anonymous["name"] == "webui"
    assert anonymous["features"]["enable_api_keys"] is True
    assert "enable_file_upload" not in anonymous["features"]
    mine = ok(client.get("/api/config", headers=people["alice_key"]))
    assert mine["features"]["enable_file_upload"] is True
    assert mine["features"]["enable_knowledge"] is True
    assert ok(client.get("/ready")) == {"status": True}
    assert ok(client.get("/health/db")) == {"status": True}


def test_base_models_are_for_admins(client, people):
    models = ok(client.get("/api/models/base", headers=people["admin_key"]))["data"]
    assert {"gpt-test", "llama-test:latest"} <= {model["id"] for model in models}
    assert client.get("/api/models/base", headers=people["alice_key"]).status_code == 403


@pytest.mark.parametrize("model", ["gpt-test", "embed-test:latest"])
def test_embeddings_in_openai_shape_from_either_kind_and_metered(app, client, people, model):
    body = {"model": model, "input": ["one", "two"]}
    answer = ok(client.post("/api/v1/embeddings", json=body, headers=people["alice_key"]))
    assert answer["object"] == "list"
    assert [item["index"] for item in answer["data"]] == [0, 1]
    assert all(isinstance(item["embedding"], list) for item in answer["data"])
    with app.app_context():
        row = db.session.scalar(sa.select(Usage))
        assert (row.model, row.endpoint, row.status) == (model, "/api/v1/embeddings", 200)


def test_embeddings_need_input_and_a_usable_model(client, people):
    missing = client.post(
        "/api/embeddings", json={"model": "gpt-test"}, headers=people["alice_key"]
    )
    assert missing.status_code == 400 and "input" in missing.get_json()["detail"]
    unknown = client.post(
        "/api/embeddings", json={"model": "nope", "input": "x"}, headers=people["alice_key"]
    )
    assert unknown.status_code == 400


# --- files ---------------------------------------------------------------------------------------


def test_file_search_count_text_rename_and_named_download(client, people):
    alice = people["alice"]
    report = upload_ok(alice, "Report 2024.pdf", make_pdf("Quarterly numbers"))
    upload_ok(alice, "notes.txt", b"plain notes")
    upload_ok(people["admin"], "admin.pdf", make_pdf("admin only"))
    found = ok(alice.get("/api/v1/files/search?filename=report*.PDF"))
    assert [f["id"] for f in found] == [report["id"]]
    assert len(ok(people["admin"].get("/api/v1/files/search?filename=*.pdf"))) == 2
    assert len(ok(people["admin"].get("/api/v1/files/user/search?filename=*.pdf"))) == 1
    assert alice.get("/api/v1/files/search").status_code == 400
    assert ok(alice.get("/api/v1/files/count")) == {"count": 2}
    assert ok(people["admin"].get("/api/v1/files/count")) == {"count": 3}
    assert ok(people["admin"].get("/api/v1/files/user/count")) == {"count": 1}
    text = ok(client.get(f"/api/v1/files/{report['id']}/data/content", headers=people["alice_key"]))
    assert "Quarterly numbers" in text["content"]
    renamed = ok(alice.post(f"/api/v1/files/{report['id']}/rename", json={"filename": "q.pdf"}))
    assert renamed["filename"] == "q.pdf" and renamed["meta"]["name"] == "q.pdf"
    named = alice.get(f"/api/v1/files/{report['id']}/content/q.pdf")
    assert named.status_code == 200 and named.data.startswith(b"%PDF")
    assert "attachment" in named.headers["Content-Disposition"]
    assert (
        client.get(
            f"/api/v1/files/{report['id']}/data/content", headers=people["admin_key"]
        ).status_code
        == 200
    )
    html = alice.get(f"/api/v1/files/{report['id']}/content/html")
    assert html.status_code == 404 and "not provided by webui" in html.get_json()["detail"]


def test_delete_all_removes_only_the_callers_files(client, people):
    upload_ok(people["alice"], "a.txt", b"alice's")
    kept = upload_ok(people["admin"], "b.txt", b"admin's")
    answer = ok(client.delete("/api/v1/files/all", headers=people["alice_key"]))
    assert answer["count"] == 1
    assert ok(people["alice"].get("/api/v1/files/count")) == {"count": 0}
    assert ok(people["admin"].get(f"/api/v1/files/{kept['id']}"))["id"] == kept["id"]


# --- knowledge -----------------------------------------------------------------------------------


def new_collection(client, name="Handbook", **extra):
    return ok(client.post("/api/v1/knowledge/create", json={"name": name, **extra}))


def test_knowledge_search_files_batch_reset_and_export(client, people):
    alice = people["alice"]
    kb = new_collection(alice, description="vacation rules")
    new_collection(alice, "Recipes")
    one = upload_ok(alice, "one.txt", b"Vacation: 25 days.")
    two = upload_ok(alice, "two.txt", b"Sick leave: ask HR.")
    found = ok(alice.get("/api/v1/knowledge/search?query=VACATION"))
    assert [item["id"] for item in found["items"]] == [kb["id"]] and found["total"] == 1
    batch = [{"file_id": one["id"]}, {"file_id": two["id"]}]
    added = ok(alice.post(f"/api/v1/knowledge/{kb['id']}/files/batch/add", json=batch))
    assert sorted(added["data"]["file_ids"]) == sorted([one["id"], two["id"]])
    listed = ok(client.get(f"/api/v1/knowledge/{kb['id']}/files", headers=people["alice_key"]))
    assert listed["total"] == 2 and {f["filename"] for f in listed["items"]} == {
        "one.txt",
        "two.txt",
    }
    export = alice.get(f"/api/v1/knowledge/{kb['id']}/export")
    assert export.status_code == 200 and export.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(export.data)) as archive:
        assert sorted(archive.namelist()) == ["one.txt.txt", "two.txt.txt"]
        assert "25 days" in archive.read("one.txt.txt").decode()
    reset = ok(alice.post(f"/api/v1/knowledge/{kb['id']}/reset"))
    assert reset["files"] == [] and ok(alice.get(f"/api/v1/files/{one['id']}"))["id"] == one["id"]


def test_batch_add_is_all_or_nothing(people):
    alice = people["alice"]
    kb = new_collection(alice)
    good = upload_ok(alice, "good.txt", b"indexed")
    pending = upload(alice, "later.txt", b"not yet", query="?process=false").get_json()
    batch = [{"file_id": good["id"]}, {"file_id": pending["id"]}]
    refused = alice.post(f"/api/v1/knowledge/{kb['id']}/files/batch/add", json=batch)
    assert refused.status_code == 400 and pending["id"] in refused.get_json()["detail"]
    assert ok(alice.get(f"/api/v1/knowledge/{kb['id']}/files"))["total"] == 0
    not_a_list = alice.post(f"/api/v1/knowledge/{kb['id']}/files/batch/add", json={"a": 1})
    assert not_a_list.status_code == 400


def test_knowledge_access_update_and_file_update(people):
    alice = people["alice"]
    kb = new_collection(alice)
    shared = ok(
        alice.post(
            f"/api/v1/knowledge/{kb['id']}/access/update",
            json={"access_control": {"read": {"group_ids": [people["group_id"]]}}},
        )
    )
    assert shared["access_control"]["read"]["group_ids"] == [people["group_id"]]
    file = upload_ok(alice, "f.txt", b"some text")
    ok(alice.post(f"/api/v1/knowledge/{kb['id']}/file/add", json={"file_id": file["id"]}))
    again = ok(
        alice.post(f"/api/v1/knowledge/{kb['id']}/file/update", json={"file_id": file["id"]})
    )
    assert again["files"][0]["data"]["status"] == "completed"
    stranger = upload_ok(alice, "g.txt", b"elsewhere")
    outside = alice.post(
        f"/api/v1/knowledge/{kb['id']}/file/update", json={"file_id": stranger["id"]}
    )
    assert outside.status_code == 404


# --- retrieval -----------------------------------------------------------------------------------


def test_process_text_is_queryable_and_can_join_a_collection(client, people):
    alice, key = people["alice"], people["alice_key"]
    kb = new_collection(alice)
    body = {"name": "memo", "content": "The canteen opens at noon.", "collection_name": kb["id"]}
    answer = ok(client.post("/api/v1/retrieval/process/text", json=body, headers=key))
    assert answer["status"] is True and answer["collection_name"] == kb["id"]
    assert answer["content"] == body["content"]
    hits = ok(
        client.post(
            "/api/v1/retrieval/query/doc",
            json={"collection_name": answer["file_id"], "query": "canteen"},
            headers=key,
        )
    )
    assert "noon" in hits["documents"][0][0]
    assert ok(alice.get(f"/api/v1/knowledge/{kb['id']}/files"))["total"] == 1
    empty = client.post("/api/v1/retrieval/process/text", json={"content": " "}, headers=key)
    assert empty.status_code == 400
    listed = {"content": "x", "collection_name": [kb["id"]]}
    wrong = client.post("/api/v1/retrieval/process/text", json=listed, headers=key)
    assert wrong.status_code == 400 and "collection_name" in wrong.get_json()["detail"]


def test_process_files_batch_indexes_pending_files(people):
    alice = people["alice"]
    pending = upload(alice, "later.txt", b"Parking is free.", query="?process=false").get_json()
    answer = ok(
        alice.post(
            "/api/v1/retrieval/process/files/batch",
            json={"files": [{"id": pending["id"]}, {"id": "unknown"}]},
        )
    )
    assert answer["results"] == [{"file_id": pending["id"], "status": "completed"}]
    assert answer["errors"][0]["file_id"] == "unknown"
    assert ok(alice.get(f"/api/v1/files/{pending['id']}/process/status"))["status"] == "completed"


def test_retrieval_config_is_for_admins(client, people):
    config = ok(client.get("/api/v1/retrieval/config", headers=people["admin_key"]))
    assert config["CHUNK_SIZE"] > 0 and config["TOP_K"] > 0
    assert client.get("/api/v1/retrieval/config", headers=people["alice_key"]).status_code == 403


# --- /openai -------------------------------------------------------------------------------------


def test_openai_models_chat_and_one_connection(client, people):
    mine = ok(client.get("/openai/models", headers=people["alice_key"]))
    assert mine["object"] == "list"
    assert {m["id"] for m in mine["data"]} == {"gpt-test", "gpt-secret"}
    raw = ok(client.get("/openai/models/0", headers=people["admin_key"]))
    assert {m["id"] for m in raw["data"]} == {"gpt-test", "gpt-secret"}
    assert client.get("/openai/models/0", headers=people["alice_key"]).status_code == 403
    assert client.get("/openai/models/7", headers=people["admin_key"]).status_code == 404
    chat = ok(
        client.post(
            "/openai/chat/completions",
            json={"model": "gpt-test", "messages": HELLO},
            headers=people["alice_key"],
        )
    )
    assert chat["choices"][0]["message"]["content"]


def test_openai_config_masks_keys_and_keeps_them_when_sent_back(client, people, openai_up):
    admin = people["admin"]
    config = ok(admin.get("/openai/config"))
    assert config["ENABLE_OPENAI_API"] is True
    assert config["OPENAI_API_BASE_URLS"] == [openai_up.url + "/v1"]
    assert UPSTREAM_KEY not in str(config) and config["OPENAI_API_KEYS"][0]
    saved = ok(admin.post("/openai/config/update", json={**config, "OPENAI_API_CONFIGS": {}}))
    assert saved["OPENAI_API_KEYS"] == config["OPENAI_API_KEYS"]
    chat = client.post(  # the upstream still gets its real key
        "/api/chat/completions",
        json={"model": "gpt-test", "messages": HELLO},
        headers=people["alice_key"],
    )
    assert chat.status_code == 200
    bad = admin.post("/openai/config/update", json={"OPENAI_API_BASE_URLS": ["ftp://x"]})
    assert bad.status_code == 400
    assert ok(admin.get("/openai/config")) == config  # nothing saved
    refused = client.post("/openai/config/update", json={}, headers=people["admin_key"])
    assert refused.status_code == 403


def test_openai_config_update_can_disable_a_connection(client, people):
    admin = people["admin"]
    ok(admin.post("/openai/config/update", json={"OPENAI_API_CONFIGS": {"0": {"enable": False}}}))
    assert ok(client.get("/openai/models", headers=people["alice_key"]))["data"] == []


def test_verify_asks_a_server_for_its_models(people, openai_up, ollama_up):
    admin = people["admin"]
    answer = ok(
        admin.post("/openai/verify", json={"url": openai_up.url + "/v1", "key": UPSTREAM_KEY})
    )
    assert {m["id"] for m in answer["data"]} == {"gpt-test", "gpt-secret"}
    assert admin.post("/openai/verify", json={"url": openai_up.url + "/v1"}).status_code == 502
    assert admin.post("/openai/verify", json={"url": "not a url"}).status_code == 400
    ollama = ok(admin.post("/ollama/verify", json={"url": ollama_up.url}))
    assert "llama-test:latest" in {m["id"] for m in ollama["data"]}


# --- /ollama -------------------------------------------------------------------------------------


def test_ollama_read_routes(client, people):
    key, admin_key = people["alice_key"], people["admin_key"]
    assert ok(client.get("/ollama/", headers=key)) == {"status": True}
    assert ok(client.get("/ollama/api/version", headers=key)) == {"version": "0.9.0"}
    assert ok(client.get("/ollama/api/version/0", headers=key)) == {"version": "0.9.0"}
    assert client.get("/ollama/api/version/3", headers=key).status_code == 404
    assert ok(client.get("/ollama/api/ps", headers=admin_key))["models"]
    assert client.get("/ollama/api/ps", headers=key).status_code == 403
    tags = ok(client.get("/ollama/api/tags/0", headers=key))["models"]
    assert {tag["name"] for tag in tags} == {"llama-test:latest", "embed-test:latest"}
    listed = ok(client.get("/ollama/v1/models", headers=key))
    assert listed["object"] == "list"
    assert {m["id"] for m in listed["data"]} == {"llama-test:latest", "embed-test:latest"}
    assert ok(client.get("/ollama/v1/models/0", headers=key)) == listed
    config = ok(client.get("/ollama/config", headers=admin_key))
    assert config["ENABLE_OLLAMA_API"] is True and len(config["OLLAMA_BASE_URLS"]) == 1


def test_ollama_openai_chat_and_embeddings(client, people):
    key = people["alice_key"]
    chat = ok(
        client.post(
            "/ollama/v1/chat/completions",
            json={"model": "llama-test:latest", "messages": HELLO},
            headers=key,
        )
    )
    assert chat["choices"][0]["message"]["content"]
    legacy = ok(
        client.post(
            "/ollama/api/embeddings", json={"model": "embed-test", "prompt": "hi"}, headers=key
        )
    )
    assert legacy == {"embedding": [0.1, 0.2, 0.3]}
    shaped = ok(
        client.post(
            "/ollama/v1/embeddings", json={"model": "embed-test:latest", "input": "hi"}, headers=key
        )
    )
    assert shaped["data"][0]["embedding"] == [0.1, 0.2, 0.3]
    not_ollama = client.post(
        "/ollama/v1/embeddings", json={"model": "gpt-test", "input": "hi"}, headers=key
    )
    assert not_ollama.status_code == 400


# --- left out ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/v1/users/usage"),
        ("GET", "/api/v1/users/user/info"),
        ("GET", "/api/v1/knowledge/search/files"),
        ("PUT", "/api/v1/files/"),
        ("GET", "/openai/nothing"),
        ("DELETE", "/ollama/api/tags"),
    ],
)
def test_left_out_paths_answer_a_json_404_even_where_a_pattern_would_match(
    client, people, method, path
):
    response = client.open(path, method=method, headers=people["admin_key"])
    assert response.status_code == 404
    assert f"{method} {path} is not provided by webui" in response.get_json()["detail"]


def test_key_allowlists_and_read_only_hold_on_the_new_routes(client, people, make_key):
    alice = people["alice_id"]
    files_only = bearer(make_key(alice, "files bot", allowed_endpoints=["/api/v1/files"]))
    assert ok(client.get("/api/v1/files/count", headers=files_only)) == {"count": 0}
    for path in ("/openai/models", "/ollama/v1/models", "/api/v1/users/permissions"):
        assert client.get(path, headers=files_only).status_code == 403, path
    reader = bearer(make_key(alice, "reader bot", read_only=True))
    assert ok(client.get("/openai/models", headers=reader))["data"]
    body = {"model": "gpt-test", "input": "hi"}
    assert client.post("/api/v1/embeddings", json=body, headers=reader).status_code == 403
    assert client.delete("/api/v1/files/all", headers=reader).status_code == 403
