"""/api/v1/quotas: the administrator's token and request quotas on people and groups."""

from flask import jsonify

from webui.api import bp
from webui.api.payloads import json_object
from webui.security.permissions import require_role, session_only
from webui.services import quotas


@bp.get("/api/v1/quotas/")
@require_role("admin")
def list_quotas():
    groups, people = quotas.groups_and_people()
    return jsonify(
        groups=[quotas.holder_json(group) for group in groups],
        users=[quotas.holder_json(person) for person in people],
    )


@bp.post("/api/v1/quotas/users/<user_id>")
@require_role("admin")
@session_only
def set_user_quotas(user_id: str):
    return set_quotas(quotas.holder_or_404("users", user_id))


@bp.post("/api/v1/quotas/groups/<group_id>")
@require_role("admin")
@session_only
def set_group_quotas(group_id: str):
    return set_quotas(quotas.holder_or_404("groups", group_id))


def set_quotas(holder):
    quotas.set_quotas(holder, json_object())
    return jsonify(quotas.holder_json(holder))
