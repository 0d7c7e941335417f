"""Which paths an API key may call: Open WebUI's endpoint allowlist rule."""

from collections.abc import Iterable

from webui.core.parsers import split_endpoints
from webui.core.settings import get_setting


def is_path_allowed(path: str, entries: Iterable[str]) -> bool:
    """An entry allows itself and every path below it; an entry ending in '/' allows only
    itself. Case-sensitive; the query string is not part of the path."""
    for entry in entries:
        if path == entry:
            return True
        if not entry.endswith("/") and path.startswith(entry + "/"):
            return True
    return False


def instance_allowlist() -> list[str] | None:
    """The administrator's list of paths keys may call, or None when endpoint restrictions
    are off (keys may then call every path)."""
    if not get_setting("ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS"):
        return None
    return split_endpoints(get_setting("API_KEYS_ALLOWED_ENDPOINTS"))
