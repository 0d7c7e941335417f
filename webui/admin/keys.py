"""Admin Panel > API Keys: every user's keys, revocation, and the key policy."""

from flask import flash, redirect, render_template, request, url_for
from wtforms import StringField, SubmitField
from wtforms.validators import Length

from webui.admin import bp
from webui.admin.forms import save_settings_form
from webui.core.settings import get_setting
from webui.errors import ServiceError
from webui.forms import EmptyForm, Form
from webui.security import ratelimit
from webui.security.permissions import require_role
from webui.services import key_inventory, key_usage, quotas, users

POLICY_SETTINGS = ["API_KEYS_MAX_LIFETIME_DAYS", "API_KEYS_DISABLE_UNUSED_DAYS"]


class KeyPolicyForm(Form):
    API_KEYS_MAX_LIFETIME_DAYS = StringField(
        "Maximum key lifetime (days)", validators=[Length(max=10)]
    )
    API_KEYS_DISABLE_UNUSED_DAYS = StringField(
        "Disable keys unused for (days)", validators=[Length(max=10)]
    )
    submit = SubmitField("Save policy")


class RevokeEveryKeyForm(Form):
    expected = StringField()  # the count the admin was shown
    confirm = StringField("Type the number of keys to confirm", validators=[Length(max=20)])
    submit = SubmitField("Revoke every key")


def policy_form() -> KeyPolicyForm:
    """The policy as saved; a setting that is off (None) shows as an empty field."""
    saved = {name: get_setting(name) for name in POLICY_SETTINGS}
    return KeyPolicyForm(
        **{name: "" if days is None else str(days) for name, days in saved.items()}
    )


def render_inventory(status: int = 200, form: KeyPolicyForm | None = None):
    """The inventory with the request's filters; bad filters: a flash, 400, all keys."""
    try:
        filters = key_inventory.parse_filters(request.args)
    except ServiceError as error:
        flash(f"Filters not applied: {error.detail}", "error")
        filters, status = key_inventory.KeyFilters(), 400
    rows, total = key_inventory.search(filters)
    counts = key_inventory.request_counts([api_key.id for api_key, _ in rows])
    html = render_template(
        "admin/api_keys.html",
        rows=rows,
        counts=counts,
        recent=key_usage.recent_usage([api_key.id for api_key, _ in rows]),
        service_owners=key_inventory.service_owner_names(rows),
        quota_uses=quotas.keys_use([api_key for api_key, _ in rows]),
        total=total,
        filters=filters,
        args=request.args,
        users=users.all_users(),
        all_keys=key_inventory.count_keys(),
        policy=form or policy_form(),
        failed_auth_limit=ratelimit.failed_auth_limit(),
        empty=EmptyForm(),
    )
    return html, status


@bp.get("/api-keys")
@require_role("admin")
def api_keys():
    return render_inventory()


@bp.post("/api-keys/<key_id>/revoke")
@require_role("admin")
def revoke_api_key(key_id: str):
    api_key = key_inventory.get_key_or_404(key_id)
    if EmptyForm().validate_on_submit():
        owner = api_key.user.email
        key_inventory.revoke(api_key)
        flash(
            f"Revoked {owner}'s key {api_key.name!r} ({api_key.prefix}…). It gets 401 from now on.",
            "success",
        )
    return redirect(request.referrer if _same_page(request.referrer) else url_for("admin.api_keys"))


@bp.post("/api-keys/users/<user_id>/revoke")
@require_role("admin")
def revoke_user_api_keys(user_id: str):
    user = users.get_user_or_404(user_id)
    if EmptyForm().validate_on_submit():
        count = key_inventory.revoke_user_keys(user)
        flash(f"Revoked all {count} API keys of {user.email}.", "success")
    return redirect(url_for("admin.api_keys"))


@bp.route("/api-keys/revoke-all", methods=["GET", "POST"])
@require_role("admin")
def revoke_every_api_key():
    """The emergency switch: a page that names how many keys go, and asks for that number."""
    count = key_inventory.count_keys()
    form = RevokeEveryKeyForm(expected=str(count))
    status = 200
    if form.validate_on_submit():
        if form.expected.data != str(count):
            flash(
                f"The number of keys changed to {count} while you looked; "
                "review and confirm again.",
                "error",
            )
            form.expected.data, form.confirm.data, status = str(count), "", 409
        elif (form.confirm.data or "").strip() != str(count):
            form.confirm.errors.append(f"Type {count} to confirm.")
            flash(
                "Nothing was revoked: the confirmation did not match the number of keys.", "error"
            )
            status = 400
        else:
            revoked = key_inventory.revoke_every_key()
            flash(
                f"Revoked every API key: {revoked} keys. Every script using one gets 401 now.",
                "success",
            )
            return redirect(url_for("admin.api_keys"))
    return render_template("admin/api_keys_revoke_all.html", form=form, count=count), status


@bp.post("/api-keys/policy")
@require_role("admin")
def api_key_policy():
    form = KeyPolicyForm()
    if form.validate_on_submit():
        if not save_settings_form(form, POLICY_SETTINGS):
            return render_inventory(400, form)
        flash("Key policy saved.", "success")
        return redirect(url_for("admin.api_keys"))
    flash("Nothing was saved; see the messages below.", "error")
    return render_inventory(400, form)


def _same_page(referrer: str | None) -> bool:
    """Return to the filtered inventory after a revoke, but only on this site's page."""
    return bool(referrer) and referrer.startswith(request.host_url + "admin/api-keys")
