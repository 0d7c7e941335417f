"""/api/v1/audit: the audit trail, newest first, a page at a time by keyset."""

from flask import jsonify, request

from webui.api import bp
from webui.api.auths import ADMIN_TAG, EPOCH
from webui.api.declare import documented
from webui.core.apidoc import BOOLEAN, INTEGER, STRING, array, component, enum, nullable, obj
from webui.core.audit import ACTIONS, FAMILIES
from webui.security.permissions import require_role
from webui.services import audit_log

AUDIT_EVENT = component(
    "AuditEvent",
    obj(
        {
            "id": {**INTEGER, "description": "Grows with every event: newer events, larger ids."},
            "ts": EPOCH,
            "action": {**STRING, "description": "Such as key.created, settings.changed."},
            "actor_id": {**nullable(STRING), "description": "Who did it; null: nobody signed in."},
            "target": {**nullable(STRING), "description": "The id of what it was done to."},
            "ip": nullable(STRING),
            "route": nullable(STRING),
            "detail": nullable({"type": "object"}),
            "count": {**INTEGER, "description": "Repeats of a throttled event on this row."},
        },
        ("id", "ts", "action", "actor_id", "target", "ip", "route", "detail", "count"),
    ),
)
AUDIT_PAGE = obj(
    {
        "items": array(AUDIT_EVENT),
        "total": {
            **INTEGER,
            "description": f"Matching events, counted up to {audit_log.COUNT_LIMIT:,}.",
        },
        "total_capped": {**BOOLEAN, "description": "More events match than total says."},
        "next": {
            **nullable(INTEGER),
            "description": "The `before` of the next (older) page; null on the last.",
        },
    },
    ("items", "total", "total_capped", "next"),
)
AUDIT_QUERY = {
    "action": {
        **enum(*ACTIONS, *FAMILIES),
        "description": "One action, or a family such as key (every key.… action).",
    },
    "actor": {**STRING, "maxLength": 254, "description": "Part of the actor's name or email."},
    "actor_id": {**STRING, "maxLength": 36},
    "target": {**STRING, "maxLength": 255},
    "ip": {
        "anyOf": [{**STRING, "format": "ipv4"}, {**STRING, "format": "ipv6"}],
        "description": "An IP address.",
    },
    "before": {
        **INTEGER,
        "minimum": 1,
        "maximum": audit_log.MAX_ID,
        "description": "Only events older than this id: the previous answer's next.",
    },
    "per_page": {**INTEGER, "minimum": 1, "maximum": audit_log.MAX_PER_PAGE, "default": 50},
}


@bp.get("/api/v1/audit")
@documented(
    "Read the audit trail",
    ADMIN_TAG,
    query=AUDIT_QUERY,
    answers={200: AUDIT_PAGE},
    description="Newest first, a page at a time: pass the answer's `next` as `before` for the "
    "next page.",
)
@require_role("admin")
def list_audit_events():
    """``next`` is the ``before`` of the next (older) page, null on the last; ``total``
    counts up to 10,000 matching events (``total_capped``: more match)."""
    page = audit_log.search(audit_log.parse_filters(request.args))
    return jsonify(
        items=[event.to_dict() for event in page.events],
        total=page.total,
        total_capped=page.total_capped,
        next=page.next_before,
    )
