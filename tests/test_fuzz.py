"""Nothing a client sends may produce a 500: malformed bodies, query strings and headers sent to
every route of the URL map with every method it allows, as an anonymous caller, as a signed-in
user and admin (browser sessions) and with their API keys.

Every answer is checked: a status below 500, no exception escaping the app, nothing logged at
ERROR (the catch-all handler logs a traceback for every 500), and on API paths a 4xx that is
the usual ``{"detail": "…"}``. 502 and 504 pass only where an upstream model server really
refused or failed, as the API documents. The inputs are fixed lists, so a run is deterministic;
the test client keeps it fast enough for the default tier (about 11,000 requests, 30 s).

A second walk sends JSON bodies whose fields are lists and objects of the wrong shape, at
every place inside them, to the fields each API route reads, and after each odd write that is
accepted calls the routes that use what it stored (about 7,000 requests, 20 s).
"""

import json
import logging
import re
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
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
from webui.core.parsers import MAX_JSON_DEPTH
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
    "chats",
    "content",
    "title",
    "filename",
    "skip",
    "limit",
    "pinned",
    "meta",
    "group_ids",
    "new_password",
    "url",
    "key",
    "input",
    "prompt",
    "options",
    "tools",
    "stream_options",
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


def permission_groups() -> dict[str, dict[str, bool]]:
    """The default permissions as their route takes them, nested by group, all granted."""
    groups: dict[str, dict[str, bool]] = {}
    for name in PERMISSIONS:
        group, _, leaf = name.partition(".")
        groups.setdefault(group, {})[leaf] = True
    return groups


# The usual value of each JSON field as a client sends it, lists and objects filled in, for the
# walk that changes one place inside it at a time. Fields that SANE_JSON leaves out are not
# sent in the other walk's bodies: a sane value there would do real work on every request.
MESSAGE = {"id": "m1", "role": "user", "content": "hi"}
SHAPE_SAMPLES: dict[str, Any] = {
    **SANE_JSON,
    **permission_groups(),  # "chat" below, a saved chat's object, is the richer of the two
    "permissions": {"features": {"api_keys": True}, "chat": {"file_upload": True}},
    "user_ids": ["nope"],
    "messages": [
        {"role": "user", "content": "Hello"},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
    ],
    "files": [{"type": "collection", "id": "nope"}],
    "access_control": {"read": {"group_ids": ["nope"], "user_ids": []}},
    "chat": {
        "title": "Fuzz",
        "models": ["gpt-test"],
        "messages": [MESSAGE],
        "history": {"messages": {"m1": MESSAGE}, "currentId": "m1"},
    },
    "chats": [{"chat": {"title": "Imported"}, "meta": {"tags": ["fuzz"]}, "pinned": False}],
    "content": "text",
    "title": "Fuzz",
    "filename": "fuzz.txt",
    "skip": 0,
    "limit": 10,
    "pinned": False,
    "meta": {"tags": ["fuzz"]},
    "group_ids": ["nope"],
    "new_password": "another password",
    "url": "http://127.0.0.1:9",
    "key": "sk-upstream",
    "input": ["hello"],
    "prompt": "Hello",
    "options": {"temperature": 0.5},
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "stream_options": {"include_usage": True},
    **{name: "x" for name in ADMIN_CONFIG_FIELDS},
}
# Every wrong type in one list.
MIXED = [None, 1, -1.5, True, "x", [], {}, [[]], {"": {}}]
# Items in a huge list: more than any list a route takes (10,000 members of a group; 2,048
# texts to embed, the most of any list of objects or lists).
HUGE = 12_000
HUGE_OF_OBJECTS = 2_100
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


def places(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """(path, value) of the value itself and of everything inside it."""
    yield path, value
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from places(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from places(inner, (*path, index))


def replaced(value: Any, path: tuple, new: Any) -> Any:
    """A copy of ``value`` with ``new`` at ``path``."""
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


def wrong_shapes(value: Any) -> list[Any]:
    """What a client may send instead: a list where an object is expected and the other way
    round, a list of every wrong type, lists and objects where one value is expected."""
    if isinstance(value, dict):
        return [[value], MIXED]
    if isinstance(value, list):
        return [{"0": value[0] if value else None}, MIXED, [value]]
    return [[value], {"value": value}]


def deep_object(depth: int) -> Any:
    nest: Any = "leaf"
    for _ in range(depth):
        nest = {"a": nest}
    return nest


def huge_list(sample: list, body_limit: int) -> list:
    """The sample's first item repeated more often than any list a route takes, or as often
    as the body limit allows."""
    item_bytes = len(json_bytes(sample[0])) + 2
    count = HUGE_OF_OBJECTS if isinstance(sample[0], (dict, list)) else HUGE
    return sample[:1] * min(count, body_limit * 9 // 10 // item_bytes)


def shapes_of(sample: Any, body_limit: int) -> Iterator[tuple[str, Any]]:
    """(label, value): the field's usual value with one place in it changed to a wrong shape,
    the field as objects nested as deep as a body may nest (the body and the field take
    two levels), and a list field as long as the body limit allows."""
    for path, value in places(sample):
        for number, wrong in enumerate(wrong_shapes(value)):
            where = "".join(f"[{step!r}]" for step in path)
            yield f"shape {number} at {where or 'the top'}", replaced(sample, path, wrong)
    yield "nested objects", deep_object(MAX_JSON_DEPTH - 2)
    if isinstance(sample, list) and sample:
        yield "huge list", huge_list(sample, body_limit)


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


def samples_with_ids(ids: dict[str, str]) -> dict[str, Any]:
    """SHAPE_SAMPLES with real ids where a field names something, so that routes get past
    looking it up (alice's file and collection, her account, the group)."""
    file_id, group_id = ids["file_id"], ids["group_id"]
    return {
        **SHAPE_SAMPLES,
        "file_id": file_id,
        "collection_name": file_id,
        "collection_names": [file_id, ids["knowledge_id"]],
        "files": [
            {"type": "file", "id": file_id},
            {"type": "collection", "id": ids["knowledge_id"]},
        ],
        "user_ids": [ids["user_id"]],
        "group_ids": [group_id],
        "access_control": {"read": {"group_ids": [group_id], "user_ids": []}},
    }


def answer_of(response) -> tuple[int, Any]:
    """What tells two answers apart: the status, and the detail of a refusal."""
    body = response.get_json(silent=True) if response.status_code >= 400 else None
    return response.status_code, body.get("detail") if isinstance(body, dict) else None


def family(rule: str) -> str:
    """The path the rule's resource lives under: /api/v1/chats/ for /api/v1/chats/<chat_id>."""
    return rule[: rule.index("<")] if "<" in rule else rule.rsplit("/", 1)[0] + "/"


def users_of(table: list[tuple[str, str, str]], rule: str, method: str) -> list[tuple[str, str]]:
    """(rule, method) of the routes that use what a write to ``rule`` stored: the lists of its
    family (GET, no argument) and the routes on the same resource (the same first argument),
    none that deletes it."""
    first = ARGUMENT.findall(rule)[:1]
    return [
        (other, other_method)
        for endpoint, other, other_method in table
        if other.startswith(family(rule))
        and (other, other_method) != (rule, method)
        and not any(word in endpoint for word in DESTRUCTIVE_WORDS)
        and (
            (other_method == "GET" and not ARGUMENT.search(other))
            or (first and ARGUMENT.findall(other)[:1] == first)
        )
    ]


SIGN_OUT = ("signout", "logout")  # endpoints that would end the walk's session


@dataclass
class ShapeWalk:
    """One caller's walk below: the sane body, the routes that use what a write stored, every
    request judged, and one example of each kind of problem found."""

    caller: Caller
    caplog: Any
    ids: dict[str, str]  # a real id for each argument of a rule
    body: dict[str, Any]  # every field with its usual value
    problems: dict[tuple, str] = field(default_factory=dict)
    sent: int = 0

    def judged(self, method: str, path: str, label: str, changes: dict) -> tuple[int, Any]:
        """Send the sane body with ``changes``, judge the answer, and return what tells it
        from another answer."""
        self.caplog.clear()
        self.sent += 1
        attempt = Attempt(label, json_bytes({**self.body, **changes}), JSON)
        try:
            response = send(self.caller, method, path, attempt)
            response.get_data()
        except Exception as error:  # an exception that escaped the app
            problem, answer = f"raised {type(error).__name__}: {error}", (0, None)
        else:
            problem = problem_with(response, path, self.caplog.records)
            answer = answer_of(response)
        if problem:
            signature = (method, path, label.split(" at ")[0], problem.split(" at ")[-1])
            example = f"{self.caller.name} {method} {path} [{label}]: {problem}"
            self.problems.setdefault(signature, example)
        return answer

    def fields_read(self, method: str, path: str, names: list[str], sane: tuple) -> list[str]:
        """The fields among ``names`` that the route reads: those whose wrong type changes its
        answer, found by halving the set (a route reads a few of the many)."""
        label = f"every wrong type in {len(names)} fields"
        if self.judged(method, path, label, dict.fromkeys(names, MIXED)) == sane:
            return []
        if len(names) == 1:
            return names
        half = len(names) // 2
        return self.fields_read(method, path, names[:half], sane) + self.fields_read(
            method, path, names[half:], sane
        )

    def written(self, method: str, path: str, label: str, changes: dict, users: list) -> None:
        """As judged; when the write is accepted, every route that uses what it stored is
        called next, so a shape that is stored but breaks a reader is found too."""
        if self.judged(method, path, label, changes)[0] < 300:
            for rule, other_method in users:
                after = f"after {method} {path} [{label}]"
                self.judged(other_method, fill(rule, self.ids), after, {"content": "edited"})

    def walk(self, table: list, body_limit: int, restore: Callable[[], None]) -> int:
        """Every API route that takes a body, ``restore`` after each; how many fields they
        read."""
        reached = 0
        for endpoint, rule, method in table:
            if method == "GET" or not is_api_path(rule) or endpoint.endswith(SIGN_OUT):
                continue
            path, users = fill(rule, self.ids), users_of(table, rule, method)
            sane = self.judged(method, path, "sane body", {})
            if sane[0] in (401, 403):
                continue  # refused before any field is read
            for name in self.fields_read(method, path, list(self.body), sane):
                reached += 1
                for label, value in shapes_of(self.body[name], body_limit):
                    self.written(method, path, f"{name}: {label}", {name: value}, users)
            restore()
        return reached


def test_no_list_or_nested_field_produces_a_server_error(app, world, save_settings, caplog):
    """JSON bodies whose fields hold lists and objects of the wrong shape, to every API route
    that takes a body, from the admin's session (it reaches every view) and alice's (she owns
    the chat, the file and the collection). The fields a route reads are those where a list of
    every wrong type changes its answer; each of them, one at a time, gets each place inside
    its usual value made a wrong shape in turn, objects nested as deep as a body may nest,
    and a list as long as the body limit allows. After each write that is accepted, the
    routes that use what it stored are called."""
    caplog.set_level(logging.ERROR, logger="webui")
    caplog.set_level(logging.WARNING, logger=UPSTREAM_LOGGER)
    ids = {name: values[0] for name, values in world.ids.items()}
    table, started = routes(app), time.monotonic()
    walks = [  # alice first: the admin's walk ends by deleting her account
        ShapeWalk(caller, caplog, ids, samples_with_ids(ids))
        for name in ("alice", "admin")
        for caller in world.callers
        if caller.name == name
    ]
    # An admin's write may have switched settings off.
    restore = partial(save_settings, **world.settings)
    reached = sum(walk.walk(table, app.config["MAX_CONTENT_LENGTH"], restore) for walk in walks)
    sent = sum(walk.sent for walk in walks)
    problems = [line for walk in walks for line in walk.problems.values()]
    elapsed = time.monotonic() - started
    print(f"\nfuzz: {sent} requests, {reached} fields read by routes, in {elapsed:.1f} s")
    assert not problems, f"{len(problems)} kinds of problem in {sent} requests:\n" + "\n".join(
        line[:400] for line in problems
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
