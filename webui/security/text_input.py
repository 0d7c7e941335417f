"""Text no database stores, refused before any view sees it.

Werkzeug decodes the path, query string and form fields with replacement characters, so
they never hold a lone surrogate; a NUL character (``%00``) passes through, and PostgreSQL
refuses it in every text column and comparison. Views and services therefore never see
one: the request is answered 400 here, after the guard let it through. JSON bodies are
held to the same rule where they are parsed (``core/parsers.py``, ``parse_json``).
"""

from collections.abc import Iterator

from flask import Request

from webui.core.parsers import text_problem
from webui.errors import error_response

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def submitted_text(req: Request) -> Iterator[tuple[str, str]]:
    """(where, text) for the path, every query parameter and form field, names included.
    Uploaded files' names are the files service's to clean (``services/files.py``)."""
    yield "The path", req.path
    if req.query_string:
        for name, values in req.args.lists():
            for text in (name, *values):
                yield f"The query parameter {name!r}", text
    if req.content_type and req.mimetype in FORM_TYPES:
        for name, values in req.form.lists():
            # A multipart part without a name parameter has the name None (Werkzeug).
            for text in (name or "", *values):
                yield f"The form field {name or ''!r}", text


def refuse_unstorable_text(req: Request):
    """Run after the guard let ``req`` through (``guard.check_request``): 400 naming where
    the bad text is."""
    if req.routing_exception is not None:
        return None
    for where, text in submitted_text(req):
        if "\x00" in text or not text.isascii():  # the common case needs no closer look
            problem = text_problem(text)
            if problem:
                return error_response(400, f"{where} {problem}; remove it and try again.")
    return None
