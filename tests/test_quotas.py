"""Token and request quotas (issue 27, item 3): who sets them, how the guard counts them
against the metered usage, the 429 and its headers, and the reset at a UTC boundary."""

import calendar

import pytest
import sqlalchemy as sa

from tests.support.accounts import bearer, login_client
from tests.support.statements import keyed_request_statements
from webui import create_app
from webui.extensions import db
from webui.models import ApiKey, AuditEvent, Group, Usage, User
from webui.security import quotas

HELLO = [{"role": "user", "content": "Hello"}]
CHAT = "/api/chat/completions"
# A moment on 5 December 2026, 10:00 UTC: the day ends at midnight, the month on 1 January.
TEN_AM = calendar.timegm((2026, 12, 5, 10, 0, 0))
MIDNIGHT = calendar.timegm((2026, 12, 6, 0, 0, 0))
NEW_YEAR = calendar.timegm((2027, 1, 1, 0, 0, 0))


@pytest.fixture
def clock(monkeypatch):
    """The quotas' clock, at TEN_AM until a test moves it."""
    at = {"now": TEN_AM}
    monkeypatch.setattr(quotas, "clock", lambda: at["now"])
    return at


@pytest.fixture
def ada(make_user, make_key, connected_upstreams):
    make_user("root@example.com", role="admin")
    ada_id = make_user("ada@example.com")
    return {"id": ada_id, "key": make_key(ada_id, "bot")}


def set_quota(app, model, row_id, **values):
    with app.app_context():
        db.session.execute(sa.update(model).where(model.id == row_id).values(**values))
        db.session.commit()


def key_id(app, name="bot"):
    with app.app_context():
        return db.session.scalar(sa.select(ApiKey.id).where(ApiKey.name == name))


def spent(app, user_id, tokens, at=TEN_AM, api_key_id=None, requests=1, status=200):
    """Usage rows as metered completions leave them."""
    with app.app_context():
        for _ in range(requests):
            db.session.add(
                Usage(
                    user_id=user_id,
                    api_key_id=api_key_id,
                    endpoint=CHAT,
                    model="gpt-test",
                    status=status,
                    total_tokens=tokens,
                    created_at=at,
                )
            )
        db.session.commit()


def chat(client, secret, stream=False):
    body = {"model": "gpt-test", "messages": HELLO, "stream": stream}
    return client.post(CHAT, headers=bearer(secret), json=body)


# --- limits and their headers ---------------------------------------------------------------


def test_a_user_token_quota_refuses_once_used_up(app, ada, clock):
    set_quota(app, User, ada["id"], token_quota=10000, quota_period="day")
    spent(app, ada["id"], 10000)
    response = chat(app.test_client(), ada["key"])
    assert response.status_code == 429
    assert response.get_json()["detail"] == (
        "Token quota reached for this day: 10000 of 10000 used; it resets at 2026-12-06 00:00 UTC."
    )
    assert response.headers["Retry-After"] == str(MIDNIGHT - TEN_AM)
    assert response.headers["X-RateLimit-Limit-Tokens"] == "10000"
    assert response.headers["X-RateLimit-Remaining-Tokens"] == "0"
    assert response.headers["X-RateLimit-Reset-Tokens"] == str(MIDNIGHT - TEN_AM)


def test_an_accepted_metered_answer_carries_the_quota_headers(app, ada, clock):
    set_quota(app, User, ada["id"], token_quota=10000, request_quota=50, quota_period="month")
    spent(app, ada["id"], 1200, requests=3)
    response = chat(app.test_client(), ada["key"])
    assert response.status_code == 200, response.get_json()
    assert response.headers["X-RateLimit-Limit-Tokens"] == "10000"
    assert response.headers["X-RateLimit-Remaining-Tokens"] == str(10000 - 3600)
    assert response.headers["X-RateLimit-Reset-Tokens"] == str(NEW_YEAR - TEN_AM)
    assert response.headers["X-RateLimit-Limit-Requests"] == "50"
    assert response.headers["X-RateLimit-Remaining-Requests"] == "46"  # this one counted
    assert "X-Quota-Warning" not in response.headers


def test_other_routes_are_not_held_by_a_used_up_quota(app, ada, clock):
    set_quota(app, User, ada["id"], request_quota=1, quota_period="day")
    spent(app, ada["id"], 5)
    client = app.test_client()
    models = client.get("/api/models", headers=bearer(ada["key"]))
    assert models.status_code == 200
    assert "X-RateLimit-Limit-Requests" not in models.headers
    assert chat(client, ada["key"]).status_code == 429


def test_no_quota_no_headers(app, ada, clock):
    response = chat(app.test_client(), ada["key"])
    assert response.status_code == 200
    assert not [name for name in response.headers.keys() if "RateLimit" in name]


def test_past_the_warning_threshold_the_answer_warns(app, ada, clock):
    set_quota(app, User, ada["id"], request_quota=10, quota_period="day", quota_warn_percent=50)
    spent(app, ada["id"], 1, requests=5)
    response = chat(app.test_client(), ada["key"])
    assert response.status_code == 200
    assert response.headers["X-Quota-Warning"] == "Request quota for this day 50% used: 5 of 10"


def test_failed_completions_do_not_count(app, ada, clock):
    set_quota(app, User, ada["id"], request_quota=1, quota_period="day")
    spent(app, ada["id"], 0, status=502)
    assert chat(app.test_client(), ada["key"]).status_code == 200


# --- precedence: key, person, groups ----------------------------------------------------------


def test_the_key_quota_counts_only_that_key(app, ada, make_key, clock):
    other = make_key(ada["id"], "other")
    set_quota(app, ApiKey, key_id(app), request_quota=2, quota_period="day")
    spent(app, ada["id"], 1, api_key_id=key_id(app), requests=2)
    client = app.test_client()
    refused = chat(client, ada["key"])
    assert refused.status_code == 429
    assert refused.get_json()["detail"].startswith("Request quota reached for this day: 2 of 2")
    assert chat(client, other).status_code == 200


def test_the_most_generous_group_is_the_ceiling(app, ada, make_group, clock):
    small = make_group("small", ada["id"])
    large = make_group("large", ada["id"])
    set_quota(app, Group, small, request_quota=2, quota_period="day")
    set_quota(app, Group, large, request_quota=3, quota_period="day")
    spent(app, ada["id"], 1, requests=2)
    client = app.test_client()
    assert chat(client, ada["key"]).status_code == 200  # the third of the larger group's
    refused = chat(client, ada["key"])
    assert refused.status_code == 429
    assert "3 of 3 used" in refused.get_json()["detail"]


def test_a_person_quota_below_the_group_one_decides(app, ada, make_group, clock):
    group = make_group("team", ada["id"])
    set_quota(app, Group, group, request_quota=100, quota_period="day")
    set_quota(app, User, ada["id"], request_quota=1, quota_period="day")
    spent(app, ada["id"], 1)
    assert chat(app.test_client(), ada["key"]).status_code == 429


# --- the reset ----------------------------------------------------------------------------------


def test_a_daily_quota_resets_at_midnight_utc(app, ada, clock):
    set_quota(app, User, ada["id"], token_quota=100, quota_period="day")
    spent(app, ada["id"], 100, at=MIDNIGHT - 1)
    client = app.test_client()
    clock["now"] = MIDNIGHT - 1
    assert chat(client, ada["key"]).status_code == 429
    clock["now"] = MIDNIGHT
    assert chat(client, ada["key"]).status_code == 200


def test_a_monthly_quota_holds_across_days_and_resets_with_the_month(app, ada, clock):
    set_quota(app, User, ada["id"], token_quota=100, quota_period="month")
    spent(app, ada["id"], 100, at=TEN_AM)
    client = app.test_client()
    clock["now"] = MIDNIGHT + 3600  # the next day, same month
    refused = chat(client, ada["key"])
    assert refused.status_code == 429
    assert "resets at 2027-01-01 00:00 UTC" in refused.get_json()["detail"]
    clock["now"] = NEW_YEAR
    assert chat(client, ada["key"]).status_code == 200


# --- streams, audit, workers, statements ----------------------------------------------------------


def test_a_stream_that_crosses_the_quota_finishes_and_the_next_is_refused(app, ada, openai_up):
    with app.app_context():
        db.session.execute(
            sa.update(User).where(User.id == ada["id"]).values(token_quota=5, quota_period="day")
        )
        db.session.commit()
    client = app.test_client()
    body = {
        "model": "gpt-test",
        "messages": HELLO,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    streamed = client.post(CHAT, headers=bearer(ada["key"]), json=body)
    assert streamed.status_code == 200
    text = streamed.get_data(as_text=True)
    assert text.rstrip().endswith("data: [DONE]")
    used = openai_up.usage()["total_tokens"]
    assert used > 5  # the stream went past the quota and still finished
    refused = client.post(CHAT, headers=bearer(ada["key"]), json=body)
    assert refused.status_code == 429
    assert f"{used} of 5 used" in refused.get_json()["detail"]


def test_the_first_refusal_of_a_period_is_audited_once(app, ada, clock):
    set_quota(app, User, ada["id"], request_quota=1, quota_period="day")
    spent(app, ada["id"], 1)
    client = app.test_client()
    for _ in range(3):
        assert chat(client, ada["key"]).status_code == 429
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "quota.refused")
        ).all()
        assert len(events) == 1
        assert events[0].target == key_id(app)
        assert events[0].detail["measure"] == "requests"


def test_two_workers_on_one_database_share_the_count(app, app_config, ada, clock):
    other_worker = create_app(app_config)
    set_quota(app, User, ada["id"], request_quota=2, quota_period="day")
    first, second = app.test_client(), other_worker.test_client()
    assert chat(first, ada["key"]).status_code == 200
    assert chat(second, ada["key"]).status_code == 200
    assert chat(first, ada["key"]).status_code == 429
    assert chat(second, ada["key"]).status_code == 429


def test_a_keyed_request_with_quotas_is_still_one_statement(app, ada, clock):
    set_quota(app, User, ada["id"], token_quota=1000, request_quota=10, quota_period="day")
    set_quota(app, ApiKey, key_id(app), request_quota=5, quota_period="month")
    seen = keyed_request_statements(app, bearer(ada["key"]))
    assert len(seen) == 1, seen
    assert "usage" in seen[0]


# --- a key's own quota: lower than its owner's ---------------------------------------------------


def test_a_key_quota_may_be_set_below_the_owner_quota(app, ada, clock):
    set_quota(app, User, ada["id"], token_quota=10000, quota_period="day")
    owner = login_client(app, "ada@example.com")
    body = {"name": "small", "token_quota": 500, "request_quota": 20, "quota_period": "month"}
    created = owner.post("/api/v1/auths/api_keys", json=body)
    assert created.status_code == 201, created.get_json()
    key = created.get_json()
    assert (key["token_quota"], key["request_quota"], key["quota_period"]) == (500, 20, "month")
    too_high = owner.post(f"/api/v1/auths/api_keys/{key['id']}", json={"token_quota": 10001})
    assert too_high.status_code == 400
    assert "above your quota of 10000" in too_high.get_json()["detail"]


def test_a_group_quota_is_the_ceiling_of_a_key_quota(app, ada, make_group, clock):
    group = make_group("team", ada["id"])
    set_quota(app, Group, group, request_quota=30, quota_period="day")
    owner = login_client(app, "ada@example.com")
    refused = owner.post("/api/v1/auths/api_keys", json={"name": "big", "request_quota": 31})
    assert refused.status_code == 400
    assert "above your quota of 30" in refused.get_json()["detail"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("token_quota", 0),
        ("token_quota", "lots"),
        ("request_quota", -1),
        ("request_quota", True),
        ("quota_period", "week"),
    ],
)
def test_bad_key_quota_fields_are_refused(app, ada, field, value):
    owner = login_client(app, "ada@example.com")
    response = owner.post("/api/v1/auths/api_keys", json={"name": "x", field: value})
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith(field)


def test_the_key_form_refuses_a_quota_above_the_owner_and_keeps_the_form(app, ada):
    set_quota(app, User, ada["id"], request_quota=100, quota_period="day")
    owner = login_client(app, "ada@example.com")
    form = {"name": "CI", "expiry": "never", "request_quota": "500", "quota_period": "day"}
    response = owner.post("/account/keys", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The key was not created" in html
    assert "Request quota 500 is above your quota of 100" in html
    assert 'value="500"' in html and 'value="CI"' in html


def test_the_key_page_shows_use_and_what_is_left(app, ada, clock):
    set_quota(app, User, ada["id"], token_quota=10000, quota_period="day")
    set_quota(app, ApiKey, key_id(app), request_quota=40, quota_period="month")
    spent(app, ada["id"], 2500, api_key_id=key_id(app), requests=2)
    owner = login_client(app, "ada@example.com")
    html = owner.get(f"/account/keys/{key_id(app)}").get_data(as_text=True)
    assert "Tokens this day: 5,000 of 10,000 used, 5,000 left" in html
    assert "Requests this month: 2 of 40 used, 38 left" in html
    assert "resets 2027-01-01 00:00 UTC" in html


def test_the_admin_inventory_shows_each_key_use(app, ada, clock):
    set_quota(app, ApiKey, key_id(app), token_quota=900, quota_period="day")
    spent(app, ada["id"], 300, api_key_id=key_id(app))
    admin = login_client(app, "root@example.com")
    html = admin.get("/admin/api-keys").get_data(as_text=True)
    assert "Tokens this day: 300 of 900 used, 600 left" in html


# --- the administrator's quotas on people and groups ----------------------------------------------


def test_an_admin_sets_a_group_quota_through_the_api_and_it_is_audited(app, ada, make_group, clock):
    group = make_group("team", ada["id"])
    admin = login_client(app, "root@example.com")
    body = {"request_quota": 1, "quota_period": "month", "quota_warn_percent": 90}
    response = admin.post(f"/api/v1/quotas/groups/{group}", json=body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["request_quota"] == 1
    listed = admin.get("/api/v1/quotas/").get_json()
    assert [g["request_quota"] for g in listed["groups"]] == [1]
    spent(app, ada["id"], 1)
    assert chat(app.test_client(), ada["key"]).status_code == 429  # from the next request
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "quota.changed"))
        assert event.target == group
        assert event.detail["changes"]["request_quota"] == {"old": None, "new": 1}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"token_quota": 0}, "token_quota"),
        ({"request_quota": "many"}, "request_quota"),
        ({"quota_period": "year"}, "quota_period"),
        ({"quota_warn_percent": 101}, "quota_warn_percent"),
        ({"tokens": 5}, "Unknown field tokens"),
    ],
)
def test_bad_quotas_from_an_admin_are_refused(app, ada, body, field):
    admin = login_client(app, "root@example.com")
    response = admin.post(f"/api/v1/quotas/users/{ada['id']}", json=body)
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith(field)


def test_only_an_admin_sets_quotas(app, ada):
    owner = login_client(app, "ada@example.com")
    response = owner.post(f"/api/v1/quotas/users/{ada['id']}", json={"request_quota": 9})
    assert response.status_code == 403
    assert owner.get("/admin/quotas").status_code == 403


def test_the_quota_page_saves_a_user_quota_and_keeps_a_bad_form(app, ada):
    admin = login_client(app, "root@example.com")
    page = f"/admin/quotas/users/{ada['id']}"
    assert "Quotas of user" in admin.get(page).get_data(as_text=True)
    bad = admin.post(page, data={"token_quota": "ten", "quota_period": "day"})
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "The quotas were not saved: token_quota must be a whole number" in html
    assert 'value="ten"' in html
    saved = admin.post(page, data={"token_quota": "5000", "quota_period": "month"})
    assert saved.status_code == 302
    listing = admin.get("/admin/quotas").get_data(as_text=True)
    assert "5,000" in listing
    with app.app_context():
        person = db.session.get(User, ada["id"])
        assert (person.token_quota, person.quota_period) == (5000, "month")


def test_the_owner_pages_warn_past_the_threshold(app, ada, clock):
    set_quota(app, User, ada["id"], token_quota=1000, quota_period="day")
    owner = login_client(app, "ada@example.com")
    assert "quota-warning" not in owner.get("/account/").get_data(as_text=True)
    spent(app, ada["id"], 850)
    html = owner.get("/account/").get_data(as_text=True)
    assert "You have used 850 of the 1,000 tokens of your quota for this day (85%)." in html
    spent(app, ada["id"], 150)
    html = owner.get("/account/").get_data(as_text=True)
    assert "You have used all 1,000 tokens of your quota for this day" in html
    assert "until 2026-12-06 00:00 UTC" in html
