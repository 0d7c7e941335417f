from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from webui.services.accounts import MIN_PASSWORD_LENGTH
from webui.services.api_keys import MAX_NAME_LENGTH

EXPIRY_CHOICES = [
    ("never", "Never"),
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
    ("date", "On a date…"),
]


class ProfileForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    submit = SubmitField("Save profile")


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField(
        "New password",
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                message=f"Password must be at least {MIN_PASSWORD_LENGTH} characters.",
            ),
        ],
    )
    submit = SubmitField("Change password")


class ApiKeyForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired(message="Give the key a name, such as 'Monitoring Bot'."),
            Length(max=MAX_NAME_LENGTH),
        ],
    )
    expiry = SelectField("Expires", choices=EXPIRY_CHOICES, default="never")
    expiry_date = DateField("Expiry date", validators=[Optional()])
    allowed_endpoints = StringField(
        "Allowed endpoints (optional)", validators=[Length(max=4000)]
    )
    read_only = BooleanField("Read-only (GET requests only)")
    submit = SubmitField("Generate New API Key")

    def validate_expiry_date(self, field):
        if self.expiry.data == "date" and field.data is None:
            raise ValidationError("Pick the date the key should expire.")


class EmptyForm(FlaskForm):
    submit = SubmitField("Submit")
