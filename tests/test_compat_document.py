"""The Open WebUI compatibility table of docs/api.md and /openapi.json cannot disagree: every
route the table says is served is an operation of the document, with Open WebUI's method and
path, callable by whom the table says (x-webui-access); a route it says is left out is not in
the document; every operation of the document at one of Open WebUI's paths is in the table;
and where a row names fields (``{a, b}`` for a JSON object, ``[{a}]`` for a list of them,
``?a=&b=`` for query parameters; left of a ``→`` what is sent, right of it what comes back),
the operation declares them."""

import re

import pytest

from tests.support.openapi_checks import published
from tests.test_compat_table import NOT_SERVED, ROWS, SERVED, Row, spec_routes
from webui import create_app
from webui.extensions import db

# The declarations against real answers: not the database, so CI runs these on SQLite only.
pytestmark = pytest.mark.document

METHODS = ("get", "post", "put", "patch", "delete")
ARROW = "→"


def shape_of(path: str) -> str:
    """A path with its parameters unnamed: /api/v1/chats/{id} and /api/v1/chats/{chat_id}
    are one route."""
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture(scope="module")
def document(tmp_path_factory):
    """/openapi.json as the app serves it (it does not depend on what the database holds)."""
    folder = tmp_path_factory.mktemp("document")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'test.sqlite'}",
            "UPLOAD_DIR": str(folder / "uploads"),
        }
    )
    yield published(app.test_client())
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def operations(document) -> dict[tuple[str, str], dict]:
    """(METHOD, path shape) → the document's operation."""
    found = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                found[(method.upper(), shape_of(path))] = {**item[method], "path": path}
    return found


def rows_with(status: str) -> list:
    return [pytest.param(row, id=str(row)) for row in ROWS if row.status == status]


@pytest.mark.parametrize("row", rows_with(SERVED))
def test_a_served_row_is_an_operation_of_the_document(operations, row):
    declared = (row.method, shape_of(row.path)) in operations
    assert declared, f"{row} is served but /openapi.json does not declare it"


@pytest.mark.parametrize("row", rows_with(NOT_SERVED))
def test_a_row_left_out_is_not_in_the_document(operations, row):
    declared = (row.method, shape_of(row.path)) in operations
    assert not declared, f"{row} is left out but /openapi.json declares it"


def test_every_operation_at_an_open_webui_path_is_a_served_row(operations):
    open_webui_paths = {shape_of(path) for _, path in spec_routes()}
    served = {(row.method, shape_of(row.path)) for row in ROWS if row.status == SERVED}
    at_their_paths = {key for key in operations if key[1] in open_webui_paths}
    assert sorted(at_their_paths - served) == []


def expected_access(row: Row) -> dict:
    """The document's x-webui-access as the row's *who* says it: "none" is public, "admin" an
    administrator's (not "owner or admin": an object's owner, or any administrator),
    "session" no keys, "pending too" pending accounts as well, a `permission` that one."""
    parts = [part.strip() for part in re.split(r"[,;]", row.who)]
    permission = re.fullmatch(r"`([a-z_.]+)`", row.who.strip())
    return {
        "public": parts == ["none"],
        "role": "admin" if "admin" in parts else None,
        "keys": "session" not in parts,
        "pending": "pending too" in parts,
        "permission": permission.group(1) if permission else None,
    }


@pytest.mark.parametrize("row", rows_with(SERVED))
def test_who_may_call_is_what_the_document_says(operations, row):
    operation = operations.get((row.method, shape_of(row.path)))
    assert operation, f"{row} is served but /openapi.json does not declare it"
    declared = {key: operation["x-webui-access"][key] for key in expected_access(row)}
    assert declared == expected_access(row)


# --- fields the table names ----------------------------------------------------------------------

TOKEN = re.compile(r'\s*("?[A-Za-z_][A-Za-z0-9_]*"?\??|[{}\[\],:]|[^\s{}\[\],:]+)')


def tokens(text: str) -> list[str]:
    return [match.group(1) for match in TOKEN.finditer(text) if match.group(1).strip()]


def parse_value(items: list[str]):
    """Fields of a value: ``{a, b: [{c}]}`` → {"a": None, "b": {"c": None}}; a list is its
    items' fields; a plain value (true, a number) has none (None)."""
    if items and items[0] == "{":
        items.pop(0)
        fields = {}
        while items and items[0] != "}":
            name = items.pop(0).strip('"').rstrip("?")
            fields[name] = None
            if items and items[0] == ":":
                items.pop(0)
                fields[name] = parse_value(items)
            if items and items[0] == ",":
                items.pop(0)
        if items:
            items.pop(0)  # }
        return fields
    if items and items[0] == "[":
        items.pop(0)
        inner = parse_value(items)
        while items and items.pop(0) != "]":
            pass
        return inner
    while items and items[0] not in (",", "}", "]"):
        items.pop(0)
    return None


def named_fields(code: str) -> tuple[str, dict] | None:
    """What a `code` span of the table names: ("query", {names}) for ``?a=&b=``, ("json",
    fields) for ``{…}`` or ``[{…}]``; None for anything else (a path, a value, a word)."""
    names = re.findall(r"[?&]([A-Za-z_]+)=", code)
    if code.startswith("?") and names:
        return "query", dict.fromkeys(names)
    if code.startswith(("{", "[{")):
        return "json", parse_value(tokens(code)) or {}
    return None


@pytest.mark.parametrize(
    "code, expected",
    [
        ("{id, name}", ("json", {"id": None, "name": None})),
        ('{"status": false, "detail"}', ("json", {"status": None, "detail": None})),
        ("[{file_id}]", ("json", {"file_id": None})),
        (
            "{files: [{id}], collection_name?}",
            ("json", {"files": {"id": None}, "collection_name": None}),
        ),
        ("?query=&page=", ("query", {"query": None, "page": None})),
        ("/api/models", None),
        ("?", None),
        ("true", None),
    ],
)
def test_the_fields_of_a_span_are_read_as_the_table_means_them(code, expected):
    assert named_fields(code) == expected


def named_in_row(row: Row) -> list[tuple[str, str, dict]]:
    """(side, kind, fields) for each span of the row's notes that names fields; side is "sent"
    or "answer" on either side of a →, "either" in a clause without one."""
    found = []
    for clause in row.notes.split(";"):
        before, arrow, after = clause.partition(ARROW)
        for side, text in (("sent" if arrow else "either", before), ("answer", after)):
            for code in re.findall(r"`([^`]+)`", text):
                named = named_fields(code)
                if named:
                    found.append((side, *named))
    return found


def schema_fields(document: dict, schema, seen=()) -> dict[str, list]:
    """Property name → its schemas, wherever a value of this schema may be an object: through
    $ref, allOf/anyOf/oneOf, and the items of a list."""
    if not isinstance(schema, dict):
        return {}
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return {}
        return schema_fields(document, document["components"]["schemas"][name], (*seen, name))
    fields: dict[str, list] = {}

    def merge(more: dict) -> None:
        for name, schemas in more.items():
            fields.setdefault(name, []).extend(schemas)

    merge({name: [sub] for name, sub in schema.get("properties", {}).items()})
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            merge(schema_fields(document, sub, seen))
    merge(schema_fields(document, schema.get("items"), seen))
    return fields


def missing_fields(document: dict, schemas: list, wanted: dict, prefix: str = "") -> list[str]:
    """The names in ``wanted`` (nested) that none of ``schemas`` declares."""
    declared: dict[str, list] = {}
    for schema in schemas:
        for name, subs in schema_fields(document, schema).items():
            declared.setdefault(name, []).extend(subs)
    missing = []
    for name, inner in wanted.items():
        if name not in declared:
            missing.append(prefix + name)
        elif inner:
            missing += missing_fields(document, declared[name], inner, f"{prefix}{name}.")
    return missing


def sent_schemas(operation: dict) -> list:
    content = operation.get("requestBody", {}).get("content", {})
    return [media["schema"] for media in content.values() if "schema" in media]


def answer_schemas(document: dict, operation: dict) -> list:
    schemas = []
    for answer in operation["responses"].values():
        if "$ref" in answer:
            answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
        schemas += [media["schema"] for media in answer.get("content", {}).values()]
    return schemas


def rows_naming_fields() -> list:
    return [
        pytest.param(row, id=str(row)) for row in ROWS if row.status == SERVED and named_in_row(row)
    ]


@pytest.mark.parametrize("row", rows_naming_fields())
def test_the_fields_a_row_names_are_declared(document, operations, row):
    operation = operations.get((row.method, shape_of(row.path)))
    assert operation, f"{row} is served but /openapi.json does not declare it"
    query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    problems = []
    for side, kind, fields in named_in_row(row):
        if kind == "query":
            problems += [f"?{name}=" for name in fields if name not in query]
            continue
        schemas = {
            "sent": sent_schemas(operation),
            "answer": answer_schemas(document, operation),
            "either": sent_schemas(operation) + answer_schemas(document, operation),
        }[side]
        problems += [f"{side}: {name}" for name in missing_fields(document, schemas, fields)]
    assert problems == []
