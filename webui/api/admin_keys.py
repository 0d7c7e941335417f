"""/api/v1/auths/admin/api_keys: the administrator's inventory of every user's keys."""

from flask import jsonify, request

from webui.api import bp
from webui.security.permissions import require_role, session_only
from webui.services import key_inventory, key_usage


@bp.get("/api/v1/auths/admin/api_keys")
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
@require_role("admin")
@session_only
def revoke_api_key(key_id: str):
    key_inventory.revoke(key_inventory.get_key_or_404(key_id))
    return jsonify(deleted=True)
