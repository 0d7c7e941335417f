"""Model connections: the upstream model servers an admin configured.

A connection is an OpenAI-compatible API (base URL and an API key) or an Ollama server
(base URL). They are persistent settings with Open WebUI's names; an upstream API key is
stored sealed (``core/secrets.py``), shown to people only masked, and sent only to its
own connection's base URL.
"""

from dataclasses import dataclass, field, replace
from typing import Any, Optional

from webui.core.catalog import CONNECTION_SETTING_NAMES, CONNECTION_SETTINGS, OLLAMA, OPENAI
from webui.core.parsers import (
    MAX_CONNECTIONS,
    at_most,
    connection_key_list,
    connection_url_list,
    parse_field,
)
from webui.core.secrets import mask_key, unseal
from webui.core.settings import SettingError, get_setting
from webui.core.version_cache import cached
from webui.errors import ServiceError
from webui.services import configuration

KINDS = (OLLAMA, OPENAI)
KIND_LABELS = {OLLAMA: "Ollama", OPENAI: "OpenAI"}


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
    return bool(get_setting(CONNECTION_SETTING_NAMES[kind][0]))


def connections(kind: str) -> list[Connection]:
    """Every configured connection of a kind, enabled or not, in order."""
    _, urls_name, keys_name, configs_name = CONNECTION_SETTING_NAMES[kind]
    urls = get_setting(urls_name)
    keys = [unseal(key) for key in get_setting(keys_name)] if keys_name else []
    configs = get_setting(configs_name)
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
    every = cached("upstream.enabled_connections", _enabled_connections)
    return every if kind is None else [c for c in every if c.kind == kind]


def _enabled_connections() -> list[Connection]:
    # Decrypting the upstream keys costs more than the rest of a request: once per version.
    return [c for k in KINDS if api_enabled(k) for c in connections(k) if c.enabled]


def connection_changes(kind: str, items: list[Connection]) -> dict[str, Any]:
    """The settings that hold a kind's whole list, so URLs, keys and options stay aligned."""
    _, urls_name, keys_name, configs_name = CONNECTION_SETTING_NAMES[kind]
    changes: dict[str, Any] = {
        urls_name: [c.base_url for c in items],
        configs_name: {str(i): {"enable": c.enabled} for i, c in enumerate(items)},
    }
    current_keys = [c.api_key for c in connections(kind)]
    new_keys = [c.api_key for c in items]
    if keys_name and new_keys != current_keys:
        changes[keys_name] = new_keys
    return changes


def save_connections(kind: str, items: list[Connection], actor_id: Optional[str]) -> None:
    """Store a kind's whole list at once."""
    configuration.save(connection_changes(kind, items), CONNECTION_SETTINGS, actor_id)


def reindexed(items: list[Connection]) -> list[Connection]:
    return [replace(c, index=i) for i, c in enumerate(items)]


# --- Open WebUI's /openai/config and /ollama/config ------------------------------------------


def open_webui_config(kind: str) -> dict[str, Any]:
    """A kind's connections in Open WebUI's names; upstream keys only masked."""
    switch, urls_name, keys_name, configs_name = CONNECTION_SETTING_NAMES[kind]
    items = connections(kind)
    config: dict[str, Any] = {switch: api_enabled(kind), urls_name: [c.base_url for c in items]}
    if keys_name:
        config[keys_name] = [c.masked_key for c in items]
    config[configs_name] = {str(c.index): {"enable": c.enabled} for c in items}
    return config


def _enabled_flags(body: dict, name: str, current: list[Connection]) -> dict[str, bool]:
    value = body.get(name)
    if value is None:
        return {str(c.index): c.enabled for c in current}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ServiceError(400, f'{name} must be an object like {{"0": {{"enable": true}}}}.')
    parse_field(name, at_most(MAX_CONNECTIONS, "connections"), value)
    return {index: options.get("enable", True) is not False for index, options in value.items()}


def update_from_open_webui(kind: str, body: dict[str, Any], actor_id: Optional[str]) -> None:
    """Apply Open WebUI's config/update body (any of its fields), all or nothing. A key sent
    back as it was shown (masked) keeps the stored key at that position."""
    switch, urls_name, keys_name, configs_name = CONNECTION_SETTING_NAMES[kind]
    current = connections(kind)
    urls = parse_field(
        urls_name, connection_url_list, body.get(urls_name, [c.base_url for c in current])
    )
    keys = [c.api_key for c in current]
    if keys_name:
        masked = [c.masked_key for c in current]
        sent = parse_field(keys_name, connection_key_list, body.get(keys_name, masked))
        keys = [
            current[i].api_key if i < len(current) and key == current[i].masked_key else key
            for i, key in enumerate(sent)
        ]
    enabled = _enabled_flags(body, configs_name, current)
    items = [
        Connection(kind, i, url, keys[i] if i < len(keys) else "", enabled.get(str(i), True))
        for i, url in enumerate(urls)
    ]
    changes = connection_changes(kind, items)
    if switch in body:
        changes[switch] = body[switch]
    try:
        configuration.save(changes, CONNECTION_SETTINGS, actor_id)
    except SettingError as error:
        raise ServiceError(400, f"{error.name} {error.message}; nothing was saved.") from None
