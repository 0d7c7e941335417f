"""A call waiting on a model server holds no database connection: a thousand open streams must
not exhaust the pool (or PostgreSQL's max_connections). What the call needs is read before the
upstream is asked, and its usage is written afterwards with a fresh, short checkout."""

import pytest
import sqlalchemy as sa

from tests.support.accounts import bearer
from webui.extensions import db
from webui.models import Usage
from webui.services import llm_client

HELLO = [{"role": "user", "content": "Hello"}]
CALLS = [
    ("/api/chat/completions", {"model": "gpt-test", "messages": HELLO, "stream": True}),
    ("/api/chat/completions", {"model": "gpt-test", "messages": HELLO}),
    ("/ollama/api/chat", {"model": "llama-test", "messages": HELLO}),
    ("/ollama/api/chat", {"model": "llama-test", "messages": HELLO, "stream": False}),
]


@pytest.fixture
def user_key(make_user, make_key, connected_upstreams):
    make_user("root@example.com", role="admin")
    return bearer(make_key(make_user("ada@example.com")))


@pytest.fixture
def checked_out(app):
    """How many of the app's pooled database connections are in use right now."""
    with app.app_context():
        pool = db.engine.pool
    return pool.checkedout


@pytest.mark.parametrize("path, body", CALLS)
def test_no_connection_is_held_while_the_model_server_is_asked(
    client, user_key, checked_out, monkeypatch, path, body
):
    held_when_sent = []
    send = llm_client.send

    def send_and_note(conn, method, upstream_path, *args, **kwargs):
        if method == "POST":  # the call itself, not a model list
            held_when_sent.append(checked_out())
        return send(conn, method, upstream_path, *args, **kwargs)

    monkeypatch.setattr(llm_client, "send", send_and_note)
    response = client.post(path, headers=user_key, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    response.get_data()
    assert held_when_sent == [0]


def test_no_connection_is_held_while_a_stream_is_relayed(client, user_key, checked_out, openai_up):
    openai_up.chunk_delay = 0.05
    body = {"model": "gpt-test", "messages": HELLO, "stream": True}
    response = client.post("/api/chat/completions", headers=user_key, json=body, buffered=False)
    held_while_relaying = []
    chunks = []
    for chunk in response.response:
        held_while_relaying.append(checked_out())
        chunks.append(chunk)
    response.close()
    assert b"".join(chunks).endswith(b"data: [DONE]\n\n")
    assert len(held_while_relaying) > 3
    assert set(held_while_relaying) == {0}


def test_the_usage_of_a_stream_is_written_after_it_ends(app, client, user_key, checked_out):
    body = {"model": "gpt-test", "messages": HELLO, "stream": True}
    response = client.post("/api/chat/completions", headers=user_key, json=body)
    assert response.get_data().endswith(b"data: [DONE]\n\n")
    with app.app_context():
        rows = db.session.execute(sa.select(Usage.endpoint, Usage.status, Usage.stream)).all()
    assert [tuple(row) for row in rows] == [("/api/chat/completions", 200, True)]
    assert checked_out() == 0
