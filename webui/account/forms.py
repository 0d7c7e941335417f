from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from webui.forms import Form, new_password_field
from webui.services.api_keys import MAX_NAME_LENGTH, allowed_expiry_choices

EXPIRY_CHOICES = [
    ("never", "Never"),
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
    ("date", "On a date…"),
]


class ProfileForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    submit = SubmitField("Save profile")


class PasswordForm(Form):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = new_password_field("New password")
    submit = SubmitField("Change password")


class ApiKeyForm(Form):
    name = StringField(
        "Name",
        validators=[
            DataRequired(message="Give the key a name, such as 'Monitoring Bot'."),
            Length(max=MAX_NAME_LENGTH),
        ],
    )
    expiry = SelectField("Expires", choices=EXPIRY_CHOICES, default="never")
    expiry_date = DateField("Expiry date", validators=[Optional()])
    allowed_endpoints = StringField("Allowed endpoints (optional)", validators=[Length(max=4000)])
    read_only = BooleanField("Read-only (GET requests only)")
    # Text, so the service's one rule gives the message for a bad number.
    rate_limit = StringField("Requests per minute (optional)", validators=[Length(max=10)])
    submit = SubmitField("Generate New API Key")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the expiries the administrator's maximum lifetime allows.
        self.expiry.choices = allowed_expiry_choices(EXPIRY_CHOICES)
        if not self.is_submitted() and self.expiry.data not in dict(self.expiry.choices):
            self.expiry.data = self.expiry.choices[0][0]

    def validate(self, extra_validators=None) -> bool:
        # Checked here because the Optional() date field skips its own validators when empty.
        valid = super().validate(extra_validators)
        if self.expiry.data == "date" and self.expiry_date.data is None:
            missing = "Pick the date the key should expire."
            self.expiry_date.errors = [*self.expiry_date.errors, missing]
            return False
        return valid
