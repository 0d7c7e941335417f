"""The OpenAPI document is the API's declarations, and they hold: every API route declares
its operation; the document is valid OpenAPI 3.1; who may call each operation
(``x-webui-access``) is what the guard enforces; every declared body refuses a field of the
wrong type with a 400 naming the field; the key page's chooser reads the same declarations."""

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from tests.support.accounts import ADMIN_EMAIL, login_client
from webui.core.apidoc import COMPONENTS, TAGS
from webui.services import api_routes, openapi

# The declarations against real answers: not the database, so CI runs these on SQLite only.
pytestmark = pytest.mark.document

WRONG_VALUES = [12345, "text", True, [1], {"field": 1}, None, 1.5]


def operations(document) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def concrete(path: str, operation: dict) -> str:
    """A path of the pattern, with made-up ids (the guard decides before any lookup)."""
    kinds = {
        parameter["name"]: parameter["schema"].get("type")
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    }
    return re.sub(
        r"\{([^}]+)\}",
        lambda match: "0" if kinds.get(match.group(1)) == "integer" else "no-such-id",
        path,
    )


def test_every_api_route_declares_its_operation(app):
    with app.app_context():
        missing = [f"{sorted(rule.methods)} {rule.rule}" for rule in openapi.undocumented_rules()]
    assert missing == []


def test_the_document_is_valid_openapi_31_with_unique_operation_ids(document):
    validate(document)
    assert document["openapi"] == "3.1.0"
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert all(operation["tags"][0] in TAGS for _, _, operation in operations(document))
    assert all(operation["summary"].strip() for _, _, operation in operations(document))


def test_the_document_is_revalidated_by_its_etag(client):
    first = client.get("/openapi.json")
    assert first.headers["Cache-Control"] == "public, no-cache"
    again = client.get("/openapi.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_operations_keys_may_not_call_refuse_keys(client, document, people_with_keys):
    people = people_with_keys()
    session_only = [
        (method, path, operation)
        for method, path, operation in operations(document)
        if not operation["x-webui-access"]["keys"]
    ]
    assert session_only, "the keys' own management needs a browser session"
    for method, path, operation in session_only:
        response = client.open(
            concrete(path, operation), method=method, headers=people["admin_key"]
        )
        assert response.status_code == 403, f"{method} {path}: {response.status_code}"
        assert "browser session" in response.get_json()["detail"]


def test_admin_only_operations_refuse_a_users_key(client, document, people_with_keys):
    people = people_with_keys("alice")
    admin_only = [
        (method, path, operation)
        for method, path, operation in operations(document)
        if operation["x-webui-access"]["role"] == "admin"
    ]
    assert admin_only
    for method, path, operation in admin_only:
        response = client.open(
            concrete(path, operation), method=method, headers=people["alice_key"]
        )
        assert response.status_code == 403, f"{method} {path}: {response.status_code}"


def test_security_says_who_may_call(document):
    for method, path, operation in operations(document):
        access, security = operation["x-webui-access"], operation["security"]
        schemes = {name for requirement in security for name in requirement}
        if access["public"]:
            assert security == [{}], f"{method} {path}"
            continue
        assert ("apiKey" in schemes) == access["keys"], f"{method} {path}"
        assert "session" in schemes, f"{method} {path}"
        if method != "GET":
            assert {"session": [], "csrfToken": []} in security, f"{method} {path}"


def wrong_value(schema: dict):
    """A JSON value the property's schema refuses."""
    validator = Draft202012Validator({**schema, "components": {"schemas": COMPONENTS}})
    return next((value for value in WRONG_VALUES if not validator.is_valid(value)), None)


def body_fields(operation: dict) -> list[tuple[str, object]]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    schema = resolve(schema)
    return [
        (name, value)
        for name, field_schema in schema.get("properties", {}).items()
        if (value := wrong_value(field_schema)) is not None
    ]


def resolve(schema: dict) -> dict:
    ref = schema.get("$ref", "")
    return COMPONENTS[ref.rsplit("/", 1)[-1]] if ref.startswith("#/components/schemas/") else schema


def test_every_declared_body_refuses_a_wrong_type_naming_the_field(app, document, make_user):
    make_user(ADMIN_EMAIL, role="admin")
    admin = login_client(app, ADMIN_EMAIL)
    checked = 0
    for method, path, operation in operations(document):
        for name, value in body_fields(operation):
            response = admin.open(concrete(path, operation), method=method, json={name: value})
            detail = (response.get_json() or {}).get("detail", "")
            assert response.status_code == 400, f"{method} {path} {name}={value!r}: {detail}"
            assert name in detail, f"{method} {path} {name}={value!r}: {detail}"
            checked += 1
    assert checked > 50  # fields of every declared body, not a handful


def test_the_key_chooser_reads_the_declarations(app, document):
    summaries = {(path, operation["summary"]) for method, path, operation in operations(document)}
    with app.app_context():
        groups = api_routes.grouped_choices(api_routes.endpoint_choices())
    assert [area for area, _ in groups] == [area for area in TAGS if area in dict(groups)]
    for area, choices in groups:
        for choice in choices:
            assert choice.area == area
            first = choice.description.split("; ")[0]
            assert any(summary == first for _, summary in summaries), choice
