"""Saving the settings an admin changed: validate all, store, audit, commit together."""

from collections.abc import Iterable
from typing import Any, Optional

from webui.core import audit
from webui.core.settings import stage_settings, validate_changes
from webui.core.version_cache import forget_version
from webui.extensions import db


def save(changes: dict[str, Any], allowed: Iterable[str], actor_id: Optional[str]) -> dict:
    """Store ``changes`` (each a setting in ``allowed``) with one audit event per changed
    value; an invalid value saves nothing (``SettingError``). Returns {name: (old, new)}."""
    changed = stage_settings(validate_changes(changes, allowed), actor_id)
    audit.settings_changed(changed)
    db.session.commit()
    forget_version()  # this request's later reads see the saved values
    return changed
