"""The OpenAPI declarations of the files, knowledge and retrieval routes are true: what the
routes answer fits the schemas /openapi.json gives for them, and a body field of the wrong
type is refused before the view runs, with a 400 naming the field."""

import io

import pytest
from jsonschema import Draft202012Validator

from tests.support.files import upload_ok
from webui.api.knowledge import ACCESS_HELP

# The declarations against real answers: not the database, so CI runs these on SQLite only.
pytestmark = pytest.mark.document

NOTES = b"Tomatoes need sun.\n\nBasil likes the same window sill."
MY_PATHS = ("/api/v1/files", "/api/v1/knowledge", "/api/v1/retrieval")


@pytest.fixture
def people(people_with_keys):
    return people_with_keys("alice", USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=True)


@pytest.fixture
def conforms(client, document):
    """Sends a request and checks its JSON answer against the schema the document declares
    for that path, method and status; returns the answer's JSON."""
    components = {"components": document["components"]}

    def check(method: str, path: str, rule: str, status: int = 200, **request) -> object:
        response = client.open(path, method=method, **request)
        assert response.status_code == status, response.get_data(as_text=True)[:300]
        answers = document["paths"][rule][method.lower()]["responses"]
        schema = answers[str(status)]["content"]["application/json"]["schema"]
        body = response.get_json()
        errors = list(Draft202012Validator({**schema, **components}).iter_errors(body))
        assert not errors, [error.message for error in errors]
        return body

    return check


def refused(response, sentence: str) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.get_json()["detail"] == sentence


def test_the_file_routes_answer_as_declared(client, people, conforms):
    key = people["alice_key"]
    file_id = upload_ok(client, "notes.txt", NOTES, key)["id"]
    stored = conforms(
        "POST",
        "/api/v1/files/?process=false",
        "/api/v1/files/",
        data={"file": (io.BytesIO(NOTES), "later.txt")},
        content_type="multipart/form-data",
        headers=key,
    )
    assert stored["data"] == {"status": "pending"}
    one = "/api/v1/files/{file_id}"
    listed = conforms("GET", "/api/v1/files/?page=1&limit=5", "/api/v1/files/", headers=key)
    assert listed["total"] == 2
    conforms("GET", f"/api/v1/files/{file_id}", one, headers=key)
    conforms("GET", f"/api/v1/files/{file_id}/process/status", one + "/process/status", headers=key)
    conforms("GET", f"/api/v1/files/{file_id}/data/content", one + "/data/content", headers=key)
    found = conforms(
        "GET", "/api/v1/files/search?filename=*.txt", "/api/v1/files/search", headers=key
    )
    assert len(found) == 2
    conforms(
        "GET", "/api/v1/files/user/search?filename=n*", "/api/v1/files/user/search", headers=key
    )
    assert conforms("GET", "/api/v1/files/count", "/api/v1/files/count", headers=key) == {
        "count": 2
    }
    conforms("GET", "/api/v1/files/user/count", "/api/v1/files/user/count", headers=key)
    renamed = conforms(
        "POST",
        f"/api/v1/files/{file_id}/rename",
        one + "/rename",
        json={"filename": "garden.txt"},
        headers=key,
    )
    assert renamed["filename"] == "garden.txt"
    conforms("DELETE", f"/api/v1/files/{stored['id']}", one, headers=key)
    assert conforms("DELETE", "/api/v1/files/all", "/api/v1/files/all", headers=key)["count"] == 1


def test_a_failed_file_fits_the_file_schema_with_its_error(client, people, conforms):
    key = people["alice_key"]
    failed = upload_ok(client, "photo.bin", b"\x00\x01binary", key)
    assert failed["data"]["status"] == "failed" and failed["data"]["error"]
    conforms(
        "GET",
        f"/api/v1/files/{failed['id']}/process/status",
        "/api/v1/files/{file_id}/process/status",
        headers=key,
    )


def test_downloads_are_sent_as_a_declared_media_type(client, people, document):
    key = people["alice_key"]
    file_id = upload_ok(client, "notes.txt", NOTES, key)["id"]
    declared = document["paths"]["/api/v1/files/{file_id}/content"]["get"]["responses"]
    assert list(declared["200"]["content"]) == ["*/*"]
    response = client.get(f"/api/v1/files/{file_id}/content", headers=key)
    assert response.status_code == 200 and response.data == NOTES
    again = client.get(
        f"/api/v1/files/{file_id}/content",
        headers={**key, "If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304 and "304" in declared


def test_the_knowledge_routes_answer_as_declared(client, people, conforms):
    key = people["alice_key"]
    file_id = upload_ok(client, "notes.txt", NOTES, key)["id"]
    base = "/api/v1/knowledge/{knowledge_id}"
    created = conforms(
        "POST",
        "/api/v1/knowledge/create",
        "/api/v1/knowledge/create",
        json={"name": "Garden", "description": None, "access_control": {}},
        headers=key,
    )
    kid = created["id"]
    path = f"/api/v1/knowledge/{kid}"
    conforms("POST", f"{path}/file/add", base + "/file/add", json={"file_id": file_id}, headers=key)
    shown = conforms("GET", path, base, headers=key)
    assert shown["data"]["file_ids"] == [file_id] and shown["files"][0]["id"] == file_id
    conforms("GET", "/api/v1/knowledge/", "/api/v1/knowledge/", headers=key)
    conforms(
        "GET", "/api/v1/knowledge/search?query=gar&page=1", "/api/v1/knowledge/search", headers=key
    )
    conforms("GET", f"{path}/files", base + "/files", headers=key)
    conforms(
        "POST",
        f"{path}/update",
        base + "/update",
        json={"description": "Plants", "access_control": {"read": None, "write": None}},
        headers=key,
    )
    conforms(
        "POST",
        f"{path}/access/update",
        base + "/access/update",
        json={"access_control": {"read": {"group_ids": [], "user_ids": []}}},
        headers=key,
    )
    conforms(
        "POST",
        f"{path}/files/batch/add",
        base + "/files/batch/add",
        json=[{"file_id": file_id}],
        headers=key,
    )
    conforms(
        "POST", f"{path}/file/remove", base + "/file/remove", json={"file_id": file_id}, headers=key
    )
    conforms("POST", f"{path}/reset", base + "/reset", headers=key)
    assert conforms("DELETE", f"{path}/delete", base + "/delete", headers=key) is True


def test_a_collection_export_is_the_declared_zip(client, people, document):
    key = people["alice_key"]
    kid = client.post("/api/v1/knowledge/create", json={"name": "K"}, headers=key).get_json()["id"]
    response = client.get(f"/api/v1/knowledge/{kid}/export", headers=key)
    declared = document["paths"]["/api/v1/knowledge/{knowledge_id}/export"]["get"]["responses"]
    assert response.status_code == 200 and response.mimetype in declared["200"]["content"]
    assert response.data.startswith(b"PK")


def test_the_retrieval_routes_answer_as_declared(client, people, conforms):
    key = people["alice_key"]
    kid = client.post("/api/v1/knowledge/create", json={"name": "K"}, headers=key).get_json()["id"]
    indexed = conforms(
        "POST",
        "/api/v1/retrieval/process/text",
        "/api/v1/retrieval/process/text",
        json={"name": None, "content": "Tomatoes need sun.", "collection_name": kid},
        headers=key,
    )
    assert indexed["status"] is True and indexed["collection_name"] == kid
    found = conforms(
        "POST",
        "/api/v1/retrieval/query/doc",
        "/api/v1/retrieval/query/doc",
        json={"collection_name": kid, "query": "tomatoes", "k": None},
        headers=key,
    )
    assert found["metadatas"][0][0]["collection_type"] == "collection"
    conforms(
        "POST",
        "/api/v1/retrieval/query/collection",
        "/api/v1/retrieval/query/collection",
        json={"collection_names": [indexed["file_id"]], "query": "sun", "k": 2},
        headers=key,
    )
    conforms(
        "POST",
        "/api/v1/retrieval/process/file",
        "/api/v1/retrieval/process/file",
        json={"file_id": indexed["file_id"]},
        headers=key,
    )
    outcome = conforms(
        "POST",
        "/api/v1/retrieval/process/files/batch",
        "/api/v1/retrieval/process/files/batch",
        json={"files": [{"id": indexed["file_id"]}, {"id": "nope"}], "collection_name": ""},
        headers=key,
    )
    assert [error["file_id"] for error in outcome["errors"]] == ["nope"]


def test_the_retrieval_settings_answer_as_declared(people, conforms):
    config = conforms(
        "GET", "/api/v1/retrieval/config", "/api/v1/retrieval/config", headers=people["admin_key"]
    )
    assert isinstance(config["CHUNK_SIZE"], int)


@pytest.mark.parametrize(
    "path, body, sentence",
    [
        ("/api/v1/files/{file}/rename", {"filename": 5}, "filename must be text."),
        ("/api/v1/files/{file}/rename", {}, "filename is required."),
        ("/api/v1/knowledge/create", {"name": ["K"]}, "name must be text."),
        (
            "/api/v1/knowledge/create",
            {"name": "K", "description": "x" * 1001},
            "description must be at most 1000 characters.",
        ),
        ("/api/v1/knowledge/create", {"name": "K", "access_control": "x"}, ACCESS_HELP + "."),
        (
            "/api/v1/knowledge/{kid}/update",
            {"access_control": {"read": {"group_ids": "g"}}},
            "access_control.read.group_ids must be a list or null.",
        ),
        ("/api/v1/knowledge/{kid}/file/add", {"file_id": 7}, "file_id must be text."),
        (
            "/api/v1/knowledge/{kid}/files/batch/add",
            {"file_id": "f"},
            'The request body must be a JSON array of {"file_id": "…"} objects.',
        ),
        (
            "/api/v1/retrieval/query/doc",
            {"collection_name": "c", "query": "q", "k": "many"},
            "k must be a whole number from 1 to 50.",
        ),
        (
            "/api/v1/retrieval/query/collection",
            {"collection_names": "c", "query": "q"},
            "collection_names must be a non-empty list of file or knowledge ids.",
        ),
        ("/api/v1/retrieval/process/text", {"content": 5}, "content must be text."),
        (
            "/api/v1/retrieval/process/files/batch",
            {"files": [{"id": 3}]},
            "files[0].id must be text.",
        ),
    ],
)
def test_a_wrong_typed_field_is_refused_naming_it(client, people, path, body, sentence):
    key = people["alice_key"]
    file_id = upload_ok(client, "notes.txt", NOTES, key)["id"]
    kid = client.post("/api/v1/knowledge/create", json={"name": "K"}, headers=key).get_json()["id"]
    response = client.post(path.format(file=file_id, kid=kid), json=body, headers=key)
    refused(response, sentence)


def test_the_body_is_checked_before_the_collection_is_looked_up(client, people):
    response = client.post(
        "/api/v1/knowledge/unknown/file/add", json={"file_id": 1}, headers=people["alice_key"]
    )
    refused(response, "file_id must be text.")
