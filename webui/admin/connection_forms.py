"""Forms of Admin Panel > Settings > Connections and Admin Panel > Models."""

from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from webui.core.catalog import clean_base_url
from webui.forms import Form
from webui.services.connections import KIND_LABELS


def valid_base_url(_form, field) -> None:
    try:
        field.data = clean_base_url(field.data or "")
    except ValueError as error:
        raise ValidationError(str(error).capitalize() + ".") from None


class ApiSwitchesForm(Form):
    ENABLE_OLLAMA_API = BooleanField("Ollama API")
    ENABLE_OPENAI_API = BooleanField("OpenAI API")
    submit = SubmitField("Save")


class ConnectionForm(Form):
    """Edit one connection; an empty API key field keeps the saved key."""

    base_url = StringField("Base URL", validators=[DataRequired(), Length(max=500), valid_base_url])
    api_key = PasswordField("API key", validators=[Length(max=500)])
    enabled = BooleanField("Enabled", default=True)
    submit = SubmitField("Save")


class NewConnectionForm(ConnectionForm):
    kind = SelectField("Type", choices=list(KIND_LABELS.items()), default="openai")
    submit = SubmitField("Add connection")


class ModelAccessForm(Form):
    model_id = HiddenField(validators=[DataRequired(), Length(max=255)])
    access = RadioField(
        "Access",
        choices=[
            ("public", "Public: every user"),
            ("restricted", "Restricted to the chosen groups"),
        ],
        default="public",
    )
    group_ids = SelectMultipleField("Groups", choices=[], validate_choice=True)
    submit = SubmitField("Save")
