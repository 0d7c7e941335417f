"""Talking to model servers over HTTP: one pooled client, timeouts, errors as people read
them, and what the OpenAI and Ollama calls mean (model lists, chat streams)."""

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any, Optional

import httpx
from flask import current_app

from webui.core.catalog import OLLAMA, OPENAI
from webui.errors import ServiceError
from webui.services.connections import Connection

log = logging.getLogger(__name__)

# Upstream statuses that describe the caller's request; they reach the caller as they are.
PASSTHROUGH_STATUSES = frozenset({400, 413, 422, 429})


# --- HTTP -----------------------------------------------------------------------------------

_http: Optional[httpx.Client] = None
_http_lock = threading.Lock()
# No cap on open connections: every open stream needs its own, and a gevent worker holds
# thousands of streams (gunicorn's worker_connections is the cap). httpx's default of 100
# would queue the 101st chat behind the others. Idle ones kept for reuse stay few.
UPSTREAM_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=64)


def http() -> httpx.Client:
    """One pooled client per process, made after gunicorn forks; ignores proxy variables."""
    global _http
    with _http_lock:
        if _http is None:
            _http = httpx.Client(
                trust_env=False, follow_redirects=False, timeout=None, limits=UPSTREAM_LIMITS
            )
        return _http


def config_seconds(name: str, default: float) -> float:
    """A number of seconds from the app config (which reads the environment), else the
    default."""
    value = current_app.config.get(name)
    return float(value) if value not in (None, "") else default


def request_timeout() -> float:
    """Seconds to wait for an answer, and between two chunks of a stream."""
    return config_seconds("AIOHTTP_CLIENT_TIMEOUT", 300.0)


def model_list_timeout() -> float:
    return config_seconds("AIOHTTP_CLIENT_TIMEOUT_MODEL_LIST", 10.0)


class UpstreamError(ServiceError):
    """An upstream failed while serving a request: 502, 504, or its own 4xx."""


def _timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, 10.0))


def send(
    conn: Connection,
    method: str,
    path: str,
    body: Any = None,
    timeout: Optional[float] = None,
    stream: bool = False,
) -> httpx.Response:
    """Call the connection; transport failures become 502/504, error statuses too.

    With ``stream=True`` the caller must close the response."""
    timeout = request_timeout() if timeout is None else timeout
    headers = conn.auth_headers()
    if stream:
        headers["Accept-Encoding"] = "identity"  # chunks pass through exactly as they come
    try:
        request = http().build_request(
            method, conn.base_url + path, json=body, headers=headers, timeout=_timeout(timeout)
        )
    except (httpx.InvalidURL, UnicodeEncodeError) as error:  # saved before they were checked
        raise UpstreamError(
            502,
            f"{conn.label} cannot be called: its URL or API key is not valid "
            f"({type(error).__name__}); an administrator can correct it in Admin Panel > "
            "Settings > Connections.",
        ) from None
    try:
        response = http().send(request, stream=stream)
    except httpx.TimeoutException:
        raise UpstreamError(
            504, f"{conn.label} did not answer within {timeout:g} seconds."
        ) from None
    except httpx.HTTPError as error:
        log.warning("%s (%s) unreachable: %s", conn.label, conn.base_url, type(error).__name__)
        raise UpstreamError(
            502, f"{conn.label} could not be reached ({type(error).__name__}); try again later."
        ) from None
    if response.status_code >= 400:
        raise _status_error(conn, response)
    return response


def _status_error(conn: Connection, response: httpx.Response) -> UpstreamError:
    try:
        response.read()
    except httpx.HTTPError:
        pass
    finally:
        response.close()
    message = _error_message(response)
    log.warning("%s (%s) answered %s: %s", conn.label, conn.base_url, response.status_code, message)
    status = response.status_code if response.status_code in PASSTHROUGH_STATUSES else 502
    return UpstreamError(status, f"{conn.label} answered {response.status_code}: {message}")


def _error_message(response: httpx.Response) -> str:
    """The sentence an upstream put in its error body, whatever its shape."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason_phrase or "no details").strip()[:300]
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", body))
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)[:300]
    return str(body)[:300]


def json_answer(conn: Connection, response: httpx.Response, require: Optional[str] = None) -> dict:
    """The answer as a JSON object (with the ``require`` key), else 502."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or (require is not None and require not in answer):
        what = f"a JSON object with '{require}'" if require else "a JSON object"
        raise UpstreamError(502, f"{conn.label} answered something that is not {what}.")
    return answer


# --- what the calls mean ---------------------------------------------------------------------


def ollama_tags(conn: Connection, timeout: float) -> list[dict]:
    answer = json_answer(conn, send(conn, "GET", "/api/tags", timeout=timeout), "models")
    tags = answer["models"]
    if not isinstance(tags, list) or not all(
        isinstance(t, dict) and isinstance(t.get("name"), str) and t["name"] for t in tags
    ):
        raise UpstreamError(502, f"{conn.label} answered a malformed model list.")
    return tags


def list_models(conn: Connection, timeout: float) -> list[dict]:
    """The connection's models in the shape /api/models shows."""
    common = {"object": "model", "connection_type": conn.kind, "connection": conn.index}
    if conn.kind == OLLAMA:
        return [
            {"id": tag["name"], "name": tag["name"], "owned_by": OLLAMA, **common, "ollama": tag}
            for tag in ollama_tags(conn, timeout)
        ]
    answer = json_answer(conn, send(conn, "GET", "/models", timeout=timeout), "data")
    items = answer["data"]
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and isinstance(item.get("id"), str) for item in items
    ):
        raise UpstreamError(502, f"{conn.label} answered a malformed model list.")
    return [
        {
            "id": item["id"],
            "name": item.get("name") or item["id"],
            "owned_by": item.get("owned_by") or OPENAI,
            **common,
            "created": item.get("created"),
        }
        for item in items
    ]


def verify(conn: Connection) -> tuple[bool, str]:
    """Call the upstream's model list and say what it answered, for the admin."""
    try:
        models = list_models(conn, model_list_timeout())
    except UpstreamError as error:
        return False, error.detail
    names = ", ".join(model["id"] for model in models[:20]) or "none"
    more = f" and {len(models) - 20} more" if len(models) > 20 else ""
    return True, f"{conn.base_url} answered with {len(models)} model(s): {names}{more}."


def chat_path(conn: Connection) -> str:
    """Ollama serves the OpenAI shape under /v1; OpenAI base URLs already end in /v1."""
    return "/v1/chat/completions" if conn.kind == OLLAMA else "/chat/completions"


def open_stream(conn: Connection, path: str, body: dict, content_types: tuple[str, ...]):
    """Start a streamed call; 502 unless the upstream really answers with a stream."""
    response = send(conn, "POST", path, body, stream=True)
    content_type = response.headers.get("content-type", "")
    if not content_type.startswith(content_types):
        response.close()
        raise UpstreamError(
            502, f"{conn.label} answered {content_type or 'an untyped body'} instead of a stream."
        )
    return response


def relay(
    conn: Connection,
    response: httpx.Response,
    on_chunk: Callable[[bytes], None],
    on_error: Callable[[UpstreamError], bytes],
    hung_up: Callable[[], bool] = lambda: False,
) -> Iterator[bytes]:
    """Pass a stream's chunks through as they arrive; closing it closes the upstream call.
    ``hung_up`` says whether the caller left (the upstream was closed for that reason)."""
    try:
        for chunk in response.iter_bytes():
            on_chunk(chunk)
            yield chunk
    except httpx.HTTPError as error:
        if hung_up():
            return  # nobody is left to tell
        yield on_error(_broken_stream(conn, error))
    finally:
        response.close()


def _broken_stream(conn: Connection, error: httpx.HTTPError) -> UpstreamError:
    """What a stream that ended early says: a stall (504), or a broken connection (502)."""
    if isinstance(error, httpx.TimeoutException):
        return UpstreamError(504, f"{conn.label} stopped sending in the middle of the answer.")
    log.warning("%s stream broke: %s", conn.label, type(error).__name__)
    return UpstreamError(502, f"{conn.label} broke off the answer ({type(error).__name__}).")
