"""The chat page's conversation pane as the server draws it: a saved chat's messages are in
the HTML at first paint (escaped), with failed and stopped answers marked as the script
marks them, and the chat itself embedded for the script."""

import html
import json
import re

import pytest

from tests.support.accounts import login_client
from webui.services.chats import ANSWER_FAILED


@pytest.fixture
def alice(app, people_with_keys):
    people_with_keys("alice")
    return login_client(app, "alice@example.com")


def saved_chat(client, messages: list[dict], title: str = "Launch plan") -> str:
    chat = {"title": title, "models": ["gpt-test"], "messages": messages}
    response = client.post("/api/v1/chats/new", json={"chat": chat})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["id"]


def conversation_log(page: str) -> str:
    found = re.search(r'<div id="chat-log".*?</div>\s*<button', page, re.S)
    assert found, page
    return found.group(0)


def test_a_saved_chat_is_drawn_by_the_server(alice):
    chat_id = saved_chat(
        alice,
        [
            {
                "id": "u1",
                "role": "user",
                "content": "Plan the <b>launch</b> & more",
                "files": [{"type": "file", "id": "f1", "name": "notes<1>.txt"}],
            },
            {"id": "a1", "role": "assistant", "model": "gpt-test", "content": "## Steps\n- one"},
            {"id": "u2", "role": "user", "content": [{"type": "text", "text": "In parts"}]},
            {"id": "a2", "role": "assistant", "content": "half", "stopped": True},
            {"id": "u3", "role": "user", "content": "Still there?"},
            {"id": "a3", "role": "assistant", "content": "", "error": {"content": "It broke."}},
            {"id": "a4", "role": "assistant", "content": "", "error": True},
        ],
    )
    page = alice.get(f"/chat/{chat_id}").get_data(as_text=True)
    log = conversation_log(page)
    assert "Plan the &lt;b&gt;launch&lt;/b&gt; &amp; more" in log
    assert "<b>launch" not in log
    assert '<li class="chat-chip">notes&lt;1&gt;.txt</li>' in log  # sent with the question
    assert "## Steps\n- one" in log  # Markdown is the script's to render
    assert "In parts" in log
    assert "Stopped: the answer was cut short here." in log
    assert "It broke." in log
    assert html.escape(ANSWER_FAILED, quote=False) in log
    assert log.count('class="message message-user"') == 3
    assert log.count('class="message message-assistant"') == 4
    assert '<h1 id="chat-title">Launch plan</h1>' in page

    embedded = re.search(r"data-saved='([^']*)'", page)
    assert embedded, page
    data = json.loads(embedded.group(1))
    assert data["title"] == "Launch plan"
    assert [m["id"] for m in data["chat"]["messages"]] == ["u1", "a1", "u2", "a2", "u3", "a3", "a4"]


def test_the_embedded_chat_stays_inside_its_attribute(alice):
    hostile = "' onmouseover='alert(1)' x='</div><i>x</i>"
    chat_id = saved_chat(alice, [{"id": "u1", "role": "user", "content": hostile}])
    page = alice.get(f"/chat/{chat_id}").get_data(as_text=True)
    embedded = re.search(r"data-saved='([^']*)'", page)
    assert embedded, page
    assert json.loads(embedded.group(1))["chat"]["messages"][0]["content"] == hostile
    assert "onmouseover='" not in page and "</div><i>" not in page


def test_a_new_chat_has_an_empty_log_and_no_embedded_chat(alice):
    page = alice.get("/chat").get_data(as_text=True)
    assert "data-saved=" not in page
    assert 'class="message ' not in page


def test_each_model_option_names_its_connections_route(connected_upstreams, alice):
    page = alice.get("/chat").get_data(as_text=True)
    assert 'data-completions="/api/chat/completions"' in page
    assert 'data-ollama-completions="/ollama/v1/chat/completions"' in page
    assert '<option value="gpt-test" data-connection="openai"' in page
    assert '<option value="llama-test:latest" data-connection="ollama"' in page


def test_the_main_menu_marks_chat_on_a_saved_chats_page(alice):
    chat_id = saved_chat(alice, [{"role": "user", "content": "Hi"}])
    page = alice.get(f"/chat/{chat_id}").get_data(as_text=True)
    menu = re.search(r'<nav aria-label="Main">.*?</nav>', page, re.S).group(0)
    assert re.findall(r'<a href="[^"]*" aria-current="page">([^<]+)</a>', menu) == ["Chat"]
