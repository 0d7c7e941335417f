"""schemathesis over every operation of /openapi.json against gunicorn (SQLite, both fake model
servers), once with an admin's key and once with an approved user's (API keys on, endpoint
restrictions off, every permission a user may hold): no 5xx; every answer's status, media
type, body and headers as the document declares them; no operation the document marks
admin-only (``x-webui-access.role``) answers 2xx to the user's key, and none it marks
session-only (``x-webui-access.keys`` false) answers 2xx to any key. The first case of each
operation is sent once more without a key: a 401 with a Bearer challenge (public ones aside).

Bounded: EXAMPLES requests per operation and key (POSITIVE of them fit the document, the rest
break it on purpose), no shrinking, each example within DEADLINE_MS, each request within
REQUEST_TIMEOUT, each key's whole pass within BUDGET seconds. The seed is fixed and printed;
replay a failure with ``SCHEMATHESIS_SEED=<seed> pytest tests/test_schemathesis.py -s``.

The run must not destroy its own state. A key reaches only what a key may do, so whatever
needs a browser session (signing out, creating, rotating or deleting keys by id, changing
settings or roles, deleting accounts) answers 403 to both keys and changes nothing (the
session-only check above proves it). The one destructive operation a key may call,
``DELETE /api/v1/auths/api_keys/self`` (a key deletes itself), is sent with a throwaway key of
the same owner made for each example, so the run's key survives it.

Allowed, each for its reason below: a 502/503/504 the operation declares (a model server that
refuses), and cases whose request line gunicorn would not read (not sent).

Operations are driven one by one through ``operation.as_strategy()`` rather than
``schemathesis.pytest.from_fixture``: the latter rewrites ``request.node._nodeid``, which
pytest 9 no longer has.
"""

import os
import sys
import time
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.accounts import bearer

pytestmark = [pytest.mark.slow, pytest.mark.document]

SEED = int(os.environ.get("SCHEMATHESIS_SEED", "2028"))
EXAMPLES = 20  # per operation and key
POSITIVE = 14  # of those, fitting the document; the rest are negative (malformed on purpose)
DEADLINE_MS = 5000  # per example: the request, its checks, hypothesis's own work
REQUEST_TIMEOUT = 10.0  # seconds
BUDGET = 90.0  # seconds for one key's pass over the whole document
SELF_DELETE = ("DELETE", "/api/v1/auths/api_keys/self")
# gunicorn reads a request line of up to 4094 bytes (its limit_request_line) and answers a
# longer one with its own HTML 414 before the app sees it: such a case tests gunicorn, not
# the document, so it is not sent (hypothesis.assume). Long query values within that limit
# are sent and must get the app's 400.
REQUEST_LINE_LIMIT = 4094


def access(operation) -> dict:
    return operation.definition.raw.get("x-webui-access", {})


def admin_only(operation) -> bool:
    return access(operation).get("role") == "admin"


def user_key_refused_where_admin_only(ctx, response, case):
    """An operation the document marks admin-only never answers 2xx to a non-admin's key."""
    if admin_only(case.operation):
        assert not 200 <= response.status_code < 300, (
            f"{case.method} {case.path} is admin-only but answered "
            f"{response.status_code} to the user's key"
        )


GATEWAY_ANSWERS = {502, 503, 504}


def not_a_server_error_but_the_gateways(ctx, response, case):
    """No 5xx, except the gateway answers an operation declares: a proxy route that forwards to
    a model server says 502 when that server refuses (the fake Ollama has no model of the
    generated name to delete, show or pull), as the document and docs/api.md say."""
    declared = case.operation.definition.raw.get("responses", {})
    if response.status_code in GATEWAY_ANSWERS and str(response.status_code) in declared:
        return None
    return not_a_server_error(ctx, response, case)


def session_only_refuses_keys(ctx, response, case):
    """An operation the document says needs a browser session never answers 2xx to a key."""
    if access(case.operation).get("keys") is False:
        assert not 200 <= response.status_code < 300, (
            f"{case.method} {case.path} needs a session but answered "
            f"{response.status_code} to a key"
        )


CHECKS = [
    not_a_server_error_but_the_gateways,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    session_only_refuses_keys,
]


@dataclass
class Tally:
    operations: int = 0
    requests: int = 0
    failures: dict = field(default_factory=dict)
    statuses: dict = field(default_factory=dict)


@pytest.fixture(params=["admin", "user"])
def caller(request) -> str:
    """Whose key: each gets its own server and database."""
    return request.param


@pytest.fixture
def target(caller, people_with_keys, connected_upstreams, make_key, save_settings, request):
    """The live server with an admin and an approved user (keys on, no endpoint restrictions,
    every permission a user may hold), the caller's key and a maker of throwaway ones."""
    save_settings(
        ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS=False,
        USER_PERMISSIONS_CHAT_FILE_UPLOAD=True,
        USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=True,
        USER_PERMISSIONS_WORKSPACE_MODELS=True,
    )
    people = people_with_keys("user")
    server = request.getfixturevalue("live_server")  # started once the accounts exist
    # One connection pool for the run; it keeps no cookies, so every request carries only
    # its key (or nothing), whatever a public operation such as sign-in answers.
    http = requests.Session()
    http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    request.addfinalizer(http.close)
    return {
        "http": http,
        "url": server.url,
        "key": people[f"{caller}_key"],
        "throwaway": lambda: bearer(make_key(people[caller], "throwaway")),
    }


def strategy(operation, mode: GenerationMode):
    try:
        return operation.as_strategy(generation_mode=mode)
    except Exception:  # nothing in this operation can be broken (no body, no parameters)
        return None


def request_line_length(case, base_url: str) -> int:
    """The bytes of ``METHOD /path?query HTTP/1.1`` as this case would be sent."""
    sent = case.as_transport_kwargs(base_url=base_url)
    prepared = requests.Request(sent["method"], sent["url"], params=sent.get("params")).prepare()
    return len(f"{prepared.method} {prepared.path_url} HTTP/1.1")


def refused_without_credential(case, target, tally: Tally) -> None:
    """The same request without a key is a 401 asking for a Bearer credential, whatever the
    method (no CSRF refusal for a request that carries no session)."""
    tally.requests += 1
    response = case.call(base_url=target["url"], session=target["http"], timeout=REQUEST_TIMEOUT)
    assert response.status_code == 401, (
        f"{case.method} {case.path} without a credential answered {response.status_code}: "
        f"{response.text[:300]}"
    )
    challenge = response.headers.get("www-authenticate", [""])[0]  # lower-cased, as lists
    assert challenge.startswith("Bearer"), f"{case.method} {case.path}: a 401 without a challenge"


def run_operation(operation, target, caller, tally: Tally) -> None:
    checks = [*CHECKS]
    if caller == "user":
        checks.append(user_key_refused_where_admin_only)
    settings = hypothesis.settings(
        deadline=DEADLINE_MS,
        database=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
        derandomize=False,
    )

    def send(case):
        hypothesis.assume(request_line_length(case, target["url"]) <= REQUEST_LINE_LIMIT)
        if not first:
            first.append(case)
        key = target["key"]
        if (case.method.upper(), case.path) == SELF_DELETE:
            key = target["throwaway"]()
        tally.requests += 1
        response = case.call_and_validate(
            base_url=target["url"],
            session=target["http"],
            headers=key,
            checks=checks,
            timeout=REQUEST_TIMEOUT,
        )
        tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1

    first: list = []  # the first case generated, sent again without a key afterwards
    for mode, count in (
        (GenerationMode.POSITIVE, POSITIVE),
        (GenerationMode.NEGATIVE, EXAMPLES - POSITIVE),
    ):
        cases = strategy(operation, mode)
        if cases is None:
            continue
        test = hypothesis.seed(SEED)(
            hypothesis.settings(settings, max_examples=count)(hypothesis.given(cases)(send))
        )
        try:
            test()
        except (FailureGroup, AssertionError) as failure:
            tally.failures.setdefault(operation.label, []).append(f"[{mode.value}] {failure}")
        except hypothesis.errors.Unsatisfiable:
            pass  # negative mode found nothing to break
    if first and not access(operation).get("public"):
        try:
            refused_without_credential(first[0], target, tally)
        except AssertionError as failure:
            tally.failures.setdefault(operation.label, []).append(f"[no key] {failure}")


def test_every_operation_answers_as_documented(target, caller):
    config = schemathesis.Config.from_dict({"seed": SEED})
    schema = schemathesis.openapi.from_url(target["url"] + "/openapi.json", config=config)
    print(f"\nschemathesis seed {SEED} (replay: SCHEMATHESIS_SEED={SEED})", file=sys.stderr)
    declared = {
        f"{method.upper()} {path}"
        for path, operations in schema.raw_schema["paths"].items()
        for method in operations
    }
    # schemathesis leaves out the operation that serves the document it loaded; the document
    # is proven by tests/test_openapi.py.
    declared.discard("GET /openapi.json")
    tally = Tally()
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        assert time.monotonic() - started < BUDGET, (
            f"over the {BUDGET}s budget after {tally.operations} operations (seed {SEED})"
        )
        tally.operations += 1
        declared.discard(operation.label)
        run_operation(operation, target, caller, tally)
    elapsed = time.monotonic() - started
    print(
        f"schemathesis {caller}: {tally.operations} operations, {tally.requests} requests, "
        f"{elapsed:.1f}s, seed {SEED}; statuses {sorted(tally.statuses.items())}",
        file=sys.stderr,
    )
    assert not declared, f"operations schemathesis did not reach: {sorted(declared)}"
    assert tally.statuses.get(200), f"the {caller}'s key never got a 200: {tally.statuses}"
    report = "\n\n".join(label + "\n" + "\n".join(found) for label, found in tally.failures.items())
    assert not tally.failures, (
        f"{len(tally.failures)} operations broke their word with the {caller}'s key "
        f"(seed {SEED}):\n\n{report}"
    )
