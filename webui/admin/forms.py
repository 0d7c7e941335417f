from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import Length

from webui.models.accounts import ROLES


class AuthenticationSettingsForm(FlaskForm):
    ENABLE_SIGNUP = BooleanField("Enable new sign-ups")
    DEFAULT_USER_ROLE = SelectField(
        "Default user role", choices=[("pending", "pending"), ("user", "user"), ("admin", "admin")]
    )
    ENABLE_API_KEYS = BooleanField("Enable API Keys")
    ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS = BooleanField("Enable API Key Endpoint Restrictions")
    API_KEYS_ALLOWED_ENDPOINTS = StringField("Allowed Endpoints", validators=[Length(max=4000)])
    submit = SubmitField("Save")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=[(role, role) for role in ROLES])
    submit = SubmitField("Change role")


class EmptyForm(FlaskForm):
    submit = SubmitField("Submit")
