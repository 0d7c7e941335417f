"""Errors as people see them: JSON ``{"detail": …}`` on the API, pages elsewhere.

On the OpenAI-shaped routes the body also carries OpenAI's ``error: {message, type, param,
code}``: the official SDKs read only that, and would otherwise show just "Error code: 400"."""

import logging

from flask import Flask, Response, has_request_context, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/ollama/", "/openai/")
# Probes outside those prefixes that are API too: plain JSON, keys accepted.
API_PATHS = ("/api", "/ollama", "/openai", "/health", "/health/db", "/ready", "/openapi.json")
# Where clients are OpenAI SDKs: these errors carry OpenAI's shape too.
OPENAI_SHAPED_PREFIXES = ("/openai/", "/ollama/v1/")
OPENAI_SHAPED_PATHS = frozenset(
    ("/api/chat/completions", "/api/v1/chat/completions", "/api/models", "/api/v1/models")
)
# OpenAI's error types by status; anything else is the client's mistake or the server's.
OPENAI_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    429: "rate_limit_error",
}


class ServiceError(Exception):
    """A rule refused a request: a status code and a sentence a person can act on."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def is_api_path(path: str) -> bool:
    """Paths where keys work and errors are JSON."""
    return path.startswith(API_PREFIXES) or path in API_PATHS


def is_openai_shaped(path: str) -> bool:
    return path in OPENAI_SHAPED_PATHS or path.startswith(OPENAI_SHAPED_PREFIXES)


def openai_error(status: int, detail: str) -> dict:
    """OpenAI's error object for the same refusal."""
    default = "server_error" if status >= 500 else "invalid_request_error"
    kind = OPENAI_ERROR_TYPES.get(status, default)
    return {"message": detail, "type": kind, "param": None, "code": status}


def json_error(status: int, detail: str, headers: dict | None = None) -> Response:
    body = {"detail": detail}
    if has_request_context() and is_openai_shaped(request.path):
        body["error"] = openai_error(status, detail)
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def error_response(status: int, detail: str, headers: dict | None = None):
    """The one place that chooses: JSON on the API, the error page everywhere else."""
    if is_api_path(request.path):
        return json_error(status, detail, headers)
    page = render_template("errors/error.html", code=status, message=detail)
    return page, status, headers or {}


def _http_error(error: HTTPException):
    pages_for = (403, 404, 405, 413, 429)
    if not is_api_path(request.path) and error.code not in pages_for and (error.code or 500) < 500:
        return error  # redirects and the like keep Werkzeug's own response
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return error_response(error.code or 500, error.description or error.name, headers)


def _csrf_error(error: CSRFError):
    error.description = (
        f"{error.description} Reload the page and try again; JSON calls made with a browser "
        "session send the token from the page's csrf-token meta tag as the X-CSRFToken header."
    )
    return _http_error(error)


def _service_error(error: ServiceError):
    return error_response(error.status, error.detail, error.headers)


def unexpected_error(error: Exception):
    """A bug: the trace goes to the log for the operator; the client gets a sentence, never
    a stack trace."""
    log.exception("unhandled error on %s %s", request.method, request.path)
    wrapped = InternalServerError("Something went wrong on the server; the error was logged.")
    return _http_error(wrapped)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, unexpected_error)
