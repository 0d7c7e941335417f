"""Times and numbers from clients are range-checked at the boundary, and no stored value can
break a page for anyone."""

import pytest
import sqlalchemy as sa

from tests.support.accounts import login_client
from webui.extensions import db
from webui.models import ApiKey

KEYS = "/api/v1/auths/api_keys"


@pytest.fixture
def bob(app, admin_client, make_user, save_settings):
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    make_user("bob@example.com")
    return login_client(app, "bob@example.com")


@pytest.mark.parametrize(
    "body, says",
    [
        ('{"name": "k", "expires_at": 4611686018427387904}', "expires_at"),  # 2^62
        ('{"name": "k", "expires_at": 1e30}', "expires_at"),
        # Not numbers JSON has: refused where the body is read, before any field is looked at.
        ('{"name": "k", "expires_at": 1e999}', "The request body"),
        ('{"name": "k", "expires_at": NaN}', "The request body"),
        ('{"name": "k", "expires_at": -Infinity}', "The request body"),
    ],
)
def test_out_of_range_expiry_is_refused_saying_why(bob, body, says):
    response = bob.post(KEYS, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith(says)
    assert bob.get(KEYS).get_json()["items"] == []


def test_a_form_date_at_the_end_of_the_calendar_is_refused(bob):
    response = bob.post(
        "/account/keys", data={"name": "far", "expiry": "date", "expiry_date": "9999-12-31"}
    )
    assert response.status_code == 400
    assert b"within 100 years" in response.data
    assert b'value="far"' in response.data  # the form is kept
    assert bob.get(KEYS).get_json()["items"] == []


@pytest.mark.parametrize("days", [10**13, "1e999", 1e300, 36501, 0, -1, "٣"])
def test_the_maximum_lifetime_is_range_checked(admin_client, days):
    response = admin_client.post(
        "/api/v1/auths/admin/config", json={"API_KEYS_MAX_LIFETIME_DAYS": days}
    )
    assert response.status_code == 400
    assert "API_KEYS_MAX_LIFETIME_DAYS" in response.get_json()["detail"]
    config = admin_client.get("/api/v1/auths/admin/config").get_json()
    assert config["API_KEYS_MAX_LIFETIME_DAYS"] is None


def test_a_stored_far_future_time_renders_everywhere(app, bob, admin_client):
    """A row written before the checks (or by hand) must not take pages down."""
    assert bob.post(KEYS, json={"name": "old"}).status_code == 201
    with app.app_context():
        db.session.execute(sa.update(ApiKey).values(expires_at=2**62, last_used_at=2**62))
        db.session.commit()
    for client, path in [(bob, "/account/"), (admin_client, "/admin/api-keys")]:
        page = client.get(path)
        assert page.status_code == 200, path
        assert b"old" in page.data
    assert bob.get(KEYS).get_json()["items"][0]["expires_at"] == 2**62
