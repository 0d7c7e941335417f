"""The request guard: one ``before_request`` hook that decides every request.

1. Who is asking: a Bearer key (the session is then ignored) or the session cookie.
2. Is the key good: format and checksum (no query), then one lookup by digest
   that brings the owner and their groups' grants; expiry; the client address within the
   key's networks; owner approved; not disabled for lack of use.
3. May keys be used: ENABLE_API_KEYS and, for non-admins, features.api_keys.
4. May this key reach this path: the global allowlist, the key's own, read-only.
5. What the view declared it needs (see ``permissions.py``).
6. For a view that spends model tokens: the token and request quotas (``quotas.py``), read
   by the lookup of step 2.
"""

import logging
import time
from typing import Optional
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, after_this_request, current_app, g, redirect, request, session, url_for
from flask import Request as FlaskRequest
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from webui.core import audit, counters
from webui.core.version_cache import note_version
from webui.errors import error_response, is_api_path, json_error
from webui.extensions import csrf, db
from webui.models import ApiKey, now
from webui.security import dormancy, key_format, networks, quotas, ratelimit
from webui.security.allowlist import instance_allowlist, is_path_allowed
from webui.security.identity import principal_for_key
from webui.security.permissions import (
    Access,
    access_of,
    declared_refusal,
    keys_unusable_reason,
)
from webui.security.principal import KeyInfo, Principal
from webui.security.text_input import refuse_unstorable_text

log = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC = Access(public=True)  # static files
LAST_USED_INTERVAL = 60
INVALID_KEY = (
    "Not authenticated: send a valid API key as 'Authorization: Bearer sk-…' "
    "(create one in Settings > Account) or sign in."
)


def is_cross_site(req) -> bool:
    """Whether a browser says this request comes from another site. Browsers send Origin (and
    Sec-Fetch-Site) on writes; scripts and SDKs send neither and are not affected. The host is
    compared, not the scheme, so a proxy that ends TLS does not make the app's own pages look
    foreign."""
    origin = req.headers.get("Origin")
    if origin is None:
        return req.headers.get("Sec-Fetch-Site") == "cross-site"
    try:
        return urlsplit(origin).netloc != req.host  # "null" has no host: foreign too
    except ValueError:
        return True  # not an origin any browser sends


class CappedBody(LimitedStream):
    """A body sent without Content-Length (chunked), read up to the limit: its byte past the
    limit is a 413. Werkzeug's own cap stops reading at the limit instead, so a longer body
    would be parsed cut short as if it had ended there."""

    def __init__(self, stream, limit: int):
        super().__init__(stream, limit + 1, is_max=True)

    def readinto(self, buffer) -> int:
        read = super().readinto(buffer)
        if self._pos >= self.limit:
            raise RequestEntityTooLarge()
        return read


class Request(FlaskRequest):
    """Flask's request, with its Bearer credential parsed once (the session interface asks
    for it before the guard does), and a chunked body held to the same cap as a declared
    one."""

    @cached_property
    def bearer_token(self) -> Optional[str]:
        return key_format.bearer_token(self.headers.get("Authorization"))

    @cached_property
    def stream(self):
        limit = self.max_content_length
        # A length-less body the server de-chunked and ends for us (gunicorn does).
        terminated = self.environ.get("wsgi.input_terminated")
        if self.content_length is None and limit is not None and terminated:
            return CappedBody(self.environ["wsgi.input"], limit)
        return super().stream


class KeySession(SecureCookieSession):
    """The session of a request made with a Bearer key: not read from a cookie, never saved."""


class KeyAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, doing only the work a request needs: a request with a
    Bearer key neither reads nor sets the session cookie, a request without cookies gets an
    empty session without touching the signer, and a session that needs no new cookie only
    adds ``Vary: Cookie`` on the way out (Flask's own decision, without its config
    lookups). The signer is built once per secret key."""

    _signer: tuple = (None, None)  # (the keys it was built for, the serializer)

    def open_session(self, app, req):
        if req.bearer_token is not None:
            return KeySession()
        if app.secret_key and "HTTP_COOKIE" not in req.environ:
            return self.session_class()  # no cookies at all: nothing to verify
        return super().open_session(app, req)

    def save_session(self, app, session, response):
        if isinstance(session, KeySession):
            return None
        accessed = session.accessed  # before should_set_cookie reads the session
        if session.modified or (session and self.should_set_cookie(app, session)):
            return super().save_session(app, session, response)
        # Nothing to set or delete; a response that read the session depends on the cookie.
        if accessed:
            vary_on_cookie(response)
        return None

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        built_for, serializer = self._signer
        if built_for != keys:
            serializer = super().get_signing_serializer(app)
            self._signer = (keys, serializer)
        return serializer


def vary_on_cookie(response) -> None:
    """Add Cookie to Vary, as Flask does, without parsing a Vary header that is not there."""
    if "Vary" in response.headers:
        response.vary.add("Cookie")
    else:
        response.headers["Vary"] = "Cookie"


# --- rejections ------------------------------------------------------------------


def unauthorized(detail: str = INVALID_KEY):
    return json_error(401, detail, {"WWW-Authenticate": "Bearer"})


def forbidden(detail: str):
    return error_response(403, detail)


def sign_in_first():
    if is_api_path(request.path):
        return unauthorized()
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


# --- the key path -------------------------------------------------------------------


def authenticate_key(req, token: str):
    """Steps 2–4 for a Bearer credential; returns a response when it is refused."""
    if not token or not key_format.is_well_formed(token):
        return unauthorized()
    principal = principal_for_key(token)
    if principal is None or old_secret_ended(principal.key):
        return unauthorized()  # an old secret past its grace period is an unknown key
    api_key = principal.key
    g.presented_key = api_key  # for the audit of a refusal
    if api_key.is_expired():
        expired_on = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(api_key.expires_at))
        return unauthorized(
            f"This API key expired on {expired_on}; create a new one in Settings > Account."
        )
    network_refusal = refuse_outside_networks(api_key)
    if network_refusal is not None:
        return network_refusal  # before any counter (rate limit, last use, usage) moves
    if principal.is_pending:
        return forbidden("The owner of this API key is waiting for an administrator's approval.")
    note_version(principal.settings_version)
    dormant = dormancy.dormancy_refusal(api_key)
    if dormant is not None:
        return forbidden(dormant)

    reason = keys_unusable_reason(principal)
    if reason is not None:
        return forbidden(reason)
    path = req.path
    instance_list = instance_allowlist()
    if instance_list is not None and not is_path_allowed(path, instance_list):
        return forbidden(
            f"API keys may not call {path}: it is not in the administrator's list of "
            "allowed endpoints."
        )
    if api_key.allowed_endpoints is not None and not is_path_allowed(
        path, api_key.allowed_endpoints
    ):
        return forbidden(
            f"This API key may not call {path}: it is not in the key's allowed endpoints."
        )
    if api_key.read_only and req.method not in READ_METHODS:
        return forbidden("This API key is read-only: it may only use GET, HEAD and OPTIONS.")
    over_limit = ratelimit.key_limit_refusal(api_key)
    if over_limit is not None:
        return over_limit

    g.principal = principal
    touch_last_used(api_key)
    return None


def old_secret_ended(api_key: KeyInfo) -> bool:
    """Whether the request came with the key's previous secret after its grace period."""
    return api_key.old_secret_until is not None and api_key.old_secret_until <= now()


def refuse_outside_networks(api_key: KeyInfo):
    """403 naming the client address (as TRUSTED_PROXY_COUNT decides it) when the key is
    limited to networks that do not hold it."""
    if not api_key.allowed_networks:
        return None
    address = ratelimit.client_ip()
    if networks.address_allowed(address, api_key.allowed_networks):
        return None
    return forbidden(
        f"This API key may not be used from {address}: that address is not in the key's "
        "allowed networks."
    )


def touch_last_used(api_key: KeyInfo) -> None:
    """Record use at most once a minute per key, as one conditional UPDATE."""
    at = now()
    if api_key.last_used_at is not None and at - api_key.last_used_at < LAST_USED_INTERVAL:
        return
    try:
        updated = db.session.execute(
            sa.update(ApiKey)
            .where(
                ApiKey.id == api_key.id,
                sa.or_(
                    ApiKey.last_used_at.is_(None),
                    ApiKey.last_used_at <= at - LAST_USED_INTERVAL,
                ),
            )
            .values(last_used_at=at, last_used_ip=request.remote_addr)
            .execution_options(synchronize_session=False)
        )
        if updated.rowcount:
            audit.key_used(api_key, request.remote_addr)
        db.session.commit()
    except SQLAlchemyError:
        # Bookkeeping must never fail the request it describes.
        db.session.rollback()
        log.warning("could not record last use of API key %s", api_key.id, exc_info=True)


def refuse_key(token: str, refusal):
    """Every refused key is audited; a failed authentication (401) also counts toward the
    client address's limit, and over it the answer is 429 (the log keeps the real reason).
    Once this process knows the address is over, its failures cost no write at all: the
    refusal that crossed the limit was counted and audited for the whole window."""
    limited = None
    if refusal.status_code == 401:
        blocked = ratelimit.blocked_key_refusal()
        if blocked is not None:
            return blocked
        limited = ratelimit.failed_key_refusal()
    prefix = key_format.visible_prefix(token) if key_format.is_well_formed(token) else None
    audit.key_refused(prefix, g.get("presented_key"), refusal, limited=limited is not None)
    return limited or refusal


# --- declarations ----------------------------------------------------------------------


def authorize(access: Access):
    """Step 5: what the view declared it needs, the same for a session and a key."""
    principal: Principal = g.principal
    if principal.is_pending and not access.allow_pending:
        if is_api_path(request.path):
            return forbidden("Your account is waiting for an administrator's approval.")
        return redirect(url_for("auth.pending"))
    refusal = declared_refusal(principal, access, by_key=principal.key is not None)
    return None if refusal is None else forbidden(refusal)


def guard(req: Request):
    # Each use of a context-local proxy (request, current_app) is a lookup: read them once.
    app = current_app._get_current_object()
    g.principal = None
    token = req.bearer_token
    if req.routing_exception is not None:
        # Its 404/405/308 follows and no view runs; the error page still shows who is signed in.
        if token is None:
            g.principal = signed_in_principal()
        return None
    if req.endpoint == "static":
        access = PUBLIC
    else:
        access = access_of(app.view_functions.get(req.endpoint))

    if token is not None:
        if not is_api_path(req.path):
            return json_error(
                403,
                "API keys work only on the API (/api/…, /ollama/…, /openai/…); pages need a "
                "browser sign-in.",
            )
        refusal = authenticate_key(req, token)
        if refusal is not None:
            return refuse_key(token, refusal)
    else:
        if req.method not in READ_METHODS:
            if is_cross_site(req):
                return forbidden(
                    "Cross-site request refused: this server accepts browser writes (sign-in "
                    "included) only from its own pages."
                )
            if not session and not access.public and is_api_path(req.path):
                # No key and no session: the credential is missing, not a CSRF token.
                return unauthorized()
            if app.config.get("WTF_CSRF_ENABLED", True) and not (
                access.public and is_api_path(req.path)
            ):
                csrf.protect()  # the token of the page the write comes from
        principal = signed_in_principal()
        if principal is not None:
            g.principal = principal
            note_version(principal.settings_version)
        elif not access.public:
            return sign_in_first()

    if access.public:
        return None
    refusal = authorize(access)
    if refusal is None and req.endpoint in quotas.METERED_ENDPOINTS:
        return check_quotas(g.principal)
    return refusal


# --- quotas (security/quotas.py) -------------------------------------------------------------


def check_quotas(principal: Principal):
    """429 once a quota of the person or key is used up for its period; otherwise the quota
    headers go on the answer. A stream that crosses a quota finishes: only the next request
    is refused."""
    if not principal.quotas:
        return None
    at = quotas.clock()
    reached = quotas.first_reached(principal.quotas)
    if reached is None:
        sent = quotas.headers(principal.quotas, at)

        @after_this_request
        def add_quota_headers(response):
            response.headers.extend(sent)
            return response

        return None
    resets_in = quotas.period_end(reached.period, at) - at
    audit_first_quota_refusal(principal, reached, at, resets_in)
    sent = {**quotas.headers(principal.quotas, at, refused=True), "Retry-After": str(resets_in)}
    return json_error(429, quotas.refusal_detail(reached, at), sent)


def audit_first_quota_refusal(principal: Principal, reached, at: int, resets_in: int) -> None:
    """One audit row per key (or browser user) and quota period: the first refusal, as
    counted by the shared counters, whichever worker refuses it."""
    holder = principal.key.id if principal.key is not None else principal.id
    start = quotas.period_start(reached.period, at)
    name = f"quota-refused/{holder}/{reached.holder}/{reached.measure}/{start}"
    try:
        count, _ = counters.hit(name, resets_in)
    except SQLAlchemyError:
        log.warning("could not count a quota refusal", exc_info=True)
        return
    if count != 1:
        return
    detail = {
        "measure": reached.measure,
        "period": reached.period,
        "limit": reached.limit,
        "used": reached.used,
        "whose": reached.holder,
        "key_prefix": principal.key.prefix if principal.key is not None else None,
    }
    try:
        audit.record("quota.refused", holder, detail, actor_id=principal.id)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("could not audit a quota refusal", exc_info=True)


def signed_in_principal() -> Optional[Principal]:
    """Who the session cookie signs in. An empty session (no cookie, or one whose signature
    failed) signs in nobody, so Flask-Login is not asked: it would hash the client's address
    for its session protection and then find nobody. (The app never sets Flask-Login's
    remember-me cookie: the session is the only way a browser signs in.)"""
    if not session:
        return None
    user = current_user._get_current_object()
    return user if user.is_authenticated else None


def check_request():
    """The one ``before_request`` hook: the guard decides, then the text of a request it let
    through is checked (one hook: Flask's per-hook dispatch costs more than the call)."""
    req = request._get_current_object()
    refusal = guard(req)
    if refusal is not None:
        return refusal
    return refuse_unstorable_text(req)


def init_guard(app: Flask) -> None:
    app.request_class = Request
    app.session_interface = KeyAwareSessionInterface()
    ratelimit.init_app(app)
    app.before_request(check_request)
