"""The rest of Open WebUI's chats API: pinned, archived, clone, tags, import, delete-all and
one message's update, in Open WebUI's shapes; each the caller's own (another person's chat
answers 404), keys acting as their owner, read-only keys reading only, allowlists holding."""

import json

import pytest

from tests.support.accounts import login_client
from tests.test_chats import conversation, create, titles
from webui.extensions import db
from webui.models import Chat

TAG_FIELDS = {"id", "name", "user_id", "meta"}


@pytest.fixture
def people(people_with_keys):
    return people_with_keys("alice", "bob")


@pytest.fixture
def alice(app, people):
    return login_client(app, "alice@example.com")


@pytest.fixture
def bob(app, people):
    return login_client(app, "bob@example.com")


def ok(response):
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_pin_toggles_and_pinned_lists(alice):
    first = create(alice, conversation("First", "a"))
    create(alice, conversation("Second", "b"))
    pinned = ok(alice.post(f"/api/v1/chats/{first['id']}/pin"))
    assert pinned["pinned"] is True and pinned["id"] == first["id"]
    assert titles(alice.get("/api/v1/chats/pinned")) == ["First"]
    assert ok(alice.get(f"/api/v1/chats/{first['id']}/pinned")) is True
    assert set(titles(alice.get("/api/v1/chats/"))) == {"First", "Second"}
    assert ok(alice.post(f"/api/v1/chats/{first['id']}/pin"))["pinned"] is False
    assert titles(alice.get("/api/v1/chats/pinned")) == []


def test_archive_toggles_and_hides_from_list_and_search(alice):
    kept = create(alice, conversation("Kept", "lisbon trams"))
    old = create(alice, conversation("Old trip", "lisbon bifanas"))
    archived = ok(alice.post(f"/api/v1/chats/{old['id']}/archive"))
    assert archived["archived"] is True
    assert titles(alice.get("/api/v1/chats/")) == ["Kept"]
    assert titles(alice.get("/api/v1/chats/search?text=lisbon")) == ["Kept"]
    assert titles(alice.get("/api/v1/chats/archived")) == ["Old trip"]
    assert titles(alice.get("/api/v1/chats/archived?query=TRIP")) == ["Old trip"]
    assert titles(alice.get("/api/v1/chats/archived?query=kept")) == []
    assert ok(alice.get("/api/v1/chats/archived/count")) == 1
    full = ok(alice.get("/api/v1/chats/all/archived"))
    assert [c["title"] for c in full] == ["Old trip"] and full[0]["chat"]["title"] == "Old trip"
    assert alice.get(f"/api/v1/chats/{old['id']}").status_code == 200  # still readable by id

    assert ok(alice.post("/api/v1/chats/archive/all")) is True
    assert titles(alice.get("/api/v1/chats/")) == []
    assert ok(alice.get("/api/v1/chats/archived/count")) == 2
    assert ok(alice.post("/api/v1/chats/unarchive/all")) is True
    assert set(titles(alice.get("/api/v1/chats/"))) == {"Kept", "Old trip"}
    assert ok(alice.post(f"/api/v1/chats/{kept['id']}/archive"))["archived"] is True
    assert ok(alice.post(f"/api/v1/chats/{kept['id']}/archive"))["archived"] is False


def test_archived_order_and_bad_parameters(alice):
    for title in ("b", "a", "c"):
        alice.post(f"/api/v1/chats/{create(alice, conversation(title, 'x'))['id']}/archive")
    assert titles(alice.get("/api/v1/chats/archived?order_by=title&direction=asc")) == [
        "a",
        "b",
        "c",
    ]
    assert titles(alice.get("/api/v1/chats/archived")) == ["c", "a", "b"]
    for query in ("order_by=size", "direction=up", "page=0"):
        response = alice.get(f"/api/v1/chats/archived?{query}")
        assert response.status_code == 400 and response.get_json()["detail"]


def test_all_streams_every_chat_as_ndjson(alice):
    create(alice, conversation("One", "a"))
    two = create(alice, conversation("Two", "b"))
    alice.post(f"/api/v1/chats/{two['id']}/archive")
    response = alice.get("/api/v1/chats/all")
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [c["title"] for c in lines] == ["Two", "One"]
    assert lines[0]["archived"] is True and "chat" in lines[0]


def test_clone_copies_with_open_webuis_marks(alice, people):
    original = create(alice, conversation("Plans", "where?", "there."))
    alice.post(f"/api/v1/chats/{original['id']}/pin")
    alice.post(f"/api/v1/chats/{original['id']}/tags", json={"name": "Travel"})
    copy = ok(alice.post(f"/api/v1/chats/{original['id']}/clone", json={}))
    assert copy["id"] != original["id"] and copy["user_id"] == people["alice"]
    assert copy["title"] == "Clone of Plans" == copy["chat"]["title"]
    assert copy["chat"]["originalChatId"] == original["id"]
    assert copy["chat"]["branchPointMessageId"] == "m1"
    assert copy["chat"]["messages"] == original["chat"]["messages"]
    assert copy["pinned"] is True and copy["meta"]["tags"] == ["travel"]
    named = ok(alice.post(f"/api/v1/chats/{original['id']}/clone", json={"title": " Mine "}))
    assert named["title"] == "Mine"
    bare = alice.post(f"/api/v1/chats/{original['id']}/clone")  # no body at all
    assert ok(bare)["title"] == "Clone of Plans"
    long = create(alice, conversation("x" * 200, "a"))
    assert len(ok(alice.post(f"/api/v1/chats/{long['id']}/clone"))["title"]) == 200
    assert alice.post(f"/api/v1/chats/{original['id']}/clone", json={"title": 5}).status_code == 400


def test_tags_add_list_remove(alice, people):
    chat = create(alice, conversation("Tagged", "a"))
    other = create(alice, conversation("Other", "b"))
    added = ok(alice.post(f"/api/v1/chats/{chat['id']}/tags", json={"name": "Work Stuff"}))
    assert added == [
        {"id": "work_stuff", "name": "work_stuff", "user_id": people["alice"], "meta": None}
    ]
    ok(alice.post(f"/api/v1/chats/{chat['id']}/tags", json={"name": "work stuff"}))  # same tag
    ok(alice.post(f"/api/v1/chats/{other['id']}/tags", json={"name": "home"}))
    assert [t["id"] for t in ok(alice.get(f"/api/v1/chats/{chat['id']}/tags"))] == ["work_stuff"]
    assert [t["id"] for t in ok(alice.get("/api/v1/chats/all/tags"))] == ["home", "work_stuff"]
    assert all(set(t) == TAG_FIELDS for t in ok(alice.get("/api/v1/chats/all/tags")))
    assert titles(alice.post("/api/v1/chats/tags", json={"name": "Work Stuff"})) == ["Tagged"]
    assert ok(alice.get(f"/api/v1/chats/{chat['id']}"))["meta"] == {"tags": ["work_stuff"]}

    left = ok(alice.delete(f"/api/v1/chats/{chat['id']}/tags", json={"name": "work_stuff"}))
    assert left == []
    assert [t["id"] for t in ok(alice.get("/api/v1/chats/all/tags"))] == ["home"]
    alice.post(f"/api/v1/chats/{other['id']}/archive")
    assert ok(alice.get("/api/v1/chats/all/tags")) == []  # archived chats' tags are not listed


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": "  "}, {"name": "None"}, {"name": 3}, {"name": "x" * 65}]
)
def test_bad_tags_are_refused(alice, body):
    chat = create(alice, conversation("T", "a"))
    response = alice.post(f"/api/v1/chats/{chat['id']}/tags", json=body)
    assert response.status_code == 400 and response.get_json()["detail"]
    assert ok(alice.get(f"/api/v1/chats/{chat['id']}/tags")) == []


def test_import_saves_all_or_nothing(alice, people):
    exported = [
        {
            "chat": conversation("From Open WebUI", "hello"),
            "meta": {"tags": ["Imported"]},
            "pinned": True,
            "created_at": 1_700_000_000,
            "updated_at": 1_700_000_100,
            "folder_id": None,
        },
        {"chat": conversation("Second", "bye")},
    ]
    saved = ok(alice.post("/api/v1/chats/import", json={"chats": exported}))
    assert [c["title"] for c in saved] == ["From Open WebUI", "Second"]
    assert saved[0]["user_id"] == people["alice"]
    assert (saved[0]["created_at"], saved[0]["updated_at"]) == (1_700_000_000, 1_700_000_100)
    assert saved[0]["pinned"] is True and saved[0]["meta"] == {"tags": ["imported"]}
    assert saved[0]["chat"] == exported[0]["chat"]
    assert titles(alice.get("/api/v1/chats/search?text=hello")) == ["From Open WebUI"]

    bad = alice.post(
        "/api/v1/chats/import",
        json={"chats": [{"chat": conversation("Fine", "a")}, {"chat": {"messages": "no"}}]},
    )
    assert bad.status_code == 400 and "chats[1]" in bad.get_json()["detail"]
    assert "Fine" not in titles(alice.get("/api/v1/chats/"))
    for body in ({}, {"chats": {}}, {"chats": [{"chat": {}, "created_at": 99_999_999_999}]}):
        assert alice.post("/api/v1/chats/import", json=body).status_code == 400
    too_many = {"chats": [{"chat": {}}] * 501}
    assert alice.post("/api/v1/chats/import", json=too_many).status_code == 400


def test_update_one_message(alice):
    chat = create(alice, conversation("Edit", "first question", "first answer"))
    updated = ok(alice.post(f"/api/v1/chats/{chat['id']}/messages/m1", json={"content": "fixed"}))
    assert updated["chat"]["history"]["messages"]["m1"]["content"] == "fixed"
    assert updated["chat"]["history"]["messages"]["m1"]["role"] == "assistant"
    assert [m["content"] for m in updated["chat"]["messages"]] == ["first question", "fixed"]
    assert titles(alice.get("/api/v1/chats/search?text=fixed")) == ["Edit"]
    missing = alice.post(f"/api/v1/chats/{chat['id']}/messages/nope", json={"content": "x"})
    assert missing.status_code == 404
    no_text = alice.post(f"/api/v1/chats/{chat['id']}/messages/m1", json={"content": 1})
    assert no_text.status_code == 400
    huge = alice.post(f"/api/v1/chats/{chat['id']}/messages/m1", json={"content": "x" * 1_100_000})
    assert huge.status_code == 413
    assert ok(alice.get(f"/api/v1/chats/{chat['id']}"))["chat"]["messages"][1]["content"] == "fixed"


@pytest.mark.parametrize("entry", ["hello", None, ["m1"], 7])
def test_history_entries_that_are_not_objects_are_refused(alice, entry):
    """Issue 25, item 5: such a chat was saved, then editing one of its messages was a 500."""
    chat = conversation("Odd", "first question", "first answer")
    chat["history"]["messages"]["m1"] = entry
    refused = alice.post("/api/v1/chats/new", json={"chat": chat})
    assert refused.status_code == 400
    assert "chat.history.messages" in refused.get_json()["detail"]
    saved = create(alice, conversation("Fine", "first question", "first answer"))
    update = alice.post(f"/api/v1/chats/{saved['id']}", json={"chat": {"history": chat["history"]}})
    assert update.status_code == 400
    assert ok(alice.get(f"/api/v1/chats/{saved['id']}"))["chat"]["history"]["messages"]["m1"]


def test_a_chat_saved_in_a_bad_shape_is_not_edited_by_message(app, alice):
    """A chat stored before its shape was checked: editing a message says why it cannot."""
    chat = create(alice, conversation("Old", "first question", "first answer"))
    with app.app_context():
        row = db.session.get(Chat, chat["id"])
        content = json.loads(json.dumps(row.chat))
        content["history"]["messages"]["m1"] = "not an object"
        row.chat = content
        db.session.commit()
    edit = alice.post(f"/api/v1/chats/{chat['id']}/messages/m1", json={"content": "fixed"})
    assert edit.status_code == 400
    assert "Save the whole chat again" in edit.get_json()["detail"]


def test_delete_all_deletes_only_the_callers(alice, bob):
    create(alice, conversation("Alice's", "a"))
    create(bob, conversation("Bob's", "b"))
    assert ok(alice.delete("/api/v1/chats/")) is True
    assert titles(alice.get("/api/v1/chats/")) == []
    assert titles(bob.get("/api/v1/chats/")) == ["Bob's"]


def test_another_persons_chat_is_not_found(app, alice, bob, people):
    chat = create(alice, conversation("Private", "secret"))
    alice.post(f"/api/v1/chats/{chat['id']}/tags", json={"name": "secret"})
    admin = login_client(app, "root@example.com")
    cid = chat["id"]
    for other in (bob, admin):
        calls = [
            other.get(f"/api/v1/chats/{cid}/pinned"),
            other.post(f"/api/v1/chats/{cid}/pin"),
            other.post(f"/api/v1/chats/{cid}/archive"),
            other.post(f"/api/v1/chats/{cid}/clone", json={}),
            other.post(f"/api/v1/chats/{cid}/messages/m0", json={"content": "x"}),
            other.get(f"/api/v1/chats/{cid}/tags"),
            other.post(f"/api/v1/chats/{cid}/tags", json={"name": "mine"}),
            other.delete(f"/api/v1/chats/{cid}/tags", json={"name": "secret"}),
        ]
        assert [c.status_code for c in calls] == [404] * len(calls)
        assert ok(other.get("/api/v1/chats/all/tags")) == []
        assert titles(other.post("/api/v1/chats/tags", json={"name": "secret"})) == []
        other.post("/api/v1/chats/archive/all")
        other.delete("/api/v1/chats/")
    kept = ok(alice.get(f"/api/v1/chats/{cid}"))
    assert (kept["pinned"], kept["archived"], kept["meta"]) == (False, False, {"tags": ["secret"]})
    assert kept["chat"]["messages"][0]["content"] == "secret"


def test_keys_read_only_and_allowlist(client, people, make_key, alice):
    chat = create(alice, conversation("Kept", "hello"))
    cid = chat["id"]
    made = ok(client.post(f"/api/v1/chats/{cid}/pin", headers=people["alice_key"]))
    assert made["pinned"] is True  # a key acts as its owner
    assert client.post(f"/api/v1/chats/{cid}/pin", headers=people["bob_key"]).status_code == 404
    ok(client.post(f"/api/v1/chats/{cid}/pin", headers=people["alice_key"]))

    reader = {"Authorization": "Bearer " + make_key(people["alice"], "reader", read_only=True)}
    for path in ("pinned", "archived", "archived/count", "all", "all/archived", "all/tags"):
        assert client.get(f"/api/v1/chats/{path}", headers=reader).status_code == 200, path
    assert client.get(f"/api/v1/chats/{cid}/tags", headers=reader).status_code == 200
    assert client.get(f"/api/v1/chats/{cid}/pinned", headers=reader).status_code == 200
    writes = [
        client.post(f"/api/v1/chats/{cid}/pin", headers=reader),
        client.post(f"/api/v1/chats/{cid}/archive", headers=reader),
        client.post(f"/api/v1/chats/{cid}/clone", json={}, headers=reader),
        client.post(f"/api/v1/chats/{cid}/tags", json={"name": "x"}, headers=reader),
        client.delete(f"/api/v1/chats/{cid}/tags", json={"name": "x"}, headers=reader),
        client.post(f"/api/v1/chats/{cid}/messages/m0", json={"content": "x"}, headers=reader),
        client.post("/api/v1/chats/import", json={"chats": []}, headers=reader),
        client.post("/api/v1/chats/archive/all", headers=reader),
        client.post("/api/v1/chats/unarchive/all", headers=reader),
        client.delete("/api/v1/chats/", headers=reader),
    ]
    assert [w.status_code for w in writes] == [403] * len(writes)

    only_models = {
        "Authorization": "Bearer "
        + make_key(people["alice"], "models", allowed_endpoints=["/api/models"])
    }
    only_chats = {
        "Authorization": "Bearer "
        + make_key(people["alice"], "chats", allowed_endpoints=["/api/v1/chats"])
    }
    assert client.get("/api/v1/chats/pinned", headers=only_models).status_code == 403
    assert client.post(f"/api/v1/chats/{cid}/pin", headers=only_models).status_code == 403
    assert client.delete("/api/v1/chats/", headers=only_models).status_code == 403
    assert ok(client.post(f"/api/v1/chats/{cid}/clone", json={}, headers=only_chats))
    kept = ok(alice.get(f"/api/v1/chats/{cid}"))
    assert (kept["pinned"], kept["archived"], kept["meta"]) == (False, False, {})


def test_anonymous_callers_are_refused(client):
    for path in ("pinned", "archived", "all", "all/tags"):
        assert client.get(f"/api/v1/chats/{path}").status_code == 401
    assert client.delete("/api/v1/chats/").status_code == 401


def test_unserved_chats_paths_say_so(alice):
    for method, path in [
        ("GET", "config"),
        ("POST", "config"),
        ("GET", "shared"),
        ("POST", "read"),
    ]:
        response = alice.open(f"/api/v1/chats/{path}", method=method)
        assert response.status_code == 404
        assert "is not provided by webui" in response.get_json()["detail"]
