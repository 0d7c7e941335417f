"""gunicorn as the README deploys it: every worker serves API keys.

Each request opens a new connection, which any worker may accept, and gunicorn's access log
names the worker (its pid) that answered it; requests go on until every worker has answered."""

import uuid

import httpx
import pytest

from tests.support.accounts import bearer
from tests.support.servers import ACCESS_LOG_ENV, answered_by, gunicorn_server, wait_for_log

pytestmark = pytest.mark.slow  # a live gunicorn

WHO = "/api/v1/auths/"
MAX_REQUESTS = 200  # new connections before concluding that some worker never answers


def test_gunicorn_serves_keys_from_every_worker(
    app_config, tmp_path, make_user, make_key, save_settings
):
    admin = make_user("root@example.com", role="admin")
    save_settings(ENABLE_API_KEYS=True)
    secret = make_key(admin)
    database = app_config["SQLALCHEMY_DATABASE_URI"]
    statuses: dict[str, int] = {}  # request id → status the client saw
    with gunicorn_server(database, tmp_path, workers=2, env=ACCESS_LOG_ENV) as server:
        workers = set(server.worker_pids())
        for _ in range(MAX_REQUESTS):
            request_id = uuid.uuid4().hex
            headers = {**bearer(secret), "X-Request-Id": request_id}
            statuses[request_id] = httpx.get(
                server.url + WHO, headers=headers, timeout=30
            ).status_code
            if {pid for pid, _ in answered_by(server.log()).values()} >= workers:
                break
        log = wait_for_log(server, statuses)
    answers = answered_by(log)
    assert len(workers) == 2
    assert {answers[request_id][0] for request_id in statuses} == workers
    assert set(statuses.values()) == {200}
    assert {status for _, status in answers.values()} == {200}
