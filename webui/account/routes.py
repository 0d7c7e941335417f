import calendar

from flask import flash, g, make_response, redirect, render_template, url_for

from webui.account import bp
from webui.account.forms import ApiKeyForm, PasswordForm, ProfileForm
from webui.errors import ServiceError
from webui.forms import EmptyForm
from webui.models import now
from webui.security.permissions import keys_unusable_reason, permissions_of, session_only
from webui.services import api_keys, users
from webui.services.usage import usage_by_key
from webui.signin import this_session

DAY = 86400


def expiry_from_form(form: ApiKeyForm) -> int | None:
    """Epoch seconds for the chosen expiry; a date means the key works through that day (UTC)."""
    if form.expiry.data == "never":
        return None
    if form.expiry.data == "date":
        # Seconds, not dates: the day after 9999-12-31 is no date (the service refuses it).
        return calendar.timegm(form.expiry_date.data.timetuple()) + DAY
    return now() + int(form.expiry.data) * DAY


def endpoints_from_form(form: ApiKeyForm) -> list[str] | None:
    entries = [entry.strip() for entry in (form.allowed_endpoints.data or "").split(",")]
    entries = [entry for entry in entries if entry]
    return entries or None


def render_account(status: int = 200, new_key: str | None = None, **forms):
    # Forms that were not submitted must not pick up another form's fields from the request.
    forms.setdefault(
        "profile_form", ProfileForm(formdata=None, prefix="profile", name=g.principal.name)
    )
    forms.setdefault("password_form", PasswordForm(formdata=None))
    forms.setdefault("key_form", ApiKeyForm(formdata=None))
    html = render_template(
        "account/index.html",
        permissions=permissions_of(g.principal),
        keys=api_keys.list_keys(g.principal),
        usage=usage_by_key(g.principal.id),
        blocker=keys_unusable_reason(g.principal),
        new_key=new_key,
        empty=EmptyForm(),
        **forms,
    )
    response = make_response(html, status)
    if new_key:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index():
    return render_account()


@bp.post("/profile")
def profile():
    form = ProfileForm(prefix="profile")
    if not form.validate_on_submit():
        flash("Your profile was not saved; see the message below.", "error")
        return render_account(400, profile_form=form)
    users.rename(g.principal.id, form.name.data)
    flash("Profile saved.", "success")
    return redirect(url_for("account.index"))


@bp.post("/password")
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        changed = users.change_password(
            g.principal.id, form.current_password.data, form.new_password.data, this_session()
        )
        if changed:
            flash("Password changed. Other browsers signed in as you are signed out.", "success")
            return redirect(url_for("account.index"))
        form.current_password.errors.append("This is not your current password.")
    flash("Your password was not changed; see the message below.", "error")
    return render_account(400, password_form=form)


def field_of_error(form: ApiKeyForm, detail: str):
    """The form field a refusal from the key service is about (the name by default)."""
    for word, field in (
        ("allowed_endpoints", form.allowed_endpoints),
        ("expires_at", form.expiry_date),
        ("rate_limit", form.rate_limit),
    ):
        if word in detail:
            return field
    return form.name


@bp.post("/keys")
@session_only
def create_key():
    form = ApiKeyForm()
    if form.validate_on_submit():
        try:
            api_key, secret = api_keys.create_key(
                g.principal,
                form.name.data,
                expires_at=expiry_from_form(form),
                allowed_endpoints=endpoints_from_form(form),
                read_only=form.read_only.data,
                rate_limit=(form.rate_limit.data or "").strip(),
            )
        except ServiceError as error:
            field_of_error(form, error.detail).errors.append(error.detail)
        else:
            flash(
                f"API key {api_key.name!r} created. Copy it now: it will not be shown again.",
                "success",
            )
            return render_account(new_key=secret)
    flash("The key was not created; see the message below.", "error")
    return render_account(400, key_form=form)


@bp.post("/keys/<key_id>/delete")
@session_only
def delete_key(key_id: str):
    api_key = api_keys.get_own_key_or_404(g.principal, key_id)
    if EmptyForm().validate_on_submit():
        api_keys.delete_key(api_key)
        flash(f"API key {api_key.name!r} deleted. Scripts using it get 401 from now on.", "success")
    return redirect(url_for("account.index"))
