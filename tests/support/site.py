"""A whole site with something on every page, for the tests that look at all the pages at once
(tests/test_accessibility.py): one app and its database for a whole module, people of each
role, and their keys, groups, chats, files, a collection and the audit entries all of that
leaves behind. Made directly or through the API of a test client, never through the pages."""

from dataclasses import dataclass, field

from tests.support.accounts import ADMIN_EMAIL, PASSWORD, bearer, principal_of
from tests.support.fake_upstream import connection_settings
from tests.support.files import upload_ok
from webui.core.catalog import SETTINGS
from webui.core.settings import get_settings
from webui.extensions import db
from webui.models import Group, User
from webui.services import api_keys, configuration, users

# An answer with a code block, so the chat page shows one.
CODE_ANSWER = "Here is a loop:\n\n```python\nfor day in range(25):\n    print(day)\n```\n\nEnjoy."
LONG_FILE_NAME = "quarterly-report-for-the-whole-research-and-development-department.txt"


@dataclass
class Site:
    """The ids of what was made, for pages that name one thing (a chat, a collection, …)."""

    ids: dict = field(default_factory=dict)


def save_settings(app, **values) -> None:
    with app.app_context():
        configuration.save(values, SETTINGS, None)


def read_settings(app, names) -> dict:
    with app.app_context():
        return get_settings(names)


def make_user(app, email: str, role: str = "user", name: str | None = None) -> str:
    with app.app_context():
        return users.create_user(name or email.split("@")[0].title(), email, PASSWORD, role=role).id


def make_key(app, user_id: str, name: str) -> str:
    with app.app_context():
        user = db.session.get(User, user_id)
        return api_keys.create_key(principal_of(user), name)[1]


def make_group(app, name: str, description: str, *member_ids: str) -> str:
    with app.app_context():
        group = Group(name=name, description=description, permissions={})
        group.members = [db.session.get(User, uid) for uid in member_ids]
        db.session.add(group)
        db.session.commit()
        return group.id


def conversation(title: str, question: str, answer: str) -> dict:
    """A saved chat in Open WebUI's shape: one question and its answer."""
    asked = {"id": "m1", "parentId": None, "role": "user", "content": question}
    answered = {"id": "m2", "parentId": "m1", "role": "assistant", "content": answer}
    for number, message in enumerate((asked, answered)):
        message["timestamp"] = 1_700_000_000 + number
    return {
        "title": title,
        "models": ["gpt-test"],
        "messages": [asked, answered],
        "history": {"messages": {"m1": asked, "m2": answered}, "currentId": "m2"},
    }


def furnish(app, openai_up, ollama_up) -> Site:
    """An admin (root@example.com), a user with things (alice), a user with nothing (bob), a
    person waiting for approval (pat); both model servers connected; sign-ups open."""
    save_settings(
        app,
        ENABLE_SIGNUP=True,
        ENABLE_API_KEYS=True,
        USER_PERMISSIONS_FEATURES_API_KEYS=True,
        USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=True,
        **connection_settings(openai_up, ollama_up),
    )
    site = Site()
    ids = site.ids
    ids["admin"] = make_user(app, ADMIN_EMAIL, role="admin", name="Root Admin")
    ids["alice"] = make_user(app, "alice@example.com", name="Alice Example")
    ids["bob"] = make_user(app, "bob@example.com", name="Bob Empty")
    ids["pat"] = make_user(app, "pat@example.com", role="pending", name="Pat Waiting")
    make_key(app, ids["admin"], "admin bot")
    alice = bearer(make_key(app, ids["alice"], "ci-bot"))
    make_key(app, ids["alice"], "nightly-report")
    ids["group"] = make_group(
        app, "Research and development", "People who try things", ids["alice"], ids["bob"]
    )

    client = app.test_client()
    file_id = upload_ok(client, LONG_FILE_NAME, b"Holidays: 25 days a year.", alice)["id"]
    upload_ok(client, "notes.md", b"# Notes\n\nBring a towel.", alice)
    collection = client.post(
        "/api/v1/knowledge/create",
        json={"name": "Handbook", "description": "What everyone should know"},
        headers=alice,
    ).get_json()
    ids["collection"] = collection["id"]
    client.post(
        f"/api/v1/knowledge/{collection['id']}/file/add", json={"file_id": file_id}, headers=alice
    )
    chat = conversation("Counting days", "How do I count to 25 in Python?", CODE_ANSWER)
    ids["chat"] = client.post("/api/v1/chats/new", json={"chat": chat}, headers=alice).get_json()[
        "id"
    ]
    client.post(
        "/api/v1/chats/new",
        json={"chat": conversation("Trip to Lisbon", "Where to eat?", "Try the **bifanas**.")},
        headers=alice,
    )
    # Usage of a model through a key, and a refused key: rows in the audit trail.
    completion = {"model": "gpt-test", "messages": [{"role": "user", "content": "Hello"}]}
    assert client.post("/api/chat/completions", json=completion, headers=alice).status_code == 200
    client.get("/api/models", headers=bearer("sk-not-a-real-key"))
    return site
