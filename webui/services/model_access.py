"""Which models exist and which of them a person may use.

The union of the enabled connections' models is cached per process for a short
time (``MODELS_CACHE_SECONDS``, default 30); ``refresh`` bypasses the cache. An
upstream that fails is skipped and logged, so a listing never fails as a whole.
Access rules live in the database and are read on every request.
"""

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Optional

import sqlalchemy as sa
from flask import current_app

from webui.core.catalog import OLLAMA
from webui.core.version_cache import bump_version, cached
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import Group, ModelAccess, now
from webui.security.principal import Principal
from webui.services import connections, llm_client
from webui.services.connections import Connection
from webui.services.llm_client import UpstreamError

log = logging.getLogger(__name__)

MODEL_NOT_FOUND = "Model not found"
_lock = threading.Lock()


# --- the model list -----------------------------------------------------------------------


def _cache() -> dict:
    """Per app and process: {connections fingerprint: (fetched_at, models)}."""
    return current_app.extensions.setdefault("webui.models_cache", {})


def _fingerprint(conns: list[Connection]) -> tuple:
    # A changed URL, key or switch makes a new entry; the key itself is not kept.
    return tuple((c.kind, c.index, c.base_url, _key_digest(c.api_key)) for c in conns)


@functools.lru_cache(maxsize=64)
def _key_digest(api_key: str) -> str:
    # Asked on every listing; the connections' keys change only when an admin saves them.
    return hashlib.sha256(api_key.encode()).hexdigest()


def _fetch_one(conn: Connection, timeout: float) -> list[dict]:
    try:
        return llm_client.list_models(conn, timeout)
    except UpstreamError as error:
        log.warning(
            "skipping %s (%s) in the model list: %s", conn.label, conn.base_url, error.detail
        )
        return []


def fetch_models(conns: list[Connection]) -> list[dict]:
    """Ask every connection at once; the first connection listing an id owns it."""
    if not conns:
        return []
    timeout = llm_client.model_list_timeout()
    with ThreadPoolExecutor(max_workers=min(8, len(conns))) as pool:
        answers = list(pool.map(lambda conn: _fetch_one(conn, timeout), conns))
    models: dict[str, dict] = {}
    for answer in answers:
        for model in answer:
            models.setdefault(model["id"], model)
    return list(models.values())


def all_models(refresh: bool = False) -> list[dict]:
    """Every model of every enabled connection, whoever asks."""
    conns = connections.enabled_connections()
    key = _fingerprint(conns)
    ttl = llm_client.config_seconds("MODELS_CACHE_SECONDS", 30.0)
    cached = _cache().get(key)
    if not refresh and cached is not None and time.monotonic() - cached[0] < ttl:
        return cached[1]
    models = fetch_models(conns)
    with _lock:
        cache = _cache()
        cache.clear()  # only the current configuration's entry is worth keeping
        cache[key] = (time.monotonic(), models)
    return models


def forget_models() -> None:
    """Drop the cached list, e.g. after an admin pulled or deleted a model."""
    with _lock:
        _cache().clear()


def connection_of(model: dict) -> Connection:
    """The enabled connection that listed the model."""
    for conn in connections.enabled_connections(model["connection_type"]):
        if conn.index == model["connection"]:
            return conn
    raise ServiceError(400, MODEL_NOT_FOUND)


# --- access rules -------------------------------------------------------------------------


def access_rules() -> dict[str, ModelAccess]:
    return {rule.model_id: rule for rule in db.session.scalars(sa.select(ModelAccess))}


@dataclass(frozen=True)
class Rule:
    """A model's access rule as workers cache it (plain data, not a session's row)."""

    public: bool
    group_ids: frozenset


def _load_rules() -> dict[str, Rule]:
    return {
        model_id: Rule(bool(public), frozenset(group_ids or ()))
        for model_id, public, group_ids in db.session.execute(
            sa.select(ModelAccess.model_id, ModelAccess.public, ModelAccess.group_ids)
        )
    }


def usable_rules() -> dict[str, Rule]:
    """The rules, cached per worker under the settings version that ``set_access`` bumps."""
    return cached("model_access.rules", _load_rules)


def may_use(user: Principal, model_id: str, rules: dict[str, Rule]) -> bool:
    """Admins: every model; others: public models and those shared with one of their groups."""
    if user.is_admin:
        return True
    rule = rules.get(model_id)
    return rule is None or rule.public or not user.group_ids.isdisjoint(rule.group_ids or [])


def usable_models(user: Principal, refresh: bool = False) -> list[dict]:
    models = all_models(refresh)
    if user.is_admin:
        return models
    rules = usable_rules()
    return [model for model in models if may_use(user, model["id"], rules)]


def find_usable_model(user: Principal, model_id: Any, kind: Optional[str] = None) -> dict:
    """The model the caller asked for, or 400 "Model not found" (also when it is forbidden)."""
    if not isinstance(model_id, str) or not model_id:
        raise ServiceError(400, MODEL_NOT_FOUND)
    model = _lookup(all_models(), model_id, kind)
    if model is None:
        # The cached list may predate a model pulled a moment ago: look once more.
        model = _lookup(all_models(refresh=True), model_id, kind)
    if model is None or not may_use(user, model["id"], usable_rules()):
        raise ServiceError(400, MODEL_NOT_FOUND)
    return model


def _lookup(models: Iterable[dict], model_id: str, kind: Optional[str]) -> Optional[dict]:
    # Ollama treats "llama3" as "llama3:latest".
    wanted = {model_id, f"{model_id}:latest"} if kind == OLLAMA else {model_id}
    for model in models:
        if model["id"] in wanted and (kind is None or model["connection_type"] == kind):
            return model
    return None


# --- the admin's side ---------------------------------------------------------------------------


def set_access(
    model_id: str, public: bool, group_ids: list[str], actor_id: Optional[str]
) -> ModelAccess:
    """Make a model public, or restrict it to groups (no groups: admins only)."""
    known = set(db.session.scalars(sa.select(Group.id).where(Group.id.in_(group_ids))))
    unknown = [group_id for group_id in group_ids if group_id not in known]
    if unknown:
        raise ServiceError(404, f"No group with id {unknown[0]!r}.")
    rule = db.session.get(ModelAccess, model_id) or ModelAccess(model_id=model_id)
    rule.public = public
    rule.group_ids = [] if public else sorted(known)
    rule.updated_by = actor_id
    rule.updated_at = now()
    db.session.add(rule)
    bump_version()  # workers drop their cached rules from their next request
    db.session.commit()
    return rule
