"""The audit table stays in bounds: bounded details, refusals counted on one row whatever
the path or address, a retention setting with a prune command and button, keyset pages."""

import json
import re
import time

import pytest
import sqlalchemy as sa

from tests.support.accounts import ADMIN_EMAIL, bearer, login_client
from webui.core import audit
from webui.extensions import db
from webui.models import User
from webui.models.audit import AuditEvent
from webui.security import key_format
from webui.services import audit_log

KEYS = "/api/v1/auths/api_keys"
WHO = "/api/v1/auths/"
DAY = 86400


def rows(app, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = sa.select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        found = db.session.scalars(query).all()
        db.session.expunge_all()
        return found


def stored_size(event: AuditEvent) -> int:
    return len(json.dumps(event.detail))


def paths(tag: str, n: int, length: int = 300) -> list[str]:
    """``n`` allowlist paths of ``length`` characters (words too short to look like keys)."""
    return [(f"/api/{tag}/{i:04d}" + "/segment" * length)[:length] for i in range(n)]


@pytest.fixture
def bob(app, make_user, save_settings):
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    make_user(ADMIN_EMAIL, role="admin")
    make_user("bob@example.com")
    return login_client(app, "bob@example.com")


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


# --- bounded details ----------------------------------------------------------------------


def test_a_key_update_with_long_lists_records_a_bounded_summary(app, bob):
    key = bob.post(KEYS, json={"name": "CI", "allowed_endpoints": paths("a", 150)}).get_json()
    changed = paths("a", 100) + paths("b", 50)  # 50 removed, 50 added
    assert bob.post(f"{KEYS}/{key['id']}", json={"allowed_endpoints": changed}).status_code == 200
    [created] = rows(app, "key.created")
    [updated] = rows(app, "key.updated")
    assert stored_size(created) <= audit.MAX_DETAIL_CHARS
    assert stored_size(updated) <= audit.MAX_DETAIL_CHARS
    change = updated.detail["changes"]["allowed_endpoints"]
    assert set(change) == {"added", "removed", "count"} and change["count"] == 150
    assert change["added"]["count"] == 50 and change["removed"]["count"] == 50
    first_added = change["added"]["first"][0]
    assert first_added.startswith("/api/b/0000/segment") and first_added.endswith("…")
    assert len(first_added) <= 200
    html = login_client(app, ADMIN_EMAIL).get("/admin/audit").get_data(as_text=True)
    text = visible_text(html)
    assert "allowed endpoints: added /api/b/0000/segment" in text
    assert "(50 in all)" in text and "(now 150 entries)" in text
    assert len(html) < 60_000


def test_a_short_list_change_reads_as_what_was_added_and_removed(app, bob):
    key = bob.post(KEYS, json={"name": "CI", "allowed_endpoints": ["/api/models"]}).get_json()
    bob.post(f"{KEYS}/{key['id']}", json={"allowed_endpoints": ["/api/chat", "/api/models"]})
    bob.post(f"{KEYS}/{key['id']}", json={"allowed_endpoints": None})
    [first, second] = [
        row.detail["changes"]["allowed_endpoints"] for row in rows(app, "key.updated")
    ]
    assert first == {"added": ["/api/chat"], "removed": [], "count": 2}
    assert second == {"old": ["/api/chat", "/api/models"], "new": None}
    text = visible_text(login_client(app, ADMIN_EMAIL).get("/admin/audit").get_data(as_text=True))
    assert "allowed endpoints: added /api/chat (now 2 entries)." in text
    assert "allowed endpoints from /api/chat, /api/models to all." in text


def test_a_group_change_of_many_members_names_the_first_and_counts_them(app, admin_client):
    with app.app_context():
        people = [
            User(name=f"Member {n:02d}", email=f"m{n:02d}@example.com", password_hash="-")
            for n in range(25)
        ]
        db.session.add_all(people)
        db.session.commit()
        ids = [person.id for person in people]
    group = admin_client.post("/api/v1/groups/create", json={"name": "Many"}).get_json()
    changed = admin_client.post(f"/api/v1/groups/id/{group['id']}/update", json={"user_ids": ids})
    assert changed.status_code == 200
    [updated] = rows(app, "group.updated")
    added = updated.detail["changes"]["members"]["added"]
    assert added["count"] == 25 and len(added["first"]) == 10
    html = admin_client.get("/admin/audit", query_string={"action": "group.updated"})
    text = visible_text(html.get_data(as_text=True))
    assert "; added Member" in text and "… (25 in all)." in text
    assert len(re.findall(r"Member \d\d \(m\d\d@example\.com\)", text)) == 10  # the first ten


def test_every_detail_is_bounded_and_cut_only_after_secrets_are_scrubbed():
    secret = key_format.generate_key()
    huge = {
        "name": "x " * 500_000,
        "list": [f"/p/{i}" for i in range(100_000)],
        "mapping": {f"k{i}": i for i in range(10_000)},
        "deep": [[[[[["bottom"]]]]]],
        "texts": ["word " * 100] * 50,
        "secret": "a" * 150 + " " + secret,
    }
    bounded = audit.bounded_detail(huge)
    assert len(json.dumps(bounded)) <= audit.MAX_DETAIL_CHARS
    small = audit.bounded_detail({"list": huge["list"], "secret": huge["secret"]})
    assert small["list"] == {"count": 100_000, "first": [f"/p/{i}" for i in range(10)]}
    assert secret not in json.dumps(small) and secret[:20] not in json.dumps(small)
    assert small["secret"].endswith(audit.REDACTED)
    nested = audit.bounded_detail({"mapping": huge["mapping"], "deep": huge["deep"]})
    assert len(nested["mapping"]) == 11 and nested["mapping"]["…"] == "9990 more"
    assert nested["deep"] == [[["…"]]]
    assert audit.bounded_detail({"a": 1, "b": None, "c": True}) == {"a": 1, "b": None, "c": True}


def test_a_detail_that_cannot_fit_keeps_only_its_plain_values():
    detail = {f"field{i}": ["entry " * 20] * 5 for i in range(40)} | {"name": "n", "count": 3}
    bounded = audit.bounded_detail(detail)
    assert bounded == {"name": "n", "count": 3, "truncated": True}


# --- refusals counted on one row -----------------------------------------------------------


def test_refusals_of_a_restricted_key_count_on_one_row_whatever_the_path_and_address(app, bob):
    key = bob.post(KEYS, json={"name": "bot", "allowed_endpoints": ["/api/models"]}).get_json()
    client = app.test_client()
    for n in range(40):
        refused = client.get(
            f"/api/v1/chats/chat-{n}",
            headers=bearer(key["key"]),
            environ_base={"REMOTE_ADDR": f"10.9.0.{n}"},
        )
        assert refused.status_code == 403
        assert f"/api/v1/chats/chat-{n}" in refused.get_json()["detail"]  # the answer names it
    [row] = rows(app, "key.denied")
    assert row.count == 40 and row.target == key["id"]
    assert row.route == "/api/v1/chats/chat-0" and row.ip == "10.9.0.0"  # the first, a sample
    assert "chat-" not in row.detail["reason"]
    assert row.detail["reason"] == (
        "This API key may not call this path: it is not in the key's allowed endpoints."
    )


def test_each_key_and_each_reason_has_its_own_row(app, bob):
    made = [
        bob.post(KEYS, json={"name": name, "read_only": True}).get_json() for name in ("one", "two")
    ]
    client = app.test_client()
    for key in made:
        for _ in range(3):
            assert client.post("/api/v1/chats/new", headers=bearer(key["key"])).status_code == 403
    client.get("/api/v1/auths/", headers=bearer("sk-not-a-key"))
    counted = {(row.target, row.detail["reason"], row.count) for row in rows(app, "key.denied")}
    read_only = "This API key is read-only: it may only use GET, HEAD and OPTIONS."
    assert counted == {
        (made[0]["id"], read_only, 3),
        (made[1]["id"], read_only, 3),
        (None, "malformed key", 1),
    }


def test_bad_keys_from_changing_addresses_write_one_row(app):
    app.config["RATELIMIT_FAILED_AUTH"] = "1000 per minute"
    client = app.test_client()
    for n in range(60):
        response = client.get(
            WHO,
            headers=bearer(key_format.generate_key()),
            environ_base={"REMOTE_ADDR": f"10.8.{n // 10}.{n}"},
        )
        assert response.status_code == 401
    [row] = rows(app, "key.denied")
    assert row.count == 60 and row.target is None and row.ip == "10.8.0.0"


def test_a_new_window_starts_a_new_row(app, bob):
    key = bob.post(KEYS, json={"name": "bot", "read_only": True}).get_json()
    client = app.test_client()
    client.post("/api/v1/chats/new", headers=bearer(key["key"]))
    with app.app_context():
        db.session.execute(sa.update(AuditEvent).values(ts=AuditEvent.ts - 601))
        db.session.commit()
    client.post("/api/v1/chats/new", headers=bearer(key["key"]))
    assert [row.count for row in rows(app, "key.denied")] == [1, 1]


# --- retention -------------------------------------------------------------------------------


def add_events(app, ages_in_days: list[int]) -> None:
    """Sign-in failures ``ages_in_days`` old."""
    at = int(time.time())
    with app.app_context():
        db.session.add_all(
            AuditEvent(action="signin.failed", ts=at - age * DAY, detail={"email": None}, count=1)
            for age in ages_in_days
        )
        db.session.commit()


def ages(app) -> list[int]:
    at = int(time.time())
    return sorted(round((at - row.ts) / DAY) for row in rows(app) if row.action == "signin.failed")


def test_the_prune_command_applies_the_retention_setting(app, runner):
    add_events(app, [1, 89, 91, 200, 400])
    result = runner.invoke(args=["audit", "prune"])
    assert result.exit_code == 0, result.output
    assert "AUDIT_RETENTION_DAYS is 90 (keep 90 days)." in result.output
    assert "Deleted 3 audit events older than 90 days." in result.output
    assert ages(app) == [1, 89]
    [pruned] = rows(app, "audit.pruned")
    assert pruned.detail == {"days": 90, "deleted": 3} and pruned.actor_id is None


def test_the_prune_command_takes_days_and_keeps_everything_at_zero(app, runner, save_settings):
    add_events(app, [1, 10, 100])
    save_settings(AUDIT_RETENTION_DAYS=0)
    kept = runner.invoke(args=["audit", "prune"])
    assert kept.exit_code == 0 and "AUDIT_RETENTION_DAYS is 0 (keep forever)." in kept.output
    assert "Nothing deleted" in kept.output and ages(app) == [1, 10, 100]
    assert (
        "Deleted 2 audit events older than 5 days."
        in runner.invoke(args=["audit", "prune", "--days", "5"]).output
    )
    assert ages(app) == [1]
    for bad in ("0", "x", "1e3", "٣"):
        refused = runner.invoke(args=["audit", "prune", "--days", bad])
        assert refused.exit_code != 0 and "--days must be a whole number from 1 to 36500" in (
            refused.output
        )
    assert ages(app) == [1]


def test_a_prune_deletes_in_batches(app, monkeypatch):
    add_events(app, [100] * 12 + [1])
    monkeypatch.setattr(audit_log, "PRUNE_BATCH", 5)
    deletes = []
    with app.app_context():
        engine = db.engine

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        with app.app_context():
            assert audit_log.prune(90) == 12
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert len(deletes) == 3 and all("LIMIT" in statement for statement in deletes)
    assert ages(app) == [1]


def test_the_admin_page_shows_and_saves_the_retention(app, admin_client):
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "Events older than <strong>90 days</strong> are deleted" in page
    assert 'name="AUDIT_RETENTION_DAYS"' in page and 'value="90"' in page
    saved = admin_client.post("/admin/audit/retention", data={"AUDIT_RETENTION_DAYS": "30"})
    assert saved.status_code == 302
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "Audit retention saved." in page and "<strong>30 days</strong>" in page
    [changed] = rows(app, "settings.changed")
    assert changed.detail == {"field": "AUDIT_RETENTION_DAYS", "old": 90, "new": 30}

    refused = admin_client.post("/admin/audit/retention", data={"AUDIT_RETENTION_DAYS": "-1"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Nothing was saved" in html and 'value="-1"' in html
    assert "<strong>30 days</strong>" in html


def test_the_admin_deletes_older_events_now_and_it_is_audited(app, admin_client):
    add_events(app, [1, 40, 100])
    done = admin_client.post("/admin/audit/prune", data={"days": "30"}, follow_redirects=True)
    text = visible_text(done.get_data(as_text=True))
    assert "Deleted 2 audit events older than 30 days." in text
    assert "Root (root@example.com) deleted 2 audit events older than 30 days." in text
    assert ages(app) == [1]
    [pruned] = rows(app, "audit.pruned")
    assert pruned.actor_id is not None and pruned.detail == {"days": 30, "deleted": 2}

    refused = admin_client.post("/admin/audit/prune", data={"days": "0"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'value="0"' in html
    assert "Nothing was deleted: days must be a whole number from 1 to 36500." in html
    assert ages(app) == [1]


def test_only_admins_prune_or_change_the_retention(app, admin_client, make_user):
    add_events(app, [100])
    make_user("bob@example.com")
    bob = login_client(app, "bob@example.com")
    assert bob.post("/admin/audit/prune", data={"days": "1"}).status_code == 403
    assert bob.post("/admin/audit/retention", data={"AUDIT_RETENTION_DAYS": "0"}).status_code == 403
    assert ages(app) == [100]


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


def test_the_prune_button_needs_its_csrf_token(csrf_on, app, make_user):
    make_user(ADMIN_EMAIL, role="admin")
    admin = login_client(app, ADMIN_EMAIL)
    add_events(app, [100])
    assert admin.post("/admin/audit/prune", data={"days": "30"}).status_code == 400
    assert ages(app) == [100]
    page = admin.get("/admin/audit").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    sent = admin.post("/admin/audit/prune", data={"days": "30", "csrf_token": token})
    assert sent.status_code == 302 and ages(app) == []


# --- keyset pages ------------------------------------------------------------------------------


def test_pages_follow_the_keyset_and_do_not_shift_when_events_arrive(app, admin_client):
    add_events(app, [1] * 120)
    seen, before = [], None
    while True:
        query = {"action": "signin.failed", **({"before": before} if before else {})}
        body = admin_client.get("/api/v1/audit", query_string=query).get_json()
        assert len(body["items"]) <= 50
        seen.extend(item["id"] for item in body["items"])
        before = body["next"]
        if before is None:
            break
        add_events(app, [0] * 7)  # newer events would push an offset's page along
    assert len(seen) == 120 and seen == sorted(set(seen), reverse=True)
    html = admin_client.get(
        "/admin/audit", query_string={"action": "signin.failed", "before": seen[49]}
    ).get_data(as_text=True)
    assert [int(i) for i in re.findall(r'data-event-id="(\d+)"', html)] == seen[50:100]
    older = re.search(
        r'href="/admin/audit\?action=signin.failed&amp;before=(\d+)" rel="next"', html
    )
    assert older and int(older.group(1)) == seen[99]
    assert "These are older ones." in html and ">← Newest</a>" in html


def test_the_count_stops_at_its_limit(app, admin_client, monkeypatch):
    monkeypatch.setattr(audit_log, "COUNT_LIMIT", 3)
    add_events(app, [1] * 5)
    capped = admin_client.get("/api/v1/audit", query_string={"action": "signin.failed"}).get_json()
    assert capped["total"] == 3 and capped["total_capped"] is True and len(capped["items"]) == 5
    html = admin_client.get("/admin/audit", query_string={"action": "signin.failed"})
    assert "More than 3 events." in html.get_data(as_text=True)
    exact = admin_client.get("/api/v1/audit", query_string={"action": "signin.succeeded"})
    assert exact.get_json()["total"] == 1 and exact.get_json()["total_capped"] is False
