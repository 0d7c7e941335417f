"""/api/v1/auths/admin/api_keys: the administrator's inventory of every user's keys."""

from flask import jsonify, request

from webui.api import bp
from webui.api.auths import ADMIN_TAG, DELETED, KEY_FIELDS, WARNINGS
from webui.api.declare import documented
from webui.core.apidoc import BOOLEAN, INTEGER, STRING, array, component, enum, nullable, obj
from webui.security.permissions import require_role, session_only
from webui.services import key_inventory, key_usage

OWNER = obj(
    {
        "id": STRING,
        "name": STRING,
        "email": STRING,
        "is_service": BOOLEAN,
        "owner": {
            **nullable(obj({"id": STRING, "name": nullable(STRING)}, ("id", "name"))),
            "description": "A service account's: the person who answers for it.",
        },
    },
    ("id", "name", "email", "is_service"),
)
OWNED_API_KEY = component(
    "OwnedApiKey",
    obj(
        {
            **KEY_FIELDS,
            "warnings": WARNINGS,
            "user": OWNER,
            "request_count": {**INTEGER, "description": "Chat completions recorded, ever."},
            "usage_30d": obj(
                {"requests": INTEGER, "tokens": INTEGER},
                ("requests", "tokens"),
            ),
        },
        (*KEY_FIELDS, "user", "request_count", "usage_30d"),
    ),
)
INVENTORY = obj(
    {"items": array(OWNED_API_KEY), "total": {**INTEGER, "description": "Matching keys."}},
    ("items", "total"),
)
INVENTORY_QUERY = {
    "user_id": {**STRING, "description": "Only this person's keys."},
    "unused_days": {
        **INTEGER,
        "minimum": 0,
        "maximum": key_inventory.MAX_UNUSED_DAYS,
        "description": "Only keys not used (or, never used, created) for this many days.",
    },
    "expired": {**BOOLEAN, "description": "true: only expired keys; false: keys that work."},
    "disabled": {**BOOLEAN, "description": "true: only keys disabled for lack of use."},
    "page": {**INTEGER, "minimum": 1, "maximum": 1_000_000, "default": 1},
    "per_page": {**INTEGER, "minimum": 1, "maximum": 1000, "default": 100},
    "sort": {
        **enum(*key_inventory.SORTS),
        "default": "owner",
        "description": "owner: by owner email, then name; usage and tokens: the busiest keys of "
        "the last 30 days first.",
    },
}


@bp.get("/api/v1/auths/admin/api_keys")
@documented(
    "List everyone's API keys",
    ADMIN_TAG,
    query=INVENTORY_QUERY,
    answers={200: INVENTORY},
    description="A page of keys with their owners, request counts and the last 30 days' usage.",
)
@require_role("admin")
def list_all_api_keys():
    rows, total = key_inventory.search(key_inventory.parse_filters(request.args))
    key_ids = [api_key.id for api_key, _ in rows]
    counts = key_inventory.request_counts(key_ids)
    recent = key_usage.recent_usage(key_ids)
    owner_names = key_inventory.service_owner_names(rows)
    items = [
        {
            **key_inventory.item_json(api_key, user, counts[api_key.id], owner_names),
            "usage_30d": recent[api_key.id],
        }
        for api_key, user in rows
    ]
    return jsonify(items=items, total=total)


@bp.delete("/api/v1/auths/admin/api_keys/<key_id>")
@documented("Revoke anyone's API key", ADMIN_TAG, answers={200: DELETED})
@require_role("admin")
@session_only
def revoke_api_key(key_id: str):
    key_inventory.revoke(key_inventory.get_key_or_404(key_id))
    return jsonify(deleted=True)
