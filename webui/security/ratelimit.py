"""Rate limits: failed authentication per client address, and optional per-key limits.

Only failures are counted, after the credential was checked, so a valid key is served
even from an address over the limit and successful requests never touch the counter.
Sign-ins are the exception that proves the rule: a password can be guessed, so while an
address is over the limit its sign-ins are refused before the password is checked
(otherwise 200 vs 429 would still answer the guess).

Counters live in a ``limits`` storage (``RATELIMIT_STORAGE_URI``: in memory by
default, Redis to share one limit between workers and hosts) behind a fixed-window
strategy. No per-request hook is installed: only the guard and the sign-in form count.
When the storage is unreachable, failed-authentication counting fails closed (429)
while valid credentials keep working, and per-key limits fail open; the log says so
once, and again on recovery.
"""

import contextlib
import logging
import math
import threading
import time
from functools import lru_cache
from typing import Optional

import limits
from flask import Flask, Response, current_app, request
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from webui.errors import ServiceError, json_error
from webui.security.principal import KeyInfo

log = logging.getLogger(__name__)

KEY_FAILURES = "key"
SIGNIN_FAILURES = "signin"


@lru_cache(maxsize=64)
def parse_limit(value: str) -> limits.RateLimitItem:
    try:
        item = limits.parse(value)
    except ValueError:
        raise ValueError("must look like '20 per minute' or '100/hour'") from None
    if item.amount < 1:
        raise ValueError("must allow at least 1 attempt")
    return item


class TooManyAttempts(ServiceError):
    """429 with the seconds to wait, sent as Retry-After."""

    def __init__(self, detail: str, retry_after: int):
        super().__init__(429, detail, {"Retry-After": str(retry_after)})
        self.retry_after = retry_after


# --- set-up -------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """One counter storage and strategy per app (RATELIMIT_ENABLED=false: none)."""
    try:
        parse_limit(app.config["RATELIMIT_FAILED_AUTH"])
    except ValueError as error:
        raise ValueError(f"RATELIMIT_FAILED_AUTH {error}") from None
    if app.config["RATELIMIT_STORAGE_URI"].startswith(("redis", "rediss")):
        # A down Redis must cost a request seconds, not minutes.
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 2, "socket_timeout": 2}
        )
    strategy = None
    if app.config.setdefault("RATELIMIT_ENABLED", True):
        storage = storage_from_string(
            app.config["RATELIMIT_STORAGE_URI"], **app.config.get("RATELIMIT_STORAGE_OPTIONS", {})
        )
        strategy = FixedWindowRateLimiter(storage)
    app.extensions["webui_ratelimit"] = strategy


def client_ip() -> str:
    """The socket's address; with TRUSTED_PROXY_COUNT set, ProxyFix has already put the
    client's address from X-Forwarded-For here (and only then is that header trusted)."""
    return request.remote_addr or "unknown"


# --- the storage, and what happens when it is down ------------------------------------------

_storage_down = False  # per process: log the outage once, and the recovery once


def _storage_failed(what: str) -> None:
    global _storage_down
    if not _storage_down:
        log.error(
            "rate-limit storage %s is unreachable: %s; failed authentications are refused "
            "with 429, valid credentials are still served",
            _storage_name(),
            what,
            exc_info=True,
        )
    _storage_down = True


def _storage_ok() -> None:
    global _storage_down
    if _storage_down:
        log.warning("rate-limit storage %s is reachable again", _storage_name())
    _storage_down = False


def _storage_name() -> str:
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    return uri.split("@")[-1]  # never log a password from the URI


def _strategy() -> Optional[FixedWindowRateLimiter]:
    """The app's counting strategy, or None when rate limits are disabled."""
    return current_app.extensions["webui_ratelimit"]


# The in-memory storage of `limits` is not thread-safe (its expiry timer can start twice
# under gthread workers); Redis needs no lock.
_MEMORY_LOCK = threading.Lock()


def _serialised():
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    return _MEMORY_LOCK if uri.startswith("memory") else contextlib.nullcontext()


def _identifiers(*parts: str) -> tuple[str, ...]:
    return (current_app.config["RATELIMIT_KEY_PREFIX"], *parts)


def _seconds_left(strategy, item: limits.RateLimitItem, ids: tuple[str, ...]) -> int:
    reset_time = strategy.get_window_stats(item, *ids).reset_time
    return max(1, math.ceil(reset_time - time.time()))


# --- failed authentication per client address ------------------------------------------


def failed_auth_limit() -> limits.RateLimitItem:
    return parse_limit(current_app.config["RATELIMIT_FAILED_AUTH"])


def _failed_auth_wait(kind: str, count: bool) -> Optional[int]:
    """The seconds the client must wait for ``kind`` of failed authentication, else None.
    ``count``: add this failure first. Storage down: counting fails closed (the limit's
    whole window), checking fails open (valid credentials keep working)."""
    strategy = _strategy()
    if strategy is None:
        return None
    item = failed_auth_limit()
    ids = _identifiers("failed-auth", kind, client_ip())
    try:
        with _serialised():
            allowed = strategy.hit(item, *ids) if count else strategy.test(item, *ids)
            wait = None if allowed else _seconds_left(strategy, item, ids)
    except Exception:  # any storage error: redis.ConnectionError, timeouts, …
        _storage_failed(("counting" if count else "checking") + " failed authentications")
        return item.get_expiry() if count else None
    _storage_ok()
    return wait


def count_failure(kind: str) -> Optional[int]:
    """Count one failed authentication; the seconds to wait when now over the limit."""
    return _failed_auth_wait(kind, count=True)


def seconds_blocked(kind: str) -> Optional[int]:
    """The seconds to wait when the client is already over the limit (counts nothing)."""
    return _failed_auth_wait(kind, count=False)


def _failed_auth_detail(what: str, seconds: int) -> str:
    return (
        f"Too many {what} from your address (the limit is {failed_auth_limit()}); "
        f"try again in {seconds} seconds."
    )


def failed_key_refusal() -> Optional[Response]:
    """After a refused key (401): count it; a 429 response when the address is over."""
    seconds = count_failure(KEY_FAILURES)
    if seconds is None:
        return None
    detail = (
        _failed_auth_detail("invalid API keys", seconds)
        + " Requests with a valid key are still served."
    )
    return json_error(429, detail, {"Retry-After": str(seconds)})


def refuse_signin_if_blocked() -> None:
    """Before a password is checked: raise TooManyAttempts while the address is over."""
    seconds = seconds_blocked(SIGNIN_FAILURES)
    if seconds is not None:
        log.info("sign-in from %s refused with 429: over the failed sign-in limit", client_ip())
        raise TooManyAttempts(_failed_auth_detail("failed sign-ins", seconds), seconds)


def count_failed_signin() -> None:
    """After a wrong password: count it; raise TooManyAttempts when that crossed the limit."""
    seconds = count_failure(SIGNIN_FAILURES)
    if seconds is not None:
        raise TooManyAttempts(_failed_auth_detail("failed sign-ins", seconds), seconds)


# --- per-key limits ----------------------------------------------------------------------


def key_limit_refusal(api_key: KeyInfo) -> Optional[Response]:
    """A 429 response when this key used up its own requests for the minute, else None.
    Keys without a limit never touch the storage; storage down: served (fail open)."""
    per_minute = api_key.rate_limit_per_minute
    strategy = _strategy() if per_minute else None
    if strategy is None:
        return None
    item = limits.RateLimitItemPerMinute(per_minute)
    ids = _identifiers("key", api_key.id)
    try:
        with _serialised():
            if strategy.hit(item, *ids):
                _storage_ok()
                return None
            seconds = _seconds_left(strategy, item, ids)
    except Exception:
        _storage_failed("counting a key's requests")
        return None
    detail = (
        f"This API key is limited to {per_minute} requests a minute; "
        f"try again in {seconds} seconds."
    )
    return json_error(429, detail, {"Retry-After": str(seconds)})
