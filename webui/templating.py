"""Filters and globals every template may use."""

import time

from flask import current_app, g

from webui.security.permissions import CATALOG, SECTION_LABELS, effective_permissions

# (endpoint, label): the main navigation; links whose blueprint is absent are skipped.
NAV_LINKS = [
    ("chat.index", "Chat"),
    ("models.index", "Models"),
    ("workspace.files", "Files"),
    ("workspace.knowledge", "Knowledge"),
]

# (endpoint, label): the Admin Panel's tabs.
ADMIN_NAV = [
    ("admin.settings_general", "General"),
    ("admin.settings_connections", "Connections"),
    ("admin.models", "Models"),
    ("admin.users", "Users"),
    ("groups.index", "Groups"),
    ("groups.default_permissions", "Default Permissions"),
    ("admin.api_keys", "API Keys"),
    ("admin.audit", "Audit"),
]


def timestamp(value: int | None, empty: str = "never") -> str:
    if not value:
        return empty
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(value))


def _existing(links: list[tuple[str, str]]) -> list[tuple[str, str]]:
    known = current_app.view_functions
    return [(endpoint, label) for endpoint, label in links if endpoint in known]


def catalog_sections() -> list[tuple[str, list]]:
    sections: dict[str, list] = {}
    for name, permission in CATALOG.items():
        sections.setdefault(name.partition(".")[0], []).append((name, permission))
    return [(SECTION_LABELS.get(key, key.title()), items) for key, items in sections.items()]


def template_globals() -> dict:
    user = g.get("user")
    return {
        "viewer": user,
        "viewer_permissions": effective_permissions(user) if user is not None else {},
        "nav_links": _existing(NAV_LINKS),
        "admin_nav": _existing(ADMIN_NAV),
        "catalog_sections": catalog_sections(),
    }
