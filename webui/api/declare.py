"""``documented``: how an API view declares its summary, body and answers (core/apidoc.py);
the declared JSON body is checked before the view runs, so a wrong type is a 400 naming the
field whatever the view does next."""

from collections.abc import Callable
from functools import wraps
from typing import Any, Optional

from flask import abort, request

from webui.api.payloads import json_body
from webui.core.apidoc import OPERATION_ATTRIBUTE, Answer, Operation, body_problem, check_tag


def documented(
    summary: str,
    tag: str,
    *,
    body: Optional[dict] = None,
    body_optional: bool = False,
    any_content_type: bool = False,
    form: Optional[dict] = None,
    query: Optional[dict[str, dict]] = None,
    required_query: tuple[str, ...] = (),
    answers: Optional[dict[int, Any]] = None,
    description: str = "",
) -> Callable:
    """Declares the view's operation. ``answers`` maps a status code to a JSON schema, an
    ``Answer`` (another media type), a list of those (the request chooses, e.g. JSON or a
    stream) or None (no body); errors (``{"detail": …}``) are added for every operation by
    the document."""
    operation = Operation(
        summary=summary,
        tag=check_tag(tag),
        description=description,
        body=body,
        body_optional=body_optional,
        form=form,
        query=query or {},
        required_query=required_query,
        answers={status: _answers(given) for status, given in (answers or {200: None}).items()},
    )

    def decorator(view: Callable) -> Callable:
        checked = (
            view if body is None else _checking_body(view, body, body_optional, any_content_type)
        )
        setattr(checked, OPERATION_ATTRIBUTE, operation)
        return checked

    return decorator


def _answers(given: Any) -> tuple[Answer, ...]:
    return tuple(map(_answer, given)) if isinstance(given, list) else (_answer(given),)


def _answer(given: Any) -> Answer:
    if isinstance(given, Answer):
        return given
    return Answer(schema=given) if given is not None else Answer(media_type=None)


def _checking_body(view: Callable, schema: dict, optional: bool, any_content_type: bool):
    @wraps(view)
    def checked(*args, **kwargs):
        if not (optional and not request.get_data(cache=True).strip()):
            problem = body_problem(schema, json_body(any_content_type))
            if problem:
                abort(400, problem)
        return view(*args, **kwargs)

    return checked


def stream(media_type: str, description: str) -> Answer:
    """An answer sent as it is made: server-sent events or JSON lines."""
    return Answer(schema={"type": "string"}, media_type=media_type, description=description)


def file_answer(description: str) -> Answer:
    return Answer(
        schema={"type": "string", "format": "binary"},
        media_type="application/octet-stream",
        description=description,
    )
