"""Model connections: the upstream model servers an admin configured.

A connection is an OpenAI-compatible API (base URL and an API key) or an Ollama server
(base URL). They are persistent settings with Open WebUI's names; an upstream API key is
stored sealed (``core/secrets.py``), shown to people only masked, and sent only to its
own connection's base URL.
"""

from dataclasses import dataclass, field, replace
from typing import Any, Optional

from webui.core.catalog import CONNECTION_SETTING_NAMES, CONNECTION_SETTINGS, OLLAMA, OPENAI
from webui.core.secrets import mask_key, unseal
from webui.core.settings import get_setting
from webui.core.version_cache import cached
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


def save_connections(kind: str, items: list[Connection], actor_id: Optional[str]) -> None:
    """Store a kind's whole list at once so URLs, keys and options stay aligned."""
    _, urls_name, keys_name, configs_name = CONNECTION_SETTING_NAMES[kind]
    changes: dict[str, Any] = {
        urls_name: [c.base_url for c in items],
        configs_name: {str(i): {"enable": c.enabled} for i, c in enumerate(items)},
    }
    current_keys = [c.api_key for c in connections(kind)]
    new_keys = [c.api_key for c in items]
    if keys_name and new_keys != current_keys:
        changes[keys_name] = new_keys
    configuration.save(changes, CONNECTION_SETTINGS, actor_id)


def reindexed(items: list[Connection]) -> list[Connection]:
    return [replace(c, index=i) for i, c in enumerate(items)]
