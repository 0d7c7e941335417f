"""Filters and globals every template may use."""

import time
from urllib.parse import urlencode

from flask import Flask, current_app, g, request, url_for
from markupsafe import Markup, escape

from webui.core.catalog import PERMISSIONS, SECTION_LABELS
from webui.security.permissions import permissions_of
from webui.services import users

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
    ("admin.groups_page", "Groups"),
    ("admin.default_permissions", "Default Permissions"),
    ("admin.api_keys", "API Keys"),
    ("admin.quotas_page", "Quotas"),
    ("admin.audit", "Audit"),
]


def timestamp(value: int | None, empty: str = "never") -> Markup:
    """A stored time for people: ``<time>`` with the UTC text, which static/times.js turns
    into the viewer's local time and a relative hint; never fails, whatever a row holds."""
    if not value:
        return escape(empty)
    try:
        moment = time.gmtime(value)
    except (OverflowError, OSError, ValueError, TypeError):
        return escape(f"{value} (epoch seconds)")
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", moment)
    full = time.strftime("%Y-%m-%d %H:%M:%S UTC", moment)
    text = time.strftime("%Y-%m-%d %H:%M UTC", moment)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(iso, full, text)


def pending_count() -> int:
    """How many accounts wait for approval (for the admin's navigation); counted once a
    request, and only when a template asks."""
    if "pending_count" not in g:
        g.pending_count = users.count_pending()
    return g.pending_count


def page_url(endpoint: str, page: int) -> str:
    """A list page's URL for another page number, keeping the request's filters."""
    query = {name: value for name, value in request.args.items() if value and name != "page"}
    return url_for(endpoint) + "?" + urlencode({**query, "page": page})


def _existing(links: list[tuple[str, str]]) -> list[tuple[str, str]]:
    known = current_app.view_functions
    return [(endpoint, label) for endpoint, label in links if endpoint in known]


def in_section(url: str) -> bool:
    """Whether the request is for the page at url or one below it (/chat/<id> under /chat)."""
    return request.path == url or request.path.startswith(url.rstrip("/") + "/")


def admin_nav_links() -> list[tuple[str, str, bool]]:
    """The admin tabs as (url, label, current); a Jinja global, so macros imported without
    context see it too. The current tab is the one whose URL the request's path starts with
    most closely, so sub-pages (a group, revoking every key) mark their section."""
    links = [(url_for(endpoint), label) for endpoint, label in _existing(ADMIN_NAV)]
    matching = [url for url, _ in links if in_section(url)]
    current = max(matching, key=len, default=None)
    return [(url, label, url == current) for url, label in links]


def catalog_sections() -> list[tuple[str, list]]:
    sections: dict[str, list] = {}
    for name, permission in PERMISSIONS.items():
        sections.setdefault(name.partition(".")[0], []).append((name, permission))
    return [(SECTION_LABELS.get(key, key.title()), items) for key, items in sections.items()]


def template_globals() -> dict:
    principal = g.get("principal")
    return {
        "viewer": principal,
        "viewer_permissions": permissions_of(principal) if principal is not None else {},
        "nav_links": _existing(NAV_LINKS),
        "catalog_sections": catalog_sections(),
        "page_url": page_url,
    }


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(timestamp, "timestamp")
    app.context_processor(template_globals)
    app.jinja_env.globals.update(
        admin_nav_links=admin_nav_links,
        in_section=in_section,
        signups_open=users.signups_open,
        pending_count=pending_count,
    )
