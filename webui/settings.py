"""Persistent settings with Open WebUI's semantics.

The environment variable of the same name gives the initial value; a value an
admin saved in the database wins from then on. Saved values are read from the
database once per request, so a change made in one worker holds in every worker
from the next request on. Each setting is declared once, with its parser.
"""

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Optional

import sqlalchemy as sa
from flask import current_app, g

from webui.config import FALSE_WORDS, TRUE_WORDS
from webui.extensions import db
from webui.models import SettingRow
from webui.services import audit


class SettingError(ValueError):
    """A value that a setting refuses; names the setting."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[Any], Any]  # raises ValueError with a sentence for a person
    default: Any
    label: str
    help: str = ""


REGISTRY: dict[str, Setting] = {}


def register(setting: Setting) -> Setting:
    REGISTRY[setting.name] = setting
    return setting


# --- parsers -----------------------------------------------------------------


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ValueError("must be true or false")


def parse_choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if isinstance(value, str) and value.strip() in choices:
            return value.strip()
        raise ValueError("must be one of " + ", ".join(choices))

    return parse


def parse_optional_positive_int(value: Any) -> Optional[int]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("must be a whole number of at least 1, or empty")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError("must be a whole number of at least 1, or empty") from None
    if number < 1 or number != float(value):
        raise ValueError("must be a whole number of at least 1, or empty")
    return number


def split_endpoints(value: Any) -> list[str]:
    """Validate allowlist entries; accepts a comma-separated string or a list."""
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = value
    else:
        raise ValueError("must be a comma-separated list of paths")
    entries: list[str] = []
    for raw in items:
        entry = raw.strip()
        if not entry:
            continue
        if not entry.startswith("/"):
            raise ValueError(f"'{entry}' must start with /")
        for bad, why in (("?", "a query string"), ("#", "a fragment"), ("*", "a wildcard")):
            if bad in entry:
                raise ValueError(f"'{entry}' must not contain {why} ({bad})")
        if any(ch.isspace() or ord(ch) < 32 for ch in entry):
            raise ValueError(f"'{entry}' must not contain spaces or control characters")
        if entry not in entries:
            entries.append(entry)
    return entries


def parse_endpoints(value: Any) -> str:
    return ",".join(split_endpoints(value))


# --- reading and saving ------------------------------------------------------


def initial_values(environ: Optional[dict] = None) -> dict[str, Any]:
    """Each setting's value before any admin saved one: the environment, else the default."""
    environ = os.environ if environ is None else environ
    values = {}
    for setting in REGISTRY.values():
        raw = environ.get(setting.name)
        if raw is None:
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as error:
            raise SettingError(setting.name, f"environment value {raw!r} {error}") from None
    return values


def _saved_values() -> dict[str, Any]:
    """Every saved value, read once per request (a single small query)."""
    if "_saved_settings" not in g:
        rows = db.session.execute(sa.select(SettingRow.key, SettingRow.value)).all()
        g._saved_settings = {key: value for key, value in rows if key in REGISTRY}
    return g._saved_settings


def get_setting(name: str) -> Any:
    saved = _saved_values()
    if name in saved:
        return saved[name]
    return current_app.config["SETTINGS_INITIAL"][name]


def get_settings(names: Iterable[str]) -> dict[str, Any]:
    return {name: get_setting(name) for name in names}


def validate_changes(changes: dict[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """Parse every change first so an invalid one saves nothing."""
    allowed = set(allowed)
    parsed = {}
    for name, value in changes.items():
        if name not in allowed:
            raise SettingError(name, "is not a setting that can be changed here")
        try:
            parsed[name] = REGISTRY[name].parse(value)
        except ValueError as error:
            raise SettingError(name, str(error)) from None
    return parsed


def save_settings(changes: dict[str, Any], actor_id: Optional[str]) -> dict[str, tuple]:
    """Store already-validated values; returns {name: (old, new)} for what changed."""
    changed = {}
    for name, value in changes.items():
        old = get_setting(name)
        row = db.session.get(SettingRow, name)
        if row is None:
            db.session.add(SettingRow(key=name, value=value, updated_by=actor_id))
        else:
            row.value = value
            row.updated_by = actor_id
        if old != value:
            changed[name] = (old, value)
    audit.settings_changed(changed)
    db.session.commit()
    g.pop("_saved_settings", None)
    return changed


# --- the settings of the foundation; other modules register theirs -----------

register(Setting("ENABLE_SIGNUP", parse_bool, True, "Enable new sign-ups"))
register(
    Setting(
        "DEFAULT_USER_ROLE",
        parse_choice("pending", "user", "admin"),
        "pending",
        "Default role for new sign-ups",
    )
)
register(Setting("ENABLE_API_KEYS", parse_bool, False, "Enable API Keys"))
register(
    Setting(
        "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS",
        parse_bool,
        False,
        "Enable API Key Endpoint Restrictions",
    )
)
register(
    Setting(
        "API_KEYS_ALLOWED_ENDPOINTS",
        parse_endpoints,
        "",
        "Allowed Endpoints",
        "Comma-separated paths, e.g. /api/models,/api/chat/completions",
    )
)
