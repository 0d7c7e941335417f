"""Forms every blueprint uses."""

from flask_wtf import FlaskForm
from wtforms import SubmitField


class EmptyForm(FlaskForm):
    """A POST-only button (delete, revoke): nothing but its CSRF token."""

    submit = SubmitField("Submit")
