"""Saved chats through /api/v1/chats: Open WebUI's paths and shapes, one owner per chat,
keys acting as their owner, bounds, and full-text search (SQLite or PostgreSQL)."""

import pytest
import sqlalchemy as sa

from tests.support.accounts import login_client
from webui.extensions import db
from webui.models import Chat
from webui.services.chats import MAX_CHAT_BYTES, MAX_TITLE, PAGE_SIZE, is_embedding_model
from webui.services.fulltext import CHAT_FTS_TABLE


def conversation(title: str, *texts: str) -> dict:
    """A chat object in Open WebUI's layout: messages, and the same ones in history."""
    messages, parent = [], None
    for number, text in enumerate(texts):
        role = "user" if number % 2 == 0 else "assistant"
        message = {"id": f"m{number}", "parentId": parent, "role": role, "content": text}
        message["timestamp"] = 1_700_000_000 + number
        messages.append(message)
        parent = message["id"]
    return {
        "title": title,
        "models": ["gpt-test"],
        "messages": messages,
        "history": {"messages": {m["id"]: m for m in messages}, "currentId": parent},
    }


@pytest.fixture
def people(people_with_keys):
    return people_with_keys("alice", "bob")


@pytest.fixture
def alice(app, people):
    return login_client(app, "alice@example.com")


def create(client, chat: dict, headers=None) -> dict:
    response = client.post("/api/v1/chats/new", json={"chat": chat}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def titles(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["title"] for item in response.get_json()]


def test_create_get_update_delete(alice, people):
    chat = conversation("Trip to Lisbon", "Where should I eat?", "Try the **bifanas**.")
    created = create(alice, chat)
    assert set(created) >= {"id", "user_id", "title", "chat", "created_at", "updated_at"}
    assert (created["title"], created["user_id"]) == ("Trip to Lisbon", people["alice"])
    assert (created["archived"], created["pinned"]) == (False, False)
    assert created["chat"] == chat

    fetched = alice.get(f"/api/v1/chats/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.get_json() == created

    # Top-level keys of the body replace the stored ones; the rest stays.
    more = conversation("Trip to Lisbon", "Where should I eat?", "Bifanas.", "And after?")
    updated = alice.post(
        f"/api/v1/chats/{created['id']}",
        json={"chat": {"messages": more["messages"], "history": more["history"]}},
    )
    assert updated.status_code == 200, updated.get_json()
    body = updated.get_json()
    assert body["chat"]["models"] == ["gpt-test"]
    assert [m["content"] for m in body["chat"]["messages"]][-1] == "And after?"
    assert body["title"] == "Trip to Lisbon"

    renamed = alice.post(f"/api/v1/chats/{created['id']}", json={"chat": {"title": "  Lisbon \n"}})
    assert renamed.get_json()["title"] == "Lisbon"
    assert renamed.get_json()["chat"]["title"] == "  Lisbon \n"  # the object stays as sent

    deleted = alice.delete(f"/api/v1/chats/{created['id']}")
    assert (deleted.status_code, deleted.get_json()) == (200, True)
    assert alice.get(f"/api/v1/chats/{created['id']}").status_code == 404


def test_titles_are_trimmed_and_default_to_new_chat(alice):
    assert create(alice, {"messages": []})["title"] == "New Chat"
    assert create(alice, {"title": "   "})["title"] == "New Chat"
    assert create(alice, {"title": "\u202eevil\x07 \n <b>plan</b> "})["title"] == "evil <b>plan</b>"


def test_the_chat_page_of_a_saved_chat_is_its_owners(app, alice, people):
    chat = create(alice, {"title": "Mine"})
    page = alice.get(f"/chat/{chat['id']}")
    assert page.status_code == 200
    assert f'data-chat-id="{chat["id"]}"'.encode() in page.data
    assert alice.get("/chat/not-a-chat").status_code == 404
    bob = login_client(app, "bob@example.com")
    assert bob.get(f"/chat/{chat['id']}").status_code == 404


def test_list_is_newest_first_and_pages_hold_sixty(alice):
    first = create(alice, {"title": "first"})
    for number in range(PAGE_SIZE):
        create(alice, {"title": f"chat {number}"})
    # Changing a chat makes it the newest.
    alice.post(f"/api/v1/chats/{first['id']}", json={"chat": {"title": "first, changed"}})

    every = alice.get("/api/v1/chats/")
    assert titles(every)[0] == "first, changed"
    assert len(every.get_json()) == PAGE_SIZE + 1
    assert set(every.get_json()[0]) == {"id", "title", "updated_at", "created_at"}
    assert titles(alice.get("/api/v1/chats/list")) == titles(every)

    page_one, page_two = alice.get("/api/v1/chats/?page=1"), alice.get("/api/v1/chats/list?page=2")
    assert titles(page_one) == titles(every)[:PAGE_SIZE]
    assert titles(page_two) == titles(every)[PAGE_SIZE:] == ["chat 0"]
    assert titles(alice.get("/api/v1/chats/?page=3")) == []
    for bad in ("0", "-1", "two", "1.5"):
        refused = alice.get(f"/api/v1/chats/?page={bad}")
        assert refused.status_code == 400, bad
        assert "page" in refused.get_json()["detail"]


def test_search_matches_titles_and_message_text(alice, app, make_user):
    create(alice, conversation("Garden", "How deep do tulip bulbs go?", "About 20 cm."))
    create(alice, conversation("Deployment notes", "Roll out the canary first."))
    create(alice, conversation("Cooking", "A recipe for risotto?", "Stir often."))

    def search(text: str) -> list[str]:
        return titles(alice.get("/api/v1/chats/search", query_string={"text": text}))

    assert search("tulip") == ["Garden"]
    assert search("TULIPS bulbs") == ["Garden"]  # stemmed, every word must match
    assert search("deployment") == ["Deployment notes"]
    assert search("risot") == ["Cooking"]  # the start of a word, as one types
    assert search("canary") == ["Deployment notes"]
    assert search("stir") == ["Cooking"]
    assert search("tulip risotto") == []
    assert search("") == []
    assert search('") OR * NEAR(') == []  # query syntax is never passed through

    make_user("carol@example.com")
    carol = login_client(app, "carol@example.com")
    assert titles(carol.get("/api/v1/chats/search?text=tulip")) == []


def test_search_follows_updates_and_deletes(alice):
    chat = create(alice, conversation("Notes", "apples"))
    alice.post(f"/api/v1/chats/{chat['id']}", json={"chat": conversation("Notes", "pears")})
    search = "/api/v1/chats/search?text="
    assert titles(alice.get(search + "apples")) == []
    assert titles(alice.get(search + "pears")) == ["Notes"]
    alice.delete(f"/api/v1/chats/{chat['id']}")
    assert titles(alice.get(search + "pears")) == []


def test_another_persons_chat_is_not_found(app, alice, people):
    chat = create(alice, conversation("Private", "secret plans"))
    bob = login_client(app, "bob@example.com")
    admin = login_client(app, "root@example.com")
    for other in (bob, admin):
        assert other.get(f"/api/v1/chats/{chat['id']}").status_code == 404
        changed = other.post(f"/api/v1/chats/{chat['id']}", json={"chat": {"title": "mine"}})
        assert changed.status_code == 404
        assert "not found" in changed.get_json()["detail"].lower()
        assert other.delete(f"/api/v1/chats/{chat['id']}").status_code == 404
        assert titles(other.get("/api/v1/chats/")) == []
    assert alice.get(f"/api/v1/chats/{chat['id']}").get_json()["title"] == "Private"


def test_keys_act_as_their_owner(app, client, people, alice):
    made = create(client, conversation("From a script", "hi"), headers=people["alice_key"])
    assert made["user_id"] == people["alice"]
    assert titles(alice.get("/api/v1/chats/")) == ["From a script"]
    assert titles(client.get("/api/v1/chats/", headers=people["bob_key"])) == []
    assert client.get(f"/api/v1/chats/{made['id']}", headers=people["bob_key"]).status_code == 404


def test_key_allowlist_and_read_only(client, people, make_key, alice):
    chat = create(alice, conversation("Kept", "hello"))
    only_chats = {
        "Authorization": "Bearer "
        + make_key(people["alice"], "chats", allowed_endpoints=["/api/v1/chats"])
    }
    no_chats = {
        "Authorization": "Bearer "
        + make_key(people["alice"], "models", allowed_endpoints=["/api/models"])
    }
    reader = {"Authorization": "Bearer " + make_key(people["alice"], "reader", read_only=True)}

    assert client.get("/api/v1/chats/", headers=only_chats).status_code == 200
    assert client.get(f"/api/v1/chats/{chat['id']}", headers=only_chats).status_code == 200
    assert (
        client.post("/api/v1/chats/new", json={"chat": {}}, headers=only_chats).status_code == 200
    )
    assert client.get("/api/models", headers=only_chats).status_code == 403

    assert client.get("/api/v1/chats/", headers=no_chats).status_code == 403
    assert client.get(f"/api/v1/chats/{chat['id']}", headers=no_chats).status_code == 403

    assert titles(client.get("/api/v1/chats/", headers=reader))
    assert client.get(f"/api/v1/chats/{chat['id']}", headers=reader).status_code == 200
    assert client.get("/api/v1/chats/search?text=hello", headers=reader).status_code == 200
    writes = [
        client.post("/api/v1/chats/new", json={"chat": {}}, headers=reader),
        client.post(f"/api/v1/chats/{chat['id']}", json={"chat": {"title": "x"}}, headers=reader),
        client.delete(f"/api/v1/chats/{chat['id']}", headers=reader),
    ]
    assert [w.status_code for w in writes] == [403, 403, 403]
    assert alice.get(f"/api/v1/chats/{chat['id']}").get_json()["title"] == "Kept"


def test_anonymous_callers_are_refused(client):
    assert client.get("/api/v1/chats/").status_code == 401
    assert client.post("/api/v1/chats/new", json={"chat": {}}).status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({}, 400, "chat is required"),
        ({"chat": "hello"}, 400, "chat is required"),
        ({"chat": {"messages": "hi"}}, 400, "chat.messages"),
        ({"chat": {"messages": ["hi"]}}, 400, "chat.messages"),
        ({"chat": {"history": []}}, 400, "chat.history"),
        ({"chat": {"history": {"messages": []}}}, 400, "chat.history"),
        ({"chat": {"history": {"messages": {"m1": "hello"}}}}, 400, "chat.history.messages"),
        ({"chat": {"history": {"messages": {"m1": [{"id": "m1"}]}}}}, 400, "message objects"),
        ({"chat": {"title": 7}}, 400, "chat.title"),
        ({"chat": {"title": "t" * (MAX_TITLE + 1)}}, 400, f"at most {MAX_TITLE}"),
    ],
)
def test_bad_chats_are_refused(alice, body, status, says):
    response = alice.post("/api/v1/chats/new", json=body)
    assert response.status_code == status
    assert says in response.get_json()["detail"]
    assert titles(alice.get("/api/v1/chats/")) == []


def test_size_is_bounded(alice):
    # Each request fits the body limit; the chat they would make together does not.
    big = "x" * (MAX_CHAT_BYTES * 2 // 5)
    chat = create(alice, conversation("Big", big))  # the text twice: messages and history
    grown = alice.post(f"/api/v1/chats/{chat['id']}", json={"chat": {"notes": big}})
    assert grown.status_code == 413
    assert "at most" in grown.get_json()["detail"]
    # Refused, the stored chat stays as it was.
    kept = alice.get(f"/api/v1/chats/{chat['id']}").get_json()
    assert kept["chat"] == chat["chat"]


def test_pages_use_the_same_session(alice):
    """The browser's chat page saves through the same API with its session (and CSRF)."""
    chat = create(alice, {"title": "From the page"})
    assert alice.get(f"/api/v1/chats/{chat['id']}").status_code == 200


def test_the_chat_page_offers_chat_models_only(connected_upstreams, alice):
    page = alice.get("/chat").get_data(as_text=True)
    assert 'value="gpt-test"' in page and 'value="llama-test:latest"' in page
    assert "embed-test" not in page


@pytest.mark.parametrize(
    ("model", "embeds"),
    [
        ({"id": "llama3:8b", "ollama": {"details": {"family": "llama"}}}, False),
        ({"id": "gpt-4o-mini"}, False),
        ({"id": "text-embedding-3-small"}, True),
        ({"id": "mxbai:latest", "ollama": {"details": {"families": ["bert"]}}}, True),
        ({"id": "nomic:latest", "ollama": {"details": {"family": "nomic-bert"}}}, True),
        ({"id": "odd:latest", "ollama": {"details": {"families": [{"x": 1}], "family": 3}}}, False),
    ],
)
def test_embedding_models_are_told_apart(model, embeds):
    assert is_embedding_model(model) is embeds


def test_deleting_a_person_deletes_their_chats_and_their_index(app, alice, people):
    create(alice, conversation("Soon gone", "remember the lighthouse"))
    admin = login_client(app, "root@example.com")
    assert admin.delete(f"/api/v1/users/{people['alice']}").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Chat)) == 0
        if db.engine.dialect.name == "sqlite":  # the FTS5 copy goes with the row (a trigger)
            left = db.session.execute(sa.text(f"SELECT count(*) FROM {CHAT_FTS_TABLE}"))
            assert left.scalar() == 0
