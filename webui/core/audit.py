"""Writing and reading the audit trail.

``record`` adds an event to the current session: the service that calls it commits
the event together with the change it describes, so neither exists without the other.
``record_refusal`` is for refused requests, which change nothing else: it commits on
its own, never fails the request, and counts repeats on one row per action, reason and
key or account (throttling): neither the address nor the path makes a new row, so a
flood of bad keys or passwords cannot fill the disk.

Rows never hold a key, a password or an upstream API key: keys appear only as their
visible prefix, sign-in failures name an account only when it exists, secret settings
are recorded without values, and every string in ``detail`` passes ``scrub``. Every
``detail`` is bounded (``bounded_detail``): long lists keep a count and their first
entries, long texts are cut.
"""

import hashlib
import itertools
import json
import logging
import re
from typing import Any, Optional

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request
from sqlalchemy.exc import SQLAlchemyError

from webui.extensions import db
from webui.models import ApiKey, Group, User, now
from webui.models.audit import AuditEvent

log = logging.getLogger(__name__)

THROTTLE_WINDOW = 600  # seconds during which a repeated refusal only increments ``count``
REDACTED = "[redacted]"

ACTIONS = (
    "key.created",
    "key.updated",
    "key.rotated",
    "key.used",
    "key.deleted",
    "key.revoked",
    "key.expired_used",
    "key.denied",
    "key.disabled",
    "key.enabled",
    "settings.changed",
    "permissions.changed",
    "user.role_changed",
    "user.deleted",
    "user.signed_up",
    "user.created",
    "user.service_created",
    "user.owner_changed",
    "group.created",
    "group.updated",
    "group.deleted",
    "signin.succeeded",
    "signin.failed",
    "audit.pruned",
)
FAMILIES = sorted({action.partition(".")[0] for action in ACTIONS})

# Setting names whose values are secrets (upstream API keys, passwords, tokens).
_SECRET_NAME = re.compile(r"(SECRET|PASSWORD|TOKEN|(^|_)API_KEYS?$)")
# Anything shaped like an API key (ours, OpenAI's and most others): never stored.
# user:password@ in a URL, e.g. an upstream base URL.
_URL_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")
_KEY_LIKE = re.compile(r"(sk|pk|rk)-[A-Za-z0-9_\-]{12,}|[A-Za-z0-9]{32,}")


# --- writing ------------------------------------------------------------------


def scrub(value: Any) -> Any:
    """A copy of ``value`` with every key-shaped string replaced (defence in depth)."""
    if isinstance(value, str):
        return _URL_CREDENTIALS.sub(r"\1" + REDACTED + "@", _KEY_LIKE.sub(REDACTED, value))
    if isinstance(value, dict):
        return {str(k): scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value


# (entries kept of a list or mapping, characters kept of a text), tried in turn until the
# detail fits MAX_DETAIL_CHARS of JSON.
DETAIL_LIMITS = ((10, 200), (3, 60))
MAX_DETAIL_CHARS = 4096
MAX_DETAIL_DEPTH = 4
MAX_PLAIN_VALUES = 10  # of a detail too large for every limit: only these, each cut short
CUT = "…"


def bounded_detail(detail: dict) -> dict:
    """``detail`` scrubbed and bounded, as it may be stored: a list longer than the limit
    becomes ``{"count": n, "first": [...]}``, a mapping keeps its first entries and says
    how many more there were under "…", a long text is cut and ends with "…". What still
    does not fit keeps only its top-level plain values."""
    for items, chars in DETAIL_LIMITS:
        bounded = _bounded(detail, items, chars, depth=0, top=True)
        if len(json.dumps(bounded)) <= MAX_DETAIL_CHARS:
            return bounded
    plain = [
        (name, value) for name, value in bounded.items() if not isinstance(value, (dict, list))
    ]
    return {**dict(plain[:MAX_PLAIN_VALUES]), "truncated": True}


def _bounded(value: Any, items: int, chars: int, depth: int, top: bool = False) -> Any:
    """One value of a detail within the limits; entries are dropped before the rest is
    scrubbed (cheap), texts cut only after (a cut must not leave part of a secret)."""
    if isinstance(value, str):
        text = scrub(value)
        return text if len(text) <= chars else text[: chars - 1] + CUT
    if isinstance(value, (list, tuple, dict)) and depth >= MAX_DETAIL_DEPTH:
        return CUT
    if isinstance(value, (list, tuple)):
        kept = [_bounded(item, items, chars, depth + 1) for item in value[:items]]
        return kept if len(value) <= items else {"count": len(value), "first": kept}
    if isinstance(value, dict):
        entries = list(value.items()) if top else list(itertools.islice(value.items(), items))
        bounded = {
            _bounded(str(name), items, chars, depth + 1): _bounded(item, items, chars, depth + 1)
            for name, item in entries
        }
        if len(value) > len(entries):
            bounded[CUT] = f"{len(value) - len(entries)} more"
        return bounded
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _bounded(str(value), items, chars, depth)


def _request_facts() -> dict[str, Optional[str]]:
    if not has_request_context():
        return {"ip": None, "route": None, "actor_id": None}
    principal = g.get("principal")
    return {
        "ip": request.remote_addr,
        "route": request.path[:255],
        "actor_id": principal.id if principal is not None else None,
    }


def _target_id(target: Any) -> Optional[str]:
    """A model's id (flushing a new row so it has one), or the string given."""
    if target is None or isinstance(target, str):
        return target
    if getattr(target, "id", None) is None:
        db.session.flush()
    return target.id


def record(
    action: str, target: Any = None, detail: Optional[dict] = None, actor_id: Optional[str] = None
) -> AuditEvent:
    """Add an event to the session; the caller's commit writes it with its change."""
    facts = _request_facts()
    event = AuditEvent(
        action=action,
        target=_target_id(target),
        detail=bounded_detail(detail) if detail else None,
        ip=facts["ip"],
        route=facts["route"],
        actor_id=actor_id or facts["actor_id"],
        count=1,
    )
    db.session.add(event)
    return event


def _fingerprint(*parts: Optional[str]) -> str:
    return hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).hexdigest()


def record_refusal(
    action: str,
    reason: str,
    target: Optional[str] = None,
    detail: Optional[dict] = None,
    key_prefix: Optional[str] = None,
    actor_id: Optional[str] = None,
) -> None:
    """Record a refused request, or count it on the latest row of the same action, reason
    and target (a key or an account, or none) within the throttle window. The address, the
    path and an unknown key's prefix are those of the row's first refusal: they would let
    whoever changes them write a row per request. Commits; never raises."""
    fingerprint = _fingerprint(action, reason, target)
    window = current_app.config.get("AUDIT_THROTTLE_SECONDS", THROTTLE_WINDOW)
    latest = (
        sa.select(sa.func.max(AuditEvent.id))
        .where(AuditEvent.fingerprint == fingerprint, AuditEvent.ts >= now() - window)
        .scalar_subquery()
    )
    try:
        counted = db.session.execute(
            sa.update(AuditEvent)
            .where(AuditEvent.id == latest)
            .values(count=AuditEvent.count + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not counted:
            event = record(
                action,
                target,
                {"reason": reason, "key_prefix": key_prefix, **(detail or {})},
                actor_id,
            )
            event.fingerprint = fingerprint
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("could not record audit event %s (%s)", action, reason, exc_info=True)


# --- events the services report ------------------------------------------------------


def key_facts(api_key: ApiKey) -> dict[str, Any]:
    return {
        "name": api_key.name,
        "prefix": api_key.prefix,
        "owner_id": api_key.user_id,
        "expires_at": api_key.expires_at,
        "read_only": api_key.read_only,
        "allowed_endpoints": api_key.allowed_endpoints,
        "rate_limit_per_minute": api_key.rate_limit_per_minute,
        "allowed_models": api_key.allowed_models,
        "allowed_networks": api_key.allowed_networks,
        "token_quota": api_key.token_quota,
        "request_quota": api_key.request_quota,
        "quota_period": api_key.quota_period,
    }


def key_created(api_key: ApiKey) -> None:
    record("key.created", api_key, key_facts(api_key))


def key_updated(api_key: ApiKey, changes: dict[str, tuple[Any, Any]]) -> None:
    """Before the changes (column: (old, new)) are applied to the key."""
    record(
        "key.updated",
        api_key,
        {
            "name": api_key.name,
            "prefix": api_key.prefix,
            "owner_id": api_key.user_id,
            "changes": {column: change_of(old, new) for column, (old, new) in changes.items()},
        },
    )


def change_of(old: Any, new: Any) -> dict[str, Any]:
    """A changed value as recorded: old and new, or for a list that stays a list what was
    added and removed and how many entries it has (never both whole lists)."""
    if not (isinstance(old, list) and isinstance(new, list)):
        return {"old": old, "new": new}
    before, after = set(old), set(new)
    return {
        "added": [entry for entry in new if entry not in before],
        "removed": [entry for entry in old if entry not in after],
        "count": len(new),
    }


def key_rotated(api_key: ApiKey, old_prefix: str, old_last_chars: str) -> None:
    """After the new secret is set: both secrets by their visible ends (never a secret), and
    until when the old one keeps working (None: it stopped at once)."""
    record(
        "key.rotated",
        api_key,
        {
            "name": api_key.name,
            "old_prefix": old_prefix,
            "old_last_chars": old_last_chars,
            "prefix": api_key.prefix,
            "last_chars": api_key.last_chars,
            "old_valid_until": api_key.previous_valid_until,
            "owner_id": api_key.user_id,
        },
    )


def key_deleted(api_key: ApiKey, action: str = "key.deleted", reason: Optional[str] = None) -> None:
    """``reason``: why, when it is not the actor's own choice (a leak report)."""
    detail = {"name": api_key.name, "prefix": api_key.prefix, "owner_id": api_key.user_id}
    record(action, api_key.id, {**detail, "reason": reason} if reason else detail)


def key_disabled(api_key, reason: str, unused_days: Optional[int]) -> None:
    """The guard disabled a key (``api_key`` a KeyInfo: the row is not loaded); the owner is
    the actor, as for the key's use."""
    record(
        "key.disabled",
        api_key.id,
        {
            "name": api_key.name,
            "prefix": api_key.prefix,
            "owner_id": api_key.user_id,
            "reason": reason,
            "unused_days": unused_days,
        },
        actor_id=api_key.user_id,
    )


def key_enabled(api_key: ApiKey, was_disabled_at: Optional[int]) -> None:
    record(
        "key.enabled",
        api_key,
        {
            "name": api_key.name,
            "prefix": api_key.prefix,
            "owner_id": api_key.user_id,
            "disabled_at": was_disabled_at,
        },
    )


def key_used(api_key: ApiKey, ip: Optional[str]) -> None:
    """The first use of a key, and use from an address other than the last one; the guard
    calls this only when it updates last-used (at most once a minute per key). A use of the
    previous secret during a rotation's grace period is always recorded then, so an
    administrator sees that the old secret is still in use."""
    old_secret = api_key.old_secret_until is not None
    if api_key.last_used_at is not None and api_key.last_used_ip == ip and not old_secret:
        return
    detail = {
        "prefix": api_key.prefix,
        "first_use": api_key.last_used_at is None,
        "previous_ip": api_key.last_used_ip,
    }
    if old_secret:
        detail["old_secret_until"] = api_key.old_secret_until
    record("key.used", api_key.id, detail, actor_id=api_key.user_id)


def key_refused(prefix: Optional[str], presented: Optional[ApiKey], refusal, limited: bool) -> None:
    """A refused key, as key.expired_used or key.denied with a stable reason (throttled).
    ``prefix`` is a well-formed key's visible prefix, else None: a malformed token may be
    some other secret. ``limited``: answered 429, the address being over the failed-authentication
    limit; the guard then records no further failure from it until the window ends (per
    worker), and the prefix is dropped so that the workers' refusals add to one row."""
    status = refusal.status_code
    action = "key.denied"
    if status == 401 and presented is not None and presented.is_expired():
        action, reason = "key.expired_used", "expired key"
    elif status == 401:
        reason = "unknown or revoked key" if prefix else "malformed key"
    elif status == 429:
        reason = "over the key's own rate limit"
    else:
        reason = _path_free((refusal.get_json(silent=True) or {}).get("detail", f"HTTP {status}"))
    log.info(
        "refused API key %s from %s on %s %s: %s (%s)%s",
        prefix or "(malformed)",
        request.remote_addr,
        request.method,
        request.path,
        reason,
        status,
        "; answered 429: the address is over the failed-authentication limit (its further "
        "failures are refused unrecorded until the window ends)"
        if limited
        else "",
    )
    if limited:
        reason, prefix = reason + "; address over the failed-authentication limit (429)", None
    record_refusal(
        action,
        reason,
        target=presented.id if presented is not None else None,
        detail={"method": request.method, "status": 429 if limited else status},
        key_prefix=prefix,
        actor_id=presented.user_id if presented is not None else None,
    )


def _path_free(detail: str) -> str:
    """A refusal's detail without the path it names ("may not call /api/x"): the reason is
    what makes repeated refusals one row, and a path per request would make a row each."""
    return detail.replace(request.path, "this path")  # an API path, never just "/"


def is_secret_setting(name: str) -> bool:
    """OPENAI_API_KEYS yes; ENABLE_API_KEYS and USER_PERMISSIONS_FEATURES_API_KEYS (switches) no."""
    name = name.upper()
    return bool(_SECRET_NAME.search(name)) and not name.startswith(("ENABLE_", "USER_PERMISSIONS_"))


def settings_changed(changed: dict[str, tuple]) -> None:
    """One event per changed setting: old → new, except for secrets (changed, no values)."""
    for name, (old, new) in changed.items():
        action = (
            "permissions.changed" if name.startswith("USER_PERMISSIONS_") else "settings.changed"
        )
        if is_secret_setting(name):
            record(action, name, {"field": name, "secret": True})
        else:
            record(action, name, {"field": name, "old": old, "new": new})


def role_changed(user: User, role: str) -> None:
    if user.role != role:
        record("user.role_changed", user, {"email": user.email, "old": user.role, "new": role})


def user_deleted(user: User) -> None:
    prefixes = list(db.session.scalars(sa.select(ApiKey.prefix).where(ApiKey.user_id == user.id)))
    record(
        "user.deleted", user.id, {"email": user.email, "role": user.role, "keys_deleted": prefixes}
    )


def signed_up(user: User) -> None:
    """A new account from the sign-up page or API; its owner is the actor."""
    db.session.flush()  # the new row's id, to name it as the actor
    record("user.signed_up", user, {"email": user.email, "role": user.role}, actor_id=user.id)


def user_created(user: User) -> None:
    """An account an administrator made (the request's principal is the actor)."""
    record("user.created", user, {"email": user.email, "role": user.role})


def service_account_created(account: User) -> None:
    """A service account an administrator made (the request's principal is the actor)."""
    record(
        "user.service_created",
        account,
        {"name": account.name, "email": account.email, "owner_id": account.owner_id},
    )


def service_owner_changed(account: User, new_owner_id: str, reason: Optional[str] = None) -> None:
    """Before the change: who answered for the service account, and who does now."""
    detail = {"name": account.name, "old": account.owner_id, "new": new_owner_id}
    record("user.owner_changed", account, {**detail, "reason": reason} if reason else detail)


def service_sign_in_refused(account: User) -> None:
    """Someone tried to sign in as a service account (throttled like failed sign-ins)."""
    record_refusal(
        "signin.failed",
        "service accounts cannot sign in",
        target=account.id,
        detail={"email": account.email},
    )


def group_created(group: Group) -> None:
    record("group.created", group, {"name": group.name, "permissions": group.permissions})


def group_updated(group: Group, values: dict[str, Any]) -> None:
    """Before ``values`` are applied: what changes, and a permissions event when grants do."""
    changes: dict[str, Any] = {}
    for field in ("name", "description"):
        if field in values and values[field] != getattr(group, field):
            changes[field] = {"old": getattr(group, field), "new": values[field]}
    if "members" in values:
        before = {member.id for member in group.members}
        after = {member.id for member in values["members"]}
        if before != after:
            changes["members"] = {
                "added": sorted(after - before),
                "removed": sorted(before - after),
            }
    record("group.updated", group, {"name": group.name, "changes": changes})
    if "permissions" in values and values["permissions"] != (group.permissions or {}):
        record(
            "permissions.changed",
            group,
            {"group": group.name, "old": group.permissions or {}, "new": values["permissions"]},
        )


def group_deleted(group: Group) -> None:
    record("group.deleted", group.id, {"name": group.name})


def audit_pruned(days: int, deleted: int, actor_id: Optional[str] = None) -> None:
    """Events older than ``days`` days were deleted (from the admin page, or the command)."""
    record("audit.pruned", None, {"days": days, "deleted": deleted}, actor_id=actor_id)


def signed_in(user: User) -> None:
    record("signin.succeeded", user, {"email": user.email}, actor_id=user.id)
    db.session.commit()


def sign_in_failed(account: Optional[User]) -> None:
    """Throttled; names the account only if one matched the email typed (which may have
    been a password)."""
    record_refusal(
        "signin.failed",
        "wrong email or password",
        target=account.id if account else None,
        detail={"email": account.email if account else None},
    )
