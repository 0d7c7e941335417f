"""The app's own API routes, for choosing and previewing endpoint allowlists: the admin's
global list and a key's own list are both made of these paths."""

from dataclasses import dataclass

from flask import current_app

from webui.errors import is_api_path
from webui.security.allowlist import instance_allowlist, is_path_allowed
from webui.security.permissions import access_of, declared_refusal
from webui.security.principal import Principal

# The chooser's areas, in the order shown; an entry belongs to the first area with a prefix
# that allows it, so an area's more specific prefixes must not be claimed by an earlier one.
AREAS = [
    (
        "Chat",
        [
            "/api/chat",
            "/api/v1/chat",
            "/openai/chat",
            "/ollama/api/chat",
            "/ollama/api/generate",
            "/ollama/v1/chat",
        ],
    ),
    (
        "Models",
        [
            "/api/models",
            "/api/v1/models",
            "/openai/models",
            "/ollama/api/tags",
            "/ollama/api/show",
            "/ollama/api/ps",
            "/ollama/api/create",
            "/ollama/api/delete",
            "/ollama/api/pull",
            "/ollama/v1/models",
        ],
    ),
    (
        "Embeddings",
        [
            "/api/embeddings",
            "/api/v1/embeddings",
            "/ollama/api/embed",
            "/ollama/api/embeddings",
            "/ollama/v1/embeddings",
        ],
    ),
    ("Saved chats", ["/api/v1/chats"]),
    ("Files", ["/api/v1/files"]),
    ("Knowledge", ["/api/v1/knowledge", "/api/v1/retrieval/process", "/api/v1/retrieval/query"]),
    (
        "Your account",
        [
            "/api/v1/auths/api_key",
            "/api/v1/auths/api_keys",
            "/api/v1/auths/signin",
            "/api/v1/auths/signout",
            "/api/v1/auths/signup",
            "/api/v1/auths/update",
            "/api/v1/users/groups",
            "/api/v1/users/permissions",
        ],
    ),
    (
        "Administration",
        [
            "/api/v1/audit",
            "/api/v1/auths/admin",
            "/api/v1/auths/add",
            "/api/v1/groups",
            "/api/v1/users",
            "/api/v1/retrieval/config",
            "/ollama/config",
            "/ollama/verify",
            "/openai/config",
            "/openai/verify",
        ],
    ),
    ("Server status", ["/health", "/ready", "/api/version", "/api/config", "/ollama"]),
]
OTHER_AREA = "Other"

# What each entry is for, in words; an entry without one shows its path only.
DESCRIPTIONS = {
    "/api/chat/completions": "Chat completions (Open WebUI path)",
    "/api/v1/chat/completions": "Chat completions",
    "/openai/chat/completions": "Chat completions (OpenAI-style path)",
    "/ollama/api/chat": "Chat (Ollama API)",
    "/ollama/api/generate": "Generate text (Ollama API)",
    "/ollama/v1/chat/completions": "Chat completions (Ollama's OpenAI-style path)",
    "/api/models": "List models (Open WebUI path)",
    "/api/models/base": "List base models",
    "/api/v1/models": "List models",
    "/openai/models": "List OpenAI-connection models",
    "/ollama/api/tags": "List Ollama models",
    "/ollama/api/show": "Show an Ollama model's details",
    "/ollama/api/ps": "Models loaded in Ollama",
    "/ollama/api/create": "Create an Ollama model",
    "/ollama/api/delete": "Delete an Ollama model",
    "/ollama/api/pull": "Download an Ollama model",
    "/ollama/v1/models": "List Ollama models (OpenAI-style path)",
    "/api/embeddings": "Embeddings (Open WebUI path)",
    "/api/v1/embeddings": "Embeddings",
    "/ollama/api/embed": "Embeddings (Ollama API)",
    "/ollama/api/embeddings": "Embeddings (Ollama's older API)",
    "/ollama/v1/embeddings": "Embeddings (Ollama's OpenAI-style path)",
    "/api/v1/chats": "Saved chats: list, read, change and delete",
    "/api/v1/chats/all": "Every saved chat",
    "/api/v1/chats/all/archived": "Every archived chat",
    "/api/v1/chats/all/tags": "Every chat tag",
    "/api/v1/chats/archive/all": "Archive every chat",
    "/api/v1/chats/archived": "Archived chats",
    "/api/v1/chats/archived/count": "Count archived chats",
    "/api/v1/chats/import": "Import chats",
    "/api/v1/chats/list": "List chats",
    "/api/v1/chats/new": "Start a saved chat",
    "/api/v1/chats/pinned": "Pinned chats",
    "/api/v1/chats/search": "Search chats",
    "/api/v1/chats/tags": "Chats by tag",
    "/api/v1/chats/unarchive/all": "Unarchive every chat",
    "/api/v1/files": "Files: upload, list, read, download and delete",
    "/api/v1/files/all": "Delete all your files",
    "/api/v1/files/count": "Count files",
    "/api/v1/files/search": "Search files",
    "/api/v1/files/user/count": "Count your own files",
    "/api/v1/files/user/search": "Search your own files",
    "/api/v1/knowledge": "Knowledge collections: list, read, change and add files",
    "/api/v1/knowledge/create": "Create a knowledge collection",
    "/api/v1/knowledge/search": "Search knowledge collections",
    "/api/v1/retrieval/process/file": "Index a file for search",
    "/api/v1/retrieval/process/files/batch": "Index several files for search",
    "/api/v1/retrieval/process/text": "Index text for search",
    "/api/v1/retrieval/query/collection": "Search collections (retrieval)",
    "/api/v1/retrieval/query/doc": "Search one document (retrieval)",
    "/api/v1/auths": "Who am I (and every path below /api/v1/auths)",
    "/api/v1/auths/api_key": "Your default key",
    "/api/v1/auths/api_keys": "List your keys",
    "/api/v1/auths/signin": "Sign in",
    "/api/v1/auths/signout": "Sign out",
    "/api/v1/auths/signup": "Sign up",
    "/api/v1/auths/update/password": "Change your password",
    "/api/v1/auths/update/profile": "Change your profile",
    "/api/v1/users/groups": "Your groups",
    "/api/v1/users/permissions": "Your permissions",
    "/health": "Health check",
    "/health/db": "Database health check",
    "/ready": "Readiness check",
    "/api/version": "Server version",
    "/ollama": "Ollama: its status and everything below /ollama",
    "/ollama/api/version": "Ollama version",
    "/api/config": "Public server configuration",
    "/api/v1/audit": "Audit trail",
    "/api/v1/auths/add": "Add a user",
    "/api/v1/auths/admin/api_keys": "Every user's keys",
    "/api/v1/auths/admin/config": "Authentication settings",
    "/api/v1/groups": "Groups",
    "/api/v1/groups/create": "Create a group",
    "/api/v1/groups/id": "Read and change a group",
    "/api/v1/retrieval/config": "Retrieval settings",
    "/api/v1/users": "People (for admins), and your own groups and permissions",
    "/api/v1/users/all": "Every user",
    "/api/v1/users/default/permissions": "Default permissions",
    "/api/v1/users/default/permissions/defaults": "Built-in default permissions",
    "/api/v1/users/search": "Search users",
    "/ollama/config": "Ollama connection settings",
    "/ollama/config/update": "Change Ollama connection settings",
    "/ollama/verify": "Test an Ollama connection",
    "/openai/config": "OpenAI connection settings",
    "/openai/config/update": "Change OpenAI connection settings",
    "/openai/verify": "Test an OpenAI connection",
}


@dataclass(frozen=True)
class EndpointChoice:
    path: str
    description: str


def api_rules() -> list:
    """The app's API URL rules (not the catch-all that answers for the routes webui leaves
    out)."""
    return [
        rule
        for rule in current_app.url_map.iter_rules()
        if is_api_path(rule.rule) and rule.endpoint != "api.not_provided"
    ]


def api_routes() -> list[str]:
    """The app's API route patterns, e.g. '/api/v1/files/<file_id>'."""
    return sorted({rule.rule for rule in api_rules()})


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


# --- what a person's keys can reach ------------------------------------------------------


def key_routes(owner: Principal) -> list[str]:
    """The route patterns a key of ``owner`` may call, as the guard's view declarations
    decide (admin-only routes, permissions, browser-only actions)."""
    views = current_app.view_functions
    return sorted(
        {
            rule.rule
            for rule in api_rules()
            if declared_refusal(owner, access_of(views.get(rule.endpoint)), by_key=True) is None
        }
    )


def rule_meets(rule: str, entry: str) -> bool:
    """Whether some path of the route pattern ``rule`` is one that ``entry`` allows."""
    wanted = entry.split("/")
    parts = rule.split("/")
    exact = entry.endswith("/")  # such an entry allows only itself
    for at, want in enumerate(wanted):
        if at >= len(parts):
            return False
        part = parts[at]
        if part.startswith("<path:"):
            return True  # matches whatever the rest is
        if part != want and not (part.startswith("<") and want):
            return False
    return len(parts) == len(wanted) if exact else True


def narrower(entry: str, other: str) -> str | None:
    """The entry whose paths both entries allow (the one below the other), or None when they
    share no path."""
    if is_path_allowed(entry, [other]):
        return entry
    if is_path_allowed(other, [entry]):
        return other
    return None


def can_match(entry: str, routes: list[str], instance_list: list[str] | None) -> bool:
    """Whether a key holding ``entry`` could ever be let through to one of ``routes`` by the
    administrator's list too (None: no such list)."""
    if instance_list is None:
        reachable = [entry]
    else:
        reachable = [p for other in instance_list if (p := narrower(entry, other)) is not None]
    return any(rule_meets(rule, path) for path in reachable for rule in routes)


def unmatchable_entries(owner: Principal, entries: list[str] | None) -> list[str]:
    """The entries of a key's list that can never let a request through: the administrator's
    list blocks them, or they lead only to routes the owner's keys may not call."""
    routes = key_routes(owner)
    instance_list = instance_allowlist()
    return [entry for entry in entries or [] if not can_match(entry, routes, instance_list)]


def area_of(entry: str) -> str:
    if entry == "/api/v1/auths":
        return "Your account"  # the one entry above both your account and administration
    for area, prefixes in AREAS:
        if is_path_allowed(entry, prefixes):
            return area
    return OTHER_AREA


def reachable_choices(owner: Principal) -> list[str]:
    """The chooser's entries that a key of ``owner`` could ever use."""
    routes = key_routes(owner)
    instance_list = instance_allowlist()
    return [entry for entry in endpoint_choices() if can_match(entry, routes, instance_list)]


def grouped_choices(entries: list[str]) -> list[tuple[str, list[EndpointChoice]]]:
    """``entries`` by area, in the areas' order, each with its description."""
    order = [area for area, _ in AREAS] + [OTHER_AREA]
    groups: dict[str, list[EndpointChoice]] = {area: [] for area in order}
    for entry in entries:
        groups[area_of(entry)].append(EndpointChoice(entry, DESCRIPTIONS.get(entry, entry)))
    return [(area, choices) for area, choices in groups.items() if choices]
