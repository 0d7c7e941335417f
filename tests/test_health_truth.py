"""Health that tells the truth (issue 25, item 10): a server whose database lacks this
version's schema is not ready, says why and which command to run (in the log once, on
/ready and /health/db, on pages to an admin), serves "being upgraded" instead of a bare 500,
notices the upgrade without a restart, and once ready never reads the schema again."""

import logging

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from tests.support.accounts import ADMIN_EMAIL, login_client
from tests.support.schema import migrations, stamp
from webui import MIGRATIONS_DIR
from webui.core import schema
from webui.extensions import db
from webui.sql_trace import traced_statements

COMMAND = "flask --app webui db upgrade"


@pytest.fixture
def clock(monkeypatch, frozen_counter_clock):
    """The schema watch keeps time by the counters' frozen clock: it looks again only when
    the test moves it."""
    monkeypatch.setattr(schema, "clock", frozen_counter_clock)
    return frozen_counter_clock


@pytest.fixture
def unmigrated(app):
    """The app on a database nobody has upgraded yet: no tables at all."""
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    return app


def statements_of(app, request):
    """The SQL statements the database receives while ``request()`` is served."""
    with app.app_context():
        engine = db.engine
    with traced_statements(engine) as seen:
        response = request()
    return response, seen


def told_to_upgrade(records) -> list[str]:
    return [record.getMessage() for record in records if COMMAND in record.getMessage()]


def drop_chats(app) -> None:
    """A table this version reads, gone: a query on it fails as on a schema that is behind."""
    with app.app_context(), db.engine.begin() as connection:
        cascade = " CASCADE" if connection.dialect.name == "postgresql" else ""
        connection.execute(sa.text("DROP TABLE chats" + cascade))


def test_before_the_upgrade_only_the_liveness_probe_says_ok(unmigrated, caplog):
    client = unmigrated.test_client()
    assert client.get("/health").get_json() == {"status": True}
    for probe in ("/ready", "/health/db"):
        response = client.get(probe)
        assert response.status_code == 503
        body = response.get_json()
        assert body["status"] is False
        assert "not been upgraded yet" in body["detail"] and COMMAND in body["detail"]
        assert "DATABASE_URL" in body["detail"]

    page = client.get("/auth/login")
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "The server is being upgraded; try again in a few minutes." in text
    assert COMMAND not in text  # nobody is known to be an admin
    assert "Something went wrong" not in text

    api = client.get("/api/config")
    assert api.status_code == 503
    assert api.get_json() == {"detail": schema.UPGRADING}

    assert len(told_to_upgrade(caplog.records)) == 1  # however often it was asked


def test_the_upgrade_is_noticed_without_a_restart_and_then_never_read_again(
    unmigrated, clock, caplog
):
    client = unmigrated.test_client()
    assert client.get("/ready").status_code == 503
    with unmigrated.app_context():
        upgrade(directory=MIGRATIONS_DIR)

    # Within a few seconds of the last look the answer stands, and costs no query.
    response, seen = statements_of(unmigrated, lambda: client.get("/ready"))
    assert response.status_code == 503 and seen == []

    clock.advance(schema.RECHECK_SECONDS)
    assert client.get("/ready").get_json() == {"status": True}
    assert client.get("/auth/login").status_code == 200

    clock.advance(3600)
    response, seen = statements_of(unmigrated, lambda: client.get("/ready"))
    assert response.get_json() == {"status": True}
    assert seen == []  # ready is remembered for good
    assert len(told_to_upgrade(caplog.records)) == 1


def test_behind_the_head_an_admin_is_told_the_command_and_others_to_wait(app, people_with_keys):
    people = people_with_keys("alice")
    admin = login_client(app, ADMIN_EMAIL)
    alice = login_client(app, "alice@example.com")
    with app.app_context():
        stamp(migrations().get_base())
    drop_chats(app)

    for_admin = admin.get("/chat/some-chat")
    assert for_admin.status_code == 503
    assert COMMAND in for_admin.get_data(as_text=True)
    assert "behind this version" in for_admin.get_data(as_text=True)
    for_alice = alice.get("/chat/some-chat")
    assert for_alice.status_code == 503
    assert schema.UPGRADING in for_alice.get_data(as_text=True)
    assert COMMAND not in for_alice.get_data(as_text=True)

    client = app.test_client()
    by_key = client.get("/api/v1/chats/", headers=people["alice_key"])
    assert by_key.status_code == 503 and by_key.get_json() == {"detail": schema.UPGRADING}
    by_admin_key = client.get("/api/v1/chats/", headers=people["admin_key"])
    assert by_admin_key.status_code == 503
    assert COMMAND in by_admin_key.get_json()["detail"]

    ready = client.get("/ready")
    assert ready.status_code == 503 and "behind this version" in ready.get_json()["detail"]


def test_at_the_head_a_database_error_is_still_an_error(app, people_with_keys):
    """The schema at the head is remembered: a later failure is a bug, not an upgrade."""
    people = people_with_keys("alice")
    client = app.test_client()
    assert client.get("/ready").get_json() == {"status": True}
    drop_chats(app)
    response = client.get("/api/v1/chats/", headers=people["alice_key"])
    assert response.status_code == 500
    assert "went wrong" in response.get_json()["detail"]


def test_a_database_a_newer_release_upgraded_is_ready(app, caplog):
    """A rolling upgrade migrates first; servers of the old release keep serving."""
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999_newer'"))
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="webui.core.schema"):
        assert client.get("/ready").get_json() == {"status": True}
        assert client.get("/health/db").get_json() == {"status": True}
    warnings = [r.getMessage() for r in caplog.records if "9999_newer" in r.getMessage()]
    assert len(warnings) == 1 and "newer release" in warnings[0]
