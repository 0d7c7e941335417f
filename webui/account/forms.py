from wtforms import (
    BooleanField,
    DateField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from webui.forms import Form, new_password_field
from webui.services.api_keys import MAX_NAME_LENGTH, allowed_expiry_choices
from webui.services.api_routes import grouped_choices

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


class EndpointChoicesField(SelectMultipleField):
    """The API's own paths as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class KeyForm(Form):
    """A key's name, expiry and restrictions: what creating and editing a key share.
    ``endpoint_choices`` are the paths offered as checkboxes, shown by area
    (services/api_routes.py)."""

    name = StringField(
        "Name",
        validators=[
            DataRequired(message="Give the key a name, such as 'Monitoring Bot'."),
            Length(
                max=MAX_NAME_LENGTH,
                message=f"The name must be at most {MAX_NAME_LENGTH} characters.",
            ),
        ],
    )
    expiry = SelectField("Expires", choices=EXPIRY_CHOICES, default="never")
    expiry_date = DateField("Expiry date", validators=[Optional()])
    endpoints = EndpointChoicesField("Allowed endpoints", choices=[])
    allowed_endpoints = StringField(
        "Other allowed paths (optional)",
        validators=[Length(max=4000, message="Keep the list of paths under 4000 characters.")],
    )
    read_only = BooleanField("Read-only (GET requests only)")
    # Comma-separated text, checked by the service's one rule for the API and the page.
    allowed_models = StringField(
        "Allowed models (optional)",
        validators=[Length(max=4000, message="Keep the list of models under 4000 characters.")],
    )
    allowed_networks = StringField(
        "Allowed networks (optional)",
        validators=[Length(max=4000, message="Keep the list of networks under 4000 characters.")],
    )
    # Text, so the service's one rule gives the message for a bad number.
    rate_limit = StringField(
        "Requests per minute (optional)",
        validators=[Length(max=10, message="Requests per minute must be a number.")],
    )

    # The key's own quotas (below the owner's): text, checked by the service's rule.
    token_quota = StringField(
        "Token quota (optional)",
        validators=[Length(max=14, message="The token quota must be a number.")],
    )
    request_quota = StringField(
        "Request quota (optional)",
        validators=[Length(max=14, message="The request quota must be a number.")],
    )
    quota_period = SelectField(
        "Quota period",
        choices=[("day", "Per day (UTC)"), ("month", "Per month (UTC)")],
        default="day",
    )

    def __init__(self, *args, endpoint_choices: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoints.choices = [(path, path) for path in endpoint_choices]
        self.endpoint_groups = grouped_choices(list(endpoint_choices))
        # Only the expiries the administrator's maximum lifetime allows.
        self.expiry.choices = self.first_expiry_choices() + allowed_expiry_choices(EXPIRY_CHOICES)
        if not self.is_submitted() and self.expiry.data not in dict(self.expiry.choices):
            self.expiry.data = self.expiry.choices[0][0]

    def first_expiry_choices(self) -> list[tuple[str, str]]:
        return []

    def validate(self, extra_validators=None) -> bool:
        # Checked here because the Optional() date field skips its own validators when empty.
        valid = super().validate(extra_validators)
        if self.expiry.data == "date" and self.expiry_date.data is None:
            missing = "Pick the date the key should expire."
            self.expiry_date.errors = [*self.expiry_date.errors, missing]
            return False
        return valid

    def chosen_endpoints(self) -> list[str] | None:
        """The ticked paths and the typed ones, in that order; None when there are none
        (the key may call everything the administrator allows)."""
        typed = [entry.strip() for entry in (self.allowed_endpoints.data or "").split(",")]
        entries = [*(self.endpoints.data or []), *(entry for entry in typed if entry)]
        return entries or None

    def show_endpoints(self, entries: list[str] | None) -> None:
        """Fill the endpoint fields from a key's list: known paths ticked, the rest typed."""
        offered = {value for value, _ in self.endpoints.choices}
        entries = entries or []
        self.endpoints.data = [entry for entry in entries if entry in offered]
        self.allowed_endpoints.data = ", ".join(e for e in entries if e not in offered)


class ApiKeyForm(KeyForm):
    submit = SubmitField("Generate New API Key")


class EditKeyForm(KeyForm):
    """Changing a key: its expiry stays as it is unless another one is chosen."""

    submit = SubmitField("Save changes")

    def __init__(self, *args, current_expiry: str = "", **kwargs):
        self.current_expiry = current_expiry
        super().__init__(*args, **kwargs)

    def first_expiry_choices(self) -> list[tuple[str, str]]:
        return [("keep", f"Keep: {self.current_expiry}")]


GRACE_CHOICES = [
    (0, "None: it stops at once"),
    (300, "5 minutes"),
    (3600, "1 hour"),
    (21600, "6 hours"),
    (86400, "24 hours"),
]


class RotateForm(Form):
    """Rotating a key: how long its current secret keeps working (the list's own Rotate
    button sends no choice: none)."""

    grace_seconds = SelectField(
        "The current secret keeps working for", choices=GRACE_CHOICES, coerce=int, default=0
    )
