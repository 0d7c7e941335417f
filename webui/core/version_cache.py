"""The settings version token and the per-worker cache keyed by it.

Every settings save (and every change that derived data depends on, such as a model
access rule) writes a new random token in the same transaction. A worker keeps what it
last loaded together with the token it belongs to, and reuses it while the database
still holds that token: one tiny read per request (or none, when the guard's key lookup
brought the token along), and never stale, because the token is read on every request.
"""

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app, g

from webui.extensions import db
from webui.models import SettingRow, new_id

VERSION_KEY = "_version"
_MISSING = object()
_VERSION_READ = sa.select(SettingRow.value).where(SettingRow.key == VERSION_KEY)


def version_column():
    """The version as a column, so a query the request makes anyway can bring it."""
    return _VERSION_READ.scalar_subquery().label("settings_version")


def note_version(version: Any) -> None:
    """Hand over a version read with another query (the guard's lookups)."""
    request_globals = g._get_current_object()
    if "_settings_version_now" not in request_globals:
        request_globals._settings_version_now = version


def current_version() -> Any:
    """This request's version, read from the database at most once per request."""
    return _version_of(g._get_current_object())


def _version_of(request_globals) -> Any:
    version = request_globals.get("_settings_version_now", _MISSING)
    if version is _MISSING:
        version = request_globals._settings_version_now = db.session.scalar(_VERSION_READ)
    return version


def forget_version() -> None:
    """After a save in this request: its later reads must see the new token."""
    g.pop("_settings_version_now", None)


def cached(name: str, load: Callable[[], Any]) -> Any:
    """``load()``, kept per worker under this request's version until the database holds
    another. No version yet (nothing ever saved): nothing to trust, load every time.
    The value is shared between requests: never mutate it."""
    # A request calls this several times: each context-local proxy is read once a call.
    request_globals = g._get_current_object()
    version = _version_of(request_globals)
    if version is None:
        return load()
    store = request_globals.get("_version_cache_store")
    if store is None:
        store = current_app.extensions.setdefault("webui.version_cache", {})
        request_globals._version_cache_store = store
    entry = store.get(name)
    if entry is None or entry[0] != version:
        entry = store[name] = (version, load())
    return entry[1]


def bump_version() -> None:
    """Part of the caller's transaction: other workers reload from their next request."""
    row = db.session.get(SettingRow, VERSION_KEY)
    if row is None:
        db.session.add(SettingRow(key=VERSION_KEY, value=new_id()))
    else:
        row.value = new_id()
