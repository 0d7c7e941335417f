"""Forms every blueprint uses, and the base class of every form."""

from flask import request
from flask_wtf import FlaskForm
from wtforms import PasswordField, SubmitField
from wtforms.validators import DataRequired, Length

from webui.services.users import MIN_PASSWORD_LENGTH


class Form(FlaskForm):
    """The base of every page's form: it reads submitted form fields and nothing else.

    Flask-WTF would also read a JSON body as the form's data, unchecked; JSON belongs to the
    API, which reads it in one place (``api/payloads.py``). A page posted JSON sees an empty
    form and answers with the form and its messages."""

    class Meta:
        def wrap_formdata(self, form, formdata):
            if request.is_json and not hasattr(formdata, "getlist"):
                return None
            return super().wrap_formdata(form, formdata)


class EmptyForm(Form):
    """A POST-only button (delete, revoke): nothing but its CSRF token."""

    submit = SubmitField("Submit")


def new_password_field(label: str) -> PasswordField:
    """A password being chosen: long enough, said in the words the service uses."""
    too_short = f"Password must be at least {MIN_PASSWORD_LENGTH} characters."
    return PasswordField(
        label, validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, message=too_short)]
    )
