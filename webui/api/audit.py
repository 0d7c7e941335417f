"""/api/v1/audit: the audit trail, newest first."""

from flask import jsonify, request

from webui.api import bp
from webui.security.permissions import require_role
from webui.services import audit


@bp.get("/api/v1/audit")
@require_role("admin")
def list_audit_events():
    events, total = audit.search(audit.parse_filters(request.args))
    return jsonify(items=[event.to_dict() for event in events], total=total)
