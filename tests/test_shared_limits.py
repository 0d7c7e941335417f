"""Rate limits hold for the whole server, not per worker: by default the counters live in the
app's database. Two app objects on one database stand in for two workers (or two hosts); a live
gunicorn with three workers shows the same. Sign-ups are limited per client address."""

import re
import shlex
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask

from tests.support.accounts import PASSWORD, bearer
from tests.support.servers import gunicorn_server
from webui import create_app
from webui.core import counters
from webui.extensions import db
from webui.models import RateLimitCounter
from webui.security import key_format, ratelimit
from webui.sql_trace import traced_statements

WHO = "/api/v1/auths/"
SIGNIN = "/api/v1/auths/signin"
SIGNUP = "/api/v1/auths/signup"
ATTACKER = {"REMOTE_ADDR": "10.0.0.9"}
OFFICE = {"REMOTE_ADDR": "10.0.0.10"}


# Loops of requests here must fall in one window however slow the machine: in-process counters
# keep a clock that stands still. The live server counts failures per day for the same reason.
pytestmark = pytest.mark.usefixtures("frozen_counter_clock")


def bad_key() -> str:
    return key_format.generate_key()


@pytest.fixture
def default_storage(monkeypatch, app_config):
    """The deployment default: no RATELIMIT_STORAGE_URI anywhere, so the database counts."""
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    app_config.pop("RATELIMIT_STORAGE_URI", None)
    return app_config


@pytest.fixture
def two_workers(default_storage, request):
    """Test clients of two app objects on the same database, as two gunicorn workers."""
    app = request.getfixturevalue("app")
    return app.test_client(), create_app(default_storage).test_client()


def alternating(clients, count: int, send) -> list[int]:
    """``count`` requests spread evenly over ``clients``; their status codes in order."""
    return [send(clients[n % len(clients)]).status_code for n in range(count)]


@pytest.fixture
def keys_on(make_user, save_settings):
    make_user("root@example.com", role="admin")
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)


# --- one limit for every worker ----------------------------------------------------------------


def test_a_key_limit_holds_across_workers(two_workers, keys_on, make_user, make_key):
    limited = make_key(make_user("carol@example.com"), "limited", rate_limit=5)
    statuses = alternating(two_workers, 10, lambda c: c.get(WHO, headers=bearer(limited)))
    assert statuses == [200] * 5 + [429] * 5


def test_the_failed_auth_limit_holds_across_workers(default_storage, request):
    default_storage["RATELIMIT_FAILED_AUTH"] = "4 per minute"
    workers = request.getfixturevalue("two_workers")
    statuses = alternating(
        workers, 8, lambda c: c.get(WHO, headers=bearer(bad_key()), environ_base=ATTACKER)
    )
    assert statuses == [401] * 4 + [429] * 4
    # Another address has its own count, on either worker.
    assert workers[1].get(WHO, headers=bearer(bad_key()), environ_base=OFFICE).status_code == 401


def test_failed_sign_ins_count_across_workers(default_storage, request):
    default_storage["RATELIMIT_FAILED_AUTH"] = "3 per minute"
    workers = request.getfixturevalue("two_workers")
    request.getfixturevalue("make_user")("root@example.com", role="admin")
    wrong = {"email": "root@example.com", "password": "wrong password"}
    statuses = alternating(workers, 3, lambda c: c.post(SIGNIN, json=wrong, environ_base=ATTACKER))
    assert statuses == [400] * 3
    right = {**wrong, "password": PASSWORD}
    for worker in workers:
        assert worker.post(SIGNIN, json=right, environ_base=ATTACKER).status_code == 429
        assert worker.post(SIGNIN, json=right, environ_base=OFFICE).status_code == 200


def test_the_default_storage_is_the_database_and_memory_only_when_asked(
    default_storage, request, monkeypatch
):
    app = request.getfixturevalue("app")
    assert isinstance(app.extensions["webui_ratelimit"], ratelimit.DatabaseCounters)
    app.test_client().get(WHO, headers=bearer(bad_key()), environ_base=ATTACKER)
    with app.app_context():
        row = db.session.scalar(sa.select(RateLimitCounter))
    assert row.name == "webui/failed-auth/key/10.0.0.9" and row.count == 1

    monkeypatch.setitem(default_storage, "RATELIMIT_STORAGE_URI", "memory://")
    explicit = create_app(default_storage)
    assert isinstance(explicit.extensions["webui_ratelimit"], ratelimit.StorageCounters)


def test_an_unsupported_database_needs_a_storage_uri():
    app = Flask(__name__)
    app.config.update(
        RATELIMIT_FAILED_AUTH="20 per minute",
        RATELIMIT_SIGNUPS="10 per hour",
        RATELIMIT_STORAGE_URI="",
        SQLALCHEMY_DATABASE_URI="mysql://db/webui",
    )
    with pytest.raises(ValueError, match="RATELIMIT_STORAGE_URI"):
        ratelimit.init_app(app)


# --- sign-ups per client address -----------------------------------------------------------------


def signup_as(n: int):
    body = {"name": f"Person {n}", "email": f"person{n}@example.com", "password": PASSWORD}
    return lambda client: client.post(SIGNUP, json=body, environ_base=ATTACKER)


def test_sign_ups_are_limited_per_address_across_workers(default_storage, request):
    default_storage["RATELIMIT_SIGNUPS"] = "3 per hour"
    first, second = request.getfixturevalue("two_workers")
    assert [signup_as(n)((first, second)[n % 2]).status_code for n in range(3)] == [200] * 3
    refused = first.post(
        SIGNUP,
        json={"name": "Spam", "email": "spam@example.com", "password": PASSWORD},
        environ_base=ATTACKER,
    )
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "Too many sign-ups" in refused.get_json()["detail"]
    assert second.post(SIGNUP, json={}, environ_base=ATTACKER).status_code == 429
    # Another address may still sign up.
    other = {"name": "Ada", "email": "ada@example.com", "password": PASSWORD}
    assert second.post(SIGNUP, json=other, environ_base=OFFICE).status_code == 200


def test_refused_sign_ups_count_too(app, app_config):
    app.config["RATELIMIT_SIGNUPS"] = "2 per hour"
    client = app.test_client()
    assert signup_as(1)(client).status_code == 200
    short = {"name": "Pat", "email": "pat@example.com", "password": "short"}
    refused = client.post(SIGNUP, json=short, environ_base=ATTACKER)
    assert refused.status_code == 400  # the password is too short: still an attempt
    assert signup_as(2)(client).status_code == 429


def test_the_sign_up_page_shows_the_refusal(app):
    app.config["RATELIMIT_SIGNUPS"] = "1 per hour"
    client = app.test_client()
    data = {"name": "Ada", "email": "ada@example.com", "password": PASSWORD}
    client.post("/auth/signup", data=data, environ_base=ATTACKER)
    client.post("/auth/logout")
    page = client.post(
        "/auth/signup", data={**data, "email": "bob@example.com"}, environ_base=ATTACKER
    )
    assert "Too many sign-ups" in page.get_data(as_text=True)


def test_an_invalid_sign_up_limit_stops_the_app_at_start(app_config):
    app_config["RATELIMIT_SIGNUPS"] = "plenty"
    with pytest.raises(ValueError, match="RATELIMIT_SIGNUPS"):
        create_app(app_config)


# --- the counter table ----------------------------------------------------------------------------


def test_concurrent_hits_from_two_workers_are_all_counted(default_storage, request):
    apps = [request.getfixturevalue("app"), create_app(default_storage)]
    seen: list[int] = []
    lock = threading.Lock()

    def count_ten(app):
        with app.app_context():
            for _ in range(10):
                count, _ = counters.hit("webui/test/concurrent", 60)
                with lock:
                    seen.append(count)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(count_ten, apps * 2))
    assert sorted(seen) == list(range(1, 41))  # none lost, none counted twice


def test_an_ended_window_starts_again_and_is_deleted(app, monkeypatch):
    with app.app_context():
        assert counters.hit("webui/test/a", 60)[0] == 1
        assert counters.hit("webui/test/a", 60)[0] == 2
        assert counters.peek("webui/test/a")[0] == 2
        with db.engine.begin() as connection:
            connection.execute(sa.update(RateLimitCounter).values(expires_at=1))
        assert counters.peek("webui/test/a") == (0, 0)
        assert counters.hit("webui/test/a", 60)[0] == 1  # a new window on the same row
        with db.engine.begin() as connection:
            connection.execute(
                sa.insert(RateLimitCounter).values(name="webui/test/old", count=3, expires_at=1)
            )
        monkeypatch.setattr(counters, "_next_cleanup", 0.0)  # the minute has passed
        counters.hit("webui/test/b", 60)
        names = set(db.session.scalars(sa.select(RateLimitCounter.name)))
    assert names == {"webui/test/a", "webui/test/b"}


def test_a_limited_key_costs_one_statement_more_and_an_unlimited_key_none(
    app, keys_on, make_user, make_key, monkeypatch
):
    monkeypatch.setattr(counters, "_next_cleanup", float("inf"))  # no deletion in this test
    carol = make_user("carol@example.com")
    limited, unlimited = make_key(carol, "limited", rate_limit=50), make_key(carol, "free")
    client = app.test_client()
    for secret in (limited, unlimited):
        client.get(WHO, headers=bearer(secret))  # the first use writes last_used_at
    with app.app_context():
        engine, counting = db.engine, counters.engine()
    with traced_statements(engine) as seen, traced_statements(counting) as counted:
        assert client.get(WHO, headers=bearer(unlimited)).status_code == 200
    assert (len(seen), counted) == (1, []), (seen, counted)
    with traced_statements(engine) as seen, traced_statements(counting) as counted:
        assert client.get(WHO, headers=bearer(limited)).status_code == 200
    # SQLite reports the connection's isolation being reset as a PRAGMA (local, no I/O).
    counted = [s for s in counted if not s.startswith("PRAGMA read_uncommitted")]
    assert (len(seen), len(counted)) == (1, 1), (seen, counted)
    assert "rate_limit_counters" in counted[0] and counted[0].lstrip().upper().startswith("INSERT")


def test_counting_never_waits_for_the_request_pool(app_config):
    # Every request connection in use (a crowd of requests that each hold one): a failed
    # sign-in must still be counted, not wait for a connection held by another such request.
    small_pool = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 1}
    app = create_app({**app_config, "SQLALCHEMY_ENGINE_OPTIONS": small_pool})
    with app.app_context():
        db.create_all()
        with db.engine.connect():  # the pool's only connection
            assert counters.hit("test/crowded", 60) == (1, 60)
            assert counters.peek("test/crowded") == (1, 60)
        db.drop_all()
        db.engine.dispose()
    counters.dispose(app)


# --- a live server with three workers ------------------------------------------------------------

ACCESS_LOG_FORMAT = "access pid=%(p)s status=%(s)s"
ACCESS_LINE = re.compile(r"access pid=<(\d+)> status=(\d+)")


@pytest.mark.slow  # a live gunicorn
def test_three_gunicorn_workers_share_one_limit_by_default(default_storage, request, tmp_path):
    request.getfixturevalue("app")
    request.getfixturevalue("keys_on")
    make_user, make_key = request.getfixturevalue("make_user"), request.getfixturevalue("make_key")
    limited = make_key(make_user("carol@example.com"), "limited", rate_limit=5)
    env = {
        "RATELIMIT_STORAGE_URI": "",
        "RATELIMIT_FAILED_AUTH": "6 per day",
        "GUNICORN_CMD_ARGS": "--access-logformat=" + shlex.quote(ACCESS_LOG_FORMAT),
    }
    database = default_storage["SQLALCHEMY_DATABASE_URI"]

    def get(headers):
        # No keep-alive: each request opens a new connection, which any worker may accept.
        return httpx.get(server.url + WHO, headers=headers, timeout=30).status_code

    with gunicorn_server(database, tmp_path, workers=3, threads=2, env=env) as server:
        with ThreadPoolExecutor(max_workers=6) as pool:
            failures = list(pool.map(lambda _: get(bearer(bad_key())), range(18)))
            keyed = list(pool.map(lambda _: get(bearer(limited)), range(15)))
        log = server.log()
    assert sorted(failures) == [401] * 6 + [429] * 12
    assert sorted(keyed) == [200] * 5 + [429] * 10
    workers = {pid for pid, status in ACCESS_LINE.findall(log) if status in ("401", "429")}
    assert len(workers) >= 2, log  # the requests really were spread over several workers
