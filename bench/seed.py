"""Seed a benchmark database: N keys across N/10 users and a few groups.

Rows go in with bulk INSERTs through the app's own models; key digests come from
``webui.security.key_format`` exactly as the app computes them. Every user shares one
password hash (hashing 10,000 passwords would take minutes and measures nothing).
A trigger counts the real writes of ``last_used_at`` for the write-rate figure.
"""

import time
from dataclasses import dataclass

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

PASSWORD = "bench-password-123"
BATCH = 10_000
TEAMS = 4  # groups besides "API users"

WRITE_COUNTER = [
    "CREATE TABLE IF NOT EXISTS bench_last_used_writes (key_id TEXT, at REAL)",
    # The time is the one the app wrote: it keeps whole seconds, so two writes 60 of its
    # seconds apart may be 59.x real seconds apart and must not count as two in a minute.
    """CREATE TRIGGER IF NOT EXISTS bench_count_last_used
       AFTER UPDATE OF last_used_at ON api_keys
       WHEN NEW.last_used_at IS NOT OLD.last_used_at
       BEGIN
         INSERT INTO bench_last_used_writes VALUES (NEW.id, NEW.last_used_at);
       END""",
]


@dataclass
class Seeded:
    database_url: str
    keys: int
    users: int
    sample_keys: list[str]  # secrets of keys spread over the whole table, for wrk
    spare_keys: list[str]  # more such keys that wrk never uses (first-use statement counts)
    session_email: str
    seconds: float


def make_app(database_url: str, upload_dir: str):
    from webui import create_app

    return create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "UPLOAD_DIR": upload_dir, "TESTING": False}
    )


def seed(database_url: str, n_keys: int, upload_dir: str, sample=64, spare=8) -> Seeded:
    from webui.core.catalog import SETTINGS
    from webui.extensions import db
    from webui.models import ApiKey, Group, User, group_members, new_id, now
    from webui.security import key_format
    from webui.services import configuration

    started = time.monotonic()
    app = make_app(database_url, upload_dir)
    n_users = max(1, n_keys // 10)
    at = now()
    with app.app_context():
        db.create_all()
        for statement in WRITE_COUNTER:
            db.session.execute(sa.text(statement))

        password_hash = generate_password_hash(PASSWORD)
        user_ids = [new_id() for _ in range(n_users)]
        _insert(
            db,
            User,
            [
                {
                    "id": uid,
                    "name": f"Bench user {i}",
                    "email": f"user{i}@bench.example",
                    "password_hash": password_hash,
                    "role": "user",
                    "created_at": at,
                }
                for i, uid in enumerate(user_ids)
            ],
        )

        # Keys come from a group grant (the default permission stays off), so the guard's
        # lookup meets the join it meets in real deployments: every user is in two groups.
        api_group = {
            "id": new_id(),
            "name": "API users",
            "description": "",
            "permissions": {"features.api_keys": True},
            "created_at": at,
        }
        teams = [
            {
                "id": new_id(),
                "name": f"Team {t}",
                "description": "",
                "permissions": {"workspace.knowledge": t % 2 == 0},
                "created_at": at,
            }
            for t in range(TEAMS)
        ]
        _insert(db, Group, [api_group, *teams])
        memberships = [{"group_id": api_group["id"], "user_id": uid} for uid in user_ids]
        memberships += [
            {"group_id": teams[i % TEAMS]["id"], "user_id": uid} for i, uid in enumerate(user_ids)
        ]
        for start in range(0, len(memberships), BATCH):
            db.session.execute(sa.insert(group_members), memberships[start : start + BATCH])

        step = max(1, n_keys // (sample + spare))
        picked = []
        rows = []
        for i in range(n_keys):
            secret = key_format.generate_key()
            if i % step == 0 and len(picked) < sample + spare:
                picked.append(secret)
            rows.append(
                {
                    "id": new_id(),
                    "user_id": user_ids[i % n_users],
                    "name": f"key {i // n_users}",
                    "digest": key_format.key_digest(secret),
                    "prefix": key_format.visible_prefix(secret),
                    "last_chars": key_format.visible_suffix(secret),
                    "created_at": at,
                    "read_only": False,
                }
            )
            if len(rows) == BATCH:
                _insert(db, ApiKey, rows)
                rows = []
        if rows:
            _insert(db, ApiKey, rows)
        db.session.commit()
        # As an administrator turns keys on in Admin Panel > Settings.
        configuration.save({"ENABLE_API_KEYS": True}, SETTINGS, None)
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        db.engine.dispose()
    return Seeded(
        database_url,
        n_keys,
        n_users,
        picked[:sample],
        picked[sample:],
        "user0@bench.example",
        time.monotonic() - started,
    )


def _insert(db, model, rows: list[dict]) -> None:
    db.session.execute(sa.insert(model), rows)


def last_used_writes(database_url: str) -> list[tuple[str, float]]:
    """(key id, epoch seconds) of every real write of last_used_at so far."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [
                tuple(row)
                for row in conn.execute(
                    sa.text("SELECT key_id, at FROM bench_last_used_writes ORDER BY at")
                )
            ]
    finally:
        engine.dispose()


def max_writes_per_minute(writes: list[tuple[str, float]]) -> int:
    """The most writes any one key saw within any 60-second window."""
    by_key: dict[str, list[float]] = {}
    for key_id, at in writes:
        by_key.setdefault(key_id, []).append(at)
    worst = 0
    for times in by_key.values():
        start = 0
        for end, at in enumerate(times):
            while at - times[start] >= 60:
                start += 1
            worst = max(worst, end - start + 1)
    return worst
