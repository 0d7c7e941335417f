"""The administrator's inventory of every API key: filters, request counts, revocation."""

from dataclasses import dataclass
from typing import Any, Optional

import sqlalchemy as sa

from webui.core import audit
from webui.core.parsers import parse_bool, parse_field, query_number
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import ApiKey, Usage, User, now
from webui.services import key_usage, users

DAY = 86400
MAX_UNUSED_DAYS = 36500
FILTER_NAMES = ("user_id", "unused_days", "expired", "disabled", "page", "per_page", "sort")
# owner: by owner email, then name; usage and tokens: the busiest keys of the last 30 days first.
SORTS = ("owner", "usage", "tokens")


@dataclass
class KeyFilters:
    user_id: Optional[str] = None
    unused_days: Optional[int] = None
    expired: Optional[bool] = None
    disabled: Optional[bool] = None  # by the dormancy policy
    page: int = 1
    per_page: int = 100
    sort: str = "owner"


def parse_filters(args) -> KeyFilters:
    """Validate query parameters (a dict-like of strings); 400 naming the bad one."""
    unknown = set(args) - set(FILTER_NAMES)
    if unknown:
        raise ServiceError(
            400, f"Unknown filter {sorted(unknown)[0]!r}: use {', '.join(FILTER_NAMES)}."
        )
    user_id = args.get("user_id") or None
    if user_id is not None and db.session.get(User, user_id) is None:
        raise ServiceError(400, "user_id: there is no user with this id.")
    expired = args.get("expired") or None
    if expired is not None:
        expired = parse_field(
            "expired (true: only expired keys; false: keys that work)", parse_bool, expired
        )
    disabled = args.get("disabled") or None
    if disabled is not None:
        disabled = parse_field(
            "disabled (true: only keys disabled for lack of use; false: the others)",
            parse_bool,
            disabled,
        )
    unused = args.get("unused_days") or None
    sort = args.get("sort") or "owner"
    if sort not in SORTS:
        raise ServiceError(400, f"sort must be one of {', '.join(SORTS)}, not {sort!r}.")
    return KeyFilters(
        user_id=user_id,
        unused_days=None
        if unused is None
        else query_number(args, "unused_days", 0, 1, MAX_UNUSED_DAYS),
        expired=expired,
        disabled=disabled,
        page=query_number(args, "page", 1, 1, 1_000_000),
        per_page=query_number(args, "per_page", 100, 1, 1000),
        sort=sort,
    )


def _conditions(filters: KeyFilters) -> list:
    at = now()
    conditions = []
    if filters.user_id:
        conditions.append(ApiKey.user_id == filters.user_id)
    if filters.unused_days:
        # Unused for N days: not used since the cutoff, and (if never used) older than it.
        cutoff = at - filters.unused_days * DAY
        conditions.append(sa.func.coalesce(ApiKey.last_used_at, ApiKey.created_at) <= cutoff)
    is_expired = sa.and_(ApiKey.expires_at.is_not(None), ApiKey.expires_at <= at)
    if filters.expired is True:
        conditions.append(is_expired)
    elif filters.expired is False:
        conditions.append(sa.not_(is_expired))
    if filters.disabled is not None:
        conditions.append(
            ApiKey.disabled_at.is_not(None) if filters.disabled else ApiKey.disabled_at.is_(None)
        )
    return conditions


def search(filters: KeyFilters) -> tuple[list[tuple[ApiKey, User]], int]:
    """One page of keys with their owners (owner email, then name), and the total."""
    conditions = _conditions(filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey).where(*conditions))
    query = sa.select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(*conditions)
    rows = db.session.execute(
        _sorted(query, filters.sort)
        .order_by(User.email, ApiKey.name)
        .limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    ).all()
    return [(api_key, user) for api_key, user in rows], total


def _sorted(query, sort: str):
    """Busiest first by the last 30 days' usage, from one grouped subquery joined in."""
    if sort == "owner":
        return query
    recent = key_usage.recent_totals(key_usage.last_30_days_start()).subquery()
    requests = sa.func.coalesce(recent.c.requests, 0)
    tokens = sa.func.coalesce(recent.c.tokens, 0)
    busiest = (requests, tokens) if sort == "usage" else (tokens, requests)
    return query.outerjoin(recent, recent.c.key_id == ApiKey.id).order_by(
        *(column.desc() for column in busiest)
    )


def request_counts(key_ids: list[str]) -> dict[str, int]:
    """Chat completions recorded for each key in the usage table (one grouped query)."""
    counts = (
        dict(
            db.session.execute(
                sa.select(Usage.api_key_id, sa.func.count())
                .where(Usage.api_key_id.in_(key_ids))
                .group_by(Usage.api_key_id)
            ).all()
        )
        if key_ids
        else {}
    )
    return {key_id: counts.get(key_id, 0) for key_id in key_ids}


def service_owner_names(rows: list[tuple[ApiKey, User]]) -> dict[str, str]:
    """Owner id → name for the service accounts among a page's key owners (one query)."""
    return users.names_by_id({user.owner_id for _, user in rows if user.owner_id})


def owner_json(user: User, owner_names: dict[str, str]) -> dict[str, Any]:
    """Who a key belongs to; a service account also names the person who answers for it."""
    shown = {"id": user.id, "name": user.name, "email": user.email, "is_service": user.is_service}
    if user.is_service:
        owner_id = user.owner_id
        shown["owner"] = {"id": owner_id, "name": owner_names.get(owner_id)} if owner_id else None
    return shown


def item_json(
    api_key: ApiKey, user: User, request_count: Optional[int], owner_names: dict[str, str]
) -> dict[str, Any]:
    return {
        **api_key.to_dict(),
        "rate_limit_per_minute": api_key.rate_limit_per_minute,
        "user": owner_json(user, owner_names),
        "last_used_ip": api_key.last_used_ip,
        "request_count": request_count,
    }


def get_key_or_404(key_id: str) -> ApiKey:
    api_key = db.session.get(ApiKey, key_id)
    if api_key is None:
        raise ServiceError(404, "API key not found.")
    return api_key


def count_keys(user_id: Optional[str] = None) -> int:
    query = sa.select(sa.func.count()).select_from(ApiKey)
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    return db.session.scalar(query)


def _revoke(where) -> int:
    """Delete matching keys, one key.revoked event each, in one transaction."""
    revoked = list(db.session.scalars(sa.select(ApiKey).where(where)))
    for api_key in revoked:
        audit.key_deleted(api_key, action="key.revoked")
        db.session.delete(api_key)
    db.session.commit()
    return len(revoked)


def revoke(api_key: ApiKey) -> None:
    _revoke(ApiKey.id == api_key.id)


def revoke_user_keys(user: User) -> int:
    return _revoke(ApiKey.user_id == user.id)


def revoke_every_key() -> int:
    return _revoke(sa.true())
