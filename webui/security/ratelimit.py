"""Rate limits: failed authentication and sign-ups per client address, wrong current
passwords per address and per account, and optional per-key limits.

Only failures are counted, after the credential was checked, so a valid key is served
even from an address over the limit and successful requests never touch the counter.
Sign-ins are the exception that proves the rule: a password can be guessed, so while an
address is over the limit its sign-ins are refused before the password is checked
(otherwise 200 vs 429 would still answer the guess). A password change is such a guess
too: its wrong current passwords are counted per address and per account (so many
addresses cannot share out the guesses at one account), and while either is over the
limit the change is refused before the password is checked. Sign-ups are counted per
address too, whether or not they succeed.

Counters use fixed windows and are shared by every worker: by default they are rows in
the app's database (``core/counters.py``, one statement per count on its own
connection), so one limit holds for every worker and every host on that database.
``RATELIMIT_STORAGE_URI`` picks a ``limits`` storage instead: ``redis://…``, or
``memory://`` (each process counts on its own; for tests). No per-request hook is
installed: only the guard and the sign-in and sign-up services count.
When the storage is unreachable, failed-authentication counting fails closed (429)
while valid credentials keep working, and per-key and sign-up limits fail open; the log
says so once, and again on recovery.

Once the storage says an address (or, for password changes, an account) is over its
failed-authentication limit, each process remembers it until the window ends
(``BlockedAddresses``): its further failures are refused from memory, with no count and
no audit row, so a flood of bad keys costs less than a good one. Each worker learns the
block from its own first over-limit failure (or, for sign-ins and password changes, its
first check); a 429 guessed while the storage is down is not remembered.
"""

import contextlib
import logging
import math
import threading
import time
from functools import lru_cache
from typing import Optional, Union

import limits
import sqlalchemy as sa
from flask import Flask, Response, current_app, request
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from webui.config import ConfigurationError
from webui.core import counters
from webui.errors import ServiceError, json_error
from webui.security.principal import KeyInfo

log = logging.getLogger(__name__)

KEY_FAILURES = "key"
SIGNIN_FAILURES = "signin"
PASSWORD_FAILURES = "password"  # wrong current passwords of a password change, per address
ACCOUNT_PASSWORD_FAILURES = "password-account"  # the same, per account: any address
LIMIT_SETTINGS = ("RATELIMIT_FAILED_AUTH", "RATELIMIT_SIGNUPS")
MAX_BLOCKED = 10_000  # addresses remembered per process: a flood from many cannot grow it


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


# --- the counters -------------------------------------------------------------------


class DatabaseCounters:
    """Counters in the app's database (the default), shared by every worker and host."""

    @classmethod
    def for_database(cls, database_url: str) -> "DatabaseCounters":
        backend = sa.make_url(database_url).get_backend_name()
        if backend not in counters.SUPPORTED_DATABASES:
            raise ConfigurationError(
                f"rate-limit counters cannot be kept in a {backend} database: "
                "set RATELIMIT_STORAGE_URI (e.g. redis://host:6379/0)"
            )
        return cls()

    def hit(self, item: limits.RateLimitItem, ids: tuple[str, ...]) -> Optional[int]:
        """Count one; the seconds left in the window when now over the limit, else None."""
        count, seconds = counters.hit("/".join(ids), item.get_expiry())
        return seconds if count > item.amount else None

    def check(self, item: limits.RateLimitItem, ids: tuple[str, ...]) -> Optional[int]:
        """The seconds left in the window when already at the limit (counts nothing)."""
        count, seconds = counters.peek("/".join(ids))
        return seconds if count >= item.amount else None


class StorageCounters:
    """Counters in a ``limits`` storage: Redis, or this process's memory."""

    def __init__(self, uri: str, options: dict):
        self._limiter = FixedWindowRateLimiter(storage_from_string(uri, **options))
        # The in-memory storage of `limits` is not thread-safe (its expiry timer can start
        # twice under gthread workers); Redis needs no lock.
        self._lock = threading.Lock() if uri.startswith("memory") else contextlib.nullcontext()

    def hit(self, item: limits.RateLimitItem, ids: tuple[str, ...]) -> Optional[int]:
        with self._lock:
            return None if self._limiter.hit(item, *ids) else self._seconds_left(item, ids)

    def check(self, item: limits.RateLimitItem, ids: tuple[str, ...]) -> Optional[int]:
        with self._lock:
            return None if self._limiter.test(item, *ids) else self._seconds_left(item, ids)

    def _seconds_left(self, item: limits.RateLimitItem, ids: tuple[str, ...]) -> int:
        reset_time = self._limiter.get_window_stats(item, *ids).reset_time
        return max(1, math.ceil(reset_time - time.time()))


Counters = Union[DatabaseCounters, StorageCounters]


# --- addresses known to be over, in this process's memory -------------------------------


def clock() -> float:
    """The time remembered blocks are kept by; tests replace it, as ``counters.clock``."""
    return time.monotonic()


class BlockedAddresses:
    """(kind, address) → the end of the window in which it is over its limit, by ``clock``
    (an account id in place of the address for per-account kinds). Bounded: when full,
    ended windows go first, then the oldest entries."""

    def __init__(self, max_entries: int = MAX_BLOCKED):
        self._ends: dict[tuple[str, str], float] = {}  # insertion order: oldest first
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ends)

    def seconds_left(self, entry: tuple[str, str]) -> Optional[int]:
        """The seconds until the entry's window ends, or None when it is not blocked."""
        with self._lock:
            end = self._ends.get(entry)
            if end is None:
                return None
            left = end - clock()
            if left <= 0:
                del self._ends[entry]
                return None
        return max(1, math.ceil(left))

    def remember(self, entry: tuple[str, str], seconds: int) -> None:
        """Blocked for ``seconds`` from now."""
        with self._lock:
            self._ends.pop(entry, None)  # inserted again below: the newest
            if len(self._ends) >= self._max_entries:
                self._make_room()
            self._ends[entry] = clock() + seconds

    def _make_room(self) -> None:
        at = clock()
        for entry in [entry for entry, end in self._ends.items() if end <= at]:
            del self._ends[entry]
        while len(self._ends) >= self._max_entries:
            del self._ends[next(iter(self._ends))]


# --- set-up -------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """The app's counters: RATELIMIT_STORAGE_URI's storage, else the app's database
    (RATELIMIT_ENABLED=false: none)."""
    for name in LIMIT_SETTINGS:
        try:
            parse_limit(app.config[name])
        except ValueError as error:
            raise ConfigurationError(f"{name} {error}") from None
    uri = app.config["RATELIMIT_STORAGE_URI"]
    if uri.startswith(("redis", "rediss")):
        # A down Redis must cost a request seconds, not minutes.
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 2, "socket_timeout": 2}
        )
    store: Optional[Counters] = None
    if app.config.setdefault("RATELIMIT_ENABLED", True):
        if uri:
            store = StorageCounters(uri, app.config.get("RATELIMIT_STORAGE_OPTIONS", {}))
        else:
            store = DatabaseCounters.for_database(app.config["SQLALCHEMY_DATABASE_URI"])
    app.extensions["webui_ratelimit"] = store
    app.extensions["webui_blocked_addresses"] = BlockedAddresses()


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
    if not uri:
        return "(the database)"
    return uri.split("@")[-1]  # never log a password from the URI


def _counters() -> Optional[Counters]:
    """The app's counters, or None when rate limits are disabled."""
    return current_app.extensions["webui_ratelimit"]


def _blocked() -> BlockedAddresses:
    return current_app.extensions["webui_blocked_addresses"]


def _identifiers(*parts: str) -> tuple[str, ...]:
    return (current_app.config["RATELIMIT_KEY_PREFIX"], *parts)


def _wait(
    item: limits.RateLimitItem, ids: tuple[str, ...], count: bool, what: str, fail_closed: bool
) -> Optional[int]:
    """The seconds to wait when over ``item``, else None; ``count``: add one first.
    Storage down: the limit's whole window when ``fail_closed``, else None."""
    store = _counters()
    if store is None:
        return None
    try:
        wait = store.hit(item, ids) if count else store.check(item, ids)
    except Exception:  # any storage error: redis.ConnectionError, timeouts, SQLAlchemyError…
        _storage_failed(what)
        return item.get_expiry() if fail_closed else None
    _storage_ok()
    return wait


# --- failed authentication per client address ------------------------------------------


def failed_auth_limit() -> limits.RateLimitItem:
    return parse_limit(current_app.config["RATELIMIT_FAILED_AUTH"])


def _failed_auth_wait(kind: str, who: str, count: bool) -> Optional[int]:
    """The seconds ``who`` (an address, or an account id) must wait for ``kind`` of failed
    authentication, else None. ``count``: add this failure first. Storage down: counting
    fails closed (the limit's whole window), checking fails open (valid credentials keep
    working)."""
    what = ("counting" if count else "checking") + " failed authentications"
    ids = _identifiers("failed-auth", kind, who)
    return _wait(failed_auth_limit(), ids, count, what, fail_closed=count)


def count_failure(kind: str, who: Optional[str] = None) -> Optional[int]:
    """Count one failed authentication of ``who`` (default: the client's address); the
    seconds to wait when now over the limit, remembered so that its next failures touch
    no storage."""
    who = who or client_ip()
    seconds = _failed_auth_wait(kind, who, count=True)
    if seconds is not None and not _storage_down:  # a fail-closed 429 is a guess
        _blocked().remember((kind, who), seconds)
    return seconds


def seconds_blocked(kind: str, who: Optional[str] = None) -> Optional[int]:
    """The seconds to wait when ``who`` (default: the client's address) is already over
    the limit (counts nothing): from memory, else from the storage (another worker may
    have counted it over)."""
    entry = (kind, who or client_ip())
    seconds = _blocked().seconds_left(entry)
    if seconds is not None:
        return seconds
    seconds = _failed_auth_wait(*entry, count=False)  # fails open: never a guess
    if seconds is not None:
        _blocked().remember(entry, seconds)
        log.info(
            "%s failures of %s are over the limit: refused with 429 for %s seconds",
            *entry,
            seconds,
        )
    return seconds


def _failed_auth_detail(what: str, seconds: int, whose: str = "from your address") -> str:
    return (
        f"Too many {what} {whose} (the limit is {failed_auth_limit()}); "
        f"try again in {seconds} seconds."
    )


def _too_many_bad_keys(seconds: int) -> Response:
    detail = (
        _failed_auth_detail("invalid API keys", seconds)
        + " Requests with a valid key are still served."
    )
    return json_error(429, detail, {"Retry-After": str(seconds)})


def blocked_key_refusal() -> Optional[Response]:
    """After a refused key (401): a 429 response when this process already knows the
    address is over the limit, else None. Reads only memory: nothing is counted."""
    seconds = _blocked().seconds_left((KEY_FAILURES, client_ip()))
    return None if seconds is None else _too_many_bad_keys(seconds)


def failed_key_refusal() -> Optional[Response]:
    """After a refused key (401): count it; a 429 response when the address is over."""
    seconds = count_failure(KEY_FAILURES)
    return None if seconds is None else _too_many_bad_keys(seconds)


def refuse_signin_if_blocked() -> None:
    """Before a password is checked: raise TooManyAttempts while the address is over."""
    seconds = seconds_blocked(SIGNIN_FAILURES)
    if seconds is not None:
        raise TooManyAttempts(_failed_auth_detail("failed sign-ins", seconds), seconds)


def count_failed_signin() -> None:
    """After a wrong password: count it; raise TooManyAttempts when that crossed the limit."""
    seconds = count_failure(SIGNIN_FAILURES)
    if seconds is not None:
        raise TooManyAttempts(_failed_auth_detail("failed sign-ins", seconds), seconds)


# --- wrong current passwords, per address and per account --------------------------------


def _password_change_counts(account_id: str) -> tuple[tuple[str, str, str], ...]:
    """(kind, who, the detail's words) of the two counts a wrong current password adds to."""
    return (
        (PASSWORD_FAILURES, client_ip(), "from your address"),
        (ACCOUNT_PASSWORD_FAILURES, account_id, "for your account"),
    )


def _wrong_passwords(seconds: int, whose: str) -> TooManyAttempts:
    return TooManyAttempts(_failed_auth_detail("wrong current passwords", seconds, whose), seconds)


def refuse_password_change_if_blocked(account_id: str) -> None:
    """Before a current password is checked: raise TooManyAttempts while the address or
    the account is over the limit, so that even the right password is not accepted."""
    for kind, who, whose in _password_change_counts(account_id):
        seconds = seconds_blocked(kind, who)
        if seconds is not None:
            raise _wrong_passwords(seconds, whose)


def count_wrong_password(account_id: str) -> None:
    """After a wrong current password: count it for the address and for the account;
    raise TooManyAttempts when that crossed either limit."""
    over = [
        (seconds, whose)
        for kind, who, whose in _password_change_counts(account_id)
        if (seconds := count_failure(kind, who)) is not None
    ]
    if over:
        raise _wrong_passwords(*max(over))


# --- per-key limits ----------------------------------------------------------------------


def key_limit_refusal(api_key: KeyInfo) -> Optional[Response]:
    """A 429 response when this key used up its own requests for the minute, else None.
    Keys without a limit never touch the storage; storage down: served (fail open)."""
    per_minute = api_key.rate_limit_per_minute
    if not per_minute:
        return None
    item = limits.RateLimitItemPerMinute(per_minute)
    ids = _identifiers("key", api_key.id)
    seconds = _wait(item, ids, True, "counting a key's requests", fail_closed=False)
    if seconds is None:
        return None
    detail = (
        f"This API key is limited to {per_minute} requests a minute; "
        f"try again in {seconds} seconds."
    )
    return json_error(429, detail, {"Retry-After": str(seconds)})


# --- sign-ups per client address ----------------------------------------------------------------


def signup_limit() -> limits.RateLimitItem:
    return parse_limit(current_app.config["RATELIMIT_SIGNUPS"])


def _signup_wait(count: bool) -> Optional[int]:
    """Storage down: sign-ups are served (fail open); a sign-up is not a failure."""
    what = ("counting" if count else "checking") + " sign-ups"
    return _wait(signup_limit(), _identifiers("signup", client_ip()), count, what, False)


def _signup_refusal(seconds: int) -> TooManyAttempts:
    detail = (
        f"Too many sign-ups from your address (the limit is {signup_limit()}); "
        f"try again in {seconds} seconds."
    )
    return TooManyAttempts(detail, seconds)


def refuse_signup_if_blocked() -> None:
    """Before a sign-up: raise TooManyAttempts while the address has used up its sign-ups."""
    seconds = _signup_wait(count=False)
    if seconds is not None:
        log.info("sign-up from %s refused with 429: over the sign-up limit", client_ip())
        raise _signup_refusal(seconds)


def count_signup() -> None:
    """Count one sign-up from the client's address; raise TooManyAttempts when that
    crossed the limit."""
    seconds = _signup_wait(count=True)
    if seconds is not None:
        raise _signup_refusal(seconds)


# --- leak reports per client address -------------------------------------------------------


def count_leak_report() -> None:
    """Count one leak report (anonymous, up to 100 keys each) from the client's address,
    under the failed-authentication limit; raise TooManyAttempts past it. Storage down:
    served (fail open), since a revocation must not wait for the counters."""
    item = failed_auth_limit()
    ids = _identifiers("leak-report", client_ip())
    seconds = _wait(item, ids, True, "counting leak reports", fail_closed=False)
    if seconds is not None:
        detail = (
            f"Too many leak reports from your address (the limit is {item}); "
            f"try again in {seconds} seconds."
        )
        raise TooManyAttempts(detail, seconds)
