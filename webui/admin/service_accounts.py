"""Admin Panel > Users > Service accounts: accounts without a password that act only through
the API keys administrators mint here (the JSON API is api/service_accounts.py)."""

from flask import flash, g, make_response, redirect, render_template, session, url_for
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from webui.admin import bp
from webui.core.secrets import seal, unseal
from webui.errors import ServiceError
from webui.forms import EmptyForm, Form
from webui.models import now
from webui.security.permissions import require_role
from webui.services import groups, service_accounts, users

DAY = 86400
NEW_KEY = "new_service_key"  # the session entry holding a minted secret until it is shown
EXPIRY_CHOICES = [
    ("never", "Never"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
]


class ServiceAccountForm(Form):
    name = StringField(
        "Name", validators=[DataRequired(message="Name is required."), Length(max=100)]
    )
    owner_id = SelectField("Owner", choices=[], validate_choice=True)
    group_ids = SelectMultipleField(
        "Groups",
        choices=[],
        validate_choice=True,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    submit = SubmitField("Create service account")


class ServiceKeyForm(Form):
    name = StringField(
        "Key name",
        validators=[DataRequired(message="Give the key a name, such as 'ci'."), Length(max=100)],
    )
    expiry = SelectField("Expires", choices=EXPIRY_CHOICES, default="never")
    submit = SubmitField("Mint key")


def account_form(**data) -> ServiceAccountForm:
    """The creation form, offering people (never a service account) as owners."""
    form = ServiceAccountForm(**data)
    people = [user for user in users.all_users() if not user.is_service]
    form.owner_id.choices = [(user.id, f"{user.name} ({user.email})") for user in people]
    form.group_ids.choices = [(group.id, group.name) for group in groups.all_groups()]
    return form


def render_list(status: int = 200, form: ServiceAccountForm | None = None):
    accounts = service_accounts.all_accounts()
    html = render_template(
        "admin/service_accounts.html",
        accounts=accounts,
        owners=service_accounts.owners_by_id(accounts),
        form=form or account_form(owner_id=g.principal.id),
    )
    return html, status


@bp.get("/users/service-accounts")
@require_role("admin")
def service_accounts_page():
    return render_list()


@bp.post("/users/service-accounts")
@require_role("admin")
def create_service_account():
    form = account_form()
    if not form.validate_on_submit():
        flash("The service account was not created; see the messages below.", "error")
        return render_list(400, form)
    try:
        account = service_accounts.create(form.name.data, form.owner_id.data, form.group_ids.data)
    except ServiceError as error:
        flash(f"The service account was not created: {error.detail}", "error")
        return render_list(error.status, form)
    flash(f"Created the service account {account.name}. Mint its first key below.", "success")
    return redirect(url_for("admin.service_account", user_id=account.id))


def render_account(account, status: int = 200, key_form: ServiceKeyForm | None = None):
    sealed = session.pop(NEW_KEY, None) if status == 200 else None
    html = render_template(
        "admin/service_account.html",
        account=account,
        owner=service_accounts.owners_by_id([account]).get(account.owner_id),
        keys=service_accounts.keys_of(account),
        key_form=key_form or ServiceKeyForm(formdata=None),
        new_key=unseal(sealed) if isinstance(sealed, str) else None,
    )
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"  # it may show a new key
    return response


@bp.get("/users/service-accounts/<user_id>")
@require_role("admin")
def service_account(user_id: str):
    return render_account(service_accounts.get_or_404(user_id))


def expiry_of(choice: str) -> int | None:
    return None if choice == "never" else now() + int(choice) * DAY


@bp.post("/users/service-accounts/<user_id>/keys")
@require_role("admin")
def mint_service_account_key(user_id: str):
    account = service_accounts.get_or_404(user_id)
    form = ServiceKeyForm()
    if not form.validate_on_submit():
        flash("No key was minted; see the messages below.", "error")
        return render_account(account, 400, form)
    fields = {"name": form.name.data, "expires_at": expiry_of(form.expiry.data)}
    try:
        _, secret = service_accounts.mint_key(account, fields)
    except ServiceError as error:
        flash(f"No key was minted: {error.detail}", "error")
        return render_account(account, error.status, form)
    session[NEW_KEY] = seal(secret)  # shown once, on the next page of this browser only
    return redirect(url_for("admin.service_account", user_id=account.id))


@bp.post("/users/service-accounts/<user_id>/keys/<key_id>/rotate")
@require_role("admin")
def rotate_service_account_key(user_id: str, key_id: str):
    account = service_accounts.get_or_404(user_id)
    api_key = service_accounts.key_or_404(account, key_id)
    if EmptyForm().validate_on_submit():
        try:
            session[NEW_KEY] = seal(service_accounts.rotate_key(account, api_key))
        except ServiceError as error:
            flash(f"The key was not rotated: {error.detail}", "error")
    return redirect(url_for("admin.service_account", user_id=account.id))


@bp.post("/users/service-accounts/<user_id>/keys/<key_id>/revoke")
@require_role("admin")
def revoke_service_account_key(user_id: str, key_id: str):
    account = service_accounts.get_or_404(user_id)
    api_key = service_accounts.key_or_404(account, key_id)
    if EmptyForm().validate_on_submit():
        name = api_key.name
        service_accounts.revoke_key(api_key)
        flash(f"Revoked the key {name!r}. It gets 401 from now on.", "success")
    return redirect(url_for("admin.service_account", user_id=account.id))


@bp.post("/users/service-accounts/<user_id>/delete")
@require_role("admin")
def delete_service_account(user_id: str):
    account = service_accounts.get_or_404(user_id)
    if EmptyForm().validate_on_submit():
        name = account.name
        service_accounts.delete(account, g.principal.id)
        flash(f"Deleted the service account {name} and its API keys.", "success")
        return redirect(url_for("admin.service_accounts_page"))
    return redirect(url_for("admin.service_account", user_id=account.id))
