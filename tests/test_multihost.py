"""Two app hosts, one system: two gunicorn instances (two workers each, their own instance
folders, the same SECRET_KEY) on one PostgreSQL database, one Redis and one S3-compatible bucket,
all on loopback. Everything is shown through HTTP only, as a load balancer would spread a
client's requests: what one host does, the other sees from the next request.

When it runs: several hosts need PostgreSQL, so the tier runs when TEST_DATABASE_URL names a
PostgreSQL database and skips otherwise (the SQLite run of .ci/run skips it by design, and says
so). On a PostgreSQL run, a missing Redis (REDIS_URL) or S3 test server fails under
WEBUI_REQUIRE_SERVICES=1, as CI sets it, and skips otherwise."""

import os
import re
import secrets
import uuid
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest

from tests.support.accounts import PASSWORD, bearer
from tests.support.fake_upstream import connection_settings, running_upstream
from tests.support.s3 import Bucket, new_bucket
from tests.support.servers import LiveServer, gunicorn_server
from webui import create_app
from webui.extensions import db
from webui.security import key_format

pytestmark = [pytest.mark.slow, pytest.mark.multihost]

ADMIN = {"name": "Root", "email": "root@example.com", "password": PASSWORD}
WHO = "/api/v1/auths/"
KEYS = "/api/v1/auths/api_keys"
CONFIG = "/api/v1/auths/admin/config"
FAILED_AUTH_LIMIT = 6


def two_host_services() -> tuple[str, str]:
    """(PostgreSQL URL, Redis URL), or a skip or failure saying what is missing."""
    database = os.environ.get("TEST_DATABASE_URL", "")
    if not database:
        pytest.skip("two hosts need PostgreSQL: set TEST_DATABASE_URL (and REDIS_URL)")
    if not database.startswith("postgresql"):
        pytest.fail(f"two hosts need PostgreSQL, but TEST_DATABASE_URL is {database.split(':')[0]}")
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        if os.environ.get("WEBUI_REQUIRE_SERVICES") == "1":
            pytest.fail("REDIS_URL is not set, and WEBUI_REQUIRE_SERVICES=1 requires Redis")
        pytest.skip("set REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run the two-host tier")
    return database, redis_url


@dataclass
class Hosts:
    a: LiveServer
    b: LiveServer
    bucket: Bucket


def empty_schema(database_url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x", "TESTING": True})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()


@pytest.fixture(scope="module")
def services() -> tuple[str, str]:
    return two_host_services()


@pytest.fixture(scope="module")
def hosts(services, s3_endpoint, tmp_path_factory):  # services first: skip before starting any
    database_url, redis_url = services
    empty_schema(database_url)
    bucket = new_bucket(s3_endpoint)
    shared = {
        **bucket.settings(),
        "SECRET_KEY": secrets.token_hex(32),
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": f"webui-multihost-{uuid.uuid4().hex}",
        "RATELIMIT_FAILED_AUTH": f"{FAILED_AUTH_LIMIT} per minute",
        "TRUSTED_PROXY_COUNT": "1",  # behind a load balancer that sets X-Forwarded-For
    }
    with ExitStack() as stack:
        started = []
        for name in ("host-a", "host-b"):
            workdir = tmp_path_factory.mktemp(name)
            env = {**shared, "WEBUI_INSTANCE_PATH": str(workdir / "instance")}
            started.append(
                stack.enter_context(gunicorn_server(database_url, workdir, 2, env=env, name=name))
            )
        for server in started:
            assert len(server.worker_pids()) == 2
        yield Hosts(*started, bucket)
    teardown = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x", "TESTING": True}
    with create_app(teardown).app_context():
        db.drop_all()
        db.engine.dispose()


def browser() -> httpx.Client:
    """One client for both hosts, like a browser behind one load balancer: its cookie jar sends
    the session cookie to either; a new connection per request spreads them over the workers."""
    return httpx.Client(timeout=30, trust_env=False, headers={"Connection": "close"})


def csrf_token(client: httpx.Client, host: LiveServer) -> str:
    page = client.get(host.url + "/account/")
    assert page.status_code == 200
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def sign_in(host: LiveServer) -> httpx.Client:
    client = browser()
    response = client.post(
        host.url + "/api/v1/auths/signin",
        json={"email": ADMIN["email"], "password": ADMIN["password"]},
    )
    assert response.status_code == 200, response.text
    return client


def send(client, method: str, host: LiveServer, path: str, **kwargs) -> httpx.Response:
    """A state-changing request with the session and a CSRF token read from that host's page."""
    headers = {"X-CSRFToken": csrf_token(client, host), **kwargs.pop("headers", {})}
    return client.request(method, host.url + path, headers=headers, **kwargs)


@pytest.fixture(scope="module")
def admin(hosts) -> httpx.Client:
    """The first account (so an admin), signed up and in on A, with keys switched on."""
    with browser() as client:
        assert client.post(hosts.a.url + "/api/v1/auths/signup", json=ADMIN).status_code == 200
    client = sign_in(hosts.a)
    saved = send(client, "POST", hosts.a, CONFIG, json={"ENABLE_API_KEYS": True})
    assert saved.status_code == 200, saved.text
    yield client
    client.close()


def new_key(admin, host: LiveServer, **options) -> tuple[str, dict]:
    """(key id, Bearer header) for a key the admin creates on ``host``."""
    created = send(
        admin, "POST", host, KEYS, json={"name": f"bot {uuid.uuid4().hex[:6]}", **options}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    return body["id"], bearer(body["key"])


def get(host: LiveServer, path: str, headers: dict) -> httpx.Response:
    with browser() as client:
        return client.get(host.url + path, headers=headers)


# --- the bullets of issue 16 ------------------------------------------------------------------


def test_a_file_uploaded_on_a_downloads_byte_identical_on_b_and_deleted_on_b_is_gone(hosts, admin):
    _, key = new_key(admin, hosts.a)
    data = os.urandom(200 * 1024) + b"\x00end"
    with browser() as client:
        uploaded = client.post(
            hosts.a.url + "/api/v1/files/", headers=key, files={"file": ("blob.bin", data)}
        )
    assert uploaded.status_code == 200, uploaded.text
    file_id = uploaded.json()["id"]
    assert f"uploads/{file_id}" in hosts.bucket.keys()

    downloaded = get(hosts.b, f"/api/v1/files/{file_id}/content", key)
    assert downloaded.status_code == 200 and downloaded.content == data

    with browser() as client:
        deleted = client.delete(hosts.b.url + f"/api/v1/files/{file_id}", headers=key)
    assert deleted.json() == {"deleted": True}
    assert get(hosts.a, f"/api/v1/files/{file_id}/content", key).status_code == 404
    assert f"uploads/{file_id}" not in hosts.bucket.keys()


def test_a_key_created_on_a_works_on_b_and_revoked_on_b_is_refused_on_a(hosts, admin):
    key_id, key = new_key(admin, hosts.a)
    assert get(hosts.b, WHO, key).status_code == 200
    assert send(admin, "DELETE", hosts.b, f"{KEYS}/{key_id}").status_code == 200
    refused = get(hosts.a, WHO, key)
    assert refused.status_code == 401


def test_an_admin_settings_change_on_a_holds_on_b(hosts, admin):
    _, key = new_key(admin, hosts.b)
    assert get(hosts.b, WHO, key).status_code == 200
    try:
        assert send(admin, "POST", hosts.a, CONFIG, json={"ENABLE_API_KEYS": False}).is_success
        assert get(hosts.b, WHO, key).status_code == 403

        allowlist = {
            "ENABLE_API_KEYS": True,
            "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS": True,
            "API_KEYS_ALLOWED_ENDPOINTS": "/api/v1/files",
        }
        assert send(admin, "POST", hosts.a, CONFIG, json=allowlist).is_success
        assert get(hosts.b, WHO, key).status_code == 403
        assert get(hosts.b, "/api/v1/files/", key).status_code == 200
    finally:
        restore = {"ENABLE_API_KEYS": True, "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS": False}
        assert send(admin, "POST", hosts.a, CONFIG, json=restore).is_success
    assert get(hosts.b, WHO, key).status_code == 200


def test_a_keys_rate_limit_counts_across_both_hosts(hosts, admin):
    _, key = new_key(admin, hosts.a, rate_limit=4)
    statuses = [get((hosts.a, hosts.b)[n % 2], WHO, key).status_code for n in range(8)]
    assert statuses == [200] * 4 + [429] * 4


def test_the_failed_auth_limit_counts_across_both_hosts(hosts):
    client_address = {"X-Forwarded-For": f"10.{uuid.uuid4().int % 250}.0.9"}
    unknown_key = bearer(key_format.generate_key())  # well-formed, so the database is asked
    statuses = [
        get((hosts.a, hosts.b)[n % 2], WHO, {**unknown_key, **client_address}).status_code
        for n in range(FAILED_AUTH_LIMIT + 2)
    ]
    assert statuses == [401] * FAILED_AUTH_LIMIT + [429] * 2


def test_a_session_signed_in_on_a_is_valid_on_b_and_signed_out_on_b_is_refused_on_a(hosts, admin):
    person = sign_in(hosts.a)
    assert person.get(hosts.b.url + WHO).json()["email"] == ADMIN["email"]
    cookie = person.cookies["session"]
    signed_out = send(person, "POST", hosts.b, "/auth/logout")
    assert signed_out.status_code == 302
    with browser() as copy:
        copy.cookies.set("session", cookie)
        assert copy.get(hosts.a.url + WHO).status_code == 401


# --- issue 27: a quota and a rotation's grace period, held by the database both hosts share ---


@pytest.fixture(scope="module")
def upstream(hosts, admin):
    """A model server both hosts are pointed at, through the Open WebUI config route on A."""
    with running_upstream() as up:
        settings = connection_settings(openai=up)
        openai_only = {name: value for name, value in settings.items() if "OPENAI" in name}
        assert send(admin, "POST", hosts.a, "/openai/config/update", json=openai_only).is_success
        yield up


def chat(host: LiveServer, key: dict) -> httpx.Response:
    body = {"model": "gpt-test", "messages": [{"role": "user", "content": "Hi"}]}
    with browser() as client:
        return client.post(host.url + "/api/chat/completions", headers=key, json=body)


def test_a_keys_request_quota_counts_across_both_hosts(hosts, admin, upstream):
    _, key = new_key(admin, hosts.a, request_quota=2, quota_period="day")
    answers = [chat(host, key) for host in (hosts.a, hosts.b, hosts.a, hosts.b)]
    assert [answer.status_code for answer in answers] == [200, 200, 429, 429]
    assert answers[1].headers["X-RateLimit-Remaining-Requests"] == "0"
    assert "quota" in answers[2].json()["detail"].lower()
    assert int(answers[3].headers["Retry-After"]) > 0


def test_a_rotation_grace_period_set_on_b_holds_on_a_and_ends_on_a_for_b(hosts, admin):
    key_id, old = new_key(admin, hosts.a)
    rotated = send(admin, "POST", hosts.b, f"{KEYS}/{key_id}/rotate", json={"grace_seconds": 3600})
    assert rotated.status_code == 201, rotated.text
    new = bearer(rotated.json()["key"])
    assert [get(host, WHO, old).status_code for host in (hosts.a, hosts.b)] == [200, 200]
    assert send(admin, "POST", hosts.a, f"{KEYS}/{key_id}/end-grace").status_code == 200
    assert get(hosts.b, WHO, old).status_code == 401
    assert [get(host, WHO, new).status_code for host in (hosts.a, hosts.b)] == [200, 200]
