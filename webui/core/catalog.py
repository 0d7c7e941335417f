"""Every setting and every permission, declared in one place.

A setting's environment variable (same name, Open WebUI's where it has one) gives its
first value; a value an admin saved wins from then on. A permission's default for every
``user`` is itself a setting, ``USER_PERMISSIONS_<SECTION>_<NAME>``.
"""

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import has_app_context

from webui.core import parsers
from webui.core.secrets import seal
from webui.models import ROLES


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[Any], Any]  # raises ValueError with a sentence for a person
    default: Any
    label: str
    help: str = ""


@dataclass(frozen=True)
class Permission:
    label: str
    default: bool


# --- permissions -------------------------------------------------------------------

PERMISSIONS: dict[str, Permission] = {
    "features.api_keys": Permission("API Keys", False),
    "chat.file_upload": Permission("Upload files", True),
    "workspace.knowledge": Permission("Knowledge collections", False),
    "workspace.models": Permission("Models workspace", False),
}
SECTION_LABELS = {"features": "Features", "chat": "Chat", "workspace": "Workspace"}


def default_setting_name(permission: str) -> str:
    """``features.api_keys`` → ``USER_PERMISSIONS_FEATURES_API_KEYS`` (Open WebUI's name)."""
    return "USER_PERMISSIONS_" + permission.upper().replace(".", "_")


DEFAULT_PERMISSION_SETTINGS = [default_setting_name(name) for name in PERMISSIONS]


# --- values of the connection settings ----------------------------------------------

OLLAMA, OPENAI = "ollama", "openai"
CONNECTION_SETTING_NAMES = {
    # kind: (switch, base URLs, API keys, per-connection options)
    OLLAMA: ("ENABLE_OLLAMA_API", "OLLAMA_BASE_URLS", None, "OLLAMA_API_CONFIGS"),
    OPENAI: ("ENABLE_OPENAI_API", "OPENAI_API_BASE_URLS", "OPENAI_API_KEYS", "OPENAI_API_CONFIGS"),
}
CONNECTION_SETTINGS = [n for names in CONNECTION_SETTING_NAMES.values() for n in names if n]


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
        if not parsers.is_ascii_digits(str(index)) or not isinstance(options, dict):
            raise ValueError('must map connection positions to objects like {"enable": false}')
        if not isinstance(options.get("enable", True), bool):
            raise ValueError(f"entry {index}: enable must be true or false")
        configs[str(index)] = {"enable": options.get("enable", True)}
    return configs


def _first_url(single: str, default: str = "") -> str:
    """Open WebUI also reads the singular variable (OLLAMA_BASE_URL) as the first value."""
    return os.environ.get(single, default)


# --- the settings ----------------------------------------------------------------------

MAX_TOP_K = 50

SETTINGS: dict[str, Setting] = {
    setting.name: setting
    for setting in (
        Setting("ENABLE_SIGNUP", parsers.parse_bool, True, "Enable new sign-ups"),
        Setting(
            "DEFAULT_USER_ROLE",
            parsers.choice(*ROLES),
            "pending",
            "Default role for new sign-ups",
        ),
        Setting("ENABLE_API_KEYS", parsers.parse_bool, False, "Enable API Keys"),
        Setting(
            "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS",
            parsers.parse_bool,
            False,
            "Enable API Key Endpoint Restrictions",
        ),
        Setting(
            "API_KEYS_ALLOWED_ENDPOINTS",
            parsers.parse_endpoints,
            "",
            "Allowed Endpoints",
            "Comma-separated paths, e.g. /api/models,/api/chat/completions",
        ),
        Setting(
            "API_KEYS_MAX_LIFETIME_DAYS",
            parsers.optional_whole_number(1, 36500),
            None,
            "Maximum API key lifetime (days)",
            "Empty: keys may never expire. Otherwise every key created, changed or rotated from "
            "now on must expire within this many days.",
        ),
        Setting(
            "API_KEYS_DISABLE_UNUSED_DAYS",
            parsers.optional_whole_number(1, 3650),
            None,
            "Disable keys unused for (days)",
            "Empty: never. Otherwise a key not used for more than this many days (counted from "
            "its creation if it was never used) is refused until its owner re-enables it.",
        ),
        *(
            Setting(
                default_setting_name(name),
                parsers.parse_bool,
                permission.default,
                f"Default permission: {permission.label}",
            )
            for name, permission in PERMISSIONS.items()
        ),
        Setting("FILE_MAX_SIZE_MB", parsers.whole_number(1, 10240), 25, "Maximum upload size (MB)"),
        Setting(
            "CHUNK_SIZE",
            parsers.whole_number(100, 100000),
            1000,
            "Chunk size (characters)",
            "Uploaded text is split into chunks of at most this many characters for retrieval.",
        ),
        Setting(
            "CHUNK_OVERLAP",
            parsers.whole_number(0, 50000),
            100,
            "Chunk overlap (characters)",
            "How much of the previous chunk each chunk repeats; at most half the chunk size "
            "is used.",
        ),
        Setting(
            "RAG_TOP_K",
            parsers.whole_number(1, MAX_TOP_K),
            4,
            "Passages retrieved per file or collection in chat",
        ),
        Setting(
            "AUDIT_RETENTION_DAYS",
            parsers.whole_number(0, 36500),
            90,
            "Keep audit events for (days)",
            "0 keeps them forever. Older events go when flask audit prune runs (e.g. daily) "
            "or an administrator deletes them on the Audit page.",
        ),
        Setting("ENABLE_OLLAMA_API", parsers.parse_bool, True, "Ollama API"),
        Setting(
            "OLLAMA_BASE_URLS",
            parse_base_urls,
            parse_base_urls(_first_url("OLLAMA_BASE_URL", "http://localhost:11434")),
            "Ollama base URLs",
        ),
        Setting("OLLAMA_API_CONFIGS", parse_configs, {}, "Ollama connection options"),
        Setting("ENABLE_OPENAI_API", parsers.parse_bool, True, "OpenAI API"),
        Setting(
            "OPENAI_API_BASE_URLS",
            parse_base_urls,
            parse_base_urls(_first_url("OPENAI_API_BASE_URL")),
            "OpenAI API base URLs",
        ),
        Setting(
            "OPENAI_API_KEYS",
            parse_api_keys,
            parse_api_keys(_first_url("OPENAI_API_KEY")),
            "OpenAI API keys",
        ),
        Setting("OPENAI_API_CONFIGS", parse_configs, {}, "OpenAI connection options"),
    )
}
