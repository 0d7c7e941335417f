"""Admin Panel > Audit: the audit trail with filters and paging."""

from flask import flash, render_template, request

from webui.admin import bp
from webui.errors import ServiceError
from webui.security.permissions import require_role
from webui.services import audit_log


@bp.get("/audit", endpoint="audit")
@require_role("admin")
def audit_page():
    status = 200
    try:
        filters = audit_log.parse_filters(request.args)
    except ServiceError as error:
        flash(f"Filters not applied: {error.detail}", "error")
        filters, status = audit_log.AuditFilters(), 400
    events, total = audit_log.search(filters)
    html = render_template(
        "admin/audit.html",
        events=events,
        total=total,
        filters=filters,
        args=request.args,
        actions=audit_log.ACTIONS,
        families=audit_log.FAMILIES,
        sentences=audit_log.sentences(events),
        pages=max(1, -(-total // filters.per_page)),
    )
    return html, status
