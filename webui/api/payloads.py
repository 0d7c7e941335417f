"""What the API modules share: reading JSON bodies, and the shapes of people and groups."""

from typing import Any

from flask import abort, g, request

from webui.core.apidoc import NOT_AN_OBJECT
from webui.core.parsers import parse_json
from webui.models import Group, User
from webui.security.permissions import nest
from webui.security.principal import Principal

PARSED_BODY = "webui_parsed_body"


def json_body(any_content_type: bool = False) -> Any:
    """The request body as parsed JSON: the one place the API reads a body.

    415 unless it is sent as JSON (so a form on another site cannot post it), 400 saying
    what is wrong with it otherwise (``parse_json``: invalid, too deep, not text).
    ``any_content_type`` reads JSON whatever the body says it is, as Ollama does (``curl -d``
    sends it as a form); browser writes still need the CSRF token, so no form can post it."""
    if not any_content_type and not request.is_json:
        abort(
            415,
            "The request body must be JSON, sent with the header Content-Type: application/json "
            f"(this request says {request.mimetype or 'nothing'}).",
        )
    if PARSED_BODY in g:  # the declared body's check read it already (api/declare.py)
        return g.get(PARSED_BODY)
    data = request.get_data(cache=True)
    if not data.strip():
        abort(400, NOT_AN_OBJECT)
    try:
        body = parse_json(data)
    except ValueError as error:
        abort(400, str(error))
    setattr(g, PARSED_BODY, body)
    return body


def json_object(any_content_type: bool = False) -> dict[str, Any]:
    """The request body, which must be a JSON object."""
    body = json_body(any_content_type)
    if not isinstance(body, dict):
        abort(400, NOT_AN_OBJECT)
    return body


def optional_object() -> dict[str, Any]:
    """A JSON object body, or {} when there is no body at all."""
    return json_object() if request.get_data(cache=True).strip() else {}


def json_array(what: str) -> list[Any]:
    """The request body, which must be a JSON array (``what`` says of what, for the error)."""
    body = json_body()
    if not isinstance(body, list):
        abort(400, f"The request body must be a JSON array of {what}.")
    return body


def user_json(user: User | Principal, permissions: dict[str, bool]) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "permissions": nest(permissions),
    }


def group_json(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "permissions": nest(group.permissions or {}),
        "user_ids": [member.id for member in group.members],
        "created_at": group.created_at,
    }
