"""/api/v1/audit: the audit trail, newest first, a page at a time by keyset."""

from flask import jsonify, request

from webui.api import bp
from webui.security.permissions import require_role
from webui.services import audit_log


@bp.get("/api/v1/audit")
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
