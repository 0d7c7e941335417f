"""The official openai and ollama client libraries against the app served by gunicorn on a
loopback port, which forwards to fake upstreams (also on loopback ports)."""

import time

import httpx
import ollama
import openai
import pytest
import sqlalchemy as sa

from tests.support.accounts import bearer
from tests.support.fake_upstream import UPSTREAM_KEY
from webui.extensions import db
from webui.models import Usage

pytestmark = pytest.mark.slow  # the SDKs against a live gunicorn

HELLO = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def secret(make_user, make_key, connected_upstreams):
    """A user's key, with the app connected to both fake upstreams."""
    make_user("root@example.com", role="admin")
    return make_key(make_user("bot-owner@example.com"), "monitoring bot")


def test_openai_sdk_lists_models_and_chats(live_server, secret, openai_up):
    client = openai.OpenAI(base_url=live_server.url + "/api", api_key=secret, max_retries=0)
    ids = [model.id for model in client.models.list()]
    assert {"gpt-test", "gpt-secret", "llama-test:latest"} <= set(ids)

    completion = client.chat.completions.create(model="gpt-test", messages=HELLO)
    assert completion.choices[0].message.content == "Hello from upstream"
    assert completion.usage.total_tokens == 10
    assert (
        openai_up.last("/v1/chat/completions").headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    )

    stream = client.chat.completions.create(model="gpt-test", messages=HELLO, stream=True)
    pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert "".join(pieces) == "Hello from upstream"


def test_openai_sdk_streams_from_an_ollama_connection(live_server, secret):
    client = openai.OpenAI(base_url=live_server.url + "/api/v1", api_key=secret, max_retries=0)
    stream = client.chat.completions.create(model="llama-test:latest", messages=HELLO, stream=True)
    assert (
        "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        == "Hello from upstream"
    )


def test_openai_sdk_sees_model_not_found_as_a_400(live_server, secret):
    client = openai.OpenAI(base_url=live_server.url + "/api", api_key=secret, max_retries=0)
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="no-such-model", messages=HELLO)
    assert raised.value.status_code == 400
    assert raised.value.body == {"detail": "Model not found"} or "Model not found" in str(
        raised.value
    )


def test_openai_sdk_with_a_bad_key_gets_401(live_server, secret):
    client = openai.OpenAI(
        base_url=live_server.url + "/api", api_key="sk-not-a-real-key", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_ollama_client_lists_and_chats(live_server, secret, ollama_up):
    client = ollama.Client(
        host=live_server.url + "/ollama", headers={"Authorization": "Bearer " + secret}
    )
    names = [model.model for model in client.list().models]
    assert names == ["llama-test:latest", "embed-test:latest"]

    answer = client.chat(model="llama-test:latest", messages=HELLO)
    assert answer.message.content == "Hello from upstream"
    assert ollama_up.last("/api/chat").body["stream"] is False

    parts = list(client.chat(model="llama-test:latest", messages=HELLO, stream=True))
    assert "".join(part.message.content for part in parts) == "Hello from upstream"
    assert parts[-1].done is True
    # The OpenAI connection's key never reaches the Ollama server.
    assert all("authorization" not in r.headers for r in ollama_up.requests)


def test_ollama_client_generate_and_embed(live_server, secret):
    client = ollama.Client(
        host=live_server.url + "/ollama", headers={"Authorization": "Bearer " + secret}
    )
    assert client.generate(model="llama-test:latest", prompt="Hi").response == "Hello from upstream"
    assert len(client.embed(model="embed-test:latest", input=["a", "b"]).embeddings) == 2


def test_ollama_client_pull_is_for_admins(live_server, secret):
    client = ollama.Client(
        host=live_server.url + "/ollama", headers={"Authorization": "Bearer " + secret}
    )
    with pytest.raises(ollama.ResponseError) as raised:
        client.pull("new-model")
    assert raised.value.status_code == 403


def test_stream_arrives_chunk_by_chunk_and_hanging_up_closes_the_upstream(
    app, live_server, secret, openai_up
):
    openai_up.reply_words = [f" word{n}" for n in range(400)]
    openai_up.chunk_delay = 0.05  # about 20 seconds in all: far longer than the test reads
    body = {"model": "gpt-test", "messages": HELLO, "stream": True}
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        with http.stream(
            "POST", "/api/chat/completions", json=body, headers=bearer(secret)
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            first = next(line for line in lines if line.startswith("data: "))
            assert "word0" in first
            # Unbuffered: the first event arrived while the upstream was still writing.
            assert not openai_up.stream_finished.is_set()
    # The caller hung up: the app must close its upstream request, which the upstream notices.
    assert openai_up.stream_aborted.wait(timeout=20), "the upstream kept streaming to nobody"
    assert wait_for_usage(app, status=499), "the aborted stream was not recorded"


def wait_for_usage(app, status: int, timeout: float = 20.0) -> bool:
    """Poll the shared database for a usage row with the status (the server writes it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            found = db.session.scalar(
                sa.select(sa.func.count()).select_from(Usage).where(Usage.status == status)
            )
            db.session.remove()
        if found:
            return True
        time.sleep(0.2)
    return False
