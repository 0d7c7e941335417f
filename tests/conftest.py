"""Fixtures in the manner of flaskr's: app, client, runner, and a sign-in helper.

Tests run on a temporary SQLite file unless TEST_DATABASE_URL points at PostgreSQL,
in which case every test starts from an empty schema there.
"""

import os

import pytest
import sqlalchemy as sa

from webui import create_app
from webui.core.catalog import SETTINGS
from webui.extensions import db
from webui.models import User
from webui.security.identity import principal_of
from webui.services import api_keys, configuration, users

PASSWORD = "correct horse battery"


def database_url(tmp_path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.sqlite'}"


def reset_database() -> None:
    db.drop_all()
    db.create_all()


@pytest.fixture
def app_config(tmp_path):
    """Overrides for create_app; tests may change it before using ``app``."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
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


@pytest.fixture
def client(app):
    return app.test_client()


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
    """Create an account; the first one made is admin unless a role is given."""

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
def count_users(app):
    def count() -> int:
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(User))

    return count


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def login_client(app, email: str, password: str = PASSWORD):
    """A new test client signed in through the JSON sign-in."""
    client = app.test_client()
    response = client.post("/api/v1/auths/signin", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return client


@pytest.fixture
def live_server(app, app_config, tmp_path):
    """gunicorn (2 workers, threaded) on a loopback port, sharing the ``app`` fixture's database."""
    from live import gunicorn_server

    with gunicorn_server(app_config["SQLALCHEMY_DATABASE_URI"], tmp_path) as server:
        yield server
