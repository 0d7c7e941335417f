"""Fixtures in the manner of flaskr's (app, client, runner, a sign-in helper), the people and
settings tests make directly, and the real servers of the slow tiers: gunicorn, Chromium and
the fake upstreams. Plain helpers (no fixtures) live in ``tests/support/``.

Tests run on a temporary SQLite file unless TEST_DATABASE_URL points at PostgreSQL,
in which case every test starts from an empty schema there.
"""

import os
import time

import pytest
import sqlalchemy as sa

from tests.support import servers
from tests.support.accounts import ADMIN_EMAIL, PASSWORD, bearer, login_client, principal_of
from tests.support.fake_upstream import UPSTREAM_KEY, connection_settings, running_upstream
from tests.support.openapi_checks import published
from tests.support.s3 import new_bucket, require_s3_server
from tests.support.schema import stamp
from tests.support.servers import gunicorn_server, s3_server
from webui import create_app
from webui.core import counters
from webui.core.catalog import SETTINGS
from webui.extensions import db
from webui.models import Group, User
from webui.services import api_keys, configuration, users

pytest_plugins = ["tests.support.phase_reports"]  # lets the crowd fixture see a failed test

# Fixtures that start a real server or browser: a test using one must be marked slow.
SLOW_FIXTURES = {"live_server", "browser", "crowd", "s3_endpoint", "bucket"}


def pytest_collection_modifyitems(items):
    unmarked = [
        item.nodeid
        for item in items
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("slow") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests use a live server or Chromium but are not marked slow "
            "(@pytest.mark.slow): " + ", ".join(unmarked)
        )


def database_url(tmp_path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.sqlite'}"


def reset_database() -> None:
    db.drop_all()
    db.create_all()
    stamp("head")  # as `flask db upgrade` leaves it


@pytest.fixture
def app_config(tmp_path):
    """Overrides for create_app; tests may change it before using ``app``."""
    return {
        "TESTING": True,
        # The live servers' key: settings sealed here (upstream API keys) open there.
        "SECRET_KEY": servers.SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "WTF_CSRF_ENABLED": False,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
    }


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    with app.app_context():
        reset_database()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    counters.dispose(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def document(client):
    """The OpenAPI document the app serves."""
    return published(client)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    """Sign in and out through the real pages."""

    def __init__(self, client):
        self._client = client

    def signup(self, name="Ada", email="ada@example.com", password=PASSWORD):
        return self._client.post(
            "/auth/signup", data={"name": name, "email": email, "password": password}
        )

    def login(self, email="ada@example.com", password=PASSWORD):
        return self._client.post("/auth/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


# --- direct set-up helpers: what a test is not about is made without HTTP ----------


@pytest.fixture
def make_user(app):
    """Create an account through users.create_user; the first one made is admin unless a
    role is given. Its password is PASSWORD."""

    def make(email: str, role: str | None = "user", name: str | None = None) -> str:
        with app.app_context():
            user = users.create_user(
                name or email.split("@")[0].title(), email, PASSWORD, role=role
            )
            return user.id

    return make


@pytest.fixture
def save_settings(app):
    def save(**values):
        with app.app_context():
            configuration.save(values, SETTINGS, None)

    return save


@pytest.fixture
def make_key(app):
    """Create a key for a user id (switch and permission must allow it); returns the secret."""

    def make(user_id: str, name: str = "test key", **options) -> str:
        with app.app_context():
            user = db.session.get(User, user_id)
            _, secret = api_keys.create_key(principal_of(user), name, **options)
            return secret

    return make


@pytest.fixture
def make_group(app):
    """Create a group (no permissions of its own) with the given user ids; returns its id."""

    def make(name: str, *member_ids: str) -> str:
        with app.app_context():
            group = Group(name=name, permissions={})
            group.members = [db.session.get(User, uid) for uid in member_ids]
            db.session.add(group)
            db.session.commit()
            return group.id

    return make


@pytest.fixture
def count_users(app):
    def count() -> int:
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(User))

    return count


@pytest.fixture
def admin_client(app, make_user):
    """A test client signed in as root@example.com, an admin."""
    make_user(ADMIN_EMAIL, role="admin")
    return login_client(app, ADMIN_EMAIL)


@pytest.fixture
def bob(app, make_user, save_settings):
    """A plain user signed in, holding features.api_keys through the defaults, keys switched
    on (an admin exists too). Modules with a ``bob`` of their own use theirs."""
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    make_user(ADMIN_EMAIL, role="admin")
    make_user("bob@example.com")
    return login_client(app, "bob@example.com")


@pytest.fixture
def people_with_keys(make_user, make_key, save_settings):
    """Keys switched on and granted (plus ``grants``, more settings); an admin ("admin",
    root@example.com) and users called ``names`` (``alice`` is alice@example.com), each with
    an API key as a Bearer header under "<name>_key"."""

    def make(*names: str, **grants) -> dict:
        save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True, **grants)
        people = {"admin": make_user(ADMIN_EMAIL, role="admin")}
        people.update((name, make_user(f"{name}@example.com")) for name in names)
        for name, user_id in list(people.items()):
            people[f"{name}_key"] = bearer(make_key(user_id, f"{name} bot"))
        return people

    return make


class FrozenClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, at: float):
        self.at = at

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


@pytest.fixture
def frozen_counter_clock(monkeypatch):
    """Rate-limit counters in this process keep time by this clock: a loop of requests always
    falls in one window, however slow the machine; ``advance(seconds)`` ends a window."""
    clock = FrozenClock(time.time())
    monkeypatch.setattr(counters, "clock", clock)
    return clock


# --- fake model servers on loopback ports (in this process) ---------------------------------


@pytest.fixture
def openai_up():
    """An OpenAI-compatible upstream that wants UPSTREAM_KEY."""
    with running_upstream(required_key=UPSTREAM_KEY) as up:
        yield up


@pytest.fixture
def ollama_up():
    """An Ollama-compatible upstream (no key)."""
    with running_upstream() as up:
        yield up


@pytest.fixture
def connected_upstreams(save_settings, openai_up, ollama_up):
    """Keys switched on and granted, and the app connected to both fake upstreams."""
    save_settings(
        ENABLE_API_KEYS=True,
        USER_PERMISSIONS_FEATURES_API_KEYS=True,
        **connection_settings(openai_up, ollama_up),
    )


# --- the slow tiers: real gunicorn, Chromium --------------------------------------------------


@pytest.fixture
def live_server(app, app_config, tmp_path):
    """gunicorn (2 gevent workers, the deployed config) on a loopback port, sharing the ``app``
    fixture's database."""
    with gunicorn_server(app_config["SQLALCHEMY_DATABASE_URI"], tmp_path) as server:
        yield server


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """The URL of an S3-compatible server on loopback, one for the whole run."""
    require_s3_server()
    with s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server.url


@pytest.fixture
def bucket(s3_endpoint):
    """An empty bucket of this test's own on the S3 server."""
    return new_bucket(s3_endpoint)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through Playwright, one per test module."""
    from tests.support.chromium import launch, require_browser

    sync_api = require_browser()
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def crowd(browser, live_server, request):
    """People in separate browser contexts on the live server; their pages are saved under
    test-artifacts/ when the test fails."""
    from tests.support.chromium import Crowd, failed_in_call

    people = Crowd(browser, live_server.url)
    yield people
    if failed_in_call(request.node):
        people.screenshot_all(request.node.name)
    people.close()
