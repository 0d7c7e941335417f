"""The Open WebUI compatibility table of docs/api.md cannot drift: every route of Open WebUI's
list is in it, and every route answers as it says (served: reached, for a caller allowed to;
not served: 404 with a JSON detail saying so; admin-only and session-only rows: 403 to keys)."""

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from tests.support.accounts import ADMIN_EMAIL, PASSWORD, bearer, login_client, principal_of
from tests.support.fake_upstream import UPSTREAM_KEY, connection_settings, running_upstream
from tests.support.files import make_pdf, upload_ok
from tests.support.schema import stamp
from webui import create_app
from webui.core.catalog import DEFAULT_PERMISSION_SETTINGS, SETTINGS
from webui.extensions import db
from webui.models import Group
from webui.services import api_keys, configuration, users

ROOT = Path(__file__).resolve().parent.parent
# Open WebUI 0.12.4's routes in the areas webui covers (a copy of the shared spec's list).
SPEC = ROOT / "tests" / "support" / "open-webui-0.12.4-routes.txt"
API_DOC = ROOT / "docs" / "api.md"
ROW = re.compile(
    r"^\| (GET|POST|DELETE|PUT|PATCH) \| `([^`]+)` \| ([^|]+?) \| ([^|]*?) \| (.*) \|$"
)
SERVED, NOT_SERVED = "served", "not served"
LEFT_OUT = "is not provided by webui"


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    status: str
    who: str
    notes: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def table_rows() -> list[Row]:
    """The rows of the compatibility table in docs/api.md."""
    text = API_DOC.read_text(encoding="utf-8")
    section = text.split("## Open WebUI compatibility", 1)[1]
    return [Row(*match.groups()) for match in map(ROW.match, section.splitlines()) if match]


def spec_routes() -> list[tuple[str, str]]:
    lines = SPEC.read_text(encoding="utf-8").splitlines()
    return [
        tuple(line.split()) for line in lines if re.match(r"^(GET|POST|DELETE|PUT|PATCH) /", line)
    ]


ROWS = table_rows()


def test_every_spec_route_is_in_the_table_once():
    in_table = [(row.method, row.path) for row in ROWS]
    assert len(in_table) == len(set(in_table)), "a route is in the table twice"
    assert set(in_table) == set(spec_routes())


def test_every_row_has_a_known_status():
    statuses = {row.status for row in ROWS}
    assert statuses <= {SERVED, NOT_SERVED}, statuses


def test_the_counts_in_the_text_match_the_table():
    text = API_DOC.read_text(encoding="utf-8")
    served = sum(row.status == SERVED for row in ROWS)
    left_out = sum(row.status == NOT_SERVED for row in ROWS)
    assert f"webui serves {served} of them, {left_out} are left out" in text


# --- one app for the whole table ---------------------------------------------------------------


@dataclass
class World:
    app: object
    admin: object  # a test client with the admin's session
    admin_key: dict
    alice_key: dict
    openai_url: str
    ollama_url: str
    shared_ids: dict = field(default_factory=dict)  # for rows that change nothing

    def fresh_ids(self) -> dict[str, str]:
        """A new user, group, file, collection and chat, so a row that deletes one harms no
        other."""
        with self.app.app_context():
            user = users.create_user("Bob", f"bob-{os.urandom(4).hex()}@example.com", PASSWORD)
            group = Group(name=f"group {os.urandom(4).hex()}", permissions={}, members=[user])
            db.session.add(group)
            db.session.commit()
            user_id, group_id = user.id, group.id
        file = upload_ok(self.admin, "notes.pdf", make_pdf("Vacation: 25 days a year."))
        created = self.admin.post("/api/v1/knowledge/create", json={"name": "Handbook"})
        knowledge_id = created.get_json()["id"]
        added = self.admin.post(
            f"/api/v1/knowledge/{knowledge_id}/file/add", json={"file_id": file["id"]}
        )
        assert added.status_code == 200, added.get_json()
        chat = self.admin.post("/api/v1/chats/new", json={"chat": A_CHAT})
        assert chat.status_code == 200, chat.get_json()
        return {
            "user_id": user_id,
            "group_id": group_id,
            "file_id": file["id"],
            "kb": knowledge_id,
            "chat_id": chat.get_json()["id"],
        }


A_MESSAGE = {"id": "m1", "parentId": None, "role": "user", "content": "Hi", "timestamp": 1}
A_CHAT = {
    "title": "Hello",
    "models": ["gpt-test"],
    "messages": [A_MESSAGE],
    "history": {"messages": {"m1": A_MESSAGE}, "currentId": "m1"},
}


def database_url(folder: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{folder / 'test.sqlite'}"


def cheap_hash(password: str) -> str:
    return generate_password_hash(password, "pbkdf2:sha256:1")


@pytest.fixture(scope="module")
def cheap_passwords():
    """Password hashing at its cheapest: the table makes and signs in many accounts."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("webui.models.accounts.generate_password_hash", cheap_hash)
        yield


@pytest.fixture(scope="module")
def world(tmp_path_factory, cheap_passwords):
    folder = tmp_path_factory.mktemp("compat")
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url(folder),
        "WTF_CSRF_ENABLED": False,
        "UPLOAD_DIR": str(folder / "uploads"),
    }
    app = create_app(config)
    with running_upstream(required_key=UPSTREAM_KEY) as openai_up, running_upstream() as ollama_up:
        with app.app_context():
            db.drop_all()
            db.create_all()
            stamp("head")  # as `flask db upgrade` leaves it: /ready answers 200
            settings = {
                "ENABLE_API_KEYS": True,
                **dict.fromkeys(DEFAULT_PERMISSION_SETTINGS, True),
                **connection_settings(openai_up, ollama_up),
            }
            configuration.save(settings, SETTINGS, None)
            admin = users.create_user("Root", ADMIN_EMAIL, PASSWORD, role="admin")
            alice = users.create_user("Alice", "alice@example.com", PASSWORD, role="user")
            _, admin_secret = api_keys.create_key(principal_of(admin), "admin bot")
            _, alice_secret = api_keys.create_key(principal_of(alice), "alice bot")
        world = World(
            app,
            login_client(app, ADMIN_EMAIL),
            bearer(admin_secret),
            bearer(alice_secret),
            openai_up.url + "/v1",
            ollama_up.url,
        )
        world.shared_ids = world.fresh_ids()
        yield world
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


# --- plausible requests -----------------------------------------------------------------------

PARAMETER = re.compile(r"\{([a-z_]+)\}")


def concrete_path(row: Row, ids: dict[str, str]) -> str:
    """The row's path with real ids: {id} is the group, file, chat or collection its area is
    about."""
    area = row.path.split("/")[3] if row.path.startswith("/api/v1/") else ""
    by_area = {
        "groups": ids.get("group_id"),
        "files": ids.get("file_id"),
        "chats": ids.get("chat_id"),
    }
    values = {
        "id": by_area.get(area) or ids.get("kb", "x"),
        "message_id": A_MESSAGE["id"],
        "user_id": ids.get("user_id", "x"),
        "url_idx": "0",
        "file_name": "notes.pdf",
    }
    return PARAMETER.sub(lambda match: values.get(match.group(1), "x"), row.path)


def plausible_body(world: World, row: Row, ids: dict[str, str]):
    """A body Open WebUI's clients would send to this route."""
    file_id, user_id = ids.get("file_id"), ids.get("user_id")
    bodies = {
        "/api/embeddings": {"model": "embed-test:latest", "input": "hello"},
        "/api/v1/embeddings": {"model": "gpt-test", "input": ["hello", "world"]},
        "/api/chat/completions": {
            "model": "gpt-test",
            "messages": [{"role": "user", "content": "Hi"}],
        },
        "/api/v1/auths/update/profile": {"name": "Root Admin"},
        "/api/v1/auths/update/password": {"password": PASSWORD, "new_password": PASSWORD},
        "/api/v1/auths/signin": {"email": ADMIN_EMAIL, "password": PASSWORD},
        "/api/v1/auths/signup": {"name": "Eve", "email": "eve@example.com", "password": PASSWORD},
        "/api/v1/auths/add": {
            "name": "Made",
            "email": f"made-{os.urandom(4).hex()}@example.com",
            "password": PASSWORD,
        },
        "/api/v1/auths/admin/config": {"ENABLE_SIGNUP": True},
        "/api/v1/users/default/permissions": {"chat": {"file_upload": True}},
        "/api/v1/users/{user_id}/update": {"role": "user"},
        "/api/v1/groups/create": {"name": f"new group {os.urandom(3).hex()}"},
        "/api/v1/groups/id/{id}/update": {"description": "changed"},
        "/api/v1/groups/id/{id}/users/add": {"user_ids": [user_id]},
        "/api/v1/groups/id/{id}/users/remove": {"user_ids": [user_id]},
        "/api/v1/files/{id}/rename": {"filename": "renamed.pdf"},
        "/api/v1/knowledge/create": {"name": "Another"},
        "/api/v1/knowledge/{id}/update": {"description": "changed"},
        "/api/v1/knowledge/{id}/access/update": {"access_control": {}},
        "/api/v1/knowledge/{id}/file/add": {"file_id": file_id},
        "/api/v1/knowledge/{id}/file/update": {"file_id": file_id},
        "/api/v1/knowledge/{id}/file/remove": {"file_id": file_id},
        "/api/v1/knowledge/{id}/files/batch/add": [{"file_id": file_id}],
        "/api/v1/chats/new": {"chat": A_CHAT},
        "/api/v1/chats/import": {"chats": [{"chat": A_CHAT, "meta": {"tags": ["hello"]}}]},
        "/api/v1/chats/tags": {"name": "hello"},
        "/api/v1/chats/{id}": {"chat": {"title": "Renamed"}},
        "/api/v1/chats/{id}/messages/{message_id}": {"content": "Hi again"},
        "/api/v1/chats/{id}/tags": {"name": "hello"},
        "/api/v1/retrieval/process/file": {"file_id": file_id},
        "/api/v1/retrieval/process/text": {"name": "memo", "content": "Lunch is at noon."},
        "/api/v1/retrieval/query/doc": {"collection_name": file_id, "query": "vacation"},
        "/api/v1/retrieval/query/collection": {
            "collection_names": [ids.get("kb")],
            "query": "days",
        },
        "/api/v1/retrieval/process/files/batch": {"files": [{"id": file_id}]},
        "/openai/config/update": {},
        "/ollama/config/update": {},
        "/openai/verify": {"url": world.openai_url, "key": UPSTREAM_KEY},
        "/ollama/verify": {"url": world.ollama_url},
        "/ollama/api/pull": {"model": "new-model:latest", "stream": False},
        "/ollama/api/create": {
            "model": "made:latest",
            "from": "llama-test:latest",
            "stream": False,
        },
        "/ollama/api/delete": {"model": "new-model:latest"},  # pulled above
        "/ollama/api/delete/{url_idx}": {"model": "made:latest"},  # created above
        "/ollama/api/show": {"model": "llama-test:latest"},
        "/ollama/api/embed": {"model": "embed-test:latest", "input": "hello"},
        "/ollama/api/embeddings": {"model": "embed-test:latest", "prompt": "hello"},
        "/ollama/api/generate": {"model": "llama-test:latest", "prompt": "Hi", "stream": False},
        "/ollama/api/chat": {
            "model": "llama-test:latest",
            "messages": [{"role": "user", "content": "Hi"}],
            "stream": False,
        },
        "/ollama/v1/embeddings": {"model": "embed-test:latest", "input": "hello"},
    }
    chat = bodies["/api/chat/completions"]
    for alias in ("/api/v1/chat/completions", "/openai/chat/completions"):
        bodies[alias] = chat
    bodies["/ollama/v1/chat/completions"] = {**chat, "model": "llama-test:latest"}
    if row.method in ("GET", "HEAD"):
        return None
    return bodies.get(row.path, bodies.get(re.sub(r"/\{url_idx\}$", "", row.path), {}))


def call(world: World, row: Row, client=None, headers=None, changes: bool = True):
    """Send the row's request; one that may change or delete what it names (``changes``) gets
    objects of its own."""
    may_harm = changes and row.method != "GET" and "{" in row.path
    ids = world.fresh_ids() if may_harm else world.shared_ids
    path = concrete_path(row, ids)
    client = client or world.admin
    if (row.method, row.path) == ("POST", "/api/v1/files/"):
        data = {"file": (io.BytesIO(b"plain text"), "a.txt", "text/plain")}
        return client.post(path, data=data, headers=headers)
    body = plausible_body(world, row, ids)
    return client.open(path, method=row.method, json=body, headers=headers)


def rows_with(status: str) -> list:
    return [pytest.param(row, id=str(row)) for row in ROWS if row.status == status]


# Rows that delete or archive everything the caller has: sent by Alice, so the shared ids stay.
AFFECTS_ALL_THE_CALLERS = {
    ("DELETE", "/api/v1/files/all"),
    ("DELETE", "/api/v1/chats/"),
    ("POST", "/api/v1/chats/archive/all"),
}
CHANGES_WHO_IS_SIGNED_IN = {
    "/api/v1/auths/signin",
    "/api/v1/auths/signup",
    "/api/v1/auths/signout",
}


@pytest.mark.parametrize("row", rows_with(SERVED))
def test_a_served_route_is_reached(world, row):
    client = world.admin
    if row.path in CHANGES_WHO_IS_SIGNED_IN:
        client = login_client(world.app, ADMIN_EMAIL)  # the shared session stays the admin's
    if (row.method, row.path) in AFFECTS_ALL_THE_CALLERS:
        client = login_client(world.app, "alice@example.com")
    response = call(world, row, client)
    detail = (response.get_json(silent=True) or {}) if response.is_json else {}
    detail = detail.get("detail", "") if isinstance(detail, dict) else ""
    assert LEFT_OUT not in detail, detail
    assert response.status_code != 405
    if "answers 404 by design" not in row.notes:
        assert response.status_code not in (404, 501), (response.status_code, detail)
    assert response.status_code < 500, (response.status_code, detail)


@pytest.mark.parametrize("row", rows_with(NOT_SERVED))
def test_a_route_left_out_says_so_in_json(world, row):
    response = world.app.test_client().open(concrete_path(row, {}), method=row.method)
    assert response.status_code == 404
    assert response.is_json
    assert LEFT_OUT in response.get_json()["detail"]
    assert str(row.method + " ") in response.get_json()["detail"]


def guarded_rows(requirement: str) -> list:
    """Served rows whose *who* lists this requirement ("admin, session": both)."""
    return [
        pytest.param(row, id=str(row))
        for row in ROWS
        if row.status == SERVED and requirement in [part.strip() for part in row.who.split(",")]
    ]


@pytest.mark.parametrize("row", guarded_rows("admin"))
def test_an_admin_route_refuses_a_users_key(world, row):
    response = call(world, row, world.app.test_client(), world.alice_key, changes=False)
    assert response.status_code == 403, response.get_json()


@pytest.mark.parametrize("row", guarded_rows("session"))
def test_a_session_only_route_refuses_every_key(world, row):
    response = call(world, row, world.app.test_client(), world.admin_key, changes=False)
    assert response.status_code == 403, response.get_json()
    assert "browser session" in response.get_json()["detail"]
