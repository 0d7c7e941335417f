"""A flood of bad keys costs less than a good one: once an address is over the
failed-authentication limit, each worker refuses its further failures from memory, with no
counter write and no audit row, until the window ends."""

import logging

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from tests.support.accounts import PASSWORD, bearer
from webui import create_app
from webui.core import counters
from webui.extensions import db
from webui.models import RateLimitCounter
from webui.models.audit import AuditEvent
from webui.security import key_format, ratelimit
from webui.sql_trace import traced_statements

WHO = "/api/v1/auths/"
SIGNIN = "/api/v1/auths/signin"
ATTACKER = {"REMOTE_ADDR": "10.0.0.9"}
KEY_COUNTER = "webui/failed-auth/key/10.0.0.9"
SIGNIN_COUNTER = "webui/failed-auth/signin/10.0.0.9"


@pytest.fixture(autouse=True)
def database_counters(monkeypatch, app_config):
    """The deployment default (counters in the database), with a limit of 3 failures."""
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    app_config.pop("RATELIMIT_STORAGE_URI", None)
    app_config["RATELIMIT_FAILED_AUTH"] = "3 per minute"
    return app_config


@pytest.fixture(autouse=True)
def clock(frozen_counter_clock, monkeypatch):
    """The counters and the memory of blocked addresses keep one clock that stands still."""
    monkeypatch.setattr(ratelimit, "clock", frozen_counter_clock)
    return frozen_counter_clock


@pytest.fixture
def bob_key(make_user, save_settings, make_key):
    make_user("root@example.com", role="admin")
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    return make_key(make_user("bob@example.com"), "bob's key")


def bad_key() -> str:
    return key_format.generate_key()


def send_bad_keys(client, count: int) -> list:
    return [client.get(WHO, headers=bearer(bad_key()), environ_base=ATTACKER) for _ in range(count)]


def counted(app, name: str = KEY_COUNTER) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(RateLimitCounter.count).where(RateLimitCounter.name == name)
        )


def audit_rows(app) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return rows


def over_the_limit(app) -> list[AuditEvent]:
    return [row for row in audit_rows(app) if row.detail["status"] == 429]


def assert_refused_over_the_limit(response):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    detail = response.get_json()["detail"]
    assert detail.startswith("Too many invalid API keys from your address (the limit is 3 per")
    assert "try again in" in detail and detail.endswith(
        "Requests with a valid key are still served."
    )


def test_bad_keys_over_the_limit_are_refused_without_a_write(app):
    client = app.test_client()
    assert [r.status_code for r in send_bad_keys(client, 4)] == [401] * 3 + [429]
    assert counted(app) == 4
    rows_before = audit_rows(app)
    with app.app_context():
        engine = db.engine
    with traced_statements(engine) as seen:
        for response in send_bad_keys(client, 25):
            assert_refused_over_the_limit(response)
    assert counted(app) == 4
    assert len(audit_rows(app)) == len(rows_before)
    assert sum(row.count for row in audit_rows(app)) == sum(row.count for row in rows_before)
    # What is left is the lookup that found each key unknown: one read a request.
    assert len(seen) == 25, seen
    assert all(statement.lstrip().upper().startswith("SELECT") for statement in seen), seen
    assert not [s for s in seen if "rate_limit_counters" in s or "audit_events" in s]


def test_one_audit_row_and_one_log_line_for_a_window_over_the_limit(app, caplog):
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="webui"):
        send_bad_keys(client, 30)
    rows = over_the_limit(app)
    assert len(rows) == 1 and rows[0].count == 1 and rows[0].ip == "10.0.0.9"
    assert "failed-authentication limit" in rows[0].detail["reason"]
    limited_lines = [r for r in caplog.records if "answered 429" in r.getMessage()]
    assert len(limited_lines) == 1


def test_a_valid_key_from_a_blocked_address_is_still_served(app, bob_key):
    client = app.test_client()
    send_bad_keys(client, 5)
    served = client.get(WHO, headers=bearer(bob_key), environ_base=ATTACKER)
    assert served.status_code == 200 and served.get_json()["email"] == "bob@example.com"
    assert_refused_over_the_limit(send_bad_keys(client, 1)[0])  # and the address stays blocked


def test_a_bad_key_is_counted_again_when_the_window_ends(app, clock):
    client = app.test_client()
    send_bad_keys(client, 10)
    clock.advance(59)
    assert_refused_over_the_limit(send_bad_keys(client, 1)[0])
    assert counted(app) == 4
    clock.advance(1)
    assert [r.status_code for r in send_bad_keys(client, 4)] == [401] * 3 + [429]
    assert counted(app) == 4  # a new window, counted from one
    assert len(app.extensions["webui_blocked_addresses"]) == 1


def test_each_worker_learns_the_block_from_its_own_first_failure_over_the_limit(
    app, database_counters
):
    workers = [app.test_client(), create_app(database_counters).test_client()]
    statuses = [send_bad_keys(workers[n % 2], 1)[0].status_code for n in range(20)]
    assert statuses == [401] * 3 + [429] * 17
    assert counted(app) == 3 + 2  # one count over the limit for each worker, then none
    assert len(over_the_limit(app)) == 1  # both workers' refusals add to one row


def test_a_429_guessed_while_the_storage_is_down_is_not_remembered(app, monkeypatch):
    monkeypatch.setattr(ratelimit, "_storage_down", False)
    client = app.test_client()

    def unreachable(*_args):
        raise OperationalError("UPDATE", {}, Exception("database is locked"))

    with monkeypatch.context() as down:
        down.setattr(counters, "hit", unreachable)
        assert_refused_over_the_limit(send_bad_keys(client, 1)[0])  # fails closed
    assert [r.status_code for r in send_bad_keys(client, 4)] == [401] * 3 + [429]


# --- sign-ins ------------------------------------------------------------------------------


def test_a_blocked_sign_in_is_refused_from_memory(app, make_user):
    make_user("root@example.com", role="admin")
    client = app.test_client()
    wrong = {"email": "root@example.com", "password": "wrong password"}
    assert [
        client.post(SIGNIN, json=wrong, environ_base=ATTACKER).status_code for _ in range(4)
    ] == [
        400,
        400,
        400,
        429,
    ]
    right = {**wrong, "password": PASSWORD}
    with app.app_context():
        engine = db.engine
    with traced_statements(engine) as seen:
        for _ in range(5):
            refused = client.post(SIGNIN, json=right, environ_base=ATTACKER)
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert not [s for s in seen if "rate_limit_counters" in s], seen
    assert counted(app, SIGNIN_COUNTER) == 3


# --- the memory stays small --------------------------------------------------------------------


def test_a_flood_from_many_addresses_cannot_grow_the_memory(app):
    app.config["RATELIMIT_FAILED_AUTH"] = "1 per minute"
    app.extensions["webui_blocked_addresses"] = ratelimit.BlockedAddresses(max_entries=5)
    client = app.test_client()
    for n in range(20):
        address = {"REMOTE_ADDR": f"10.1.0.{n}"}
        for _ in range(2):
            client.get(WHO, headers=bearer(bad_key()), environ_base=address)
    blocked = app.extensions["webui_blocked_addresses"]
    assert len(blocked) == 5
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.1.0.19"}):
        assert ratelimit.blocked_key_refusal().status_code == 429  # the newest are kept


def test_ended_windows_make_room_before_the_oldest_entries(clock):
    blocked = ratelimit.BlockedAddresses(max_entries=3)
    blocked.remember(("key", "a"), 60)
    blocked.remember(("key", "b"), 10)
    blocked.remember(("key", "c"), 60)
    clock.advance(30)  # b's window has ended
    blocked.remember(("key", "d"), 60)
    assert [blocked.seconds_left(("key", name)) for name in "abcd"] == [30, None, 30, 60]
    blocked.remember(("key", "e"), 60)  # nothing has ended: the oldest (a) goes
    assert [blocked.seconds_left(("key", name)) for name in "acde"] == [None, 30, 60, 60]
    assert len(blocked) == 3
