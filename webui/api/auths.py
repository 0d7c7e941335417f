"""/api/v1/auths: sign-up, sign-in, who am I, API keys, the admin's auth settings."""

from functools import wraps

from flask import g, jsonify

from webui.api import bp
from webui.api.declare import documented
from webui.api.payloads import json_object, optional_object, user_json
from webui.core.apidoc import (
    BOOLEAN,
    INTEGER,
    STRING,
    Answer,
    array,
    component,
    enum,
    nullable,
    obj,
)
from webui.core.parsers import MAX_ENDPOINTS, MAX_PATH_LENGTH
from webui.core.settings import SettingError, get_settings
from webui.errors import ServiceError
from webui.models.accounts import ROLES
from webui.security import ratelimit
from webui.security.permissions import (
    allow_pending,
    permissions_of,
    public,
    require_role,
    session_only,
    user_permissions,
)
from webui.security.quotas import PERIODS
from webui.services import api_keys, api_routes, configuration, leaks, quotas, users
from webui.signin import sign_in

ACCOUNT_TAG = "Your account"
KEYS_TAG = "API keys"
ADMIN_TAG = "Administration"

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


# --- what the routes declare (core/apidoc.py) ----------------------------------------------

EPOCH = {**INTEGER, "description": "Epoch seconds."}
MAYBE_EPOCH = {**nullable(INTEGER), "description": "Epoch seconds, or null."}
PERMISSIONS = {
    "type": "object",
    "description": 'Effective permissions by section, every catalog entry listed: {"features": '
    '{"api_keys": true, …}, "chat": {…}, "workspace": {…}}.',
    "additionalProperties": {"type": "object", "additionalProperties": BOOLEAN},
}
ACCOUNT = component(
    "Account",
    obj(
        {
            "id": STRING,
            "name": STRING,
            "email": STRING,
            "role": enum(*ROLES),
            "permissions": PERMISSIONS,
        },
        ("id", "name", "email", "role", "permissions"),
    ),
)
PENDING_SIGN_UP = component(
    "PendingSignUp",
    obj(
        {
            "id": STRING,
            "name": STRING,
            "email": STRING,
            "role": enum("pending"),
            "detail": {**STRING, "description": "What happens next."},
        },
        ("id", "name", "email", "role", "detail"),
    ),
)
DELETED = component(
    "Deleted", obj({"deleted": {**BOOLEAN, "description": "Always true."}}, ("deleted",))
)
DONE = {**BOOLEAN, "description": "Always true."}
MAYBE_PATHS = nullable(array(STRING))
KEY_FIELDS = {
    "id": STRING,
    "name": STRING,
    "prefix": {**STRING, "description": "The secret's first characters, to recognise it."},
    "last_chars": {**STRING, "description": "The secret's last characters."},
    "created_at": EPOCH,
    "expires_at": {**nullable(INTEGER), "description": "Epoch seconds; null: never."},
    "last_used_at": MAYBE_EPOCH,
    "last_used_ip": nullable(STRING),
    "allowed_endpoints": {**MAYBE_PATHS, "description": "null: every endpoint allowed."},
    "read_only": BOOLEAN,
    "rate_limit_per_minute": {**nullable(INTEGER), "description": "null: no limit of its own."},
    "allowed_models": {**MAYBE_PATHS, "description": "Model ids; null: every model."},
    "allowed_networks": {**MAYBE_PATHS, "description": "Addresses and networks; null: any."},
    "previous_valid_until": {
        **nullable(INTEGER),
        "description": "After a rotation with a grace period: when the old secret stops "
        "working (epoch seconds); null when none works.",
    },
    "token_quota": nullable(INTEGER),
    "request_quota": nullable(INTEGER),
    "quota_period": nullable(enum(*PERIODS)),
    "expired": BOOLEAN,
    "disabled_at": {**nullable(INTEGER), "description": "Disabled for lack of use since."},
    "disabled_reason": nullable(STRING),
}
WARNINGS = {
    **array(STRING),
    "description": "Allowed endpoints that can never match (only when there are some).",
}
SECRET = {**STRING, "description": "The key itself, sk-…: shown only in this answer."}
API_KEY = component("ApiKey", obj({**KEY_FIELDS, "warnings": WARNINGS}, tuple(KEY_FIELDS)))
NEW_API_KEY = component(
    "NewApiKey",
    obj({**KEY_FIELDS, "warnings": WARNINGS, "key": SECRET}, (*KEY_FIELDS, "key")),
)
KEY_LIST = obj({"items": array(API_KEY)}, ("items",))


def whole_number_refusal(low: int, high: int, none: str) -> str:
    return f"must be a whole number from {low} to {high}, or null for {none}"


def quota_amount(field: str) -> dict:
    return {
        **nullable(INTEGER),
        "minimum": 1,
        "maximum": quotas.MAX_QUOTA,
        "x-refusal": whole_number_refusal(1, quotas.MAX_QUOTA, "none"),
        "description": f"At most this many {field} a period; null: none.",
    }


QUOTA_PERIOD = {
    "enum": [*PERIODS, None],
    "x-refusal": "must be 'day' or 'month' (UTC), or null for 'day'",
}
# What a key's owner sets (api_keys.EDITABLE_FIELDS); the service checks the rest (names
# taken, the administrator's maximum lifetime, quotas above the owner's).
KEY_SETTINGS = {
    "name": {
        **STRING,
        "maxLength": api_keys.MAX_NAME_LENGTH,
        "x-refusal": "is required: give the key a name such as 'Monitoring Bot', "
        f"at most {api_keys.MAX_NAME_LENGTH} characters",
    },
    "expires_at": {
        "type": ["number", "null"],
        "x-refusal": "must be a time in epoch seconds, or null for never",
        "description": "Epoch seconds, in the future; null: never (unless the administrator "
        "set a maximum lifetime).",
    },
    "allowed_endpoints": {
        "type": ["array", "null"],
        "items": STRING,
        "x-refusal": "must be a list of paths such as ['/api/models'], or null for every endpoint",
        "description": f"At most {MAX_ENDPOINTS} paths of at most {MAX_PATH_LENGTH} characters "
        "the key may call (each allows the paths below it); null: every endpoint.",
    },
    "read_only": {**nullable(BOOLEAN), "description": "true: GET, HEAD and OPTIONS only."},
    "rate_limit": {
        **nullable(INTEGER),
        "minimum": 1,
        "maximum": api_keys.MAX_KEY_RATE_LIMIT,
        "x-refusal": whole_number_refusal(1, api_keys.MAX_KEY_RATE_LIMIT, "no limit of its own"),
        "description": "Requests a minute; null: no limit of its own.",
    },
    "allowed_models": {
        "anyOf": [array(STRING), STRING, {"type": "null"}],
        "x-refusal": "must be a list of model ids such as ['llama3:8b'], or null for every "
        "model you may use",
        "description": f"At most {api_keys.MAX_LIST_ENTRIES} model ids (or one comma-separated "
        "string); null or empty: every model you may use.",
    },
    "allowed_networks": {
        "anyOf": [array(STRING), STRING, {"type": "null"}],
        "x-refusal": "must be a list of addresses or networks such as ['203.0.113.7', "
        "'10.0.0.0/8'], or null for any address",
        "description": f"At most {api_keys.MAX_LIST_ENTRIES} IPv4 or IPv6 addresses or CIDR "
        "networks (or one comma-separated string); null or empty: any address.",
    },
    "token_quota": quota_amount("tokens"),
    "request_quota": quota_amount("requests"),
    "quota_period": QUOTA_PERIOD,
}
NEW_KEY_BODY = obj(KEY_SETTINGS, ("name",), closed=True)
KEY_CHANGE_BODY = obj(KEY_SETTINGS, closed=True)
ROTATION_BODY = obj(
    {
        "grace_seconds": {
            **nullable(INTEGER),
            "minimum": 0,
            "maximum": api_keys.MAX_GRACE_SECONDS,
            "x-refusal": "must be a whole number of seconds from 0 to "
            f"{api_keys.MAX_GRACE_SECONDS} (24 hours): how long the old secret keeps working; "
            "0 or null ends it at once",
        }
    },
)  # not closed here: a key that is not yours is a 404 whatever the body; then other fields 400
EMAIL = {**STRING, "x-refusal": "must be a valid email address"}
PASSWORD = {
    **STRING,
    "minLength": users.MIN_PASSWORD_LENGTH,
    "x-refusal": f"must be at least {users.MIN_PASSWORD_LENGTH} characters",
}
SIGN_UP_BODY = obj(
    {"name": STRING, "email": EMAIL, "password": PASSWORD}, ("name", "email", "password")
)
SIGN_IN_BODY = obj({"email": STRING, "password": STRING}, ("email", "password"))
NEW_ACCOUNT_BODY = obj(
    {
        "name": STRING,
        "email": EMAIL,
        "password": PASSWORD,
        "role": {**enum(*ROLES), "description": "pending when left out."},
    },
    ("name", "email", "password"),
)
LEAK_REPORT = obj(
    {
        "keys": {
            **array(STRING),
            "minItems": 1,
            "maxItems": leaks.MAX_REPORTED_KEYS,
            "x-refusal": f"must be a list of 1 to {leaks.MAX_REPORTED_KEYS} key strings",
        }
    },
    ("keys",),
    closed=True,
)
DETAIL = obj({"detail": STRING}, ("detail",))
AUTH_SETTINGS_FIELDS = {
    "ENABLE_SIGNUP": BOOLEAN,
    "DEFAULT_USER_ROLE": enum(*ROLES),
    "ENABLE_API_KEYS": BOOLEAN,
    "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS": BOOLEAN,
    "API_KEYS_ALLOWED_ENDPOINTS": {
        **STRING,
        "description": "Comma-separated paths, e.g. /api/models,/api/chat/completions.",
    },
    "API_KEYS_MAX_LIFETIME_DAYS": {
        **nullable(INTEGER),
        "minimum": 1,
        "maximum": api_keys.LATEST_EXPIRY_DAYS,
        "description": "null: keys may never expire.",
    },
    "API_KEYS_DISABLE_UNUSED_DAYS": {
        **nullable(INTEGER),
        "minimum": 1,
        "maximum": 3650,
        "description": "null: never disable unused keys.",
    },
}
AUTH_SETTINGS = component(
    "AuthSettings", obj(AUTH_SETTINGS_FIELDS, tuple(AUTH_SETTINGS_FIELDS), closed=True)
)
AUTH_SETTINGS_CHANGE = obj(
    {
        **AUTH_SETTINGS_FIELDS,
        "API_KEYS_ALLOWED_ENDPOINTS": {
            "type": ["string", "array"],
            "items": STRING,
            "description": f"Comma-separated paths, or a list of them (at most {MAX_ENDPOINTS}, "
            f"of at most {MAX_PATH_LENGTH} characters); saved as one comma-separated string.",
        },
    },
    closed=True,
)


def no_store(response):
    """Responses that carry a new key must not be cached anywhere."""
    response.headers["Cache-Control"] = "no-store"
    return response


def admitting_sign_ups(view):
    """The sign-up limit is checked and counted before the declared body is: a malformed
    attempt counts too, and an address over the limit gets 429 whatever it sends."""

    @wraps(view)
    def admitted(*args, **kwargs):
        users.admit_sign_up()
        return view(*args, **kwargs)

    return admitted


@bp.post("/api/v1/auths/signup")
@admitting_sign_ups
@documented(
    "Sign up",
    ACCOUNT_TAG,
    body=SIGN_UP_BODY,
    answers={200: {"anyOf": [ACCOUNT, PENDING_SIGN_UP]}},
    description="The first account is an administrator's; later ones get the default role. "
    "Where new accounts wait for approval the answer is the same whether or not the address "
    "had an account (a PendingSignUp, no session); otherwise the account, signed in.",
)
@public
def signup():
    """Where new accounts wait for approval, the same answer whether or not the address
    had an account: no session, an id, what was sent and what happens next."""
    body = json_object()
    signed_up = users.create_signed_up(body.get("name"), body.get("email"), body.get("password"))
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
@documented(
    "Sign in",
    ACCOUNT_TAG,
    body=SIGN_IN_BODY,
    answers={200: ACCOUNT},
    description="Sets the session cookie. A wrong password and an unknown email get the same 400.",
)
@public
def signin():
    body = json_object()
    user = users.authenticate(body.get("email"), body.get("password"))
    if user is None:
        raise ServiceError(400, "Wrong email or password.")
    sign_in(user)
    return jsonify(user_json(user, user_permissions(user)))


@bp.get("/api/v1/auths/")
@documented(
    "Who am I",
    ACCOUNT_TAG,
    answers={200: ACCOUNT},
    description="The signed-in person, or the owner of the key; a pending account too.",
)
@allow_pending
def who_am_i():
    return jsonify(user_json(g.principal, permissions_of(g.principal)))


# --- API keys ---------------------------------------------------------------------


@bp.post("/api/v1/auths/api_keys")
@documented(
    "Create an API key",
    KEYS_TAG,
    body=NEW_KEY_BODY,
    answers={201: NEW_API_KEY},
    description="The answer holds the secret (`key`), the only time it is shown.",
)
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
@documented("List your API keys", KEYS_TAG, answers={200: KEY_LIST})
def list_api_keys():
    return jsonify(items=[api_key.to_dict() for api_key in api_keys.list_keys(g.principal)])


@bp.post("/api/v1/auths/api_keys/<key_id>")
@documented(
    "Change an API key",
    KEYS_TAG,
    body=KEY_CHANGE_BODY,
    answers={200: API_KEY},
    description="Send the fields to change; the same rules as creating one.",
)
@session_only
def update_api_key(key_id: str):
    api_key = api_keys.get_own_key_or_404(g.principal, key_id)
    api_keys.update_key(g.principal, api_key, json_object())
    return jsonify(key_json(api_key))


@bp.post("/api/v1/auths/api_keys/<key_id>/rotate")
@documented(
    "Give an API key a new secret",
    KEYS_TAG,
    body=ROTATION_BODY,
    body_optional=True,
    answers={201: NEW_API_KEY},
    description="Name, restrictions and usage are kept; the old secret stops working at once, "
    "or after `grace_seconds`. The answer holds the new secret, shown only once.",
)
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
@documented(
    "End a rotated key's grace period",
    KEYS_TAG,
    answers={200: API_KEY},
    description="The previous secret of a rotation stops working now.",
)
@session_only
def end_api_key_grace(key_id: str):
    """The previous secret of a rotation stops working now."""
    api_key = api_keys.end_grace(api_keys.get_own_key_or_404(g.principal, key_id))
    return jsonify(api_key.to_dict())


@bp.post("/api/v1/auths/api_keys/<key_id>/enable")
@documented(
    "Re-enable an API key disabled for lack of use",
    KEYS_TAG,
    answers={200: API_KEY},
)
@session_only
def enable_api_key(key_id: str):
    api_key = api_keys.get_own_key_or_404(g.principal, key_id)
    api_keys.enable_key(g.principal, api_key)
    return jsonify(key_json(api_key))


@bp.delete("/api/v1/auths/api_keys/<key_id>")
@documented("Delete an API key", KEYS_TAG, answers={200: DELETED})
@session_only
def delete_api_key(key_id: str):
    api_keys.delete_key(api_keys.get_own_key_or_404(g.principal, key_id))
    return jsonify(deleted=True)


@bp.post("/api/v1/auths/api_keys/revoke-leaked")
@documented(
    "Report leaked API keys",
    KEYS_TAG,
    body=LEAK_REPORT,
    answers={200: DETAIL},
    description="Anyone may report keys (no credential needed); every valid key among them is "
    "revoked. The answer is the same whatever was found.",
)
@public
def revoke_leaked_api_keys():
    """Anyone (a secret scanner, a stranger who found a key) may report keys; the answer
    is the same whatever was found. Public API routes skip the CSRF token, so curl works."""
    ratelimit.count_leak_report()
    leaks.revoke_leaked(leaks.reported_keys(json_object()))
    return jsonify(detail=leaks.REPORT_ANSWER)


@bp.delete("/api/v1/auths/api_keys/self")
@documented(
    "Revoke the key this request is made with",
    KEYS_TAG,
    answers={200: DELETED},
    description="Send it with the key to revoke; a browser session has no such key (400).",
)
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
@documented(
    "Create or replace your key named default",
    KEYS_TAG,
    answers={200: obj({"api_key": SECRET}, ("api_key",))},
    description="Open WebUI's single key. It never expires unless the administrator set a "
    "maximum lifetime; then it gets all of it.",
)
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
@documented(
    "Read your key named default (never: keys are shown once)",
    KEYS_TAG,
    answers={404: Answer(description=KEYS_SHOWN_ONCE)},
)
@session_only
def read_default_api_key():
    raise ServiceError(404, KEYS_SHOWN_ONCE)


@bp.delete("/api/v1/auths/api_key")
@documented("Delete your key named default", KEYS_TAG, answers={200: DONE})
@session_only
def delete_default_api_key():
    existing = api_keys.find_named_key(g.principal, api_keys.DEFAULT_KEY_NAME)
    if existing is not None:
        api_keys.delete_key(existing)
    return jsonify(True)


# --- admin: accounts and settings -----------------------------------------------------


@bp.post("/api/v1/auths/add")
@documented(
    "Create an account",
    ADMIN_TAG,
    body=NEW_ACCOUNT_BODY,
    answers={200: ACCOUNT},
    description="Open WebUI's Add User: role pending unless the body names one; sign-up need "
    "not be open.",
)
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
@documented("Read the sign-up and API key settings", ADMIN_TAG, answers={200: AUTH_SETTINGS})
@require_role("admin")
def read_admin_config():
    return jsonify(get_settings(ADMIN_CONFIG_FIELDS))


@bp.post("/api/v1/auths/admin/config")
@documented(
    "Change the sign-up and API key settings",
    ADMIN_TAG,
    body=AUTH_SETTINGS_CHANGE,
    answers={200: AUTH_SETTINGS},
    description="Any subset of the settings; an invalid value saves nothing.",
)
@require_role("admin")
@session_only
def save_admin_config():
    body = json_object()
    try:
        configuration.save(body, ADMIN_CONFIG_FIELDS, g.principal.id)
    except SettingError as error:
        raise ServiceError(400, f"{error.name} {error.message}.") from None
    return jsonify(get_settings(ADMIN_CONFIG_FIELDS))
