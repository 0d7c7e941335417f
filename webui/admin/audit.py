"""Admin Panel > Audit: the audit trail with filters and keyset paging, its retention, and
deleting older events now."""

from flask import flash, g, redirect, render_template, request, url_for
from wtforms import StringField, SubmitField
from wtforms.validators import Length

from webui.admin import bp
from webui.admin.forms import save_settings_form
from webui.errors import ServiceError
from webui.forms import Form
from webui.security.permissions import require_role
from webui.services import audit_log

RETENTION_SETTINGS = ["AUDIT_RETENTION_DAYS"]
DEFAULT_PRUNE_DAYS = 90  # offered when the retention keeps everything


class RetentionForm(Form):
    AUDIT_RETENTION_DAYS = StringField("Keep audit events for (days)", validators=[Length(max=10)])
    submit = SubmitField("Save retention")


class PruneForm(Form):
    days = StringField("Delete events older than (days)", validators=[Length(max=10)])
    submit = SubmitField("Delete now")


def render_audit(status: int = 200, retention=None, prune=None):
    """The trail with the request's filters; bad filters: a flash, 400, the newest events."""
    try:
        filters = audit_log.parse_filters(request.args)
    except ServiceError as error:
        flash(f"Filters not applied: {error.detail}", "error")
        filters, status = audit_log.AuditFilters(), 400
    page = audit_log.search(filters)
    days = audit_log.retention_days()
    html = render_template(
        "admin/audit.html",
        page=page,
        events=page.events,
        filters=filters,
        args=request.args,
        actions=audit_log.ACTIONS,
        families=audit_log.FAMILIES,
        sentences=audit_log.sentences(page.events),
        newest_url=keyset_url(None),
        older_url=keyset_url(page.next_before),
        retention_days=days,
        retention=retention or RetentionForm(AUDIT_RETENTION_DAYS=str(days)),
        prune=prune or PruneForm(days=str(days or DEFAULT_PRUNE_DAYS)),
    )
    return html, status


def keyset_url(before: int | None) -> str:
    """This page with the request's filters, starting just older than ``before`` (None:
    the newest events)."""
    query = {name: value for name, value in request.args.items() if value and name != "before"}
    return url_for("admin.audit", **query, **({"before": before} if before else {}))


@bp.get("/audit", endpoint="audit")
@require_role("admin")
def audit_page():
    return render_audit()


@bp.post("/audit/retention")
@require_role("admin")
def audit_retention():
    form = RetentionForm()
    if form.validate_on_submit():
        if not save_settings_form(form, RETENTION_SETTINGS):
            return render_audit(400, retention=form)
        flash("Audit retention saved.", "success")
        return redirect(url_for("admin.audit"))
    flash("Nothing was saved; see the messages below.", "error")
    return render_audit(400, retention=form)


@bp.post("/audit/prune")
@require_role("admin")
def audit_prune():
    form = PruneForm()
    if form.validate_on_submit():
        try:
            days = audit_log.parse_prune_days(form.days.data)
        except ServiceError as error:
            form.days.errors.append(error.detail[0].upper() + error.detail[1:])
            flash(f"Nothing was deleted: {error.detail}", "error")
            return render_audit(400, prune=form)
        deleted = audit_log.prune(days, g.principal.id)
        flash(
            f"Deleted {deleted} audit event{'' if deleted == 1 else 's'} older than {days} days.",
            "success",
        )
        return redirect(url_for("admin.audit"))
    flash("Nothing was deleted; see the messages below.", "error")
    return render_audit(400, prune=form)
