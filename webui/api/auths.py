"""/api/v1/auths: sign-up, sign-in, who am I, API keys, the admin's auth settings."""

from flask import g, jsonify

from webui.api import bp
from webui.api.payloads import json_object, optional_object, user_json
from webui.core.settings import SettingError, get_settings
from webui.errors import ServiceError
from webui.security import ratelimit
from webui.security.permissions import (
    allow_pending,
    permissions_of,
    public,
    require_role,
    session_only,
    user_permissions,
)
from webui.services import api_keys, api_routes, configuration, leaks, users
from webui.signin import sign_in

ADMIN_CONFIG_FIELDS = [
    "ENABLE_SIGNUP",
    "DEFAULT_USER_ROLE",
    "ENABLE_API_KEYS",
    "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS",
    "API_KEYS_ALLOWED_ENDPOINTS",
    "API_KEYS_MAX_LIFETIME_DAYS",
    "API_KEYS_DISABLE_UNUSED_DAYS",
]
KEYS_SHOWN_ONCE = (
    "API keys are shown only once, when they are created. Create a new one with "
    "POST /api/v1/auths/api_key or in Settings > Account, and delete the old one."
)


def no_store(response):
    """Responses that carry a new key must not be cached anywhere."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/v1/auths/signup")
@public
def signup():
    """Where new accounts wait for approval, the same answer whether or not the address
    had an account: no session, an id, what was sent and what happens next."""
    body = json_object()
    signed_up = users.sign_up(body.get("name"), body.get("email"), body.get("password"))
    user = signed_up.account
    if user is None:
        return jsonify(
            id=signed_up.id,
            name=signed_up.name,
            email=signed_up.email,
            role="pending",
            detail=users.SIGNUP_RECEIVED,
        )
    sign_in(user)
    return jsonify(user_json(user, user_permissions(user)))


@bp.post("/api/v1/auths/signin")
@public
def signin():
    body = json_object()
    user = users.authenticate(body.get("email"), body.get("password"))
    if user is None:
        raise ServiceError(400, "Wrong email or password.")
    sign_in(user)
    return jsonify(user_json(user, user_permissions(user)))


@bp.get("/api/v1/auths/")
@allow_pending
def who_am_i():
    return jsonify(user_json(g.principal, permissions_of(g.principal)))


# --- API keys ---------------------------------------------------------------------


@bp.post("/api/v1/auths/api_keys")
@session_only
def create_api_key():
    body = json_object()
    api_key, secret = api_keys.create_key(
        g.principal,
        body.get("name"),
        expires_at=body.get("expires_at"),
        allowed_endpoints=body.get("allowed_endpoints"),
        read_only=body.get("read_only"),
        rate_limit=body.get("rate_limit"),
        allowed_models=body.get("allowed_models"),
        allowed_networks=body.get("allowed_networks"),
        token_quota=body.get("token_quota"),
        request_quota=body.get("request_quota"),
        quota_period=body.get("quota_period"),
    )
    return no_store(jsonify({**key_json(api_key), "key": secret})), 201


def key_json(api_key) -> dict:
    """A key's fields, and ``warnings`` naming allowed endpoints that can never match."""
    unmatchable = api_routes.unmatchable_entries(g.principal, api_key.allowed_endpoints)
    warnings = [
        f"{entry} can never match: the administrator's allowed endpoints block it, or it "
        "leads only to routes your keys may not call."
        for entry in unmatchable
    ]
    return {**api_key.to_dict(), "warnings": warnings} if warnings else api_key.to_dict()


@bp.get("/api/v1/auths/api_keys")
def list_api_keys():
    return jsonify(items=[api_key.to_dict() for api_key in api_keys.list_keys(g.principal)])


@bp.post("/api/v1/auths/api_keys/<key_id>")
@session_only
def update_api_key(key_id: str):
    api_key = api_keys.get_own_key_or_404(g.principal, key_id)
    api_keys.update_key(g.principal, api_key, json_object())
    return jsonify(key_json(api_key))


@bp.post("/api/v1/auths/api_keys/<key_id>/rotate")
@session_only
def rotate_api_key(key_id: str):
    api_key = api_keys.get_own_key_or_404(g.principal, key_id)
    body = optional_object()
    unknown = sorted(set(body) - {"grace_seconds"})
    if unknown:
        raise ServiceError(
            400, f"Unknown field {', '.join(unknown)}: rotating takes only grace_seconds."
        )
    secret = api_keys.rotate_key(g.principal, api_key, body.get("grace_seconds"))
    return no_store(jsonify({**api_key.to_dict(), "key": secret})), 201


@bp.post("/api/v1/auths/api_keys/<key_id>/end-grace")
@session_only
def end_api_key_grace(key_id: str):
    """The previous secret of a rotation stops working now."""
    api_key = api_keys.end_grace(api_keys.get_own_key_or_404(g.principal, key_id))
    return jsonify(api_key.to_dict())


@bp.post("/api/v1/auths/api_keys/<key_id>/enable")
@session_only
def enable_api_key(key_id: str):
    api_key = api_keys.get_own_key_or_404(g.principal, key_id)
    api_keys.enable_key(g.principal, api_key)
    return jsonify(key_json(api_key))


@bp.delete("/api/v1/auths/api_keys/<key_id>")
@session_only
def delete_api_key(key_id: str):
    api_keys.delete_key(api_keys.get_own_key_or_404(g.principal, key_id))
    return jsonify(deleted=True)


@bp.post("/api/v1/auths/api_keys/revoke-leaked")
@public
def revoke_leaked_api_keys():
    """Anyone (a secret scanner, a stranger who found a key) may report keys; the answer
    is the same whatever was found. Public API routes skip the CSRF token, so curl works."""
    ratelimit.count_leak_report()
    leaks.revoke_leaked(leaks.reported_keys(json_object()))
    return jsonify(detail=leaks.REPORT_ANSWER)


@bp.delete("/api/v1/auths/api_keys/self")
def revoke_this_api_key():
    """The key the request is made with revokes itself."""
    if g.principal.key is None:
        raise ServiceError(
            400,
            "There is no 'self' key: this request was signed in by a browser session. Send it "
            "with 'Authorization: Bearer sk-…' to revoke that key, or delete a key by its id.",
        )
    leaks.revoke_self(g.principal.key)
    return jsonify(deleted=True)


@bp.post("/api/v1/auths/api_key")
@session_only
def create_default_api_key():
    """Open WebUI's single key: creates, or replaces, the key named 'default'. It never
    expires unless the administrator set a maximum lifetime; then it gets all of it."""
    existing = api_keys.find_named_key(g.principal, api_keys.DEFAULT_KEY_NAME)
    _, secret = api_keys.create_key(
        g.principal, api_keys.DEFAULT_KEY_NAME, expires_at=api_keys.max_expiry(), replacing=existing
    )
    return no_store(jsonify(api_key=secret))


@bp.get("/api/v1/auths/api_key")
@session_only
def read_default_api_key():
    raise ServiceError(404, KEYS_SHOWN_ONCE)


@bp.delete("/api/v1/auths/api_key")
@session_only
def delete_default_api_key():
    existing = api_keys.find_named_key(g.principal, api_keys.DEFAULT_KEY_NAME)
    if existing is not None:
        api_keys.delete_key(existing)
    return jsonify(True)


# --- admin: accounts and settings -----------------------------------------------------


@bp.post("/api/v1/auths/add")
@require_role("admin")
@session_only
def add_user():
    """Open WebUI's "Add User": an account made by an administrator, role pending unless
    the body names one."""
    body = json_object()
    user = users.add_user(
        body.get("name"), body.get("email"), body.get("password"), body.get("role", "pending")
    )
    return jsonify(user_json(user, user_permissions(user)))


@bp.get("/api/v1/auths/admin/config")
@require_role("admin")
def read_admin_config():
    return jsonify(get_settings(ADMIN_CONFIG_FIELDS))


@bp.post("/api/v1/auths/admin/config")
@require_role("admin")
@session_only
def save_admin_config():
    body = json_object()
    try:
        configuration.save(body, ADMIN_CONFIG_FIELDS, g.principal.id)
    except SettingError as error:
        raise ServiceError(400, f"{error.name} {error.message}.") from None
    return jsonify(get_settings(ADMIN_CONFIG_FIELDS))
