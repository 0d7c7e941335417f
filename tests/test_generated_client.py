"""A client generated from the published document works: openapi-python-client reads
/openapi.json from a live gunicorn and writes a package into a temporary folder, and that
package, with a user's API key, lists models, uploads a file, builds a knowledge collection,
searches it, chats with it and saves a chat, every answer parsed into the generated types.
The generator's warnings are only the known few (answers it has no type for)."""

import ast
import importlib
import json
import re
import sys
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from openapi_python_client import generate
from openapi_python_client.config import Config, ConfigFile, MetaType

from tests.support.fake_upstream import UPSTREAM_KEY

pytestmark = [pytest.mark.slow, pytest.mark.document]  # the generated client against gunicorn

PACKAGE = "webui_api_client"  # the generated package's name: its folder's, as the CLI names it
DOCS = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def untyped_answer(operation: str, media_type: str) -> str:
    """openapi-python-client's warning for an answer in a media type it cannot type: it leaves
    the answer out of the generated function (the call still works; ``.content`` has the bytes)."""
    return (
        f"{operation}: Cannot parse response for status code … (Unsupported content_type "
        f"{media_type}), response will be omitted from generated client"
    )


# The generator's warnings for our document, each explained; any other one fails the test.
KNOWN_WARNINGS = sorted(
    [
        # Every chat as NDJSON, one a line, as Open WebUI 0.12.4 exports them: lines of JSON
        # are not one JSON value, so no schema types the whole answer.
        untyped_answer("GET /api/v1/chats/all", "application/x-ndjson"),
        # A stored file's own bytes, in the type it was uploaded as (*/*), whole (200) or a
        # range of it (206): bytes, not a value to parse.
        *[untyped_answer("GET /api/v1/files/{file_id}/content", "*/*")] * 2,
        *[untyped_answer("GET /api/v1/files/{file_id}/content/{file_name}", "*/*")] * 2,
        # A collection exported as a zip of text files.
        untyped_answer("GET /api/v1/knowledge/{knowledge_id}/export", "application/zip"),
    ]
)

NOTES = (
    b"Vacation: every member of staff has 25 days of paid vacation a year.\n\n"
    b"Lunch is served at noon in the canteen on the ground floor."
)
HELLO = {"id": "m1", "parentId": None, "role": "user", "content": "How many vacation days?"}
A_CHAT = {
    "title": "Vacation days",
    "models": ["gpt-test"],
    "messages": [HELLO],
    "history": {"messages": {"m1": HELLO}, "currentId": "m1"},
}


@dataclass
class Generated:
    package: ModuleType
    warnings: list[str]
    document: dict

    def api(self, tag: str, operation: str) -> ModuleType:
        """The generated module of one operation (e.g. ``api("files", "upload_file")``)."""
        return importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")

    def model(self, name: str):
        """A generated model class by its class name."""
        return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def described(error) -> str:
    """One generator warning as a line: the operation and what it says, with the generator's
    object reprs (addresses change each run) left out."""
    header, detail = str(error.header), str(error.detail or "")
    named = re.search(r"parsing (\w+ \S+) within", header)
    text = re.sub(r"<\S+ object at 0x[0-9a-f]+>", "…", detail)
    return f"{named.group(1) if named else header}: {text}"


def forget_generated_modules() -> None:
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


@pytest.fixture
def secret(make_user, make_key, connected_upstreams, save_settings):
    """A user's key, allowed to make collections; both fake upstreams connected."""
    save_settings(USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=True)  # uploading is allowed by default
    make_user("root@example.com", role="admin")
    return make_key(make_user("script-owner@example.com"), "generated client")


@pytest.fixture
def generated(live_server, tmp_path):
    """The client openapi-python-client generates from the live server's /openapi.json,
    imported, and the generator's warnings."""
    answer = httpx.get(live_server.url + "/openapi.json", timeout=10, trust_env=False)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    document = answer.json()
    source = tmp_path / "openapi.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    config = Config.from_sources(
        # No post hooks: they only run ruff over the generated code (tidying, nothing else).
        ConfigFile(post_hooks=[]),
        MetaType.NONE,  # just the package, no pyproject.toml
        source,
        "utf-8",
        overwrite=False,
        output_path=tmp_path / PACKAGE,
    )
    problems = generate(config=config)
    warnings = sorted(described(problem) for problem in problems)
    if not (tmp_path / PACKAGE / "__init__.py").exists():
        pytest.fail("openapi-python-client generated nothing:\n" + "\n".join(warnings))
    forget_generated_modules()
    sys.path.insert(0, str(tmp_path))
    try:
        package = importlib.import_module(PACKAGE)
        assert Path(package.__file__).parent == tmp_path / PACKAGE
        yield Generated(package, warnings, document)
    finally:
        sys.path.remove(str(tmp_path))
        forget_generated_modules()


def test_the_generator_warns_only_about_answers_it_cannot_type(generated):
    assert generated.warnings == KNOWN_WARNINGS


def test_every_operation_of_the_document_has_its_generated_function(generated):
    api = Path(generated.package.__file__).parent / "api"
    functions = {module.stem for module in api.glob("*/*.py") if module.stem != "__init__"}
    operation_ids = {
        operation["operationId"]
        for item in generated.document["paths"].values()
        for operation in item.values()
    }
    assert functions == operation_ids


def test_a_generated_client_lists_models_uploads_searches_and_chats(
    generated, live_server, secret, openai_up
):
    client = generated.package.AuthenticatedClient(
        base_url=live_server.url,
        token=secret,
        raise_on_unexpected_status=True,  # an answer the document does not declare fails here
        timeout=httpx.Timeout(30.0),
        httpx_args={"trust_env": False},
    )
    api, model = generated.api, generated.model

    models = api("models", "list_models_get_api_models").sync(client=client)
    assert isinstance(models, model("ListModelsGetApiModelsResponse200"))
    by_id = {entry.id: entry for entry in models.data}
    assert {"gpt-test", "llama-test:latest"} <= by_id.keys()
    assert by_id["gpt-test"].connection_type == model("ModelConnectionType").OPENAI
    assert by_id["llama-test:latest"].connection_type == model("ModelConnectionType").OLLAMA
    also = api("models", "list_models_get_api_v1_models").sync(client=client)
    assert {entry.id for entry in also.data} == by_id.keys()

    file_type = generated.package.types.File
    upload = model("UploadFileBody")(
        file=file_type(payload=BytesIO(NOTES), file_name="handbook.txt", mime_type="text/plain")
    )
    stored = api("files", "upload_file").sync(client=client, body=upload)
    assert isinstance(stored, model("FileItem")), stored
    assert stored.filename == "handbook.txt"
    assert stored.data.status == model("FileItemDataStatus").COMPLETED

    created = api("knowledge", "create_knowledge").sync(
        client=client,
        body=model("CreateKnowledgeBody")(name="Handbook", description="Rules of the house"),
    )
    assert isinstance(created, model("Knowledge")), created
    assert (created.name, created.files) == ("Handbook", [])
    added = api("knowledge", "add_knowledge_file").sync(
        created.id, client=client, body=model("AddKnowledgeFileBody")(file_id=stored.id)
    )
    assert isinstance(added, model("Knowledge")), added
    assert [item.id for item in added.files] == [stored.id]

    found = api("knowledge", "query_doc").sync(
        client=client,
        body=model("QueryDocBody")(collection_name=created.id, query="vacation days"),
    )
    assert isinstance(found, model("RetrievalResults")), found
    assert "25 days of paid vacation" in found.documents[0][0]
    where = found.metadatas[0][0]
    assert (where.file_id, where.name, where.collection_name) == (
        stored.id,
        "handbook.txt",
        created.id,
    )
    collection_types = model("RetrievalResultsMetadatasItemItemCollectionType")
    assert where.collection_type == collection_types.COLLECTION
    across = api("knowledge", "query_collection").sync(
        client=client,
        body=model("QueryCollectionBody")(collection_names=[created.id], query="canteen"),
    )
    assert "canteen" in across.documents[0][0]

    body = model("ChatCompletionsPostApiChatCompletionsBody").from_dict(
        {
            "model": "gpt-test",
            "messages": [{"role": "user", "content": "How many vacation days?"}],
            "files": [{"type": "collection", "id": created.id}],
        }
    )
    completion = api("chat", "chat_completions_post_api_chat_completions").sync(
        client=client, body=body
    )
    assert isinstance(completion, model("ChatCompletion")), completion
    assert completion.choices[0].message.content == "Hello from upstream"
    assert "25 days of paid vacation" in completion.sources[0].document[0]
    sent = openai_up.last("/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"  # the upstream's, not ours
    assert "25 days of paid vacation" in json.dumps(sent.body["messages"])

    chat = api("saved_chats", "create_chat").sync(
        client=client, body=model("CreateChatBody").from_dict({"chat": A_CHAT})
    )
    assert isinstance(chat, model("Chat")), chat
    assert (chat.title, chat.archived, chat.pinned, chat.folder_id) == (
        "Vacation days",
        False,
        False,
        None,
    )
    assert chat.chat["history"]["currentId"] == "m1"
    again = api("saved_chats", "get_chat").sync(chat.id, client=client)
    assert isinstance(again, model("Chat"))
    assert (again.id, again.chat["messages"]) == (chat.id, [HELLO])


def test_a_generated_client_parses_refusals_into_the_error_type(generated, live_server, secret):
    client = generated.package.AuthenticatedClient(
        base_url=live_server.url, token=secret, httpx_args={"trust_env": False}
    )
    missing = generated.api("saved_chats", "get_chat").sync_detailed("no-such-chat", client=client)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, generated.model("Error"))
    assert missing.parsed.detail
    stranger = generated.package.AuthenticatedClient(
        base_url=live_server.url, token="sk-not-a-real-key", httpx_args={"trust_env": False}
    )
    refused = generated.api("models", "list_models_get_api_models").sync_detailed(client=stranger)
    assert refused.status_code == 401
    assert isinstance(refused.parsed, generated.model("Error"))
    assert refused.parsed.detail


def docs_example() -> str:
    """The Python example of docs/api.md that uses a generated client."""
    text = DOCS.read_text(encoding="utf-8")
    return re.search(r"response\.content.*?```python\n(.*?)```", text, re.S).group(1)


def test_the_docs_example_runs_as_written(generated, live_server, secret, capsys, monkeypatch):
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(proxy, raising=False)  # as written: straight to the server
    example = docs_example()
    assert 'base_url="http://127.0.0.1:8080"' in example and 'token="sk-…"' in example
    example = example.replace("http://127.0.0.1:8080", live_server.url).replace("sk-…", secret)
    exec(compile(example, str(DOCS), "exec"), {})
    assert {"gpt-test", "llama-test:latest"} <= set(ast.literal_eval(capsys.readouterr().out))
