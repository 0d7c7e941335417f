import calendar
import datetime
import time

from flask import flash, g, make_response, redirect, render_template, session, url_for

from webui.account import bp
from webui.account.forms import (
    EXPIRY_CHOICES,
    ApiKeyForm,
    EditKeyForm,
    KeyForm,
    PasswordForm,
    ProfileForm,
    RotateForm,
)
from webui.core.secrets import seal, unseal
from webui.core.settings import get_setting
from webui.errors import ServiceError
from webui.forms import EmptyForm
from webui.models import now
from webui.security.permissions import (
    has_permission,
    keys_unusable_reason,
    permissions_of,
    session_only,
)
from webui.security.ratelimit import TooManyAttempts
from webui.services import api_keys, api_routes, groups, key_expiry, key_usage, leaks, quotas, users
from webui.services.usage import usage_by_key
from webui.signin import this_session

DAY = 86400
NEW_KEY = "new_api_key"  # the session entry holding a new key's secret until it is shown


def expiry_from_form(form: KeyForm) -> int | None:
    """Epoch seconds for the chosen expiry; a date means the key works through that day (UTC)."""
    if form.expiry.data == "never":
        return None
    if form.expiry.data == "date":
        # Seconds, not dates: the day after 9999-12-31 is no date (the service refuses it).
        return calendar.timegm(form.expiry_date.data.timetuple()) + DAY
    return now() + int(form.expiry.data) * DAY


def key_form_options() -> dict:
    """Only the endpoints this person's keys could ever reach are offered."""
    return {"endpoint_choices": api_routes.reachable_choices(g.principal)}


def flash_saved(message: str, endpoints: list[str] | None) -> None:
    """A key was saved: success, or a warning naming the entries that can never match."""
    unmatchable = api_routes.unmatchable_entries(g.principal, endpoints)
    if not unmatchable:
        flash(message, "success")
        return
    flash(
        f"{message} Warning: {', '.join(unmatchable)} can never match a request from this "
        "key: the administrator's allowed endpoints block it, or it leads only to routes "
        "your account may not use through a key.",
        "warning",
    )


def show_once(secret: str) -> None:
    """Keep a new key's secret for the next page of this browser only, sealed (the session
    cookie is signed, not encrypted); that page takes it out."""
    session[NEW_KEY] = seal(secret)


def take_new_key() -> str | None:
    sealed = session.pop(NEW_KEY, None)
    return unseal(sealed) if isinstance(sealed, str) else None


def render_account(status: int = 200, **forms):
    # Forms that were not submitted must not pick up another form's fields from the request.
    forms.setdefault(
        "profile_form", ProfileForm(formdata=None, prefix="profile", name=g.principal.name)
    )
    forms.setdefault("password_form", PasswordForm(formdata=None))
    forms.setdefault("key_form", ApiKeyForm(formdata=None, **key_form_options()))
    html = render_template(
        "account/index.html",
        permissions=permissions_of(g.principal),
        group_names=sorted(group.name for group in groups.groups_by_ids(g.principal.group_ids)),
        keys=api_keys.list_keys(g.principal),
        usage=usage_by_key(g.principal.id),
        keys_switched_on=get_setting("ENABLE_API_KEYS"),
        keys_permitted=has_permission(g.principal, "features.api_keys"),
        new_key=take_new_key() if status == 200 else None,
        empty=EmptyForm(),
        **forms,
    )
    return no_store(make_response(html, status))


def no_store(response):
    """Account pages may show a new key, and always show personal data: never cached."""
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
    try:
        users.rename(g.principal.id, form.name.data)
    except ServiceError as error:
        flash(f"Your profile was not saved: {error.detail}", "error")
        return render_account(error.status, profile_form=form)
    flash("Profile saved.", "success")
    return redirect(url_for("account.index"))


@bp.post("/password")
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            changed = users.change_password(
                g.principal.id, form.current_password.data, form.new_password.data, this_session()
            )
        except TooManyAttempts as error:
            flash(f"Your password was not changed: {error.detail}", "error")
            response = render_account(429, password_form=form)
            response.headers.update(error.headers)
            return response
        if changed:
            flash("Password changed. Other browsers signed in as you are signed out.", "success")
            return redirect(url_for("account.index"))
        form.current_password.errors.append("This is not your current password.")
    flash("Your password was not changed; see the message below.", "error")
    return render_account(400, password_form=form)


def explain_refusal(form: KeyForm, error: ServiceError) -> None:
    """Put the key service's refusal on the form, in the page's words: on the field it is
    about, or flashed when it is about no field (keys switched off, say)."""
    if not isinstance(error, api_keys.KeyFieldError):
        flash(error.detail, "error")
        return
    expiry_field = form.expiry_date if form.expiry.data == "date" else form.expiry
    field = {
        "name": form.name,
        "expires_at": expiry_field,
        "allowed_endpoints": form.allowed_endpoints,
        "read_only": form.read_only,
        "rate_limit": form.rate_limit,
        "allowed_models": form.allowed_models,
        "allowed_networks": form.allowed_networks,
        "token_quota": form.token_quota,
        "request_quota": form.request_quota,
        "quota_period": form.quota_period,
    }[error.field]
    field.errors = [*field.errors, error.page_detail]


@bp.post("/keys")
@session_only
def create_key():
    form = ApiKeyForm(**key_form_options())
    if form.validate_on_submit():
        try:
            api_key, secret = api_keys.create_key(
                g.principal,
                form.name.data,
                expires_at=expiry_from_form(form),
                allowed_endpoints=form.chosen_endpoints(),
                read_only=form.read_only.data,
                rate_limit=(form.rate_limit.data or "").strip(),
                allowed_models=form.allowed_models.data or None,
                allowed_networks=form.allowed_networks.data or None,
                **quota_values(form),
            )
        except ServiceError as error:
            explain_refusal(form, error)
        else:
            show_once(secret)
            flash_saved(
                f"API key {api_key.name!r} created. Copy it now: it will not be shown again.",
                api_key.allowed_endpoints,
            )
            return redirect(url_for("account.index", _anchor="new-key-box"))
    flash("The key was not created; see the message below.", "error")
    return render_account(400, key_form=form)


def render_key_page(api_key, form: EditKeyForm, status: int = 200):
    blocker = keys_unusable_reason(g.principal)
    html = render_template(
        "account/key.html",
        key=api_key,
        form=form,
        keys_usable=blocker is None,
        keys_blocker=blocker,
        usage=key_usage.chart(api_key.id),
        rotate_form=RotateForm(formdata=None),
        quota_uses=quotas.key_use(api_key),
    )
    return no_store(make_response(html, status))


def expiry_label(expires_at: int | None) -> str:
    """A key's expiry as plain text for a select option (which holds no markup)."""
    if expires_at is None:
        return "never"
    try:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires_at))
    except (OverflowError, OSError, ValueError):
        return f"{expires_at} (epoch seconds)"


def edit_form(api_key, **kwargs) -> EditKeyForm:
    return EditKeyForm(
        current_expiry=expiry_label(api_key.expires_at),
        **key_form_options(),
        **kwargs,
    )


def quota_values(form: KeyForm) -> dict:
    """The key's quota fields as the API names them (empty: none)."""
    tokens = (form.token_quota.data or "").strip() or None
    requests = (form.request_quota.data or "").strip() or None
    period = form.quota_period.data if tokens or requests else None
    return {"token_quota": tokens, "request_quota": requests, "quota_period": period}


def changed_values(form: EditKeyForm, api_key) -> dict:
    """The form as a change to the key (API field names); the expiry only when another one
    was chosen, the endpoints only when the list differs (an empty list stays empty)."""
    values = {
        "name": form.name.data,
        "read_only": form.read_only.data,
        "rate_limit": (form.rate_limit.data or "").strip(),
        "allowed_models": form.allowed_models.data or None,
        "allowed_networks": form.allowed_networks.data or None,
        **quota_values(form),
    }
    if form.expiry.data != "keep":
        values["expires_at"] = expiry_from_form(form)
    endpoints = form.chosen_endpoints()
    if endpoints != (api_key.allowed_endpoints or None):
        values["allowed_endpoints"] = endpoints
    return values


@bp.get("/keys/<key_id>")
@session_only
def key_page(key_id: str):
    api_key = api_keys.get_own_key_or_404(g.principal, key_id)
    form = edit_form(
        api_key,
        formdata=None,
        name=api_key.name,
        read_only=api_key.read_only,
        rate_limit=api_key.rate_limit_per_minute or "",
        allowed_models=", ".join(api_key.allowed_models or ()),
        allowed_networks=", ".join(api_key.allowed_networks or ()),
        token_quota=api_key.token_quota or "",
        request_quota=api_key.request_quota or "",
        quota_period=api_key.quota_period or "day",
        expiry="keep",
    )
    form.show_endpoints(api_key.allowed_endpoints)
    return render_key_page(api_key, form)


@bp.post("/keys/<key_id>")
@session_only
def update_key(key_id: str):
    api_key = api_keys.get_own_key_or_404(g.principal, key_id)
    form = edit_form(api_key)
    status = 400
    if form.validate_on_submit():
        try:
            api_keys.update_key(g.principal, api_key, changed_values(form, api_key))
        except ServiceError as error:
            explain_refusal(form, error)
            status = error.status  # 403 when keys may not be changed now
        else:
            flash_saved(f"API key {api_key.name!r} saved.", api_key.allowed_endpoints)
            return redirect(url_for("account.index", _anchor="api-keys"))
    flash("The key was not changed; see the message below.", "error")
    return render_key_page(api_key, form, status)


@bp.post("/keys/<key_id>/rotate")
@session_only
def rotate_key(key_id: str):
    api_key = api_keys.get_own_key_or_404(g.principal, key_id)
    form = RotateForm()
    if not form.validate_on_submit():
        flash("The key was not rotated: choose how long the current secret keeps working.", "error")
        return redirect(url_for("account.key_page", key_id=api_key.id))
    expiry_before = api_key.expires_at
    try:
        secret = api_keys.rotate_key(g.principal, api_key, form.grace_seconds.data)
    except ServiceError as error:
        flash(f"The key was not rotated: {error.detail}", "error")
        return redirect(url_for("account.index", _anchor="api-keys"))
    show_once(secret)
    held = (
        f" It now expires on {expiry_label(api_key.expires_at)}: the administrator's "
        "maximum lifetime."
        if api_key.expires_at != expiry_before
        else ""
    )
    old = (
        f"the old one works until {expiry_label(api_key.previous_valid_until)}"
        if api_key.previous_valid_until
        else "the old one no longer works"
    )
    flash(
        f"API key {api_key.name!r} has a new secret; {old}.{held} "
        "Copy the new one now: it will not be shown again.",
        "success",
    )
    return redirect(url_for("account.index", _anchor="new-key-box"))


@bp.post("/keys/<key_id>/end-grace")
@session_only
def end_key_grace(key_id: str):
    api_key = api_keys.get_own_key_or_404(g.principal, key_id)
    if EmptyForm().validate_on_submit():
        api_keys.end_grace(api_key)
        flash(f"The previous secret of API key {api_key.name!r} no longer works.", "success")
    return redirect(url_for("account.key_page", key_id=api_key.id))


def replacement_form(api_key) -> ApiKeyForm:
    """The new-key form filled with ``api_key``'s restrictions and lifetime, for the owner to
    check and change before creating it."""
    expiry = expiry_choice(key_expiry.replacement_lifetime_days(api_key))
    form = ApiKeyForm(
        formdata=None,
        **key_form_options(),
        name=key_expiry.replacement_name(api_key.name),
        read_only=api_key.read_only,
        rate_limit=api_key.rate_limit_per_minute or "",
        allowed_models=", ".join(api_key.allowed_models or ()),
        allowed_networks=", ".join(api_key.allowed_networks or ()),
        **expiry,
    )
    form.show_endpoints(api_key.allowed_endpoints)
    return form


def expiry_choice(days: int | None) -> dict:
    """The form's expiry for a lifetime of ``days``: a listed choice, else that date."""
    if days is None:
        return {"expiry": "never"}
    offered = {value for value, _ in api_keys.allowed_expiry_choices(EXPIRY_CHOICES)}
    if str(days) in offered or days == api_keys.max_lifetime_days():
        return {"expiry": str(days)}
    return {
        "expiry": "date",
        "expiry_date": datetime.datetime.fromtimestamp(now() + days * DAY, datetime.UTC).date(),
    }


@bp.get("/keys/<key_id>/replace")
@session_only
def replace_key(key_id: str):
    api_key = api_keys.get_own_key_or_404(g.principal, key_id)
    return render_account(key_form=replacement_form(api_key), replacing=api_key)


@bp.post("/keys/<key_id>/enable")
@session_only
def enable_key(key_id: str):
    api_key = api_keys.get_own_key_or_404(g.principal, key_id)
    if EmptyForm().validate_on_submit():
        try:
            api_keys.enable_key(g.principal, api_key)
        except ServiceError as error:
            flash(f"The key was not re-enabled: {error.detail}", "error")
        else:
            flash(f"API key {api_key.name!r} re-enabled: scripts using it work again.", "success")
    return redirect(url_for("account.key_page", key_id=api_key.id))


@bp.post("/keys/<key_id>/delete")
@session_only
def delete_key(key_id: str):
    api_key = api_keys.get_own_key_or_404(g.principal, key_id)
    if EmptyForm().validate_on_submit():
        api_keys.delete_key(api_key)
        flash(f"API key {api_key.name!r} deleted. Scripts using it get 401 from now on.", "success")
    return redirect(url_for("account.index", _anchor="api-keys"))


# --- the banner of keys revoked by a leak report ----------------------------------------


@bp.app_template_global()
def leaked_keys_notice() -> list[dict]:
    """For base.html: the signed-in person's keys revoked by leak reports, not yet dismissed
    (one read, made only by full pages)."""
    principal = g.get("principal")
    if principal is None or principal.key is not None:
        return []
    return leaks.leaked_keys_notice(principal.id)


@bp.app_template_global()
def expiring_keys_notice() -> list:
    """For base.html, as the leak banner: the signed-in person's keys expiring within a week
    (one read, made only by full pages; a keyed request renders no page)."""
    principal = g.get("principal")
    if principal is None or principal.key is not None:
        return []
    return key_expiry.expiring_keys(principal.id)


@bp.post("/leaked-keys/dismiss")
@session_only
def dismiss_leaked_keys():
    if EmptyForm().validate_on_submit():
        leaks.dismiss_notice(g.principal.id)
    return redirect(url_for("account.index", _anchor="api-keys"))


# --- the banner of quotas nearly or wholly used ------------------------------------------


@bp.app_template_global()
def quota_warnings() -> list[str]:
    """For base.html: the signed-in person's quotas past their warning threshold, in words
    (from the quotas the request's lookup already read: no query)."""
    principal = g.get("principal")
    if principal is None or principal.key is not None:
        return []
    return [quotas.warning_line(quota) for quota in principal.quotas if quota.warned]
