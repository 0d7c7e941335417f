from flask import flash, g, redirect, render_template, url_for

from webui.admin import bp
from webui.admin.forms import AddUserForm, AuthenticationSettingsForm, RoleForm, save_settings_form
from webui.core.parsers import split_endpoints
from webui.core.settings import get_setting, get_settings
from webui.errors import ServiceError
from webui.forms import EmptyForm
from webui.security.permissions import require_role
from webui.services import users
from webui.services.api_routes import allowlist_preview

AUTH_SETTINGS = [
    "ENABLE_SIGNUP",
    "DEFAULT_USER_ROLE",
    "ENABLE_API_KEYS",
    "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS",
    "API_KEYS_ALLOWED_ENDPOINTS",
]


@bp.route("/settings", methods=["GET", "POST"])
@require_role("admin")
def settings_general():
    form = AuthenticationSettingsForm(data=get_settings(AUTH_SETTINGS))
    if form.validate_on_submit():
        if save_settings_form(form, AUTH_SETTINGS):
            flash("Settings saved.", "success")
            return redirect(url_for("admin.settings_general"))
    entries = split_endpoints(get_setting("API_KEYS_ALLOWED_ENDPOINTS"))
    return render_template(
        "admin/settings_general.html", form=form, preview=allowlist_preview(entries)
    )


def render_users(
    status: int = 200, add_form: AddUserForm | None = None, add_error: str | None = None
):
    """The users page; ``add_error`` is shown inside the Add user section, beside its form."""
    everyone = users.all_users()
    people = [user for user in everyone if not user.is_service]
    services = [user for user in everyone if user.is_service]
    forms = {user.id: RoleForm(role=user.role, prefix=user.id) for user in people}
    admins = [user for user in people if user.role == "admin"]
    html = render_template(
        "admin/users.html",
        users=people,
        service_accounts=services,
        service_owners={user.id: user for user in people},
        pending=[user for user in people if user.is_pending],
        role_forms=forms,
        last_admin_id=admins[0].id if len(admins) == 1 else None,
        add_form=add_form or AddUserForm(),
        add_error=add_error,
        empty=EmptyForm(),
    )
    return html, status


@bp.get("/users", endpoint="users")
@require_role("admin")
def users_page():
    return render_users()


@bp.post("/users/add")
@require_role("admin")
def add_user():
    form = AddUserForm()
    if not form.validate_on_submit():
        return render_users(400, form, "The account was not created; see the messages below.")
    try:
        user = users.add_user(form.name.data, form.email.data, form.password.data, form.role.data)
    except ServiceError as error:
        return render_users(error.status, form, f"The account was not created: {error.detail}")
    flash(f"Created {user.email} ({user.role}). Give them their password yourself.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<user_id>/approve")
@require_role("admin")
def approve_user(user_id: str):
    user = users.get_user_or_404(user_id)
    if EmptyForm().validate_on_submit():
        try:
            users.approve(user)
        except ServiceError as error:
            flash(error.detail, "error")
            return render_users(error.status)
        flash(f"Approved {user.email}: they can sign in and use webui now.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<user_id>/role")
@require_role("admin")
def change_role(user_id: str):
    user = users.get_user_or_404(user_id)
    form = RoleForm(prefix=user.id)
    if form.validate_on_submit():
        try:
            users.change_role(user, form.role.data)
        except ServiceError as error:
            flash(error.detail, "error")
        else:
            flash(f"{user.email} is now {user.role}.", "success")
    else:
        flash("Choose one of the listed roles.", "error")
    return redirect(url_for("admin.users"))


@bp.post("/users/<user_id>/delete")
@require_role("admin")
def delete_user(user_id: str):
    user = users.get_user_or_404(user_id)
    if user.id == g.principal.id:
        flash("You cannot delete your own account; another administrator can.", "error")
    elif EmptyForm().validate_on_submit():
        email = user.email
        try:
            users.delete_user(user, g.principal.id)
        except ServiceError as error:
            flash(error.detail, "error")
        else:
            flash(f"Deleted {email} and their API keys.", "success")
    return redirect(url_for("admin.users"))
