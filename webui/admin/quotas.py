"""Admin Panel > Quotas: token and request quotas of people and groups."""

from flask import flash, redirect, render_template, url_for
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length

from webui.admin import bp
from webui.errors import ServiceError
from webui.forms import Form
from webui.security.permissions import require_role
from webui.security.quotas import DEFAULT_WARN_PERCENT
from webui.services import quotas


class QuotaForm(Form):
    # Text, so the service's one rule gives the message for a bad number.
    token_quota = StringField("Tokens (optional)", validators=[Length(max=14)])
    request_quota = StringField("Requests (optional)", validators=[Length(max=14)])
    quota_period = SelectField(
        "Per", choices=[("day", "Day (UTC)"), ("month", "Month (UTC)")], default="day"
    )
    quota_warn_percent = StringField(
        f"Warn from (percent, default {DEFAULT_WARN_PERCENT})", validators=[Length(max=3)]
    )
    submit = SubmitField("Save quotas")

    def values(self) -> dict:
        return {name: (self[name].data or "").strip() or None for name in quotas.QUOTA_FIELDS}


@bp.get("/quotas")
@require_role("admin")
def quotas_page():
    groups, people = quotas.groups_and_people()
    return render_template("admin/quotas.html", groups=groups, people=people)


@bp.route("/quotas/users/<user_id>", methods=["GET", "POST"])
@require_role("admin")
def user_quota_edit(user_id: str):
    return quota_edit("users", user_id)


@bp.route("/quotas/groups/<group_id>", methods=["GET", "POST"])
@require_role("admin")
def group_quota_edit(group_id: str):
    return quota_edit("groups", group_id)


def quota_edit(kind: str, holder_id: str):
    """The quota form of a person or group; a refused value: flashed, the form kept, 400."""
    holder = quotas.holder_or_404(kind, holder_id)
    form = QuotaForm(obj=holder)
    if not form.is_submitted():
        form.quota_period.data = holder.quota_period or "day"
    status = 200
    if form.validate_on_submit():
        try:
            quotas.set_quotas(holder, form.values())
        except ServiceError as error:
            flash(f"The quotas were not saved: {error.detail}", "error")
            status = 400
        else:
            flash(f"Quotas of {quotas.holder_json(holder)['name']} saved.", "success")
            return redirect(url_for("admin.quotas_page"))
    elif form.is_submitted():
        flash("The quotas were not saved; see the message below.", "error")
        status = 400
    name = quotas.holder_json(holder)["name"]
    what = "user" if kind == "users" else "group"
    html = render_template("admin/quota_edit.html", form=form, name=name, what=what)
    return html, status
