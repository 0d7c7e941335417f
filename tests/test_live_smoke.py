"""gunicorn as the README deploys it: every worker serves API keys."""

import httpx
import pytest

from tests.support.accounts import bearer

pytestmark = pytest.mark.slow  # a live gunicorn


def test_gunicorn_serves_keys_from_every_worker(live_server, make_user, make_key, save_settings):
    admin = make_user("root@example.com", role="admin")
    save_settings(ENABLE_API_KEYS=True)
    secret = make_key(admin)
    with httpx.Client(base_url=live_server.url) as http:
        answers = {
            http.get("/api/v1/auths/", headers=bearer(secret)).status_code for _ in range(20)
        }
    assert answers == {200}
