"""/api/v1/quotas: the administrator's token and request quotas on people and groups."""

from flask import jsonify

from webui.api import bp
from webui.api.auths import ADMIN_TAG, QUOTA_PERIOD, quota_amount, whole_number_refusal
from webui.api.declare import documented
from webui.api.payloads import json_object
from webui.core.apidoc import INTEGER, STRING, array, component, enum, nullable, obj
from webui.security.permissions import require_role, session_only
from webui.security.quotas import DEFAULT_WARN_PERCENT, PERIODS
from webui.services import quotas

QUOTA_FIELDS = {
    "token_quota": {**nullable(INTEGER), "description": "Tokens a period; null: none."},
    "request_quota": {**nullable(INTEGER), "description": "Requests a period; null: none."},
    "quota_period": {**nullable(enum(*PERIODS)), "description": "UTC; null: day."},
    "quota_warn_percent": {
        **nullable(INTEGER),
        "description": f"Warn at this percent used; null: {DEFAULT_WARN_PERCENT}.",
    },
}
QUOTA_HOLDER = component(
    "QuotaHolder",
    obj(
        {
            "id": STRING,
            "name": {**STRING, "description": "A person's email or a group's name."},
            **QUOTA_FIELDS,
        },
        ("id", "name", *QUOTA_FIELDS),
    ),
)
QUOTA_HOLDERS = obj(
    {"groups": array(QUOTA_HOLDER), "users": array(QUOTA_HOLDER)}, ("groups", "users")
)
QUOTA_CHANGE = obj(
    {
        "token_quota": quota_amount("tokens"),
        "request_quota": quota_amount("requests"),
        "quota_period": QUOTA_PERIOD,
        "quota_warn_percent": {
            **nullable(INTEGER),
            "minimum": 1,
            "maximum": 100,
            "x-refusal": whole_number_refusal(1, 100, str(DEFAULT_WARN_PERCENT)),
        },
    },
    closed=True,
)


@bp.get("/api/v1/quotas/")
@documented("List the quotas of every group and person", ADMIN_TAG, answers={200: QUOTA_HOLDERS})
@require_role("admin")
def list_quotas():
    groups, people = quotas.groups_and_people()
    return jsonify(
        groups=[quotas.holder_json(group) for group in groups],
        users=[quotas.holder_json(person) for person in people],
    )


@bp.post("/api/v1/quotas/users/<user_id>")
@documented(
    "Set a person's quotas",
    ADMIN_TAG,
    body=QUOTA_CHANGE,
    answers={200: QUOTA_HOLDER},
    description="The fields sent change; null removes a quota. Holds from the next request.",
)
@require_role("admin")
@session_only
def set_user_quotas(user_id: str):
    return set_quotas(quotas.holder_or_404("users", user_id))


@bp.post("/api/v1/quotas/groups/<group_id>")
@documented(
    "Set a group's quotas",
    ADMIN_TAG,
    body=QUOTA_CHANGE,
    answers={200: QUOTA_HOLDER},
    description="The fields sent change; null removes a quota. Holds from the next request.",
)
@require_role("admin")
@session_only
def set_group_quotas(group_id: str):
    return set_quotas(quotas.holder_or_404("groups", group_id))


def set_quotas(holder):
    quotas.set_quotas(holder, json_object())
    return jsonify(quotas.holder_json(holder))
