"""The app's own API routes, for choosing and previewing endpoint allowlists: the admin's
global list and a key's own list are both made of these paths."""

from flask import current_app

from webui.errors import is_api_path
from webui.security.allowlist import is_path_allowed


def api_routes() -> list[str]:
    """The app's API route patterns, e.g. '/api/v1/files/<file_id>' (not the catch-all that
    answers for the routes webui leaves out)."""
    return sorted(
        {
            rule.rule
            for rule in current_app.url_map.iter_rules()
            if is_api_path(rule.rule) and rule.endpoint != "api.not_provided"
        }
    )


def sample_path(rule: str) -> str:
    """A concrete path for a rule pattern, to test it against an allowlist entry."""
    return "/".join("x" if part.startswith("<") else part for part in rule.split("/"))


def allowlist_preview(entries: list[str]) -> list[tuple[str, list[str]]]:
    """For each saved entry, the API routes it lets through (empty: it matches none)."""
    routes = api_routes()
    return [
        (entry, [r for r in routes if is_path_allowed(sample_path(r), [entry])])
        for entry in entries
    ]


def endpoint_choices() -> list[str]:
    """Allowlist entries a person can pick: each route cut before its first variable part,
    so '/api/v1/files/<file_id>/content' offers '/api/v1/files' (that path and all below it)."""
    return sorted({rule.split("/<", 1)[0].rstrip("/") or rule for rule in api_routes()})
