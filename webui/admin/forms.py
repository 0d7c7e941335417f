from flask import flash, g
from wtforms import (
    BooleanField,
    EmailField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length

from webui.core.settings import SettingError
from webui.forms import Form, new_password_field
from webui.models import ROLES
from webui.services import configuration


class AuthenticationSettingsForm(Form):
    ENABLE_SIGNUP = BooleanField("Enable new sign-ups")
    DEFAULT_USER_ROLE = SelectField("Default user role", choices=[(r, r) for r in ROLES])
    ENABLE_API_KEYS = BooleanField("Enable API Keys")
    ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS = BooleanField("Enable API Key Endpoint Restrictions")
    API_KEYS_ALLOWED_ENDPOINTS = StringField("Allowed Endpoints", validators=[Length(max=4000)])
    submit = SubmitField("Save")


class RoleForm(Form):
    role = SelectField("Role", choices=[(role, role) for role in ROLES])
    submit = SubmitField("Change role")


class AddUserForm(Form):
    """Admin Panel > Users > Add user; the service checks the email and the password rules."""

    name = StringField(
        "Name", validators=[DataRequired(message="Name is required."), Length(max=100)]
    )
    email = EmailField(
        "Email", validators=[DataRequired(message="Email is required."), Length(max=254)]
    )
    password = new_password_field("Password")
    role = SelectField("Role", choices=[(role, role) for role in ROLES], default="user")
    submit = SubmitField("Add user")


class GroupForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    description = TextAreaField("Description", validators=[Length(max=500)])
    submit = SubmitField("Save")


def save_settings_form(form: Form, names: list[str]) -> bool:
    """Save the named settings from a validated form; on a refused value, mark the field,
    flash why and save nothing."""
    changes = {name: getattr(form, name).data for name in names}
    try:
        configuration.save(changes, names, g.principal.id)
    except SettingError as error:
        getattr(form, error.name).errors.append(error.message.capitalize() + ".")
        flash(f"Nothing was saved: {form[error.name].label.text} {error.message}.", "error")
        return False
    return True
