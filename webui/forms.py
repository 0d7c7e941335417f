"""Forms every blueprint uses."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, SubmitField
from wtforms.validators import DataRequired, Length

from webui.services.users import MIN_PASSWORD_LENGTH


class EmptyForm(FlaskForm):
    """A POST-only button (delete, revoke): nothing but its CSRF token."""

    submit = SubmitField("Submit")


def new_password_field(label: str) -> PasswordField:
    """A password being chosen: long enough, said in the words the service uses."""
    too_short = f"Password must be at least {MIN_PASSWORD_LENGTH} characters."
    return PasswordField(
        label, validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, message=too_short)]
    )
