"""/ollama/api/* reads a JSON body whatever its Content-Type, as Ollama does (``curl -d``
sends one as a form), and the curl example in docs/api.md works as written."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.accounts import bearer

DOCS = Path(__file__).resolve().parents[1] / "docs" / "api.md"
CHAT = {"model": "llama-test:latest", "messages": [{"role": "user", "content": "Hello"}]}
NOT_JSON_TYPES = [None, "text/plain", "application/x-www-form-urlencoded"]


@pytest.fixture
def key(make_user, make_key, connected_upstreams):
    make_user("root@example.com", role="admin")
    return make_key(make_user("ada@example.com"), "bot")


def ndjson(response) -> list[dict]:
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


@pytest.mark.parametrize("content_type", NOT_JSON_TYPES)
def test_a_chat_body_is_json_whatever_its_content_type(client, key, ollama_up, content_type):
    response = client.post(
        "/ollama/api/chat", headers=bearer(key), data=json.dumps(CHAT), content_type=content_type
    )
    assert response.status_code == 200, response.get_json()
    parts = ndjson(response)
    assert parts[-1]["done"] is True
    assert ollama_up.last("/api/chat").body["messages"] == CHAT["messages"]


@pytest.mark.parametrize("content_type", NOT_JSON_TYPES)
def test_generate_and_embed_read_the_body_too(client, key, content_type):
    body = {"model": "llama-test:latest", "prompt": "Hi", "stream": False}
    response = client.post(
        "/ollama/api/generate",
        headers=bearer(key),
        data=json.dumps(body),
        content_type=content_type,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["done"] is True


@pytest.mark.parametrize("content_type", NOT_JSON_TYPES)
def test_a_body_that_is_not_json_is_still_a_400(client, key, content_type):
    response = client.post(
        "/ollama/api/chat", headers=bearer(key), data="model=llama", content_type=content_type
    )
    assert response.status_code == 400
    assert "JSON" in response.get_json()["detail"]


def test_other_json_endpoints_still_need_a_json_content_type(client, key):
    response = client.post(
        "/api/chat/completions", headers=bearer(key), data=json.dumps(CHAT), content_type=None
    )
    assert response.status_code == 415


def docs_curl_commands() -> list[str]:
    """The Ollama curl example of docs/api.md, its continuation lines joined."""
    text = DOCS.read_text()
    block = re.search(r"or with curl:\n\n```sh\n(.*?)```", text, re.S).group(1)
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


@pytest.mark.slow
def test_the_docs_curl_example_works_as_written(live_server, key):
    commands = docs_curl_commands()
    assert [command.split()[2] for command in commands] == [
        "$WEBUI/ollama/api/tags",
        "$WEBUI/ollama/api/chat",
    ]
    environment = {"WEBUI": live_server.url, "KEY": key, "PATH": "/usr/bin:/bin"}
    answers = [
        subprocess.run(
            ["bash", "-c", command], env=environment, capture_output=True, text=True, timeout=60
        ).stdout
        for command in commands
    ]
    names = [model["name"] for model in json.loads(answers[0])["models"]]
    assert "llama-test:latest" in names
    parts = [json.loads(line) for line in answers[1].splitlines()]
    assert parts[-1]["done"] is True
    assert "".join(part["message"]["content"] for part in parts)
