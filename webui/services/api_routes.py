"""The app's own API routes, for choosing and previewing endpoint allowlists: the admin's
global list and a key's own list are both made of these paths."""

from dataclasses import dataclass

from webui.core.apidoc import TAGS
from webui.security.allowlist import instance_allowlist, is_path_allowed
from webui.security.permissions import declared_refusal
from webui.security.principal import Principal
from webui.services.openapi import DOCUMENTED_METHODS, Route, documented_routes

# Each entry is shown under the tag, and with the summaries, that its routes declare
# (core/apidoc.py), so the chooser, /docs and /openapi.json say the same thing.
OTHER_AREA = "Other"
MOST_SUMMARIES = 3  # an entry over many routes names the first few


@dataclass(frozen=True)
class EndpointChoice:
    path: str
    description: str
    area: str


def api_routes() -> list[str]:
    """The app's documented API route patterns, e.g. '/api/v1/files/<file_id>'."""
    return sorted({route.path for route in documented_routes()})


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
    return sorted(
        {
            route.path
            for route in documented_routes()
            if declared_refusal(owner, route.access, by_key=True) is None
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


def routes_under(entry: str, routes: list[Route]) -> list[Route]:
    """The routes an entry allows, those at the entry itself first."""
    below = [route for route in routes if is_path_allowed(sample_path(route.path), [entry])]
    return sorted(
        below,
        key=lambda route: (
            route.path.rstrip("/") != entry,
            route.path,
            DOCUMENTED_METHODS.index(route.method),
        ),
    )


def describe(entry: str, routes: list[Route]) -> EndpointChoice:
    """The entry with the tag and the summaries its routes declare."""
    covered = routes_under(entry, routes)
    if not covered:
        return EndpointChoice(entry, entry, OTHER_AREA)
    summaries = list(dict.fromkeys(route.operation.summary for route in covered))
    words = "; ".join(summaries[:MOST_SUMMARIES])
    if len(summaries) > MOST_SUMMARIES:
        words += f"; and {len(summaries) - MOST_SUMMARIES} more"
    return EndpointChoice(entry, words, covered[0].operation.tag)


def reachable_choices(owner: Principal) -> list[str]:
    """The chooser's entries that a key of ``owner`` could ever use."""
    routes = key_routes(owner)
    instance_list = instance_allowlist()
    return [entry for entry in endpoint_choices() if can_match(entry, routes, instance_list)]


def grouped_choices(entries: list[str]) -> list[tuple[str, list[EndpointChoice]]]:
    """``entries`` by their routes' tag, in the document's order of tags, each described."""
    routes = documented_routes()
    groups: dict[str, list[EndpointChoice]] = {area: [] for area in [*TAGS, OTHER_AREA]}
    for entry in entries:
        choice = describe(entry, routes)
        groups[choice.area].append(choice)
    return [(area, choices) for area, choices in groups.items() if choices]
