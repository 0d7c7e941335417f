"""Several gunicorn workers agree at once: a revocation holds from the next request on every worker.

Eight client threads call the API with one key, each request on a fresh connection so the
three threaded gunicorn workers all take a share, while a browser session revokes the key's
use in one of five ways. Every request records when it started and when it returned; none
that started after the revocation call returned may be served. The access log names the
worker that answered each request, so the test also shows that every worker served the key
before the revocation and refused it afterwards.

The steps wait for what they need (every worker has served; enough requests after the
revocation reached every worker), however slow the machine; HANG_LIMIT only stops a test
that would otherwise never end, and then it fails saying what it waited for.
"""

import re
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field

import httpx
import pytest

from tests.support.accounts import PASSWORD, bearer, principal_of
from tests.support.servers import ACCESS_LOG_ENV, answered_by, gunicorn_server
from webui.extensions import db
from webui.models import User
from webui.services import api_keys, groups

pytestmark = pytest.mark.slow  # live gunicorn under load

WORKERS = 3
THREADS_PER_WORKER = 4
CLIENT_THREADS = 8
REQUESTS_AFTER = 400  # requests that start after the revocation, at least
HANG_LIMIT = 600.0  # seconds a step may wait before the test fails instead of hanging
PROBE = "/api/v1/auths/"
ADMIN_EMAIL = "root@example.com"
BOT_EMAIL = "bot@example.com"

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


# --- the load ------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    request_id: str
    started: float
    ended: float
    status: int | None  # None: the request failed below HTTP
    error: str = ""


@dataclass
class Load:
    """CLIENT_THREADS threads sending key requests until stopped."""

    url: str
    secret: str
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self._deadline = time.monotonic() + 2 * HANG_LIMIT
        self._threads = [
            threading.Thread(target=self._run, daemon=True) for _ in range(CLIENT_THREADS)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        # No keep-alive: every request opens a new connection, which any worker may accept.
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(
            base_url=self.url, limits=limits, timeout=30.0, headers=bearer(self.secret)
        ) as http:
            while not self._stopping.is_set() and time.monotonic() < self._deadline:
                self._record(self._call(http))

    @staticmethod
    def _call(http: httpx.Client) -> Call:
        request_id = uuid.uuid4().hex
        started = time.monotonic()
        try:
            status, error = http.get(PROBE, headers={"X-Request-Id": request_id}).status_code, ""
        except httpx.HTTPError as exc:
            status, error = None, repr(exc)
        return Call(request_id, started, time.monotonic(), status, error)

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self.calls)

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in self._threads), (
            "client threads did not finish"
        )


def workers_that_answered(server, calls: list[Call], status: int | None = None) -> set[int]:
    """The pids of the workers the access log names for ``calls`` (with that status)."""
    answers = answered_by(server.log())
    return {
        answers[call.request_id][0]
        for call in calls
        if call.request_id in answers and status in (None, answers[call.request_id][1])
    }


def wait_until(ready: Callable[[], bool], what: str) -> None:
    """Poll until ``ready()``; past HANG_LIMIT, fail saying what never happened."""
    deadline = time.monotonic() + HANG_LIMIT
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {HANG_LIMIT:.0f} s waiting until {what}")
        time.sleep(0.2)


# --- sessions, as a browser has them ------------------------------------------------


def browser_session(url: str, email: str) -> httpx.Client:
    """Signed in with a session cookie, sending the page's CSRF token on every call."""
    http = httpx.Client(base_url=url, timeout=30.0)
    signin = http.post("/api/v1/auths/signin", json={"email": email, "password": PASSWORD})
    assert signin.status_code == 200, signin.text
    page = http.get("/account/")
    assert page.status_code == 200, page.text
    http.headers["X-CSRFToken"] = CSRF_META.search(page.text).group(1)
    return http


@dataclass
class World:
    admin: httpx.Client
    bot: httpx.Client
    bot_id: str
    key_id: str
    group_id: str | None


# --- the revocations ----------------------------------------------------------------


def delete_key(world: World) -> httpx.Response:
    return world.bot.delete(f"/api/v1/auths/api_keys/{world.key_id}")


def switch_keys_off(world: World) -> httpx.Response:
    return world.admin.post("/api/v1/auths/admin/config", json={"ENABLE_API_KEYS": False})


def default_permission_off(world: World) -> httpx.Response:
    return world.admin.post(
        "/api/v1/users/default/permissions", json={"features": {"api_keys": False}}
    )


def remove_from_group(world: World) -> httpx.Response:
    return world.admin.post(f"/api/v1/groups/id/{world.group_id}/update", json={"user_ids": []})


def demote_to_pending(world: World) -> httpx.Response:
    return world.admin.post(f"/api/v1/users/{world.bot_id}/update", json={"role": "pending"})


@dataclass(frozen=True)
class Scenario:
    revoke: Callable[[World], httpx.Response]
    refused_with: frozenset[int]
    granted_by_group: bool = False


UNKNOWN_KEY = frozenset({401, 429})  # 429 once the address is over the failed-authentication limit
FORBIDDEN = frozenset({403})

SCENARIOS = {
    "delete the key": Scenario(delete_key, UNKNOWN_KEY),
    "turn ENABLE_API_KEYS off": Scenario(switch_keys_off, FORBIDDEN),
    "turn the default permission off": Scenario(default_permission_off, FORBIDDEN),
    "remove the user from the granting group": Scenario(
        remove_from_group, FORBIDDEN, granted_by_group=True
    ),
    "demote the user to pending": Scenario(demote_to_pending, FORBIDDEN),
}


@pytest.fixture
def seed(app, make_user, save_settings):
    """An admin, and a user whose key works through the defaults or through a group."""

    def make(granted_by_group: bool) -> tuple[str, str, str | None]:
        make_user(ADMIN_EMAIL, role="admin")
        bot_id = make_user(BOT_EMAIL)
        save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=not granted_by_group)
        with app.app_context():
            group_id = None
            if granted_by_group:
                group = groups.create_group("API Users", None, {"features": {"api_keys": True}})
                groups.update_group(group, {"user_ids": [bot_id]})
                group_id = group.id
            _, secret = api_keys.create_key(
                principal_of(db.session.get(User, bot_id)), "Monitoring Bot"
            )
        return bot_id, secret, group_id

    return make


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_a_revocation_holds_from_the_next_request_on_every_worker(
    seed, app_config, tmp_path, scenario
):
    bot_id, secret, group_id = seed(scenario.granted_by_group)
    database = app_config["SQLALCHEMY_DATABASE_URI"]

    with gunicorn_server(database, tmp_path, WORKERS, THREADS_PER_WORKER, ACCESS_LOG_ENV) as server:
        with (
            closing(browser_session(server.url, ADMIN_EMAIL)) as admin,
            closing(browser_session(server.url, BOT_EMAIL)) as bot,
        ):
            key_id = bot.get("/api/v1/auths/api_keys").json()["items"][0]["id"]
            world = World(admin, bot, bot_id, key_id, group_id)
            load = Load(server.url, secret)
            load.start()
            wait_until(
                lambda: len(workers_that_answered(server, load.snapshot(), 200)) == WORKERS,
                "every worker served the key",
            )
            answer = scenario.revoke(world)
            revoked_at = time.monotonic()

            def enough_after() -> bool:
                after = [c for c in load.snapshot() if c.started > revoked_at]
                return (
                    len(after) >= REQUESTS_AFTER
                    and len(workers_that_answered(server, after)) == WORKERS
                )

            wait_until(enough_after, f"{REQUESTS_AFTER} requests after the revocation")
            load.stop()
        assert answer.status_code == 200, answer.text
    log = server.log()  # complete: the server has stopped

    calls = load.calls
    workers = answered_by(log)
    before = [c for c in calls if c.ended < revoked_at]
    after = [c for c in calls if c.started > revoked_at]

    failures = [c for c in calls if c.status is None]
    assert not failures, f"{len(failures)} requests failed below HTTP, e.g. {failures[0].error}"
    statuses = {c.status for c in calls}
    assert statuses <= {200, *scenario.refused_with}, f"unexpected statuses {sorted(statuses)}"
    served_late = [c for c in after if c.status == 200]
    late_pids = sorted({workers[c.request_id][0] for c in served_late if c.request_id in workers})
    assert not served_late, (
        f"{len(served_late)} of {len(after)} requests that started after the revocation returned "
        f"were served 200, by workers {late_pids}"
    )

    # Not vacuous: the key worked on every worker before, and every worker refused it after.
    pids_before = {
        workers[c.request_id][0] for c in before if c.status == 200 and c.request_id in workers
    }
    pids_after = {workers[c.request_id][0] for c in after if c.request_id in workers}
    assert len(after) >= REQUESTS_AFTER, f"only {len(after)} requests after revocation"
    assert len(pids_before) == WORKERS, f"workers that served the key before: {sorted(pids_before)}"
    assert len(pids_after) == WORKERS, f"workers that refused the key after: {sorted(pids_after)}"
    unlogged = [c for c in calls if c.request_id not in workers]
    assert not unlogged, f"{len(unlogged)} requests are missing from the access log"

    assert not re.search(r"status=5\d\d", log), "the server answered 5xx"
    assert "database is locked" not in log
    assert "Traceback" not in log, log[max(0, log.index("Traceback") - 500) :][:3000]
