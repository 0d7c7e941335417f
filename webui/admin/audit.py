"""Admin Panel > Audit: the audit trail with filters and paging."""

from urllib.parse import urlencode

import sqlalchemy as sa
from flask import flash, render_template, request, url_for

from webui.admin import bp
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import User
from webui.security.permissions import require_role
from webui.services import audit


def emails_of(user_ids: set[str]) -> dict[str, str]:
    """Actor ids → emails, one query; deleted users are simply absent."""
    if not user_ids:
        return {}
    return dict(
        db.session.execute(sa.select(User.id, User.email).where(User.id.in_(user_ids))).all()
    )


def page_url(page: int) -> str:
    query = {name: value for name, value in request.args.items() if value and name != "page"}
    return url_for("admin.audit") + "?" + urlencode({**query, "page": page})


@bp.get("/audit", endpoint="audit")
@require_role("admin")
def audit_page():
    status = 200
    try:
        filters = audit.parse_filters(request.args)
    except ServiceError as error:
        flash(f"Filters not applied: {error.detail}", "error")
        filters, status = audit.AuditFilters(), 400
    events, total = audit.search(filters)
    html = render_template(
        "admin/audit.html",
        events=events,
        total=total,
        filters=filters,
        args=request.args,
        actions=audit.ACTIONS,
        families=audit.FAMILIES,
        emails=emails_of({event.actor_id for event in events if event.actor_id}),
        pages=max(1, -(-total // filters.per_page)),
        page_url=page_url,
    )
    return html, status
