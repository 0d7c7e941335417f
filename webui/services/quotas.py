"""Quotas as people set and read them: an administrator's on people and groups, an owner's
(lower) on a key, and the use of the current period shown on the key page and the admin
inventory. The guard's side (what a request may spend) is ``security/quotas.py``."""

from dataclasses import dataclass
from typing import Any, Optional, Union

import sqlalchemy as sa

from webui.core import audit
from webui.core.parsers import parse_optional_whole_number
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import ApiKey, Group, User
from webui.security import quotas
from webui.security.quotas import DAY, PERIODS, REQUESTS, TOKENS, Quota

MAX_QUOTA = 10**12
QUOTA_FIELDS = ("token_quota", "request_quota", "quota_period", "quota_warn_percent")
MEASURE_OF_FIELD = {"token_quota": TOKENS, "request_quota": REQUESTS}


# --- checking what is set ------------------------------------------------------------------


def clean_quota(field: str, value: Any) -> Optional[int]:
    """A quota amount: a whole number from 1, or None (also "") for no quota."""
    try:
        return parse_optional_whole_number(value, 1, MAX_QUOTA)
    except ValueError:
        raise ServiceError(
            400, f"{field} must be a whole number from 1 to {MAX_QUOTA}, or null for none."
        ) from None


def clean_period(value: Any) -> Optional[str]:
    if value is None or value == "":
        return None
    if value not in PERIODS:
        raise ServiceError(400, "quota_period must be 'day' or 'month' (UTC), or null for 'day'.")
    return value


def clean_warn_percent(value: Any) -> Optional[int]:
    try:
        return parse_optional_whole_number(value, 1, 100)
    except ValueError:
        raise ServiceError(
            400,
            "quota_warn_percent must be a whole number from 1 to 100, or null for "
            f"{quotas.DEFAULT_WARN_PERCENT}.",
        ) from None


def clean_holder_quotas(values: dict[str, Any]) -> dict[str, Any]:
    """The quota fields of a person or group, checked; fields left out are not changed."""
    unknown = sorted(set(values) - set(QUOTA_FIELDS))
    if unknown:
        raise ServiceError(
            400, f"Unknown field {', '.join(unknown)}: quotas have {', '.join(QUOTA_FIELDS)}."
        )
    cleaners = {
        "token_quota": lambda value: clean_quota("token_quota", value),
        "request_quota": lambda value: clean_quota("request_quota", value),
        "quota_period": clean_period,
        "quota_warn_percent": clean_warn_percent,
    }
    return {field: cleaners[field](value) for field, value in values.items()}


# --- the administrator's quotas on people and groups ------------------------------------------


def quota_fields(holder: Union[User, Group, ApiKey]) -> dict[str, Any]:
    return {field: getattr(holder, field, None) for field in QUOTA_FIELDS}


def set_quotas(holder: Union[User, Group], values: dict[str, Any]) -> dict[str, Any]:
    """Change a person's or group's quotas (audited); holds from the next request in every
    worker, since each request reads them afresh."""
    fields = clean_holder_quotas(values)
    changes = {
        field: {"old": getattr(holder, field), "new": value}
        for field, value in fields.items()
        if getattr(holder, field) != value
    }
    if changes:
        kind = "user" if isinstance(holder, User) else "group"
        name = holder.email if isinstance(holder, User) else holder.name
        audit.record("quota.changed", holder, {kind: name, "changes": changes})
        for field, value in fields.items():
            setattr(holder, field, value)
        db.session.commit()
    return quota_fields(holder)


def groups_and_people() -> tuple[list[Group], list[User]]:
    """Every group and person, for the admin's quota page."""
    groups = list(db.session.scalars(sa.select(Group).order_by(Group.name)))
    people = list(db.session.scalars(sa.select(User).order_by(User.email)))
    return groups, people


# --- a key's quotas: never above its owner's ------------------------------------------------------


def owner_quota(user_id: str, measure: str) -> Optional[int]:
    """The owner's own limit of ``measure``: the smaller of their quota and their most
    generous group's (None: no limit)."""
    user = db.session.get(User, user_id)
    if user is None:
        return None
    column = "token_quota" if measure == TOKENS else "request_quota"
    limits = [getattr(user, column)]
    group_limits = [
        Quota(measure, getattr(group, column), group.quota_period or DAY, 0, 0, "group")
        for group in user.groups
        if getattr(group, column) is not None
    ]
    limits += [quota.limit for quota in quotas.most_generous(group_limits)]
    limits = [limit for limit in limits if limit is not None]
    return min(limits, default=None)


def ceiling_below(user_id: str, field: str, amount: Optional[int]) -> Optional[int]:
    """The owner's quota when a key's ``amount`` of ``field`` would be above it (a key's
    quota may only be lower, whatever the periods); None when it is not."""
    if amount is None:
        return None
    ceiling = owner_quota(user_id, MEASURE_OF_FIELD[field])
    return ceiling if ceiling is not None and amount > ceiling else None


# --- the use of the current period, for pages ---------------------------------------------


@dataclass(frozen=True)
class QuotaUse:
    """A quota with its use, in words for a page."""

    quota: Quota
    resets_at: int

    @property
    def label(self) -> str:
        what = "Tokens" if self.quota.measure == TOKENS else "Requests"
        return f"{what} this {self.quota.period}"

    @property
    def whose(self) -> str:
        return {"key": "this key's quota", "user": "your quota", "group": "group quota"}[
            self.quota.holder
        ]

    @property
    def reset_text(self) -> str:
        return quotas.reset_text(self.resets_at)


def _uses(found: tuple[Quota, ...], at: int) -> list[QuotaUse]:
    return [QuotaUse(quota, quotas.period_end(quota.period, at)) for quota in found]


def key_use(api_key: ApiKey) -> list[QuotaUse]:
    """The quotas on the key's requests (its own, its owner's and groups') with their use."""
    return keys_use([api_key])[api_key.id]


def keys_use(api_keys: list[ApiKey]) -> dict[str, list[QuotaUse]]:
    """key id → ``key_use`` of that key, read for all of them in one statement (the inventory)."""
    if not api_keys:
        return {}
    dialect = db.engine.dialect.name
    at = quotas.clock()
    rows = db.session.execute(
        sa.select(ApiKey.id, quotas.lookup_column(dialect, with_key=True))
        .select_from(User)
        .join(ApiKey, ApiKey.user_id == User.id)
        .where(ApiKey.id.in_([api_key.id for api_key in api_keys])),
        quotas.lookup_params(at),
    )
    found = dict(rows.all())
    return {
        api_key.id: _uses(
            quotas.quotas_from_lookup(
                found.get(api_key.id),
                (api_key.token_quota, api_key.request_quota, api_key.quota_period),
            ),
            at,
        )
        for api_key in api_keys
    }


def user_use(user_id: str) -> list[QuotaUse]:
    """The quotas on a person (their own and their groups') with their use."""
    dialect = db.engine.dialect.name
    at = quotas.clock()
    value = db.session.scalar(
        sa.select(quotas.lookup_column(dialect, with_key=False)).where(User.id == user_id),
        quotas.lookup_params(at),
    )
    return _uses(quotas.quotas_from_lookup(value, None), at)


HOLDER_KINDS = {"users": User, "groups": Group}


def holder_or_404(kind: str, holder_id: str) -> Union[User, Group]:
    """The person ("users") or group ("groups") whose quotas an administrator changes."""
    model = HOLDER_KINDS.get(kind)
    holder = db.session.get(model, holder_id) if model is not None else None
    if holder is None:
        raise ServiceError(404, "No such user or group.")
    return holder


def holder_json(holder: Union[User, Group]) -> dict[str, Any]:
    name = holder.email if isinstance(holder, User) else holder.name
    return {"id": holder.id, "name": name, **quota_fields(holder)}


def warning_line(quota: Quota) -> str:
    """A quota past its warning threshold, for the owner's banner."""
    what = "tokens" if quota.measure == TOKENS else "requests"
    whose = "your group's" if quota.holder == "group" else "your"
    if quota.reached:
        resets = quotas.reset_text(quotas.period_end(quota.period, quotas.clock()))
        return (
            f"You have used all {quota.limit:,} {what} of {whose} quota for this "
            f"{quota.period}: requests are refused until {resets}."
        )
    return (
        f"You have used {quota.used:,} of the {quota.limit:,} {what} of {whose} quota for this "
        f"{quota.period} ({quota.used * 100 // quota.limit}%)."
    )
