"""One key's usage over time: requests and tokens per model per day, week or month (UTC),
the 30-day chart of the key page and the 30-day totals of the admin inventory.

Days are cut in SQL with integer arithmetic on the epoch seconds (the same on SQLite and
PostgreSQL); weeks and months are made in Python from those daily rows."""

import calendar
import time
from dataclasses import dataclass
from typing import Any, Optional

import sqlalchemy as sa

from webui.core.parsers import query_number
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import ApiKey, Usage, now
from webui.security.principal import Principal

DAY = 86400
BUCKETS = ("day", "week", "month")
PARAMETERS = ("bucket", "days")
DEFAULT_DAYS = 30
MAX_DAYS = 366
CHART_DAYS = 30
CHART_HEIGHT = 60
TOKEN_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")
# A row without a total (an upstream that reported only its parts) counts its parts.
TOTAL_TOKENS = sa.func.coalesce(
    Usage.total_tokens,
    sa.func.coalesce(Usage.prompt_tokens, 0) + sa.func.coalesce(Usage.completion_tokens, 0),
)


@dataclass(frozen=True)
class Window:
    """Usage from ``start`` (the beginning of a UTC day) to ``end``, in ``bucket``s."""

    bucket: str
    start: int
    end: int


def window_of(days: int, bucket: str = "day", at: Optional[int] = None) -> Window:
    """The last ``days`` UTC days, today included."""
    end = now() if at is None else at
    return Window(bucket, day_start(end) - (days - 1) * DAY, end)


def parse_window(args) -> Window:
    """The query parameters (a dict-like of strings) as a window; 400 naming a bad one."""
    unknown = set(args) - set(PARAMETERS)
    if unknown:
        raise ServiceError(
            400, f"Unknown parameter {sorted(unknown)[0]!r}: use {', '.join(PARAMETERS)}."
        )
    bucket = args.get("bucket", "day")
    if bucket not in BUCKETS:
        raise ServiceError(400, f"bucket must be one of {', '.join(BUCKETS)}, not {bucket!r}.")
    return window_of(query_number(args, "days", DEFAULT_DAYS, 1, MAX_DAYS), bucket)


def day_start(at: int) -> int:
    return at - at % DAY


def bucket_start(day: int, bucket: str) -> int:
    """The start of the day, ISO week (Monday) or calendar month holding ``day``, in UTC."""
    if bucket == "week":
        return day - time.gmtime(day).tm_wday * DAY
    if bucket == "month":
        date = time.gmtime(day)
        return calendar.timegm((date.tm_year, date.tm_mon, 1, 0, 0, 0))
    return day


# --- who may read a key's usage ------------------------------------------------------------


def _known_key(key_id: str, user_id: Optional[str] = None) -> bool:
    """The key exists (and is this person's), or it was deleted but its usage is recorded."""
    key = sa.select(ApiKey.id).where(ApiKey.id == key_id)
    used = sa.select(Usage.id).where(Usage.api_key_id == key_id)
    if user_id is not None:
        key, used = key.where(ApiKey.user_id == user_id), used.where(Usage.user_id == user_id)
    return db.session.scalar(sa.select(sa.or_(key.exists(), used.exists()))) is True


def check_own_key(principal: Principal, key_id: str) -> None:
    """404, as for any key that is not the caller's; a deleted key's history stays readable."""
    if not _known_key(key_id, principal.id):
        raise ServiceError(404, "API key not found.")


def check_any_key(key_id: str) -> None:
    if not _known_key(key_id):
        raise ServiceError(404, "API key not found.")


# --- the series -----------------------------------------------------------------------------


def _daily_rows(key_id: str, window: Window) -> list:
    """(day, model, requests, prompt, completion, total) for each day and model, in SQL."""
    day = (Usage.created_at - Usage.created_at % DAY).label("day")
    return db.session.execute(
        sa.select(
            day,
            Usage.model,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(Usage.prompt_tokens), 0),
            sa.func.coalesce(sa.func.sum(Usage.completion_tokens), 0),
            sa.func.coalesce(sa.func.sum(TOTAL_TOKENS), 0),
        )
        .where(
            Usage.api_key_id == key_id,
            Usage.created_at >= window.start,
            Usage.created_at <= window.end,  # not a later row another host's clock put ahead
        )
        .group_by(day, Usage.model)
    ).all()


def _empty_counts() -> dict[str, int]:
    return {"requests": 0, **dict.fromkeys(TOKEN_FIELDS, 0)}


def _add(counts: dict[str, int], requests: int, *tokens: int) -> None:
    counts["requests"] += int(requests)
    for name, value in zip(TOKEN_FIELDS, tokens, strict=True):
        counts[name] += int(value)


def series(key_id: str, window: Window) -> dict[str, Any]:
    """The API's answer: one entry per bucket and model that saw a request, oldest first,
    and the totals over the window."""
    buckets: dict[tuple[int, str], dict[str, int]] = {}
    totals = _empty_counts()
    for day, model, *counts in _daily_rows(key_id, window):
        start = bucket_start(int(day), window.bucket)
        _add(buckets.setdefault((start, model), _empty_counts()), *counts)
        _add(totals, *counts)
    return {
        "key_id": key_id,
        "bucket": window.bucket,
        "from": window.start,
        "to": window.end,
        "series": [
            {"start": start, "model": model, **counts}
            for (start, model), counts in sorted(buckets.items())
        ],
        "totals": totals,
    }


# --- the key page's chart -------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    day: int
    requests: int
    height: float  # in the chart's units, 0 to CHART_HEIGHT

    @property
    def date(self) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(self.day))


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    models: list[dict[str, Any]]  # {"model", "requests", tokens…}, busiest first
    totals: dict[str, int]
    busiest: Optional[Bar]
    height: int = CHART_HEIGHT  # the tallest bar, in the SVG's units


def bar_height(requests: int, tallest: int) -> float:
    """Scaled to the busiest day; a day with any request stays visible."""
    if not requests:
        return 0
    return max(1.0, round(CHART_HEIGHT * requests / tallest, 2))


def chart(key_id: str, at: Optional[int] = None) -> Chart:
    """Requests per UTC day over the last 30 days (every day, empty ones too), and the
    per-model totals."""
    window = window_of(CHART_DAYS, at=at)
    per_day = dict.fromkeys(range(window.start, window.end + 1, DAY), 0)
    per_model: dict[str, dict[str, int]] = {}
    totals = _empty_counts()
    for day, model, *counts in _daily_rows(key_id, window):
        per_day[int(day)] += int(counts[0])
        _add(per_model.setdefault(model, _empty_counts()), *counts)
        _add(totals, *counts)
    tallest = max(per_day.values())
    bars = [
        Bar(day, requests, bar_height(requests, tallest))
        for day, requests in sorted(per_day.items())
    ]
    return Chart(
        bars=bars,
        models=[
            {"model": model, **counts}
            for model, counts in sorted(per_model.items(), key=lambda m: (-m[1]["requests"], m[0]))
        ],
        totals=totals,
        busiest=max(bars, key=lambda bar: bar.requests) if tallest else None,
    )


# --- the admin inventory's columns --------------------------------------------------------


def recent_totals(since: int) -> sa.Select:
    """Requests and tokens per key since ``since``, as one grouped statement."""
    return (
        sa.select(
            Usage.api_key_id.label("key_id"),
            sa.func.count().label("requests"),
            sa.func.coalesce(sa.func.sum(TOTAL_TOKENS), 0).label("tokens"),
        )
        .where(Usage.api_key_id.is_not(None), Usage.created_at >= since)
        .group_by(Usage.api_key_id)
    )


def last_30_days_start() -> int:
    return window_of(CHART_DAYS).start


def recent_usage(key_ids: list[str]) -> dict[str, dict[str, int]]:
    """{key id: {"requests", "tokens"}} over the last 30 days for a page of keys."""
    if not key_ids:
        return {}
    rows = db.session.execute(
        recent_totals(last_30_days_start()).where(Usage.api_key_id.in_(key_ids))
    ).all()
    found = {key_id: {"requests": int(r), "tokens": int(t)} for key_id, r, t in rows}
    return {key_id: found.get(key_id, {"requests": 0, "tokens": 0}) for key_id in key_ids}
