"""Issue 27 item 8: a key's usage over time — the owner's and the admin's API (buckets in
UTC, totals, who may read, bad parameters), the key page's 30-day chart and the inventory's
30-day columns and sort."""

import calendar
import re
import time

import pytest
import sqlalchemy as sa

from tests.support.accounts import ADMIN_EMAIL, login_client
from tests.support.statements import keyed_request_statements
from tests.support.usage import add_usage
from webui.extensions import db
from webui.models import ApiKey, now
from webui.services import key_usage
from webui.sql_trace import traced_statements

DAY = 86400


def utc(*parts: int) -> int:
    return calendar.timegm((*parts, *(0,) * (6 - len(parts))))


@pytest.fixture
def people(people_with_keys):
    return people_with_keys("ada", "bob")


def key_id_of(app, user_id: str) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(ApiKey.id).where(ApiKey.user_id == user_id))


def usage_of(client, key_id, query="", who="api_keys"):
    path = (
        f"/api/v1/auths/admin/api_keys/{key_id}/usage"
        if who == "admin"
        else f"/api/v1/auths/api_keys/{key_id}/usage"
    )
    return client.get(path + query)


# --- buckets, in UTC -----------------------------------------------------------------------


def test_bucket_starts_are_utc_days_monday_weeks_and_months():
    wednesday = utc(2026, 12, 2, 15, 30)
    assert key_usage.bucket_start(wednesday - wednesday % DAY, "day") == utc(2026, 12, 2)
    assert key_usage.bucket_start(utc(2026, 12, 2), "week") == utc(2026, 11, 30)  # Monday
    assert key_usage.bucket_start(utc(2026, 11, 30), "week") == utc(2026, 11, 30)
    assert key_usage.bucket_start(utc(2026, 12, 2), "month") == utc(2026, 12, 1)
    assert key_usage.bucket_start(utc(2024, 2, 29), "month") == utc(2024, 2, 1)


def test_rows_are_counted_per_day_and_model_with_totals(app, people):
    ada = people["ada"]
    key = key_id_of(app, ada)
    today = now() - now() % DAY
    add_usage(app, ada, key, today + 60)
    add_usage(app, ada, key, today + 120, tokens=(1, 2, 3))
    add_usage(app, ada, key, today - 1, model="gpt-y")  # the last second of yesterday
    add_usage(app, ada, key, today - 2 * DAY, tokens=(4, None, None))  # no total: its parts
    add_usage(app, ada, key, today - 40 * DAY)  # outside the 30 days
    add_usage(app, ada, None, today + 10)  # the browser, not the key

    answer = usage_of(login_client(app, "ada@example.com"), key, "?bucket=day&days=30")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["key_id"] == key and body["bucket"] == "day"
    assert body["from"] == today - 29 * DAY and body["from"] <= body["to"] <= now()
    assert body["series"] == [
        {"start": today - 2 * DAY, "model": "gpt-x", "requests": 1,
         "prompt_tokens": 4, "completion_tokens": 0, "total_tokens": 4},
        {"start": today - DAY, "model": "gpt-y", "requests": 1,
         "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        {"start": today, "model": "gpt-x", "requests": 2,
         "prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    ]  # fmt: skip
    assert body["totals"] == {
        "requests": 4, "prompt_tokens": 25, "completion_tokens": 12, "total_tokens": 37
    }  # fmt: skip


def test_weeks_and_months_gather_the_days(app, people):
    ada = people["ada"]
    key = key_id_of(app, ada)
    today = now() - now() % DAY
    days_ago = [0, 1, 6, 7, 13, 45, 70]
    for days in days_ago:
        add_usage(app, ada, key, today - days * DAY + 5)
    owner = login_client(app, "ada@example.com")
    for bucket in ("week", "month"):
        body = usage_of(owner, key, f"?bucket={bucket}&days=90").get_json()
        expected: dict[int, int] = {}
        for days in days_ago:
            start = key_usage.bucket_start(today - days * DAY, bucket)
            expected[start] = expected.get(start, 0) + 1
        assert [(row["start"], row["requests"]) for row in body["series"]] == sorted(
            expected.items()
        )
        assert body["totals"]["requests"] == len(days_ago)
    weeks = usage_of(owner, key, "?bucket=week&days=90").get_json()["series"]
    assert {time.gmtime(row["start"]).tm_wday for row in weeks} == {0}  # Mondays


def test_days_default_to_30_and_limit_the_window(app, people):
    ada = people["ada"]
    key = key_id_of(app, ada)
    today = now() - now() % DAY
    add_usage(app, ada, key, today - 29 * DAY)
    add_usage(app, ada, key, today - 30 * DAY)
    add_usage(app, ada, key, today + 2 * DAY)  # after "to": a host whose clock runs ahead
    owner = login_client(app, "ada@example.com")
    assert usage_of(owner, key).get_json()["totals"]["requests"] == 1
    assert usage_of(owner, key, "?days=31").get_json()["totals"]["requests"] == 2
    assert usage_of(owner, key, "?days=1").get_json()["totals"]["requests"] == 0


# --- who may read ----------------------------------------------------------------------------


def test_only_the_owner_and_admins_read_a_keys_usage(app, people):
    key = key_id_of(app, people["ada"])
    add_usage(app, people["ada"], key, now())
    bob = login_client(app, "bob@example.com")
    refused = usage_of(bob, key)
    assert refused.status_code == 404
    assert refused.get_json() == {"detail": "API key not found."}
    assert usage_of(bob, key, who="admin").status_code == 403
    admin = login_client(app, ADMIN_EMAIL)
    assert usage_of(admin, key, who="admin").get_json()["totals"]["requests"] == 1
    assert usage_of(admin, key).status_code == 404  # the owner's route is for owners
    assert usage_of(admin, "no-such-key", who="admin").status_code == 404


def test_the_owner_may_ask_with_the_key_itself(app, people):
    key = key_id_of(app, people["ada"])
    add_usage(app, people["ada"], key, now())
    answer = app.test_client().get(f"/api/v1/auths/api_keys/{key}/usage", headers=people["ada_key"])
    assert answer.status_code == 200
    assert answer.get_json()["totals"]["requests"] == 1


def test_a_deleted_keys_history_stays_readable(app, people):
    ada = people["ada"]
    key = key_id_of(app, ada)
    add_usage(app, ada, key, now())
    owner = login_client(app, "ada@example.com")
    assert owner.delete(f"/api/v1/auths/api_keys/{key}").status_code == 200
    assert usage_of(owner, key).get_json()["totals"]["requests"] == 1
    admin = login_client(app, ADMIN_EMAIL)
    assert usage_of(admin, key, who="admin").get_json()["totals"]["requests"] == 1
    assert usage_of(login_client(app, "bob@example.com"), key).status_code == 404


@pytest.mark.parametrize(
    "query, words",
    [
        ("?bucket=hour", "bucket must be one of day, week, month"),
        ("?bucket=", "bucket must be one of"),
        ("?days=0", "days"),
        ("?days=367", "days"),
        ("?days=thirty", "days"),
        ("?days=-1", "days"),
        ("?from=0", "Unknown parameter 'from'"),
    ],
)
def test_bad_parameters_are_400_naming_them(app, people, query, words):
    key = key_id_of(app, people["ada"])
    for client, who in (
        (login_client(app, "ada@example.com"), "api_keys"),
        (login_client(app, ADMIN_EMAIL), "admin"),
    ):
        answer = usage_of(client, key, query, who)
        assert answer.status_code == 400
        assert words in answer.get_json()["detail"]


# --- the key page ------------------------------------------------------------------------------


def test_the_key_page_draws_30_days_of_bars_and_the_models(app, people):
    ada = people["ada"]
    key = key_id_of(app, ada)
    today = now() - now() % DAY
    for _ in range(3):
        add_usage(app, ada, key, today + 1, model="gpt-x")
    add_usage(app, ada, key, today - 3 * DAY, model="gpt-y", tokens=(7, 3, 10))
    add_usage(app, ada, key, today - 31 * DAY, model="gpt-old")
    add_usage(app, ada, key, today + 2 * DAY, model="gpt-old")  # no 31st bar for a later day
    page = login_client(app, "ada@example.com").get(f"/account/keys/{key}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    svg = re.search(r"<svg class=\"usage-chart\".*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg
    label = re.search(r'aria-label="([^"]*)"', svg).group(1)
    busiest = key_usage.Bar(today, 3, 0).date
    summary = f"4 requests in the last 30 days; busiest day {busiest} with 3"
    assert label == f"Requests per day: {summary}"
    bars = re.findall(r'<rect class="bar"[^>]*height="([\d.]+)"', svg)
    assert len(bars) == 30
    heights = [float(h) for h in bars]
    assert heights[-1] == key_usage.CHART_HEIGHT  # today, the busiest
    assert heights[-4] == pytest.approx(key_usage.CHART_HEIGHT / 3, abs=0.01)
    assert heights.count(0) == 28
    table = re.search(r'<table id="key-usage-models">.*?</table>', html, re.S).group(0)
    assert re.findall(r"<code>([^<]+)</code>", table) == ["gpt-x", "gpt-y"]
    assert "<td>10</td>" in table and "gpt-old" not in html


def test_a_key_without_requests_says_so(app, people):
    key = key_id_of(app, people["ada"])
    html = login_client(app, "ada@example.com").get(f"/account/keys/{key}").get_data(as_text=True)
    assert 'id="key-usage-none"' in html
    assert "<svg" not in html


# --- the admin inventory -----------------------------------------------------------------------


def inventory_order(client, query="") -> list[str]:
    html = client.get("/admin/api-keys" + query).get_data(as_text=True)
    return re.findall(r'data-key-name="([^"]+)"', html)


def test_the_inventory_shows_and_sorts_by_30_day_usage(app, people, make_key):
    bob, ada = people["bob"], people["ada"]
    today = now() - now() % DAY
    bob_key, ada_key = key_id_of(app, bob), key_id_of(app, ada)
    for _ in range(3):
        add_usage(app, bob, bob_key, today, tokens=(1, 1, 2))
    add_usage(app, ada, ada_key, today, tokens=(500, 500, 1000))
    for _ in range(5):
        add_usage(app, ada, ada_key, today - 45 * DAY)  # old: not in the 30-day columns
    admin = login_client(app, ADMIN_EMAIL)
    html = admin.get("/admin/api-keys").get_data(as_text=True)
    row = re.search(rf'<tr id="key-{bob_key}".*?</tr>', html, re.S).group(0)
    assert '<span class="recent-requests">3 requests</span>' in row
    assert '<span class="recent-tokens">6 tokens</span>' in row
    assert '<option value="usage" >requests, last 30 days</option>' in html
    sorted_page = admin.get("/admin/api-keys?sort=tokens").get_data(as_text=True)
    assert '<option value="tokens" selected>tokens, last 30 days</option>' in sorted_page

    assert inventory_order(admin) == ["ada bot", "bob bot", "admin bot"]  # by owner email
    assert inventory_order(admin, "?sort=usage") == ["bob bot", "ada bot", "admin bot"]
    assert inventory_order(admin, "?sort=tokens") == ["ada bot", "bob bot", "admin bot"]
    api = admin.get("/api/v1/auths/admin/api_keys?sort=usage").get_json()
    assert [item["name"] for item in api["items"]] == ["bob bot", "ada bot", "admin bot"]
    assert api["items"][0]["usage_30d"] == {"requests": 3, "tokens": 6}


def test_a_bad_sort_is_refused(app, people):
    admin = login_client(app, ADMIN_EMAIL)
    answer = admin.get("/api/v1/auths/admin/api_keys?sort=name")
    assert answer.status_code == 400
    assert "sort" in answer.get_json()["detail"]
    page = admin.get("/admin/api-keys?sort=name")
    assert page.status_code == 400
    assert "Filters not applied" in page.get_data(as_text=True)


def test_the_inventory_reads_usage_in_one_grouped_statement(app, people, make_key):
    for n in range(4):
        make_key(people["ada"], f"extra {n}")
    admin = login_client(app, ADMIN_EMAIL)
    with app.app_context():
        engine = db.engine
    with traced_statements(engine) as statements:
        assert admin.get("/admin/api-keys?sort=usage").status_code == 200
        reads = [s for s in statements if "group by usage.api_key_id" in s.lower()]
        quota_reads = [s for s in statements if s.startswith("SELECT api_keys.id, CASE")]
    # One statement sorts the page, one fills its columns: not one per key. (The page's other
    # reads of usage, the request's own lookup and the keys' quota use, are grouped otherwise.)
    assert len(reads) == 3, reads  # the page's two, and the request counts' one
    assert len(quota_reads) == 1, quota_reads


def test_a_keyed_request_still_costs_one_statement(app, people):
    """Usage is read by the pages and the usage routes only, never by the guard."""
    key = key_id_of(app, people["ada"])
    for days in range(3):
        add_usage(app, people["ada"], key, now() - days * DAY)
    statements = keyed_request_statements(app, people["ada_key"])
    assert len(statements) == 1, statements
