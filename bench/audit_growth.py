"""How much the audit trail grows, and what reading it costs once it is large.

    .venv/bin/python bench/audit_growth.py                 # the table (a minute or two)
    .venv/bin/python bench/audit_growth.py --rows 20000    # a smaller table for the page figures
    .venv/bin/python bench/audit_growth.py --database-url postgresql+psycopg://…/empty_db

In-process (the Flask test client on a temporary SQLite file, or ``--database-url`` an
empty PostgreSQL database, whose tables it drops), three figures:

1. bytes the audit table (with its indexes: SQLite's ``dbstat``, PostgreSQL's
   ``pg_total_relation_size``) gains from 20 updates of
   one key whose allowed endpoints alternate between two lists of ``--entries`` paths of
   ``--entry-length`` characters (~1 MiB), or of as many and as long as the key route
   accepts where it bounds them;
2. bytes it gains, and seconds spent, from ``--refusals`` requests of a key restricted to
   ``/api/models`` that each call another refused path;
3. with ``--rows`` events in the table: bytes and milliseconds of the admin page and of
   the API listing, first page and a page near the oldest event (``?page=N`` where only
   offsets exist, else the keyset ``?before=ID``), and of ``flask audit prune`` where it
   exists.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [p for p in (str(REPO),) if p not in sys.path]

import sqlalchemy as sa  # noqa: E402

PASSWORD = "bench-password-123"
KEYS = "/api/v1/auths/api_keys"


def make_app(folder: str, database_url: str | None = None):
    from webui import create_app
    from webui.extensions import db

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-secret-" + "x" * 32,
            "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{folder}/audit.sqlite",
            "WTF_CSRF_ENABLED": False,
            "UPLOAD_DIR": f"{folder}/uploads",
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.drop_all()  # an empty PostgreSQL database each run
        db.create_all()
    return app


def audit_bytes(app) -> int:
    """Bytes the audit table and its indexes occupy."""
    from webui.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            return db.session.scalar(sa.text("SELECT pg_total_relation_size('audit_events')"))
        return db.session.scalar(
            sa.text(
                "SELECT sum(pgsize) FROM dbstat WHERE name = 'audit_events' "
                "OR name IN (SELECT name FROM sqlite_master WHERE tbl_name = 'audit_events')"
            )
        )


def audit_rows(app) -> int:
    from webui.extensions import db

    with app.app_context():
        return db.session.scalar(sa.text("SELECT count(*) FROM audit_events"))


def growth(app, since: tuple[int, int]) -> str:
    """KiB and rows the audit table gained since ``(bytes, rows)``."""
    return f"{(audit_bytes(app) - since[0]) / 1024:,.0f} KiB, {audit_rows(app) - since[1]:,} row(s)"


def people(app):
    from webui.core.catalog import SETTINGS
    from webui.services import configuration, users

    with app.app_context():
        users.create_user("Root", "root@bench.example", PASSWORD, role="admin")
        users.create_user("Bob", "bob@bench.example", PASSWORD, role="user")
        configuration.save(
            {"ENABLE_API_KEYS": True, "USER_PERMISSIONS_FEATURES_API_KEYS": True}, SETTINGS, None
        )


def signed_in(app, email: str):
    client = app.test_client()
    response = client.post("/api/v1/auths/signin", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return client


def endpoint_list(n: int, length: int, tag: str) -> list[str]:
    """Paths of words shorter than the audit's key-shaped pattern (32 letters or digits)."""
    return [(f"/api/{tag}/{i:06d}" + "/segment" * length)[:length] for i in range(n)]


def key_updates(app, bob, entries: int, length: int) -> str:
    from webui.core import parsers

    # The largest list the key route accepts, where it bounds them.
    entries = min(entries, getattr(parsers, "MAX_ENDPOINTS", entries))
    length = min(length, getattr(parsers, "MAX_PATH_LENGTH", length))
    key = bob.post(KEYS, json={"name": "growth"}).get_json()
    lists = [endpoint_list(entries, length, "a"), endpoint_list(entries, length, "b")]
    first = bob.post(f"{KEYS}/{key['id']}", json={"allowed_endpoints": lists[0]})
    assert first.status_code == 200, first.get_json()
    before = (audit_bytes(app), audit_rows(app))
    started = time.monotonic()
    for n in range(20):
        response = bob.post(f"{KEYS}/{key['id']}", json={"allowed_endpoints": lists[(n + 1) % 2]})
        assert response.status_code == 200, response.get_json()
    seconds = time.monotonic() - started
    body = len(str(lists[0])) // 1024
    return (
        f"| 20 key updates, lists of {entries} × {length} chars (~{body} KiB) | "
        f"{growth(app, before)} | {seconds:.1f} s |"
    )


def refusals(app, bob, count: int) -> str:
    key = bob.post(KEYS, json={"name": "restricted", "allowed_endpoints": ["/api/models"]})
    secret = key.get_json()["key"]
    client = app.test_client()
    before = (audit_bytes(app), audit_rows(app))
    started = time.monotonic()
    for n in range(count):
        response = client.get(
            f"/api/v1/chats/refused-{n:06d}",
            headers={"Authorization": f"Bearer {secret}"},
            environ_base={"REMOTE_ADDR": f"10.1.{n // 250}.{n % 250}"},
        )
        assert response.status_code == 403, response.status_code
    seconds = time.monotonic() - started
    return (
        f"| {count:,} refused requests of a restricted key (another path and address each) | "
        f"{growth(app, before)} | {seconds:.1f} s |"
    )


def fill(app, rows: int) -> None:
    """``rows`` refusal-shaped events spread over the last 200 days, oldest first."""
    from webui.extensions import db
    from webui.models import now
    from webui.models.audit import AuditEvent

    at = now()
    with app.app_context():
        for start in range(0, rows, 10_000):
            db.session.execute(
                sa.insert(AuditEvent),
                [
                    {
                        "ts": at - (rows - n) * 200 * 86400 // rows,
                        "action": "key.denied",
                        "ip": f"10.2.{n // 250 % 250}.{n % 250}",
                        "route": f"/api/v1/chats/seeded-{n}",
                        "detail": {
                            "reason": "unknown or revoked key",
                            "key_prefix": "sk-webui_Ab12",
                            "method": "GET",
                            "status": 401,
                        },
                        "count": 1,
                    }
                    for n in range(start, min(rows, start + 10_000))
                ],
            )
        db.session.commit()


def timed_get(client, url: str, repeat: int = 5) -> tuple[int, float, object]:
    """Bytes and the median milliseconds of ``repeat`` GETs."""
    spent, response = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        spent.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return len(response.data), sorted(spent)[len(spent) // 2], response


def page_figures(app, admin, rows: int) -> list[str]:
    fill(app, rows)
    keyset = admin.get("/api/v1/audit", query_string={"before": "1"}).status_code == 200
    from webui.extensions import db
    from webui.models.audit import AuditEvent

    with app.app_context():
        oldest = db.session.scalar(sa.select(sa.func.min(AuditEvent.id)))
    deep = f"before={oldest + 51}" if keyset else f"page={rows // 50}"
    lines = []
    for label, url in (
        ("admin page, first", "/admin/audit"),
        (f"admin page, oldest ({deep.split('=')[0]})", f"/admin/audit?{deep}"),
        ("admin page, one address", "/admin/audit?ip=10.2.3.4"),
        ("API, first", "/api/v1/audit"),
        (f"API, oldest ({deep.split('=')[0]})", f"/api/v1/audit?{deep}"),
    ):
        size, ms, _ = timed_get(admin, url)
        lines.append(f"| {label}, {rows:,} rows | {size / 1024:,.1f} KiB | {ms:,.1f} ms |")
    runner = app.test_cli_runner()
    if "prune" in runner.invoke(args=["audit", "--help"]).output:
        started = time.monotonic()
        result = runner.invoke(args=["audit", "prune"])
        seconds = time.monotonic() - started
        said = result.output.strip().splitlines()[-1] if result.output.strip() else ""
        lines.append(f"| `flask audit prune` (default retention) | {said} | {seconds:.1f} s |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--entry-length", type=int, default=500)
    parser.add_argument("--refusals", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ.pop("DATABASE_URL", None)
        app = make_app(folder, args.database_url)
        people(app)
        bob = signed_in(app, "bob@bench.example")
        admin = signed_in(app, "root@bench.example")
        lines = [
            "| figure | audit table / page | time |",
            "|---|---|---|",
            key_updates(app, bob, args.entries, args.entry_length),
        ]
        size, ms, _ = timed_get(admin, "/admin/audit", repeat=1)
        lines.append(f"| admin page after those updates | {size / 1024:,.0f} KiB | {ms:.0f} ms |")
        lines.append(refusals(app, bob, args.refusals))
        lines.extend(page_figures(app, admin, args.rows))
        print("\n".join(lines))


if __name__ == "__main__":
    main()
