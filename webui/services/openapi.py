"""The OpenAPI 3.1 document of the API, assembled with apispec from what each route declares:
its operation (core/apidoc.py) and who may call it (security/permissions.py)."""

import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Optional

from apispec import APISpec
from flask import current_app

from webui.core.apidoc import (
    COMPONENTS,
    JSON,
    STRING,
    TAGS,
    Answer,
    Operation,
    obj,
    operation_of,
)
from webui.errors import is_api_path
from webui.security.guard import READ_METHODS
from webui.security.permissions import Access, access_of

ROUTE_VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
CONVERTER_SCHEMAS = {"int": {"type": "integer"}, "float": {"type": "number"}}
DOCUMENTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CATCH_ALL = "api.not_provided"
CSRF_HEADER = "X-CSRFToken"

ERROR = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in a sentence."},
        "error": {
            "type": "object",
            "description": "OpenAI's error shape, on the OpenAI-style routes only.",
        },
    },
    "required": ["detail"],
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
# Every operation may answer these (the guard, the body checks, the limits).
COMMON_ERRORS = {
    400: "The request is malformed; `detail` names the field.",
    401: "No credential, or a key that is malformed, unknown, deleted or expired.",
    403: "The credential is valid but not allowed here; `detail` says why.",
    404: "Not found (or not yours).",
    429: "Too many requests; `Retry-After` says when to try again.",
}
BODY_ERRORS = {
    413: "The body is larger than the server takes.",
    415: "The body is not sent as JSON.",
}


@dataclass(frozen=True)
class Route:
    """One documented method of one URL rule, with what its view declares."""

    path: str  # the rule, e.g. /api/v1/files/<file_id>
    method: str
    endpoint: str
    operation: Operation
    access: Access

    @property
    def keys_allowed(self) -> bool:
        return not self.access.session_only

    @property
    def admin_only(self) -> bool:
        return self.access.role == "admin"


def api_rules() -> list:
    """The app's API URL rules, without the catch-all that answers for the routes webui
    leaves out."""
    return [
        rule
        for rule in current_app.url_map.iter_rules()
        if is_api_path(rule.rule) and rule.endpoint != CATCH_ALL
    ]


def undocumented_rules() -> list:
    """API rules whose view declares no operation (the tests want none)."""
    views = current_app.view_functions
    return [rule for rule in api_rules() if operation_of(views.get(rule.endpoint)) is None]


def documented_routes() -> list[Route]:
    views = current_app.view_functions
    routes = []
    for rule in api_rules():
        view = views.get(rule.endpoint)
        operation = operation_of(view)
        if operation is None:
            continue
        for method in sorted(set(rule.methods or ()) & set(DOCUMENTED_METHODS)):
            routes.append(Route(rule.rule, method, rule.endpoint, operation, access_of(view)))
    return sorted(routes, key=lambda route: (route.path, route.method))


def document(version: str) -> dict:
    spec = APISpec(
        title="webui API",
        version=version,
        openapi_version="3.1.0",
        info={
            "description": (
                "Open WebUI's paths, with personal API keys: send a key as "
                "`Authorization: Bearer sk-…`. In a browser, the session cookie works too; "
                f"writes then need the `{CSRF_HEADER}` header."
            )
        },
    )
    _add_security_schemes(spec)
    spec.components.schema("Error", ERROR)
    for status, description in {**COMMON_ERRORS, **BODY_ERRORS}.items():
        spec.components.response(f"Error{status}", error_answer(description))
    for name, schema in sorted(COMPONENTS.items()):
        spec.components.schema(name, schema)
    routes = documented_routes()
    ids = operation_ids(routes)
    by_path: dict[str, dict] = {}
    for route in routes:
        by_path.setdefault(route.path, {})[route.method.lower()] = operation_object(
            route, ids[route]
        )
    for path, operations in by_path.items():
        spec.path(path=openapi_path(path), operations=operations)
    for tag, description in TAGS.items():
        spec.tag({"name": tag, "description": description})
    return spec.to_dict()


def _add_security_schemes(spec: APISpec) -> None:
    spec.components.security_scheme(
        "apiKey",
        {"type": "http", "scheme": "bearer", "description": "A personal API key, sk-…"},
    )
    spec.components.security_scheme(
        "session",
        {
            "type": "apiKey",
            "in": "cookie",
            "name": current_app.config.get("SESSION_COOKIE_NAME", "session"),
            "description": "The browser session of a signed-in person.",
        },
    )
    spec.components.security_scheme(
        "csrfToken",
        {
            "type": "apiKey",
            "in": "header",
            "name": CSRF_HEADER,
            "description": "With the session, writes carry the page's CSRF token.",
        },
    )


def openapi_path(rule: str) -> str:
    """``/api/v1/files/<file_id>`` → ``/api/v1/files/{file_id}``."""
    return ROUTE_VARIABLE.sub(lambda match: "{" + match.group(2) + "}", rule)


def operation_ids(routes: list[Route]) -> dict[Route, str]:
    """The view's name where it serves one route; otherwise the name and the path."""
    counts: dict[str, int] = {}
    for route in routes:
        counts[route.endpoint] = counts.get(route.endpoint, 0) + 1
    ids = {}
    for route in routes:
        name = route.endpoint.split(".", 1)[-1]
        if counts[route.endpoint] > 1:
            name = f"{name}_{route.method.lower()}_{slug(route.path)}"
        ids[route] = name
    return ids


def slug(rule: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", ROUTE_VARIABLE.sub(r"\2", rule).lower()).strip("_")


def operation_object(route: Route, operation_id: str) -> dict:
    operation = route.operation
    result = {
        "operationId": operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": path_parameters(route.path) + query_parameters(operation),
        "responses": responses(route),
        "security": security(route),
        "x-webui-access": access_extension(route),
    }
    if operation.description:
        result["description"] = operation.description
    body = request_body(operation)
    if body:
        result["requestBody"] = body
    if not result["parameters"]:
        del result["parameters"]
    return result


def path_parameters(rule: str) -> list[dict]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": CONVERTER_SCHEMAS.get(converter or "", STRING),
        }
        for converter, name in ROUTE_VARIABLE.findall(rule)
    ]


def query_parameters(operation: Operation) -> list[dict]:
    return [
        {
            "name": name,
            "in": "query",
            "required": name in operation.required_query,
            "schema": schema,
        }
        for name, schema in operation.query.items()
    ]


def request_body(operation: Operation) -> Optional[dict]:
    if operation.body is not None:
        return {
            "required": not operation.body_optional,
            "content": {JSON: {"schema": operation.body}},
        }
    if operation.form is not None:
        return {"required": True, "content": {"multipart/form-data": {"schema": operation.form}}}
    return None


def responses(route: Route) -> dict:
    answers = {
        str(status): answer_object(status, answer)
        for status, answer in route.operation.answers.items()
    }
    errors = dict(COMMON_ERRORS)
    if route.operation.body is not None or route.operation.form is not None:
        errors.update(BODY_ERRORS)
    for status in errors:
        answers.setdefault(str(status), {"$ref": f"#/components/responses/Error{status}"})
    return dict(sorted(answers.items()))


def answer_object(status: int, answers: tuple[Answer, ...]) -> dict:
    """One status's answer; several media types when the request chooses (``stream``)."""
    description = " ".join(a.description for a in answers if a.description)
    result: dict = {"description": description or HTTPStatus(status).phrase}
    content = {
        answer.media_type: {"schema": answer_schema(status, answer)}
        for answer in answers
        if answer.media_type is not None
    }
    if content:
        result["content"] = content
    return result


def answer_schema(status: int, answer: Answer) -> dict:
    if answer.schema is not None:
        return answer.schema
    return ERROR_REF if status >= 400 else obj()


def error_answer(description: str) -> dict:
    return {"description": description, "content": {JSON: {"schema": ERROR_REF}}}


def security(route: Route) -> list[dict]:
    """Who may call: nobody in particular (public), a key, or the session (with the CSRF
    token for writes)."""
    if route.access.public:
        return [{}]
    session = {"session": []} if route.method in READ_METHODS else {"session": [], "csrfToken": []}
    return [{"apiKey": []}, session] if route.keys_allowed else [session]


def access_extension(route: Route) -> dict:
    """Who may call, as the guard decides it (security/permissions.py declarations)."""
    access = route.access
    return {
        "public": access.public,
        "keys": route.keys_allowed,
        "readOnlyKeys": route.keys_allowed and route.method in READ_METHODS,
        "role": access.role,
        "permission": access.permission,
        "pending": access.allow_pending,
    }
