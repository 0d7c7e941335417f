"""Nothing a client sends may produce a 500: malformed bodies, query strings and headers sent to
every route of the URL map with every method it allows, as an anonymous caller, as a signed-in
user and admin (browser sessions) and with their API keys.

Every answer is checked: a status below 500, no exception escaping the app, nothing logged at
ERROR (the catch-all handler logs a traceback for every 500), and on API paths a 4xx that is
the usual ``{"detail": "…"}``. 502 and 504 pass only where an upstream model server really
refused or failed, as the API documents. The inputs are fixed lists, so a run is deterministic;
the test client keeps it fast enough for the default tier (about 11,000 requests, 30 s).
"""

import json
import logging
import re
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from werkzeug.security import generate_password_hash
from wtforms import DateField
from wtforms.fields.core import UnboundField

from tests.support.accounts import ADMIN_EMAIL, PASSWORD, bearer, login_client
from tests.support.fake_upstream import connection_settings
from tests.support.files import make_pdf, upload_ok
from webui.api.auths import ADMIN_CONFIG_FIELDS
from webui.core.catalog import DEFAULT_PERMISSION_SETTINGS, PERMISSIONS
from webui.errors import is_api_path
from webui.extensions import db
from webui.models import ApiKey

SURROGATE = "\ud800"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data; boundary=fuzz"

# Raw (percent-encoded) values for query strings and forms: digits that are not ASCII ("²",
# "１２", "٣"), far too many digits, signs, invalid UTF-8 (a surrogate encoded as UTF-8, lone
# bytes), NUL, CR/LF.
ODD_RAW_VALUES = [
    "%C2%B2",
    "%EF%BC%91%EF%BC%92",
    "%D9%A3",
    "-1",
    "9" * 40,
    "%ED%A0%80",
    "%FF%FE",
    "%00",
    "%0D%0ASet-Cookie:%20x=y",
    "nan",
]
# Every query parameter a view reads somewhere.
QUERY_NAMES = [
    "page",
    "limit",
    "per_page",
    "k",
    "unused_days",
    "refresh",
    "process",
    "expired",
    "user_id",
    "action",
    "ip",
    "actor_id",
    "target",
    "q",
    "next",
]
# Every name a JSON body is read under in webui/api (and the admin settings).
JSON_FIELDS = [
    "name",
    "email",
    "password",
    "role",
    "description",
    "permissions",
    "user_ids",
    "expires_at",
    "allowed_endpoints",
    "read_only",
    "rate_limit",
    "file_id",
    "collection_name",
    "collection_names",
    "query",
    "k",
    "model",
    "messages",
    "stream",
    "files",
    "access_control",
    "chat",
    *ADMIN_CONFIG_FIELDS,
    *sorted({name.partition(".")[0] for name in PERMISSIONS}),
]
# A harmless value for each JSON field, so that one odd field at a time gets past the others.
SANE_JSON: dict[str, Any] = {
    "name": "Fuzz",
    "email": "fuzz@example.com",
    "password": "not the password",
    "role": "user",
    "description": "fuzzed",
    "permissions": {"features": {"api_keys": True}},
    "user_ids": [],
    "expires_at": None,
    "allowed_endpoints": ["/api/models"],
    "read_only": False,
    "rate_limit": 10,
    "file_id": "nope",
    "collection_name": "nope",
    "collection_names": ["nope"],
    "query": "hello",
    "k": 2,
    "model": "gpt-test",
    "messages": [{"role": "user", "content": "Hello"}],
    "stream": False,
    "files": [],
    "access_control": {},
    "chat": {"title": "Fuzz"},
}
# The same for form fields; unlisted fields get "x".
SANE_FORM = {
    "email": "fuzz@example.com",
    "password": "not the password",
    "current_password": "not the password",
    "new_password": "short",
    "expiry": "date",
    "expiry_date": "2030-01-01",
    "rate_limit": "10",
    "allowed_endpoints": "/api/models",
    "API_KEYS_MAX_LIFETIME_DAYS": "30",
    "DEFAULT_USER_ROLE": "user",
    "kind": "openai",
    "base_url": "http://127.0.0.1:9",
    "model_id": "gpt-test",
    "access": "restricted",
    "role": "user",
    "expected": "1",
    "confirm": "1",
}
# What goes in a form field one at a time: a number that is not ASCII, a date past the last day
# a date can have after it, far too many digits.
ODD_FORM_VALUES = ["%C2%B2", "9999-12-31", "9" * 40]
JUNK_IDS = ["nope", "%C2%B2", "%ED%A0%80", "%00", "x" * 300, "%0D%0A", "'%22", "..%2F.."]
AUTHORIZATIONS = [
    "Bearer",
    "Bearer ",
    "Bearer sk-",
    "Bearer sk-\xb2\xb2\xb2",
    "Bearer sk-" + "A" * 5000,
    "bearer\tsk-abc",
    "Basic Zm9vOmJhcg==",
    "Bearer sk-abc, Bearer sk-def",
]
ODD_HEADERS = {
    "Cookie": "session=" + "A" * 8000 + "; remember_token=\xff\xfe; =; ;;",
    "Origin": "http://[evil",
    "Referer": "http://\xff/admin/api-keys",
    "Range": "bytes=\xb2-, -",
    "If-Modified-Since": "\xb2",
    "If-None-Match": '"\xff", W/',
    "If-Range": "nope",
    "Accept": "*/*;q=\xb2",
    "Accept-Language": "\xff;q=nan",
    "X-Forwarded-For": "\xb2, ::::",
    "X-HTTP-Method-Override": "DELETE",
    "X-CSRFToken": "\xff" * 100,
}

UPSTREAM_LOGGER = "webui.services.llm_client"  # logs every refusal or failure of an upstream


@dataclass
class Attempt:
    """One request: what it changes from the plain call."""

    label: str
    data: Any = None
    content_type: str | None = None
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)


# --- what to send -------------------------------------------------------------------------------


def form_classes() -> Iterator[type]:
    """Every form class of the app."""
    pending = list(FlaskForm.__subclasses__())
    while pending:
        form_class = pending.pop()
        pending.extend(form_class.__subclasses__())
        if form_class.__module__.startswith("webui."):
            yield form_class


def form_fields(form_class: type) -> dict[str, UnboundField]:
    return {
        name: value
        for name in dir(form_class)
        if isinstance(value := getattr(form_class, name), UnboundField)
    }


def form_field_names(prefixes: list[str]) -> list[str]:
    """Every WTForms field the app declares, also under the prefixes its pages use, and the
    fields pages read without a form class."""
    names = {"member", "group", *("perm-" + name for name in PERMISSIONS)}
    for form_class in form_classes():
        names |= set(form_fields(form_class))
    return sorted(names | {f"{prefix}-{name}" for prefix in prefixes for name in names})


def date_field_names() -> set[str]:
    return {
        name
        for form_class in form_classes()
        for name, unbound in form_fields(form_class).items()
        if issubclass(unbound.field_class, DateField)
    }


def form_body(values: dict[str, str]) -> bytes:
    """A urlencoded form from raw (already percent-encoded) values."""
    return "&".join(f"{name}={value}" for name, value in values.items()).encode()


def multipart(filename: bytes, names: list[str], value: str) -> bytes:
    parts = [
        b'--fuzz\r\nContent-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\nContent-Type: application/pdf\r\n\r\n'
        + make_pdf("fuzz")
        + b"\r\n"
    ]
    for name in names:
        parts.append(
            f'--fuzz\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    return b"".join(parts) + b"--fuzz--\r\n"


def json_bytes(value: Any) -> bytes:
    """JSON as a client might send it: lone surrogates escaped, NaN and Infinity allowed."""
    return json.dumps(value).encode()


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def body_attempts(form_fields: list[str]) -> list[Attempt]:
    """Malformed bodies, whatever the route reads."""
    return [
        Attempt("no body"),
        Attempt("empty JSON", b"", JSON),
        Attempt("invalid JSON", b'{"name": ', JSON),
        Attempt("deep arrays", b"[" * 100_000, JSON),
        Attempt("deep objects", b'{"a":' * 50_000, JSON),
        Attempt("closed nesting", b"[" * 900 + b"]" * 900, JSON),
        Attempt("nested fields", json_bytes(dict.fromkeys(JSON_FIELDS, nested(800))), JSON),
        Attempt("invalid UTF-8", b'{"name": "\xff\xfe", "email": "\xed\xa0\x80"}', JSON),
        Attempt("surrogate alone", b'"\\ud800"', JSON),
        Attempt("surrogate key", json_bytes({**SANE_JSON, SURROGATE: 1}), JSON),
        Attempt("surrogates everywhere", json_bytes(dict.fromkeys(JSON_FIELDS, SURROGATE)), JSON),
        Attempt(
            "surrogate deep in a list",
            json_bytes({**SANE_JSON, "messages": [{"role": "user", "content": SURROGATE}]}),
            JSON,
        ),
        Attempt("NUL characters", json_bytes(dict.fromkeys(JSON_FIELDS, "a\x00b")), JSON),
        Attempt(
            "huge numbers",
            b'{"expires_at": 1e999, "k": 1' + b"0" * 4000 + b', "rate_limit": -1e999, '
            b'"API_KEYS_MAX_LIFETIME_DAYS": 1e400, "read_only": NaN, "stream": Infinity}',
            JSON,
        ),
        *(
            Attempt(f"{odd!r} everywhere", json_bytes(dict.fromkeys(JSON_FIELDS, odd)), JSON)
            for odd in ["²", "１２", "٣"]
        ),
        Attempt("wrong types", json_bytes(dict.fromkeys(JSON_FIELDS, [[{}]])), JSON),
        Attempt("JSON as text/plain", json_bytes(SANE_JSON), "text/plain"),
        Attempt("JSON with charset", json_bytes(SANE_JSON), JSON + "; charset=utf-8"),
        Attempt("JSON with odd charset", json_bytes(SANE_JSON), JSON + "; charset=nope"),
        Attempt("multipart without boundary", b"--x\r\n", "multipart/form-data"),
        Attempt("content type garbage", b"\x00\x01", "\xb2/\xb2; ;="),
        *(
            Attempt(f"form with {odd}", form_body(dict.fromkeys(form_fields, odd)), FORM)
            for odd in [*ODD_RAW_VALUES, "9999-12-31", "0000-00-00"]
        ),
        Attempt(
            "multipart with odd names",
            multipart("\u202e../..\\evil.pdf".encode(), form_fields, "²"),
            MULTIPART,
        ),
        Attempt(
            "multipart with NUL and invalid UTF-8",
            multipart(b"a\x00b\xed\xa0\x80.pdf", form_fields, "\x00"),
            MULTIPART,
        ),
    ]


def json_field_attempts() -> list[Attempt]:
    """A sane JSON body but for one field: a lone surrogate, or (where a number or a switch
    is read) a superscript two."""
    attempts = []
    for name in JSON_FIELDS:
        odd_values = ["a" + SURROGATE]
        if not isinstance(SANE_JSON.get(name, ""), str):
            odd_values.append("²")
        for odd in odd_values:
            body = json_bytes({**SANE_JSON, name: odd})
            attempts.append(Attempt(f"{odd!r} in JSON {name}", body, JSON))
    return attempts


def form_field_attempts(form_fields: list[str], date_fields: set[str]) -> list[Attempt]:
    """A sane form but for one field: a superscript two, or past the last date there is."""
    sane_form = {name: SANE_FORM.get(name, "x") for name in form_fields}
    attempts = []
    for name in form_fields:
        if "-" in name and not name.startswith("perm-"):
            continue  # the prefixed copies of a field go through the same code
        for odd in ["9999-12-31", "0001-01-01"] if name in date_fields else ["%C2%B2"]:
            attempts.append(
                Attempt(f"{odd} in form {name}", form_body({**sane_form, name: odd}), FORM)
            )
    return attempts


def query_attempts() -> list[Attempt]:
    attempts = [
        Attempt(f"query {value}", query="&".join(f"{name}={value}" for name in QUERY_NAMES))
        for value in ODD_RAW_VALUES
    ]
    attempts.append(Attempt("query repeated and bare", query="page&page=1&page=2&=&&k"))
    attempts.append(Attempt("query long", query="q=" + "a" * 20_000))
    return attempts


def header_attempts() -> list[Attempt]:
    attempts = [Attempt("odd headers", headers=ODD_HEADERS)]
    for authorization in AUTHORIZATIONS:
        attempts.append(
            Attempt(
                f"Authorization {authorization[:24]!r}", headers={"Authorization": authorization}
            )
        )
    return attempts


# --- the app, its people and their things ------------------------------------------------------


@dataclass
class Caller:
    name: str
    client: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    callers: list[Caller]
    ids: dict[str, list[str]]
    settings: dict[str, Any]


@pytest.fixture
def app_config(app_config):
    # Bad credentials are part of the input; the failed-authentication limit would turn most
    # requests into 429 before they reached anything else.
    return {**app_config, "RATELIMIT_FAILED_AUTH": "1000000 per minute"}


@pytest.fixture
def cheap_passwords(monkeypatch):
    """Password hashing at its cheapest: scrypt would spend most of the run on sign-in attempts."""

    def cheap_hash(password: str) -> str:
        return generate_password_hash(password, "pbkdf2:sha256:1")

    dummy = cheap_hash("dummy")
    monkeypatch.setattr("webui.models.accounts.generate_password_hash", cheap_hash)
    monkeypatch.setattr("webui.services.users._dummy_hash", lambda: dummy)


@pytest.fixture
def world(
    app, cheap_passwords, make_user, make_key, make_group, save_settings, openai_up, ollama_up
):
    """An admin and a user, each signed in and with a key, a group, a file, a collection and
    both kinds of connection; sign-up is off, so no request signs a session in as someone else."""
    settings = {
        "ENABLE_API_KEYS": True,
        "ENABLE_SIGNUP": False,
        **dict.fromkeys(DEFAULT_PERMISSION_SETTINGS, True),
        **connection_settings(openai_up, ollama_up),
    }
    save_settings(**settings)
    admin_id = make_user(ADMIN_EMAIL, role="admin")
    alice_id = make_user("alice@example.com")
    # The fuzzed email's account exists, with another password: adding it (POST
    # /api/v1/auths/add) is refused and signing in as it fails, so no caller changes identity.
    make_user(SANE_JSON["email"])
    admin_key, alice_key = make_key(admin_id, "admin bot"), make_key(alice_id, "alice bot")
    group_id = make_group("Fuzzers", alice_id)
    admin = login_client(app, ADMIN_EMAIL)
    alice = login_client(app, "alice@example.com")
    file_id = upload_ok(alice, "notes.pdf", make_pdf("fuzzing notes"))["id"]
    created = alice.post("/api/v1/knowledge/create", json={"name": "Fuzz facts"})
    assert created.status_code == 200, created.get_json()
    message = {"id": "m1", "role": "user", "content": "hello"}
    talk = {"title": "Fuzz talk", "messages": [message], "history": {"messages": {"m1": message}}}
    chat = alice.post("/api/v1/chats/new", json={"chat": talk})
    assert chat.status_code == 200, chat.get_json()
    with app.app_context():
        key_id = db.session.scalar(sa.select(ApiKey.id).where(ApiKey.user_id == alice_id))
    callers = [
        Caller("anonymous", app.test_client()),
        Caller("alice", alice),
        Caller("alice's key", app.test_client(), bearer(alice_key)),
        Caller("admin", admin),
        Caller("admin's key", app.test_client(), bearer(admin_key)),
    ]
    ids = {
        "key_id": [key_id],
        "user_id": [alice_id],
        "group_id": [group_id],
        "file_id": [file_id],
        "knowledge_id": [created.get_json()["id"]],
        "chat_id": [chat.get_json()["id"]],
        "message_id": ["m1"],
        "kind": ["openai", "ollama"],
        "index": ["0"],
        "url_idx": ["0"],
        "filename": ["style.css"],
        "file_name": ["notes.pdf"],
        "rest": ["v1/folders/"],
    }
    return World(callers, ids, settings)


# --- the route table ----------------------------------------------------------------------------

# Endpoints that delete or revoke what later requests need (rotating replaces a key's
# secret): fuzzed last.
DESTRUCTIVE_WORDS = ("delete", "revoke", "remove", "logout", "signout", "rotate")
ARGUMENT = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) for every rule and method; destructive ones last, and those
    about users last of all (deleting alice ends her session and her key)."""
    table = sorted(
        (rule.endpoint, rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )
    destructive = [row for row in table if any(word in row[0] for word in DESTRUCTIVE_WORDS)]
    destructive.sort(key=lambda row: ("user" in row[0], row))
    return [row for row in table if row not in destructive] + destructive


def fill(rule: str, values: dict[str, str]) -> str:
    return ARGUMENT.sub(lambda match: values[match.group(1)], rule)


def paths_for(rule: str, ids: dict[str, list[str]]) -> Iterator[tuple[str, bool]]:
    """(path, uses real ids): the rule filled with each real id, then with each junk id."""
    arguments = ARGUMENT.findall(rule)
    if not arguments:
        yield rule, True
        return
    for position in range(max(len(ids[name]) for name in arguments)):
        yield fill(rule, {n: ids[n][min(position, len(ids[n]) - 1)] for n in arguments}), True
    for junk in JUNK_IDS:
        yield fill(rule, dict.fromkeys(arguments, junk)), False


def plan_for(caller: Caller, method: str, rule: str, real_ids: bool, attempts: dict) -> list:
    """What one caller sends to one path: everything from the admin's session (it reaches every
    view), the common malformations from everyone else, two requests for a junk id. Odd
    Authorization headers go to the API only: a page refuses every Bearer header alike."""
    if not real_ids:
        return [Attempt("plain"), attempts["bodies"][3]] if caller.name == "admin" else []
    plan = [Attempt("plain"), attempts["queries"][0], attempts["headers"][0]]
    if caller.name == "admin":
        plan += attempts["queries"][1:]
    if caller.name == "anonymous" and is_api_path(rule):
        plan += attempts["headers"][1:]
    if method != "GET":
        if caller.name == "admin":
            plan += attempts["bodies"]
            plan += attempts["json fields" if is_api_path(rule) else "form fields"]
        else:
            plan += [a for a in attempts["bodies"] if a.label in COMMON_BODIES]
    return plan


COMMON_BODIES = {"no body", "deep arrays", "surrogates everywhere", "JSON as text/plain"}


# --- sending and judging ------------------------------------------------------------------------


def send(caller: Caller, method: str, path: str, attempt: Attempt):
    return caller.client.open(
        path,
        method=method,
        data=attempt.data,
        content_type=attempt.content_type,
        query_string=attempt.query or None,
        headers={**caller.headers, **attempt.headers},
    )


def where_raised(record: logging.LogRecord) -> str:
    """The exception a log record carries and the innermost line of webui that raised it."""
    if not record.exc_info:
        return record.getMessage()
    error, trace = record.exc_info[1], traceback.extract_tb(record.exc_info[2])
    ours = [frame for frame in trace if "/webui/" in frame.filename] or trace
    return f"{type(error).__name__}: {error} at {ours[-1].filename}:{ours[-1].lineno}"


def problem_with(response, path: str, records: list[logging.LogRecord]) -> str | None:
    """What is wrong with an answer, or None. 502 and 504 are no server error when an upstream
    really refused or failed (llm_client logged it): the API documents them for that."""
    errors = [r for r in records if r.levelno >= logging.ERROR]
    upstream_failed = any(r.name == UPSTREAM_LOGGER for r in records)
    status, problem = response.status_code, None
    if status >= 500 and not (status in (502, 504) and upstream_failed):
        problem = f"status {status}"
    elif is_api_path(path) and status >= 400:
        body = response.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
            problem = f"status {status} without a JSON detail: {response.data[:80]!r}"
    if errors:
        problem = f"{problem or 'logged'}: {where_raised(errors[0])}"
    return problem


def assert_callers_intact(world: World) -> None:
    """The sessions and keys are still the admin's and alice's, so every route was reached."""
    for caller in world.callers[1:]:
        me = caller.client.get("/api/v1/auths/", headers=caller.headers).get_json()
        assert me["email"].startswith(("alice", "root")), (caller.name, me)


def test_no_input_produces_a_server_error(app, world, save_settings, caplog):
    form_fields = form_field_names(
        ["profile", "openai-0", "ollama-0", *world.ids["user_id"], *world.ids["key_id"]]
    )
    attempts = {
        "bodies": body_attempts(form_fields),
        "json fields": json_field_attempts(),
        "form fields": form_field_attempts(form_fields, date_field_names()),
        "queries": query_attempts(),
        "headers": header_attempts(),
    }
    problems: dict[tuple, str] = {}  # one example of each (method, rule, attempt, problem)
    sent = 0
    started = time.monotonic()
    caplog.set_level(logging.ERROR, logger="webui")
    caplog.set_level(logging.WARNING, logger=UPSTREAM_LOGGER)
    table = routes(app)
    for number, (endpoint, rule, method) in enumerate(table):
        if number and any(word in endpoint for word in DESTRUCTIVE_WORDS):
            if not any(word in table[number - 1][0] for word in DESTRUCTIVE_WORDS):
                assert_callers_intact(world)
        for path, real_ids in paths_for(rule, world.ids):
            for caller in world.callers:
                for attempt in plan_for(caller, method, rule, real_ids, attempts):
                    caplog.clear()
                    sent += 1
                    try:
                        response = send(caller, method, path, attempt)
                        response.get_data()
                    except Exception as error:  # an exception that escaped the app
                        problem = f"raised {type(error).__name__}: {error}"
                    else:
                        problem = problem_with(response, path, caplog.records)
                    if problem:
                        signature = (method, rule, attempt.label, problem.split(" at ")[-1])
                        problems.setdefault(
                            signature, f"{caller.name} {method} {path} [{attempt.label}]: {problem}"
                        )
        save_settings(**world.settings)  # pages that save settings may have switched things off
    elapsed = time.monotonic() - started
    print(f"\nfuzz: {sent} requests to {len(table)} routes in {elapsed:.1f} s")
    assert not problems, f"{len(problems)} kinds of problem in {sent} requests:\n" + "\n".join(
        line[:400] for line in problems.values()
    )


def test_every_page_form_ignores_json_bodies():
    """Flask-WTF reads a JSON body as a form's data, unchecked; every form of the app derives
    from webui.forms.Form, which does not."""
    from webui.forms import Form

    offenders = [cls.__qualname__ for cls in form_classes() if not issubclass(cls, Form)]
    assert not offenders


NEXT_TARGETS = [
    *ODD_RAW_VALUES,
    "/%0D%0ASet-Cookie:%20x=y",
    "//evil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    "https://evil.example",
    "/%E2%80%A8/evil.example",
    "/workspace/files?page=%C2%B2",
]


def test_signing_in_with_any_next_lands_on_this_site(app, cheap_passwords, make_user):
    """next= is only followed after a successful sign-in, which the sweep above never makes."""
    make_user(ADMIN_EMAIL, role="admin")
    for target in NEXT_TARGETS:
        response = app.test_client().post(
            "/auth/login",
            query_string=f"next={target}",
            data={"email": ADMIN_EMAIL, "password": PASSWORD},
        )
        assert response.status_code in (302, 400), (target, response.status_code)
        if response.status_code == 302:
            location = response.headers["Location"]
            assert location.startswith("/") and not location.startswith("//"), (target, location)
