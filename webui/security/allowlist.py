"""Which paths an API key may call: Open WebUI's endpoint allowlist rule."""

from collections.abc import Iterable


def is_path_allowed(path: str, entries: Iterable[str]) -> bool:
    """An entry allows itself and every path below it; an entry ending in '/' allows only
    itself. Case-sensitive; the query string is not part of the path."""
    for entry in entries:
        if path == entry:
            return True
        if not entry.endswith("/") and path.startswith(entry + "/"):
            return True
    return False
