"""Token and request quotas per UTC day or month: what the guard reads and decides.

Quotas are set on a key (by its owner, never above the owner's), on a person and on groups
(by an administrator). The limits that apply to a request are all of: the key's own, the
person's, and of the person's groups the most generous one (groups are a ceiling, as for
model access; a group without a quota adds none). Each is counted over its own period, so
the tightest one decides. Use is read from the metered usage rows by the one lookup
statement of the request (``lookup_column``), so every worker and host on the database sees
the same counts; nothing is counted when no quota applies.
"""

import calendar
import time
from dataclasses import dataclass
from typing import Optional

import sqlalchemy as sa

from webui.models import ApiKey, Group, Usage, User, group_members, now

DAY, MONTH = "day", "month"
PERIODS = (DAY, MONTH)
TOKENS, REQUESTS = "tokens", "requests"
DEFAULT_WARN_PERCENT = 80
# The views that spend model tokens: chat completions, Ollama chat and generate, embeddings.
METERED_ENDPOINTS = frozenset(
    {
        "api.chat_completions",
        "api.ollama_chat",
        "api.ollama_generate",
        "api.ollama_embed",
        "api.ollama_legacy_embeddings",
        "api.ollama_openai_embeddings",
        "api.embed",
    }
)


def clock() -> int:
    """Now, in epoch seconds (tests move it across a day or month boundary)."""
    return now()


# --- periods ----------------------------------------------------------------------------


def period_start(period: str, at: int) -> int:
    day = time.gmtime(at)
    if period == MONTH:
        return calendar.timegm((day.tm_year, day.tm_mon, 1, 0, 0, 0))
    return calendar.timegm((day.tm_year, day.tm_mon, day.tm_mday, 0, 0, 0))


def period_end(period: str, at: int) -> int:
    """When the period holding ``at`` ends and a new one starts (UTC)."""
    day = time.gmtime(at)
    if period == MONTH:
        year, month = (day.tm_year + 1, 1) if day.tm_mon == 12 else (day.tm_year, day.tm_mon + 1)
        return calendar.timegm((year, month, 1, 0, 0, 0))
    return period_start(DAY, at) + 86400


_starts: dict[int, dict[str, int]] = {}  # the last day's, by its first second


def lookup_params(at: int) -> dict[str, int]:
    """The values the lookup's quota column counts from (worked out once a day: every
    request's lookup asks)."""
    day = at - at % 86400
    starts = _starts.get(day)
    if starts is None:
        starts = {"quota_day": day, "quota_month": period_start(MONTH, at)}
        _starts.clear()
        _starts[day] = starts
    return starts


# --- the lookup's quota column -----------------------------------------------------------


def _array(dialect: str, *values):
    build = sa.func.json_build_array if dialect == "postgresql" else sa.func.json_array
    return build(*values)


def _embedded(dialect: str, value):
    """A JSON value from a subquery, kept JSON (SQLite would embed it as a string)."""
    return value if dialect == "postgresql" else sa.func.json(value)


def _tokens():
    total = sa.func.coalesce(Usage.prompt_tokens, 0) + sa.func.coalesce(Usage.completion_tokens, 0)
    return sa.func.coalesce(Usage.total_tokens, total)


def _used(dialect: str, with_key: bool) -> sa.ScalarSelect:
    """[tokens today, requests today, tokens this month, requests this month] of the person,
    then the same of the key: one pass over the person's answered completions this month."""
    today = Usage.created_at >= sa.bindparam("quota_day", 0)
    scopes = [sa.true()] + ([Usage.api_key_id == ApiKey.id] if with_key else [])
    sums = []
    for scope in scopes:
        for when in (sa.and_(scope, today), scope):
            sums.append(sa.func.sum(sa.case((when, _tokens()), else_=0)))
            sums.append(sa.func.sum(sa.case((when, 1), else_=0)))
    return (
        sa.select(_array(dialect, *sums))
        .where(
            Usage.user_id == User.id,
            Usage.created_at >= sa.bindparam("quota_month", 0),
            Usage.status < 400,
        )
        .scalar_subquery()
    )


def _has_quota(holder) -> sa.ColumnElement:
    return sa.or_(holder.token_quota.is_not(None), holder.request_quota.is_not(None))


def _group_quotas(dialect: str) -> sa.Select:
    columns = (Group.token_quota, Group.request_quota, Group.quota_period, Group.quota_warn_percent)
    if dialect == "postgresql":
        rows = sa.func.json_agg(sa.func.json_build_array(*columns))
    else:
        rows = sa.func.json_group_array(sa.func.json_array(*columns))
    return (
        sa.select(rows)
        .select_from(group_members.join(Group, Group.id == group_members.c.group_id))
        .where(group_members.c.user_id == User.id, _has_quota(Group))
    )


def lookup_column(dialect: str, with_key: bool) -> sa.ColumnElement:
    """One column for the identity lookup: NULL when no quota applies (nothing is summed),
    else [person's token quota, request quota, period, warning percent, [groups' quotas…],
    [use…]]."""
    applies = [_has_quota(User), _group_quotas(dialect).exists()]
    if with_key:
        applies.append(_has_quota(ApiKey))
    value = _array(
        dialect,
        User.token_quota,
        User.request_quota,
        User.quota_period,
        User.quota_warn_percent,
        _embedded(dialect, _group_quotas(dialect).scalar_subquery()),
        _embedded(dialect, _used(dialect, with_key)),
    )
    return sa.type_coerce(sa.case((sa.or_(*applies), value), else_=sa.null()), sa.JSON)


# --- the limits of a request ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quota:
    """One limit on a request, and how much of its current period is used."""

    measure: str  # TOKENS or REQUESTS
    limit: int
    period: str
    used: int
    warn_percent: int
    holder: str  # "key", "user" or "group": whose quota it is

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def reached(self) -> bool:
        return self.used >= self.limit

    @property
    def warned(self) -> bool:
        return self.used * 100 >= self.limit * self.warn_percent


def _period(value) -> str:
    return value if value in PERIODS else DAY


def _quotas_of(holder: str, values, used: list, warn: Optional[int]) -> list[Quota]:
    """The token and request quotas in ``values`` = (tokens, requests, period, …), with the
    use of ``used`` = [tokens today, requests today, tokens this month, requests this month]."""
    tokens, requests, period = values[0], values[1], _period(values[2])
    offset = 0 if period == DAY else 2
    found = []
    for measure, limit, index in ((TOKENS, tokens, 0), (REQUESTS, requests, 1)):
        if limit is not None:
            spent = int(used[offset + index] or 0)
            found.append(Quota(measure, int(limit), period, spent, warn, holder))
    return found


def per_day(quota: Quota) -> float:
    """How generous a quota is, to compare a daily one with a monthly one (30 days)."""
    return quota.limit if quota.period == DAY else quota.limit / 30


def most_generous(quotas: list[Quota]) -> list[Quota]:
    """Of the groups' quotas, the most generous one of each measure."""
    best: dict[str, Quota] = {}
    for quota in quotas:
        if quota.measure not in best or per_day(quota) > per_day(best[quota.measure]):
            best[quota.measure] = quota
    return list(best.values())


def quotas_from_lookup(value, key_values: Optional[tuple]) -> tuple[Quota, ...]:
    """Every limit on a request, from the lookup's quota column and the key's quota columns
    (token_quota, request_quota, quota_period), or ()."""
    if not value:
        return ()
    user_tokens, user_requests, user_period, user_warn, groups, used = value
    used = list(used or [None] * 8) + [None] * 8
    warn = user_warn if user_warn is not None else DEFAULT_WARN_PERCENT
    found = []
    if key_values is not None:
        found += _quotas_of("key", key_values, used[4:8], warn)
    found += _quotas_of("user", (user_tokens, user_requests, user_period), used[:4], warn)
    group_quotas = []
    for tokens, requests, period, group_warn in groups or ():
        group_warn = group_warn if group_warn is not None else DEFAULT_WARN_PERCENT
        group_quotas += _quotas_of("group", (tokens, requests, period), used[:4], group_warn)
    return tuple(found + most_generous(group_quotas))


def tightest(quotas: tuple[Quota, ...], measure: str) -> Optional[Quota]:
    """The quota of ``measure`` with the least left (the one the headers report)."""
    of_measure = [quota for quota in quotas if quota.measure == measure]
    return min(of_measure, key=lambda quota: quota.remaining, default=None)


# --- what the guard answers --------------------------------------------------------------


def reset_text(at: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def refusal_detail(quota: Quota, at: int) -> str:
    what = "Token" if quota.measure == TOKENS else "Request"
    return (
        f"{what} quota reached for this {quota.period}: {quota.used} of {quota.limit} used; "
        f"it resets at {reset_text(period_end(quota.period, at))}."
    )


def warning_text(quota: Quota) -> str:
    what = "Token" if quota.measure == TOKENS else "Request"
    return (
        f"{what} quota for this {quota.period} {quota.used * 100 // quota.limit}% used: "
        f"{quota.used} of {quota.limit}"
    )


def headers(quotas: tuple[Quota, ...], at: int, refused: bool = False) -> dict[str, str]:
    """X-RateLimit-*-Tokens/-Requests of the tightest quota of each measure, and
    X-Quota-Warning past a warning threshold. Remaining requests count this one when it is
    accepted."""
    found = {}
    for measure, suffix in ((TOKENS, "Tokens"), (REQUESTS, "Requests")):
        quota = tightest(quotas, measure)
        if quota is None:
            continue
        remaining = quota.remaining
        if measure == REQUESTS and not refused:
            remaining = max(0, remaining - 1)
        found[f"X-RateLimit-Limit-{suffix}"] = str(quota.limit)
        found[f"X-RateLimit-Remaining-{suffix}"] = str(remaining)
        found[f"X-RateLimit-Reset-{suffix}"] = str(period_end(quota.period, at) - at)
    warned = [quota for quota in quotas if quota.warned and not quota.reached]
    if warned and not refused:
        found["X-Quota-Warning"] = "; ".join(warning_text(quota) for quota in warned)
    return found


def first_reached(quotas: tuple[Quota, ...]) -> Optional[Quota]:
    return next((quota for quota in quotas if quota.reached), None)
