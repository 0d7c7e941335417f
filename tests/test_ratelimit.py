"""Rate limits: failed authentication per client address, per-key limits, shared through Redis."""

import logging
import os
import uuid

import httpx
import pytest

from tests.support.accounts import PASSWORD, bearer
from tests.support.servers import free_port, gunicorn_server
from webui.security import key_format, ratelimit

WHO = "/api/v1/auths/"
SIGNIN = "/api/v1/auths/signin"
ATTACKER = {"REMOTE_ADDR": "10.0.0.9"}
OFFICE = {"REMOTE_ADDR": "10.0.0.10"}
REDIS_URL = os.environ.get("REDIS_URL")

# Loops of requests here must fall in one window however slow the machine: in-process counters
# keep a clock that stands still. The live servers are counted per day for the same reason.
pytestmark = pytest.mark.usefixtures("frozen_counter_clock")


@pytest.fixture
def bob_key(app, make_user, save_settings, make_key):
    make_user("root@example.com", role="admin")
    bob_id = make_user("bob@example.com")
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    return make_key(bob_id, "bob's key")


def bad_key() -> str:
    return key_format.generate_key()


def assert_429(response):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "try again in" in response.get_json()["detail"]


def test_a_loop_of_bad_keys_ends_in_429_while_a_valid_key_keeps_working(app, bob_key):
    client = app.test_client()
    statuses = []
    for n in range(100):
        response = client.get(WHO, headers=bearer(bad_key()), environ_base=ATTACKER)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert_429(response)
            assert "valid key are still served" in response.get_json()["detail"]
        if n % 10 == 0:
            served = client.get(WHO, headers=bearer(bob_key), environ_base=OFFICE)
            assert served.status_code == 200 and served.get_json()["email"] == "bob@example.com"
    assert statuses == [401] * 20 + [429] * 80
    # A valid key is served even from the address that is over the limit.
    assert client.get(WHO, headers=bearer(bob_key), environ_base=ATTACKER).status_code == 200
    # Malformed and expired-looking credentials count as failures too.
    assert_429(client.get(WHO, headers=bearer("sk-nonsense"), environ_base=ATTACKER))


def test_successful_requests_are_not_counted(app, bob_key):
    client = app.test_client()
    for _ in range(60):
        assert client.get(WHO, headers=bearer(bob_key), environ_base=ATTACKER).status_code == 200
    statuses = [
        client.get(WHO, headers=bearer(bad_key()), environ_base=ATTACKER).status_code
        for _ in range(21)
    ]
    assert statuses == [401] * 20 + [429]


def test_a_403_of_a_valid_key_is_not_an_authentication_failure(app, bob_key, save_settings):
    save_settings(
        ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS=True, API_KEYS_ALLOWED_ENDPOINTS="/api/models"
    )
    client = app.test_client()
    for _ in range(30):
        assert client.get(WHO, headers=bearer(bob_key), environ_base=ATTACKER).status_code == 403


def test_the_limit_comes_from_configuration(app):
    app.config["RATELIMIT_FAILED_AUTH"] = "3 per minute"
    client = app.test_client()
    statuses = [
        client.get(WHO, headers=bearer(bad_key()), environ_base=ATTACKER).status_code
        for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


def test_the_count_starts_again_when_the_window_ends(app, frozen_counter_clock, monkeypatch):
    monkeypatch.setattr(ratelimit, "clock", frozen_counter_clock)  # what the worker remembers
    app.config["RATELIMIT_FAILED_AUTH"] = "2 per minute"
    client = app.test_client()

    def statuses(count: int) -> list[int]:
        return [
            client.get(WHO, headers=bearer(bad_key()), environ_base=ATTACKER).status_code
            for _ in range(count)
        ]

    assert statuses(3) == [401, 401, 429]
    frozen_counter_clock.advance(59)
    assert statuses(1) == [429]
    frozen_counter_clock.advance(1)
    assert statuses(3) == [401, 401, 429]


def test_an_invalid_limit_stops_the_app_at_start(app_config, monkeypatch):
    from webui import create_app

    monkeypatch.setitem(app_config, "RATELIMIT_FAILED_AUTH", "lots")
    with pytest.raises(ValueError, match="RATELIMIT_FAILED_AUTH"):
        create_app(app_config)


# --- sign-ins --------------------------------------------------------------------------------


def test_failed_sign_ins_end_in_429_and_block_the_address(app, make_user):
    make_user("root@example.com", role="admin")
    client = app.test_client()
    wrong = {"email": "root@example.com", "password": "wrong password"}
    statuses = [
        client.post(SIGNIN, json=wrong, environ_base=ATTACKER).status_code for _ in range(20)
    ]
    assert statuses == [400] * 20
    assert_429(client.post(SIGNIN, json=wrong, environ_base=ATTACKER))
    # While blocked, even the right password is refused: otherwise 200 vs 429 answers the guess.
    right = {"email": "root@example.com", "password": PASSWORD}
    assert_429(client.post(SIGNIN, json=right, environ_base=ATTACKER))
    # Other addresses are not affected.
    assert app.test_client().post(SIGNIN, json=right, environ_base=OFFICE).status_code == 200


def test_the_sign_in_page_flashes_and_answers_429(app, make_user):
    make_user("root@example.com", role="admin")
    client = app.test_client()
    app.config["RATELIMIT_FAILED_AUTH"] = "2 per minute"
    for _ in range(2):
        page = client.post(
            "/auth/login",
            data={"email": "root@example.com", "password": "nope-nope"},
            environ_base=ATTACKER,
        )
        assert page.status_code == 200 and "Wrong email or password" in page.get_data(as_text=True)
    page = client.post(
        "/auth/login",
        data={"email": "root@example.com", "password": PASSWORD},
        environ_base=ATTACKER,
    )
    assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1
    html = page.get_data(as_text=True)
    assert "Too many failed sign-ins" in html and 'name="email"' in html  # the form stays


def test_sign_in_and_key_failures_are_counted_apart(app, make_user):
    make_user("root@example.com", role="admin")
    client = app.test_client()
    for _ in range(25):
        client.get(WHO, headers=bearer(bad_key()), environ_base=ATTACKER)
    right = {"email": "root@example.com", "password": PASSWORD}
    assert client.post(SIGNIN, json=right, environ_base=ATTACKER).status_code == 200


# --- client address --------------------------------------------------------------------------


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(app):
    client = app.test_client()
    statuses = [
        client.get(
            WHO,
            headers={**bearer(bad_key()), "X-Forwarded-For": f"192.0.2.{n}"},
            environ_base=ATTACKER,
        ).status_code
        for n in range(22)
    ]
    assert statuses[-1] == 429  # a spoofed header does not escape the limit


def test_a_trusted_proxy_count_uses_the_forwarded_address(app_config, request):
    app_config["TRUSTED_PROXY_COUNT"] = 1
    app = request.getfixturevalue("app")
    client = app.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(20):
        client.get(
            WHO, headers={**bearer(bad_key()), "X-Forwarded-For": "203.0.113.5"}, environ_base=proxy
        )
    limited = client.get(
        WHO, headers={**bearer(bad_key()), "X-Forwarded-For": "203.0.113.5"}, environ_base=proxy
    )
    assert limited.status_code == 429
    other = client.get(
        WHO, headers={**bearer(bad_key()), "X-Forwarded-For": "203.0.113.6"}, environ_base=proxy
    )
    assert other.status_code == 401


# --- per-key limits ----------------------------------------------------------------------------


def test_a_key_with_its_own_limit(app, bob_key, make_user, make_key):
    carol_id = make_user("carol@example.com")
    limited = make_key(carol_id, "limited", rate_limit=3)
    client = app.test_client()
    assert [client.get(WHO, headers=bearer(limited)).status_code for _ in range(3)] == [200] * 3
    refused = client.get(WHO, headers=bearer(limited))
    assert_429(refused)
    assert "limited to 3 requests a minute" in refused.get_json()["detail"]
    # Other keys, and the address, are not affected.
    assert client.get(WHO, headers=bearer(bob_key)).status_code == 200
    assert client.get(WHO, headers=bearer(bad_key())).status_code == 401


def test_each_limited_key_has_a_counter_of_its_own(app, bob_key, make_user, make_key):
    """Two keys of one person, each at 3 a minute: spending the first leaves the second its 3."""
    carol_id = make_user("carol@example.com")
    first = bearer(make_key(carol_id, "first", rate_limit=3))
    second = bearer(make_key(carol_id, "second", rate_limit=3))
    client = app.test_client()
    assert [client.get(WHO, headers=first).status_code for _ in range(3)] == [200] * 3
    assert_429(client.get(WHO, headers=first))
    assert [client.get(WHO, headers=second).status_code for _ in range(3)] == [200] * 3
    assert_429(client.get(WHO, headers=second))


# --- storage down ------------------------------------------------------------------------------


def test_storage_unreachable_fails_closed_for_failures_but_serves_valid_keys(
    app_config, request, caplog, monkeypatch
):
    app_config["RATELIMIT_STORAGE_URI"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    monkeypatch.setattr(ratelimit, "_storage_down", False)
    app = request.getfixturevalue("app")
    key = request.getfixturevalue("bob_key")
    make_user, make_key = request.getfixturevalue("make_user"), request.getfixturevalue("make_key")
    limited = make_key(make_user("carol@example.com"), "limited", rate_limit=1)
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="webui"):
        for _ in range(3):
            assert_429(client.get(WHO, headers=bearer(bad_key())))
        assert client.get(WHO, headers=bearer(key)).status_code == 200
        assert [client.get(WHO, headers=bearer(limited)).status_code for _ in range(3)] == [200] * 3
        right = {"email": "root@example.com", "password": PASSWORD}
        assert app.test_client().post(SIGNIN, json=right).status_code == 200
        assert_429(app.test_client().post(SIGNIN, json={**right, "password": "wrong password"}))
    outages = [
        r
        for r in caplog.records
        if "rate-limit storage" in r.getMessage() and "unreachable" in r.getMessage()
    ]
    assert len(outages) == 1 and outages[0].levelno == logging.ERROR
    # The log keeps the real reason behind each 429.
    assert any(
        "unknown or revoked key" in r.getMessage() and "answered 429" in r.getMessage()
        for r in caplog.records
    )


# --- several workers share one limit through Redis --------------------------------------------


def require_redis() -> str:
    if not REDIS_URL:
        if os.environ.get("WEBUI_REQUIRE_SERVICES") == "1":
            pytest.fail("REDIS_URL is not set, and WEBUI_REQUIRE_SERVICES=1 requires Redis")
        pytest.skip("set REDIS_URL (e.g. redis://127.0.0.1:56379/0) to run the shared-limit test")
    return REDIS_URL


@pytest.mark.slow  # a live gunicorn
def test_two_gunicorn_workers_share_one_limit_through_redis(app_config, bob_key, tmp_path):
    import redis

    url = require_redis()
    prefix = f"webui-test-{uuid.uuid4().hex}"
    env = {
        "RATELIMIT_STORAGE_URI": url,
        "RATELIMIT_FAILED_AUTH": "6 per day",
        "RATELIMIT_KEY_PREFIX": prefix,
    }
    store = redis.Redis.from_url(url)
    try:
        with gunicorn_server(
            app_config["SQLALCHEMY_DATABASE_URI"], tmp_path, workers=2, env=env
        ) as server:
            statuses = []
            for _ in range(10):
                # A new connection each time, so the requests spread over both workers.
                response = httpx.get(server.url + WHO, headers=bearer(bad_key()), timeout=10)
                statuses.append(response.status_code)
            assert statuses == [401] * 6 + [429] * 4
            assert int(response.headers["Retry-After"]) >= 1
            served = httpx.get(server.url + WHO, headers=bearer(bob_key), timeout=10)
            assert served.status_code == 200
            counters = [name for name in store.scan_iter(match=f"*{prefix}*failed-auth*")]
            assert len(counters) == 1
            # One place for every worker; each stops counting after its first failure over
            # the limit (it remembers the block), so 6 + one or two, not 10.
            assert int(store.get(counters[0])) in (7, 8)
    finally:
        for name in store.scan_iter(match=f"*{prefix}*"):
            store.delete(name)
