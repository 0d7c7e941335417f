"""The settings store, with Open WebUI's semantics.

The environment gives each setting's first value; a value an admin saved in the database
wins from then on. Saved values are kept per worker under the settings version
(``version_cache``), so a change made in one worker holds in every worker from the next
request on. Saving returns what changed: the caller records it in the audit trail.
"""

import os
from collections.abc import Iterable
from typing import Any, Optional

import sqlalchemy as sa
from flask import current_app

from webui.core.catalog import SETTINGS
from webui.core.version_cache import bump_version, cached
from webui.extensions import db
from webui.models import SettingRow


class SettingError(ValueError):
    """A value that a setting refuses; names the setting."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def initial_values(environ: Optional[dict] = None) -> dict[str, Any]:
    """Each setting's value before any admin saved one: the environment, else the default."""
    environ = os.environ if environ is None else environ
    values = {}
    for setting in SETTINGS.values():
        raw = environ.get(setting.name)
        if raw is None:
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as error:
            raise SettingError(setting.name, f"environment value {raw!r} {error}") from None
    return values


def _read_values() -> dict[str, Any]:
    """Every setting's value: the initial ones overlaid with those saved."""
    rows = db.session.execute(sa.select(SettingRow.key, SettingRow.value)).all()
    values = {**current_app.config["SETTINGS_INITIAL"]}
    values.update((key, value) for key, value in rows if key in SETTINGS)
    return values


def get_setting(name: str) -> Any:
    return cached("settings", _read_values)[name]


def get_settings(names: Iterable[str]) -> dict[str, Any]:
    values = cached("settings", _read_values)
    return {name: values[name] for name in names}


def validate_changes(changes: dict[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """Parse every change first so an invalid one saves nothing."""
    allowed = set(allowed)
    parsed = {}
    for name, value in changes.items():
        if name not in allowed:
            raise SettingError(name, "is not a setting that can be changed here")
        try:
            parsed[name] = SETTINGS[name].parse(value)
        except ValueError as error:
            raise SettingError(name, str(error)) from None
    return parsed


def stage_settings(changes: dict[str, Any], actor_id: Optional[str]) -> dict[str, tuple]:
    """Add already-validated values to the session and bump the version; the caller commits
    (with its audit events). Returns {name: (old, new)} for what changed."""
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
    bump_version()
    return changed
