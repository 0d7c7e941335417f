"""/api/v1/audit: the audit trail, newest first."""

from flask import jsonify, request

from webui.api import bp
from webui.security.permissions import require_role
from webui.services import audit_log


@bp.get("/api/v1/audit")
@require_role("admin")
def list_audit_events():
    events, total = audit_log.search(audit_log.parse_filters(request.args))
    return jsonify(items=[event.to_dict() for event in events], total=total)
