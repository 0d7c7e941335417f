"""Which models exist and which of them a person may use.

Each enabled connection's model list is cached per process, with how the last attempt to get
it went. A list younger than ``MODELS_CACHE_SECONDS`` (default 30) is used as it is; an older
one is used at once while one background refresh asks that connection again, so a slow or
dead upstream never holds a request up after the first time. Only a connection never asked
before (or ``refresh``) is asked while the request waits, bounded by the model-list timeout.
A connection that fails lists no models and says why (``connection_states``), so a listing
never fails as a whole. Access rules live in the database and are read on every request.
"""

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Optional

import sqlalchemy as sa
from flask import current_app

from webui.core.catalog import OLLAMA
from webui.core.parsers import group_id_list, parse_field, unique
from webui.core.version_cache import bump_version, cached
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import Group, ModelAccess, now
from webui.security.principal import KeyInfo, Principal
from webui.services import connections, llm_client
from webui.services.connections import Connection
from webui.services.llm_client import UpstreamError

log = logging.getLogger(__name__)

MODEL_NOT_FOUND = "Model not found"
# A model asked for but not listed may have been pulled a moment ago; a list younger than
# this is not asked again for it, so unknown ids cannot make us ask upstreams on every request.
RECHECK_AFTER_SECONDS = 5.0
_lock = threading.Lock()


# --- the model list -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Listing:
    """One connection's models as last asked, and how that attempt went."""

    models: list[dict]
    fetched_at: float  # time.monotonic() of the attempt, for freshness
    checked_at: int  # epoch seconds of the attempt, for people
    error: Optional[str] = None  # why it failed, as people read it; None: it answered
    failing_since: Optional[int] = None  # epoch seconds of the first failure in a row

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(eq=False)
class ModelCache:
    """Per app and process: each enabled connection's last listing, by its fingerprint."""

    listings: dict[tuple, Listing] = field(default_factory=dict)
    refreshing: set[tuple] = field(default_factory=set)  # asked in the background right now
    generation: int = 0  # forget_models counts up: answers asked for before it are not kept
    combined: tuple = ((), [])  # (listings, their models): the last union, reused while equal


def _cache() -> ModelCache:
    """This app's cache in this process."""
    cache = current_app.extensions.get("webui.models_cache")
    if cache is None:
        cache = current_app.extensions.setdefault("webui.models_cache", ModelCache())
    return cache


def _fingerprint(conn: Connection) -> tuple:
    # A changed URL or key makes a new entry; the key itself is not kept.
    return (conn.kind, conn.index, conn.base_url, _key_digest(conn.api_key))


@functools.lru_cache(maxsize=64)
def _key_digest(api_key: str) -> str:
    # Asked on every listing; the connections' keys change only when an admin saves them.
    return hashlib.sha256(api_key.encode()).hexdigest()


def _attempt(conn: Connection, timeout: float) -> Listing:
    """Ask one connection for its models; a failure is an empty list with its reason."""
    try:
        models = llm_client.list_models(conn, timeout)
    except UpstreamError as error:
        log.warning(
            "skipping %s (%s) in the model list: %s", conn.label, conn.base_url, error.detail
        )
        return _failed(error.detail)
    return Listing(models, time.monotonic(), int(time.time()))


def _failed(detail: str) -> Listing:
    """A failed attempt: no models, and why."""
    moment = int(time.time())
    return Listing([], time.monotonic(), moment, detail, failing_since=moment)


def _keep(cache: ModelCache, key: tuple, listing: Listing, generation: int) -> None:
    """Store a connection's new listing; a failure after a failure keeps when they began."""
    with _lock:
        if cache.generation != generation:
            return  # forget_models ran meanwhile: this answer may predate what changed
        previous = cache.listings.get(key)
        if not listing.ok and previous is not None and not previous.ok:
            listing = replace(listing, failing_since=previous.failing_since)
        cache.listings[key] = listing


def _fetch_now(cache: ModelCache, pairs: list[tuple[Connection, tuple]]) -> dict[tuple, Listing]:
    """Ask these connections at once, wait for them (bounded by the model-list timeout) and
    keep the answers."""
    timeout = llm_client.model_list_timeout()
    generation = cache.generation
    with ThreadPoolExecutor(max_workers=min(8, len(pairs))) as pool:
        fetched = dict(pool.map(lambda pair: (pair[1], _attempt(pair[0], timeout)), pairs))
    for key, listing in fetched.items():
        _keep(cache, key, listing, generation)
    return fetched


def _refresh_later(cache: ModelCache, conn: Connection, key: tuple) -> None:
    """Ask one connection again in the background, unless that is already under way."""
    with _lock:
        if key in cache.refreshing:
            return
        cache.refreshing.add(key)
    # Everything the thread needs is passed in: it runs without an app context.
    args = (cache, conn, key, llm_client.model_list_timeout(), cache.generation)
    thread = threading.Thread(target=_refresh, args=args, name="model-list-refresh", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # no thread to be had now (interpreter shutting down): a later try
        with _lock:
            cache.refreshing.discard(key)


def _refresh(cache: ModelCache, conn: Connection, key: tuple, timeout: float, generation: int):
    """The background refresh itself (a thread, or a greenlet under gevent)."""
    try:
        _keep(cache, key, _attempt(conn, timeout), generation)
    finally:
        with _lock:
            cache.refreshing.discard(key)


def _combined(cache: ModelCache, listings: list[Listing]) -> list[dict]:
    """The listings' models in connection order, the first connection listing an id owning
    it; the same list while the listings are the same, so /api/models reuses its JSON."""
    last_listings, last_models = cache.combined
    if tuple(listings) == last_listings:  # identity: Listing compares by identity
        return last_models
    models: dict[str, dict] = {}
    for listing in listings:
        for model in listing.models:
            models.setdefault(model["id"], model)
    combined = list(models.values())
    cache.combined = (tuple(listings), combined)
    return combined


def _drop_all_but(cache: ModelCache, keys: list[tuple]) -> None:
    """Forget connections no longer enabled (or changed), so re-enabling one asks it again."""
    with _lock:
        for key in [key for key in cache.listings if key not in keys]:
            del cache.listings[key]


def all_models(refresh: bool = False) -> list[dict]:
    """Every model of every enabled connection, whoever asks; waits only on connections never
    asked before in this process, or on all of them with ``refresh``."""
    cache = _cache()
    keyed = [(conn, _fingerprint(conn)) for conn in connections.enabled_connections()]
    listings = {} if refresh else {key: cache.listings.get(key) for _, key in keyed}
    _refresh_stale(cache, keyed, listings)
    missing = [(conn, key) for conn, key in keyed if listings.get(key) is None]
    if missing:
        listings.update(_fetch_now(cache, missing))
    if len(cache.listings) > len(keyed):
        _drop_all_but(cache, [key for _, key in keyed])
    return _combined(cache, [listings[key] for _, key in keyed])


def _refresh_stale(cache: ModelCache, keyed: list[tuple], listings: dict) -> None:
    """Start a background refresh of each listing older than ``MODELS_CACHE_SECONDS``."""
    ttl = llm_client.config_seconds("MODELS_CACHE_SECONDS", 30.0)
    moment = time.monotonic()
    for conn, key in keyed:
        listing = listings.get(key)
        if listing is not None and moment - listing.fetched_at >= ttl:
            _refresh_later(cache, conn, key)


def recheck_after_miss() -> bool:
    """Ask again, for a model id nobody listed, the connections whose list is older than
    RECHECK_AFTER_SECONDS: those that answered last time while the caller waits, those that
    failed in the background. Whether any was asked while waiting."""
    cache = _cache()
    moment = time.monotonic()
    answered = []
    for conn in connections.enabled_connections():
        key = _fingerprint(conn)
        listing = cache.listings.get(key)
        if listing is None or moment - listing.fetched_at < RECHECK_AFTER_SECONDS:
            continue
        if listing.ok:
            answered.append((conn, key))
        else:
            _refresh_later(cache, conn, key)
    if answered:
        _fetch_now(cache, answered)
    return bool(answered)


def forget_models() -> None:
    """Drop the cached lists, e.g. after an admin pulled or deleted a model."""
    with _lock:
        cache = _cache()
        cache.generation += 1
        cache.listings.clear()


@dataclass(frozen=True)
class ConnectionState:
    """How an enabled connection's model list went last time, for people."""

    label: str  # names the connection without its URL or key
    ok: bool
    detail: str  # why it is not answering, as people read it; empty when it answered
    since: int  # epoch seconds: when it answered, or since when it has not
    model_count: int


def connection_states() -> list[ConnectionState]:
    """Each enabled connection's state, asking those never asked before in this process."""
    all_models()
    cache = _cache()
    states = []
    for conn in connections.enabled_connections():
        listing = cache.listings.get(_fingerprint(conn))
        if listing is not None:  # None only when forget_models ran a moment ago
            states.append(
                ConnectionState(
                    conn.label,
                    listing.ok,
                    listing.error or "",
                    listing.failing_since or listing.checked_at,
                    len(listing.models),
                )
            )
    return states


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


def key_allows(key: Optional[KeyInfo], model_id: str) -> bool:
    """Whether the request's key (None: a browser) may use the model: a key limited to some
    models allows only those, within what its owner may use. Ollama's "llama3" also names
    "llama3:latest"."""
    if key is None or not key.allowed_models:
        return True
    return model_id in key.allowed_models or model_id.removesuffix(":latest") in key.allowed_models


def usable_models(user: Principal, refresh: bool = False) -> list[dict]:
    models = all_models(refresh)
    if not user.is_admin:
        rules = usable_rules()
        models = [model for model in models if may_use(user, model["id"], rules)]
    if user.key is not None and user.key.allowed_models:
        models = [model for model in models if key_allows(user.key, model["id"])]
    return models


def find_usable_model(user: Principal, model_id: Any, kind: Optional[str] = None) -> dict:
    """The model the caller asked for, or 400 "Model not found" (also when its owner may not
    use it); 403 naming it when the owner may, but the request's key is limited to others."""
    if not isinstance(model_id, str) or not model_id:
        raise ServiceError(400, MODEL_NOT_FOUND)
    model = _lookup(all_models(), model_id, kind)
    if model is None and recheck_after_miss():
        model = _lookup(all_models(), model_id, kind)
    if model is None or not may_use(user, model["id"], usable_rules()):
        raise ServiceError(400, MODEL_NOT_FOUND)
    if not key_allows(user.key, model["id"]):
        raise ServiceError(
            403,
            f"This API key may not use the model {model['id']!r}: it is not in the key's "
            "allowed models.",
        )
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
    group_ids = unique(parse_field("group_ids", group_id_list, group_ids))
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
