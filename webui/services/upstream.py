"""Model connections and the HTTP calls made to them.

A connection is an upstream model server: an OpenAI-compatible API (base URL and
an API key) or an Ollama server (base URL). They are persistent settings with Open
WebUI's names; the environment gives the first value, an admin's saved value wins.
An upstream API key is stored sealed (encrypted with a key derived from SECRET_KEY),
shown to people only masked, and sent only to its own connection's base URL.
"""

import base64
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Optional
from urllib.parse import urlsplit

import httpx
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app, has_app_context

from webui import settings
from webui.errors import ServiceError

log = logging.getLogger(__name__)

OLLAMA, OPENAI = "ollama", "openai"
KINDS = (OLLAMA, OPENAI)
KIND_LABELS = {OLLAMA: "Ollama", OPENAI: "OpenAI"}

# Upstream statuses that describe the caller's request; they reach the caller as they are.
PASSTHROUGH_STATUSES = frozenset({400, 413, 422, 429})


# --- sealing upstream API keys ------------------------------------------------------

SEALED_PREFIX = "sealed:"


def _fernet() -> Fernet:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    digest = hashlib.sha256(b"webui upstream api keys\x00" + secret).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(plain: str) -> str:
    """Encrypt an upstream key for the database (needs the app for SECRET_KEY)."""
    if not plain or plain.startswith(SEALED_PREFIX):
        return plain
    return SEALED_PREFIX + _fernet().encrypt(plain.encode()).decode()


def unseal(stored: str) -> str:
    """The plain key; a value from the environment was never sealed."""
    if not stored.startswith(SEALED_PREFIX):
        return stored
    try:
        return _fernet().decrypt(stored[len(SEALED_PREFIX) :].encode()).decode()
    except InvalidToken:
        # SECRET_KEY changed since the key was saved: the admin has to enter it again.
        log.warning("an upstream API key cannot be decrypted (SECRET_KEY changed?); using none")
        return ""


def mask_key(key: str) -> str:
    """What people see of an upstream key: enough to recognise it, never enough to use it."""
    if not key:
        return ""
    if len(key) <= 10:
        return "••••"
    return f"{key[:3]}…{key[-4:]}"


# --- settings ----------------------------------------------------------------------


def _split(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(";")]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value]
    raise ValueError(f"must be a ';'-separated list of {what}")


def clean_base_url(url: str) -> str:
    """An http(s) URL without credentials, query or trailing slash; ValueError otherwise."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{url}' must be an http:// or https:// URL")
    if parts.username or parts.password:
        raise ValueError(f"'{parts.hostname}…' must not carry credentials; use the API key field")
    if parts.query or parts.fragment or any(ch.isspace() for ch in url):
        raise ValueError(f"'{url}' must not contain a query, a fragment or spaces")
    return url


def parse_base_urls(value: Any) -> list[str]:
    return [clean_base_url(url) for url in _split(value, "URLs") if url]


def parse_api_keys(value: Any) -> list[str]:
    """Keys line up with the URLs by position, so empty entries are kept."""
    keys = _split(value, "API keys")
    if keys == [""]:
        return []
    # Values saved from the app are sealed; the environment's stay in process memory only.
    return [seal(key) for key in keys] if has_app_context() else keys


def parse_configs(value: Any) -> dict[str, dict]:
    """Per-connection options keyed by position, e.g. {"0": {"enable": false}}."""
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except ValueError:
            raise ValueError('must be a JSON object like {"0": {"enable": false}}') from None
    if not isinstance(value, dict):
        raise ValueError('must be an object like {"0": {"enable": false}}')
    configs = {}
    for index, options in value.items():
        if not str(index).isdigit() or not isinstance(options, dict):
            raise ValueError('must map connection positions to objects like {"enable": false}')
        if not isinstance(options.get("enable", True), bool):
            raise ValueError(f"entry {index}: enable must be true or false")
        configs[str(index)] = {"enable": options.get("enable", True)}
    return configs


def _env_list(single: str, default: str = "") -> str:
    """Open WebUI also reads the singular variable (OLLAMA_BASE_URL) as the first value."""
    return os.environ.get(single, default)


SETTING_NAMES = {
    OLLAMA: ("ENABLE_OLLAMA_API", "OLLAMA_BASE_URLS", None, "OLLAMA_API_CONFIGS"),
    OPENAI: ("ENABLE_OPENAI_API", "OPENAI_API_BASE_URLS", "OPENAI_API_KEYS", "OPENAI_API_CONFIGS"),
}
CONNECTION_SETTINGS = [name for names in SETTING_NAMES.values() for name in names if name]

for _setting in (
    settings.Setting("ENABLE_OLLAMA_API", settings.parse_bool, True, "Ollama API"),
    settings.Setting(
        "OLLAMA_BASE_URLS",
        parse_base_urls,
        parse_base_urls(_env_list("OLLAMA_BASE_URL", "http://localhost:11434")),
        "Ollama base URLs",
    ),
    settings.Setting("OLLAMA_API_CONFIGS", parse_configs, {}, "Ollama connection options"),
    settings.Setting("ENABLE_OPENAI_API", settings.parse_bool, True, "OpenAI API"),
    settings.Setting(
        "OPENAI_API_BASE_URLS",
        parse_base_urls,
        parse_base_urls(_env_list("OPENAI_API_BASE_URL")),
        "OpenAI API base URLs",
    ),
    settings.Setting(
        "OPENAI_API_KEYS",
        parse_api_keys,
        parse_api_keys(_env_list("OPENAI_API_KEY")),
        "OpenAI API keys",
    ),
    settings.Setting("OPENAI_API_CONFIGS", parse_configs, {}, "OpenAI connection options"),
):
    settings.register(_setting)


# --- connections ----------------------------------------------------------------------


@dataclass(frozen=True)
class Connection:
    kind: str
    index: int
    base_url: str
    api_key: str = field(default="", repr=False)  # plain; only ever sent to base_url
    enabled: bool = True

    @property
    def label(self) -> str:
        """How people (and error details) name it: no URL, no key."""
        return f"{KIND_LABELS[self.kind]} connection #{self.index + 1}"

    @property
    def masked_key(self) -> str:
        return mask_key(self.api_key)

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


def api_enabled(kind: str) -> bool:
    return bool(settings.get_setting(SETTING_NAMES[kind][0]))


def connections(kind: str) -> list[Connection]:
    """Every configured connection of a kind, enabled or not, in order."""
    _, urls_name, keys_name, configs_name = SETTING_NAMES[kind]
    urls = settings.get_setting(urls_name)
    keys = [unseal(key) for key in settings.get_setting(keys_name)] if keys_name else []
    configs = settings.get_setting(configs_name)
    return [
        Connection(
            kind,
            index,
            url,
            keys[index] if index < len(keys) else "",
            configs.get(str(index), {}).get("enable", True),
        )
        for index, url in enumerate(urls)
    ]


def enabled_connections(kind: Optional[str] = None) -> list[Connection]:
    """Connections that serve models now: the kind's switch on and the connection enabled."""
    every = settings.cached("upstream.enabled_connections", _enabled_connections)
    return every if kind is None else [c for c in every if c.kind == kind]


def _enabled_connections() -> list[Connection]:
    # Decrypting the upstream keys costs more than the rest of a request: once per version.
    return [c for k in KINDS if api_enabled(k) for c in connections(k) if c.enabled]


def save_connections(kind: str, items: list[Connection], actor_id: Optional[str]) -> None:
    """Store a kind's whole list at once so URLs, keys and options stay aligned."""
    _, urls_name, keys_name, configs_name = SETTING_NAMES[kind]
    changes: dict[str, Any] = {
        urls_name: [c.base_url for c in items],
        configs_name: {str(i): {"enable": c.enabled} for i, c in enumerate(items)},
    }
    current_keys = [c.api_key for c in connections(kind)]
    new_keys = [c.api_key for c in items]
    if keys_name and new_keys != current_keys:
        changes[keys_name] = new_keys
    settings.save_settings(settings.validate_changes(changes, CONNECTION_SETTINGS), actor_id)


def reindexed(items: list[Connection]) -> list[Connection]:
    return [replace(c, index=i) for i, c in enumerate(items)]


# --- HTTP -----------------------------------------------------------------------------------

_http: Optional[httpx.Client] = None
_http_lock = threading.Lock()


def http() -> httpx.Client:
    """One pooled client per process, made after gunicorn forks; ignores proxy variables."""
    global _http
    with _http_lock:
        if _http is None:
            _http = httpx.Client(trust_env=False, follow_redirects=False, timeout=None)
        return _http


def config_seconds(name: str, default: float) -> float:
    """A number of seconds from the app config, else the environment, else the default."""
    value = current_app.config.get(name, os.environ.get(name))
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
    request = http().build_request(
        method, conn.base_url + path, json=body, headers=headers, timeout=_timeout(timeout)
    )
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
    if not isinstance(tags, list) or not all(isinstance(t, dict) and t.get("name") for t in tags):
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
) -> Iterator[bytes]:
    """Pass a stream's chunks through as they arrive; closing it closes the upstream call."""
    try:
        for chunk in response.iter_bytes():
            on_chunk(chunk)
            yield chunk
    except httpx.TimeoutException:
        yield on_error(
            UpstreamError(504, f"{conn.label} stopped sending in the middle of the answer.")
        )
    except httpx.HTTPError as error:
        log.warning("%s stream broke: %s", conn.label, type(error).__name__)
        yield on_error(
            UpstreamError(502, f"{conn.label} broke off the answer ({type(error).__name__}).")
        )
    finally:
        response.close()
