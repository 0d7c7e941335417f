"""What an API route declares about itself: its summary, JSON body, query parameters and
answers, as JSON Schema (2020-12, the dialect of OpenAPI 3.1).

Plain data, attached to the view by ``webui.api.declare.documented``; the OpenAPI document
(services/openapi.py) and the key page's endpoint chooser (services/api_routes.py) read it,
and the same body schema checks what a client sends before the view runs (``body_problem``).
"""

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

import jsonschema_rs
from jsonschema import Draft202012Validator

from webui.core.parsers import json_place

OPERATION_ATTRIBUTE = "_webui_operation"
COMPONENTS: dict[str, dict] = {}  # the document's named schemas, filled as modules declare them
JSON = "application/json"
NOT_AN_OBJECT = "The request body must be a JSON object (Content-Type: application/json)."
# The document's sections, in the order the reference shows them.
TAGS = {
    "Chat": "Chat completions, on Open WebUI's, OpenAI's and Ollama's paths.",
    "Models": "The models you may use.",
    "Embeddings": "Vectors for text.",
    "Saved chats": "Your conversations, kept on the server.",
    "Files": "Uploads: store, read, download and delete.",
    "Knowledge": "Collections of files to search, and retrieval.",
    "Your account": "Sign-up, sign-in, your profile, groups and permissions.",
    "API keys": "Your personal keys (managed from a browser session).",
    "Administration": "People, groups, keys, quotas, settings and the audit trail (admins).",
    "Ollama": "Ollama's own API, proxied to the connected Ollama servers.",
    "Server status": "Health, readiness, version and public configuration.",
}


@dataclass(frozen=True, eq=False)
class Answer:
    """One status code's answer: a JSON schema, or another media type (a stream, a file)."""

    schema: Optional[dict] = None
    media_type: Optional[str] = JSON
    description: str = ""


@dataclass(frozen=True, eq=False)  # one per view: compared and hashed by identity
class Operation:
    summary: str
    tag: str
    description: str = ""
    body: Optional[dict] = None  # the JSON body's schema
    body_optional: bool = False  # no body at all is accepted too
    form: Optional[dict] = None  # a multipart/form-data body's schema (uploads)
    query: dict[str, dict] = field(default_factory=dict)  # name → schema
    required_query: tuple[str, ...] = ()
    answers: dict[int, tuple[Answer, ...]] = field(default_factory=dict)


def check_tag(tag: str) -> str:
    if tag not in TAGS:
        raise ValueError(f"unknown tag {tag!r}: use one of {', '.join(TAGS)}")
    return tag


def operation_of(view: Optional[Callable]) -> Optional[Operation]:
    return getattr(view, OPERATION_ATTRIBUTE, None)


# --- building schemas --------------------------------------------------------------------

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
ANY: dict = {}


def nullable(schema: dict) -> dict:
    """``schema`` or JSON null."""
    if set(schema) == {"type"} and isinstance(schema["type"], str):
        return {"type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: dict, **more: Any) -> dict:
    return {"type": "array", "items": items, **more}


def obj(properties: Optional[dict] = None, required: tuple = (), closed: bool = False) -> dict:
    """A JSON object; ``closed`` refuses fields it does not name."""
    schema: dict = {"type": "object", "properties": properties or {}}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def enum(*values: Any) -> dict:
    return {"enum": list(values)}


def component(name: str, schema: dict) -> dict:
    """Names ``schema`` in the document; returns the reference to use in its place."""
    if COMPONENTS.get(name, schema) != schema:
        raise ValueError(f"two different schemas are named {name}")
    COMPONENTS[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


# --- checking a body against its schema --------------------------------------------------

TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


def body_problem(schema: dict, value: Any) -> Optional[str]:
    """A sentence naming the field that ``value`` gets wrong, or None when it fits.

    jsonschema-rs decides (a few µs for a chat's messages); only a body it refuses is walked
    again by the Python jsonschema, whose errors carry the schema node a sentence is made from
    (about 1.6 ms for 20 messages: too slow for every request)."""
    fast, _ = _validators(schema)
    if fast.is_valid(value):
        return None
    errors = list(_validators(schema)[1].iter_errors(value))
    if not errors:  # the two disagree: say what the fast one saw
        return f"The request body does not fit: {next(fast.iter_errors(value)).message}."
    # A field sent wrong is named before a field not sent at all.
    return _sentence(min(errors, key=lambda error: error.validator == "required"))


# By id() of a declared (module-level, so never collected) schema.
_VALIDATORS: dict[int, tuple[Any, Draft202012Validator]] = {}


def _validators(schema: dict) -> tuple[Any, Draft202012Validator]:
    pair = _VALIDATORS.get(id(schema))
    if pair is None:
        # References to named schemas (#/components/...) resolve within the schema itself.
        whole = {**schema, "components": {"schemas": COMPONENTS}}
        pair = _VALIDATORS[id(schema)] = (
            jsonschema_rs.Draft202012Validator(whole),
            Draft202012Validator(whole),
        )
    return pair


def _sentence(error) -> str:
    place = json_place(tuple(error.absolute_path))
    subject = place or "The request body"
    custom = error.schema.get("x-refusal") if isinstance(error.schema, dict) else None
    if custom:
        return f"{subject} {custom}."
    kind, expected = error.validator, error.validator_value
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        where = f" in {place}" if place else ""
        return f"{missing} is required{where}."
    if kind == "additionalProperties":
        known = ", ".join(sorted(error.schema.get("properties", {}))) or "no fields"
        unknown = ", ".join(sorted(set(error.instance) - set(error.schema.get("properties", {}))))
        return f"Unknown field {unknown}{' in ' + place if place else ''}: it takes {known}."
    if kind == "type" and not place and expected == "object":
        return NOT_AN_OBJECT
    if kind == "type":
        types = [expected] if isinstance(expected, str) else list(expected)
        return f"{subject} must be {' or '.join(TYPE_WORDS.get(t, t) for t in types)}."
    if kind == "enum":
        return f"{subject} must be one of {', '.join(map(str, expected))}."
    if kind in ("minimum", "maximum"):
        return f"{subject} must be at {'least' if kind == 'minimum' else 'most'} {expected}."
    if kind == "minLength":
        return f"{subject} must not be empty." if expected == 1 else _too(subject, "shorter")
    if kind == "maxLength":
        return f"{subject} must be at most {expected} characters."
    if kind == "maxItems":
        return f"{subject} must hold at most {expected} items."
    if kind == "minItems":
        return f"{subject} must hold at least {expected} item{'s' if expected != 1 else ''}."
    if kind in ("anyOf", "oneOf"):
        return f"{subject} is not of a form this takes: {_deepest(error)}"
    return f"{subject}: {error.message}."


def _too(subject: str, how: str) -> str:
    return f"{subject} is {how} than allowed."


def _deepest(error) -> str:
    """The first of an anyOf's own errors, in words (the branch most likely meant)."""
    context = deque(error.context or ())
    return _sentence(context[0]) if context else error.message
