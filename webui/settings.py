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
from webui.models import SettingRow, new_id
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


# Every save also writes a new random token under this key, in the same transaction.
# A worker keeps the values it last read with the token they belong to and reuses them
# while the database still holds that token: one tiny read (or none, when the guard's key
# lookup brought the token) instead of the whole table, and never stale, because the
# token is read from the database on every request.
VERSION_KEY = "_version"
_MISSING = object()
_VERSION_READ = sa.select(SettingRow.value).where(SettingRow.key == VERSION_KEY)


def version_column():
    """The settings version as a column, so a query the request makes anyway can bring it."""
    return _VERSION_READ.scalar_subquery().label("settings_version")


def note_version(version: Any) -> None:
    """Hand over a version read with another query (the guard's key lookup)."""
    if "_settings" not in g:
        g._settings_version = version


def _kept(name: str, version: Any, load: Callable[[], Any]) -> Any:
    """``load()``, kept per worker under ``version`` until the database holds another.
    No version yet (nothing ever saved): nothing to trust, load every time."""
    if version is None:
        return load()
    store = current_app.extensions.setdefault("webui.version_cache", {})
    entry = store.get(name)
    if entry is None or entry[0] != version:
        entry = store[name] = (version, load())
    return entry[1]


def _read_values() -> dict[str, Any]:
    """Every setting's value: the initial ones overlaid with those saved."""
    rows = db.session.execute(sa.select(SettingRow.key, SettingRow.value)).all()
    values = {**current_app.config["SETTINGS_INITIAL"]}
    values.update((key, value) for key, value in rows if key in REGISTRY)
    return values


def _values() -> dict[str, Any]:
    """This request's values (shared between requests: never mutate them)."""
    values = g.get("_settings")
    if values is None:
        version = g.pop("_settings_version", _MISSING)
        if version is _MISSING:
            version = db.session.scalar(_VERSION_READ)
        values = g._settings = _kept("settings", version, _read_values)
        g._settings_version_now = version
    return values


def cached(name: str, load: Callable[[], Any]) -> Any:
    """Data derived from settings or changed only together with a save (``bump_version``),
    kept per worker under the version this request read from the database; never stale."""
    _values()
    return _kept(name, g._settings_version_now, load)


def bump_version() -> None:
    """Part of the caller's transaction: other workers reload from their next request."""
    row = db.session.get(SettingRow, VERSION_KEY)
    if row is None:
        db.session.add(SettingRow(key=VERSION_KEY, value=new_id()))
    else:
        row.value = new_id()


def get_setting(name: str) -> Any:
    return _values()[name]


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
    bump_version()
    db.session.commit()
    g.pop("_settings", None)  # this request's later reads see the saved values
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
