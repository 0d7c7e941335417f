"""Personal API keys: creating, changing, rotating, listing and deleting them, under the
administrator's policy (a maximum lifetime); pages and the JSON API share it.

Every write but a deletion needs keys to be usable by their owner (the switch and the
``features.api_keys`` permission) and leaves the key within the maximum lifetime in force;
deleting your own key is always possible."""

import math
import time
from typing import Any, Optional

import sqlalchemy as sa

from webui.core import audit
from webui.core.parsers import endpoint_list, parse_optional_whole_number
from webui.core.settings import get_setting
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import ApiKey, now
from webui.security import key_format, networks
from webui.security.display_names import refuse_hidden_characters
from webui.security.permissions import keys_unusable_reason
from webui.security.principal import Principal
from webui.services import quotas

MAX_NAME_LENGTH = 100
DEFAULT_KEY_NAME = "default"  # the key Open WebUI's single-key endpoints manage
DAY = 86400
MAX_KEY_RATE_LIMIT = 1_000_000
LATEST_EXPIRY_DAYS = 36500  # a hundred years: later than that is "never", and says so
# What a key's owner may change, as the API names it, and the column each one sets.
EDITABLE_FIELDS = {
    "name": "name",
    "expires_at": "expires_at",
    "allowed_endpoints": "allowed_endpoints",
    "read_only": "read_only",
    "rate_limit": "rate_limit_per_minute",
    "allowed_models": "allowed_models",
    "allowed_networks": "allowed_networks",
    "token_quota": "token_quota",
    "request_quota": "request_quota",
    "quota_period": "quota_period",
}
MAX_LIST_ENTRIES = 100  # models or networks a key may list
MAX_MODEL_ID_LENGTH = 200


class KeyFieldError(ServiceError):
    """A refused key field: ``detail`` in the API's words (naming the JSON field), and
    ``page_detail`` in the words of the account page's form."""

    def __init__(self, field: str, detail: str, page_detail: str):
        super().__init__(400, detail)
        self.field = field
        self.page_detail = page_detail


def clean_name(name: Any, user: Principal, editing: Optional[ApiKey] = None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise KeyFieldError(
            "name",
            "name is required: give the key a name such as 'Monitoring Bot'.",
            "Give the key a name, such as 'Monitoring Bot'.",
        )
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise KeyFieldError(
            "name",
            f"name must be at most {MAX_NAME_LENGTH} characters.",
            f"The name must be at most {MAX_NAME_LENGTH} characters.",
        )
    refuse_hidden_characters(name, "name")
    clash = find_named_key(user, name)
    if clash is not None and clash is not editing:
        raise KeyFieldError(
            "name",
            f"name: you already have a key named {name!r}.",
            f"You already have a key named {name!r}; choose another name.",
        )
    return name


def clean_expiry(expires_at: Any) -> Optional[int]:
    if expires_at is None:
        return None
    if (
        isinstance(expires_at, bool)
        or not isinstance(expires_at, (int, float))
        or (isinstance(expires_at, float) and not math.isfinite(expires_at))
    ):
        raise KeyFieldError(
            "expires_at",
            "expires_at must be a time in epoch seconds, or null for never.",
            "Choose when the key expires.",
        )
    if expires_at <= now():
        raise KeyFieldError(
            "expires_at",
            "expires_at must be in the future.",
            "The expiry date must be in the future.",
        )
    if expires_at > now() + LATEST_EXPIRY_DAYS * DAY:
        raise KeyFieldError(
            "expires_at",
            "expires_at must be within 100 years; use null for a key that never expires.",
            "Choose a date within 100 years, or Never.",
        )
    return int(expires_at)


def clean_allowed_endpoints(entries: Any) -> Optional[list[str]]:
    if entries is None:
        return None
    if not isinstance(entries, list):
        raise KeyFieldError(
            "allowed_endpoints",
            "allowed_endpoints must be a list of paths such as ['/api/models'].",
            "Allowed endpoints must be paths such as /api/models.",
        )
    try:
        return endpoint_list(entries)
    except ValueError as error:
        raise KeyFieldError(
            "allowed_endpoints", f"allowed_endpoints: {error}.", f"Allowed endpoints: {error}."
        ) from None


def text_entries(value: Any) -> Optional[list[str]]:
    """A list of strings (or one comma-separated string, as a form sends it), trimmed, blanks
    and repeats dropped; None when it is not one."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        return None
    return list(dict.fromkeys(entry.strip() for entry in value if entry.strip()))


def clean_allowed_models(value: Any) -> Optional[list[str]]:
    """Model ids the key may use; None (also for an empty list): every model its owner may."""
    if value is None:
        return None
    entries = text_entries(value)
    if entries is None:
        raise KeyFieldError(
            "allowed_models",
            "allowed_models must be a list of model ids such as ['llama3:8b'], or null for "
            "every model you may use.",
            "Allowed models must be model ids separated by commas.",
        )
    problem = None
    if len(entries) > MAX_LIST_ENTRIES:
        problem = f"list at most {MAX_LIST_ENTRIES} models"
    elif any(len(entry) > MAX_MODEL_ID_LENGTH for entry in entries):
        problem = f"a model id has at most {MAX_MODEL_ID_LENGTH} characters"
    if problem:
        raise KeyFieldError(
            "allowed_models", f"allowed_models: {problem}.", f"Allowed models: {problem}."
        )
    return entries or None


def clean_allowed_networks(value: Any) -> Optional[list[str]]:
    """Addresses and CIDR networks (IPv4, IPv6) the key works from, in their normal form;
    None (also for an empty list): anywhere."""
    if value is None:
        return None
    entries = text_entries(value)
    if entries is None:
        raise KeyFieldError(
            "allowed_networks",
            "allowed_networks must be a list of addresses or networks such as "
            "['203.0.113.7', '10.0.0.0/8'], or null for any address.",
            "Allowed networks must be addresses or networks separated by commas.",
        )
    if len(entries) > MAX_LIST_ENTRIES:
        problem = f"list at most {MAX_LIST_ENTRIES} addresses or networks"
        raise KeyFieldError(
            "allowed_networks", f"allowed_networks: {problem}.", f"Allowed networks: {problem}."
        )
    try:
        normal = [networks.normal_form(entry) for entry in entries]
    except ValueError as error:
        raise KeyFieldError(
            "allowed_networks", f"allowed_networks: {error}.", f"Allowed networks: {error}."
        ) from None
    return list(dict.fromkeys(normal)) or None


def clean_read_only(read_only: Any) -> bool:
    if read_only is None:
        return False
    if not isinstance(read_only, bool):
        raise KeyFieldError(
            "read_only", "read_only must be true or false.", "Read-only must be on or off."
        )
    return read_only


def clean_rate_limit(value: Any) -> Optional[int]:
    """A key's own limit in requests a minute: a whole number, or None for no limit."""
    try:
        return parse_optional_whole_number(value, 1, MAX_KEY_RATE_LIMIT)
    except ValueError:
        raise KeyFieldError(
            "rate_limit",
            f"rate_limit must be a whole number from 1 to {MAX_KEY_RATE_LIMIT}, or null "
            "for no limit of its own.",
            f"Requests per minute must be a whole number from 1 to {MAX_KEY_RATE_LIMIT}, "
            "or empty for no limit of its own.",
        ) from None


def clean_key_quota(field: str, value: Any, user: Principal) -> Optional[int]:
    """A key's token or request quota: a whole number not above its owner's, or None."""
    what = "Token" if field == "token_quota" else "Request"
    try:
        amount = quotas.clean_quota(field, value)
    except ServiceError as error:
        raise KeyFieldError(
            field,
            error.detail,
            f"{what} quota must be a whole number from 1 to {quotas.MAX_QUOTA}, or empty for none.",
        ) from None
    ceiling = quotas.ceiling_below(user.id, field, amount)
    if ceiling is not None:
        raise KeyFieldError(
            field,
            f"{field} {amount} is above your quota of {ceiling}: a key's quota may only be lower.",
            f"{what} quota {amount} is above your quota of {ceiling}: a key's quota may only "
            "be lower.",
        )
    return amount


def clean_key_period(value: Any) -> Optional[str]:
    try:
        return quotas.clean_period(value)
    except ServiceError as error:
        raise KeyFieldError("quota_period", error.detail, "Choose a day or a month.") from None


def clean_fields(user: Principal, values: dict[str, Any], editing: Optional[ApiKey] = None):
    """The given fields (API names, see EDITABLE_FIELDS) checked, as column values; creating
    and editing share every rule, including the administrator's maximum lifetime."""
    unknown = sorted(set(values) - set(EDITABLE_FIELDS))
    if unknown:
        raise ServiceError(
            400,
            f"Unknown field {', '.join(unknown)}: a key has {', '.join(EDITABLE_FIELDS)}.",
        )
    cleaners = {
        "name": lambda value: clean_name(value, user, editing),
        "expires_at": lambda value: check_expiry(clean_expiry(value)),
        "allowed_endpoints": clean_allowed_endpoints,
        "read_only": clean_read_only,
        "rate_limit": clean_rate_limit,
        "allowed_models": clean_allowed_models,
        "allowed_networks": clean_allowed_networks,
        "token_quota": lambda value: clean_key_quota("token_quota", value, user),
        "request_quota": lambda value: clean_key_quota("request_quota", value, user),
        "quota_period": clean_key_period,
    }
    return {EDITABLE_FIELDS[field]: cleaners[field](value) for field, value in values.items()}


def refuse_unless_keys_usable(user: Principal) -> None:
    blocker = keys_unusable_reason(user)
    if blocker:
        raise ServiceError(403, blocker)


def create_key(
    user: Principal,
    name: Any,
    expires_at: Any = None,
    allowed_endpoints: Any = None,
    read_only: Any = None,
    replacing: Optional[ApiKey] = None,
    rate_limit: Any = None,
    allowed_models: Any = None,
    allowed_networks: Any = None,
    token_quota: Any = None,
    request_quota: Any = None,
    quota_period: Any = None,
) -> tuple[ApiKey, str]:
    """Validate everything, then store the key's digest; returns the row and the only copy
    of the secret. ``replacing`` is deleted in the same transaction."""
    refuse_unless_keys_usable(user)
    fields = clean_fields(
        user,
        {
            "name": name,
            "expires_at": expires_at,
            "allowed_endpoints": allowed_endpoints,
            "read_only": read_only,
            "rate_limit": rate_limit,
            "allowed_models": allowed_models,
            "allowed_networks": allowed_networks,
            "token_quota": token_quota,
            "request_quota": request_quota,
            "quota_period": quota_period,
        },
        editing=replacing,
    )
    secret = key_format.generate_key()
    if replacing is not None:
        audit.key_deleted(replacing)
        db.session.delete(replacing)
        db.session.flush()
    api_key = ApiKey(user_id=user.id, **fields)
    set_secret(api_key, secret)
    db.session.add(api_key)
    audit.key_created(api_key)
    db.session.commit()
    return api_key, secret


def set_secret(api_key: ApiKey, secret: str) -> None:
    """What the key row keeps of a secret: its digest (how requests find the key) and the
    visible ends."""
    api_key.digest = key_format.key_digest(secret)
    api_key.prefix = key_format.visible_prefix(secret)
    api_key.last_chars = key_format.visible_suffix(secret)


def update_key(user: Principal, api_key: ApiKey, values: dict[str, Any]) -> ApiKey:
    """Change some of a key's fields (API names); nothing is saved unless all are valid.
    A change that leaves the expiry alone needs the expiry to be within the policy in force."""
    refuse_unless_keys_usable(user)
    if not values:
        raise ServiceError(400, f"Nothing to change: send any of {', '.join(EDITABLE_FIELDS)}.")
    fields = clean_fields(user, values, editing=api_key)
    if "expires_at" not in fields:
        refuse_unless_within_policy(api_key.expires_at)
    changes = {
        column: (getattr(api_key, column), value)
        for column, value in fields.items()
        if getattr(api_key, column) != value
    }
    if changes:
        audit.key_updated(api_key, changes)
        for column, (_, value) in changes.items():
            setattr(api_key, column, value)
        db.session.commit()
    return api_key


MAX_GRACE_SECONDS = DAY  # how long a rotated key's old secret may keep working


def clean_grace_seconds(value: Any) -> int:
    """How long the old secret keeps working after a rotation: whole seconds, 0 (the
    default, also for None) to a day."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GRACE_SECONDS:
        raise KeyFieldError(
            "grace_seconds",
            f"grace_seconds must be a whole number of seconds from 0 to {MAX_GRACE_SECONDS} "
            "(24 hours): how long the old secret keeps working; 0 or null ends it at once.",
            "Choose how long the old secret keeps working: none, or up to 24 hours.",
        )
    return value


def rotate_key(user: Principal, api_key: ApiKey, grace_seconds: Any = None) -> str:
    """A new secret for the same key row. With a grace period the old secret keeps finding
    this row (so it has exactly its restrictions) until the period ends; without one it stops
    matching at once, since every request looks its key up by digest. Only one previous
    secret is kept: a second rotation replaces it. Returns the only copy of the new one.

    A new secret is held to the maximum lifetime in force: a key that never expires, or
    expires later than that allows, now expires at the latest moment it allows. An expired
    key is refused: its new secret would not work."""
    refuse_unless_keys_usable(user)
    grace = clean_grace_seconds(grace_seconds)
    if api_key.is_expired():
        raise ServiceError(
            409,
            f"This key expired on {expiry_text(api_key.expires_at)}, so a new secret would not "
            "work: give it a new expiry first, or create a new key.",
        )
    latest = max_expiry()
    if latest is not None and (api_key.expires_at is None or api_key.expires_at > latest):
        audit.key_updated(api_key, {"expires_at": (api_key.expires_at, latest)})
        api_key.expires_at = latest
    old_ends = (api_key.prefix, api_key.last_chars)
    if grace:
        api_key.previous_digest = api_key.digest
        api_key.previous_valid_until = now() + grace
    else:
        api_key.previous_digest = api_key.previous_valid_until = None
    secret = key_format.generate_key()
    set_secret(api_key, secret)
    audit.key_rotated(api_key, *old_ends)
    db.session.commit()
    return secret


def end_grace(api_key: ApiKey) -> ApiKey:
    """The previous secret stops working now (audited when one still worked). Like deleting,
    always allowed: it only takes access away."""
    still_works = api_key.previous_secret_until()
    if api_key.previous_digest is None:
        return api_key
    if still_works is not None:
        audit.key_updated(api_key, {"previous_valid_until": (still_works, None)})
    api_key.previous_digest = api_key.previous_valid_until = None
    db.session.commit()
    return api_key


def list_keys(user: Principal) -> list[ApiKey]:
    return list(
        db.session.scalars(
            sa.select(ApiKey)
            .where(ApiKey.user_id == user.id)
            .order_by(ApiKey.created_at.desc(), ApiKey.name)
        )
    )


def get_own_key_or_404(user: Principal, key_id: str) -> ApiKey:
    api_key = db.session.get(ApiKey, key_id)
    if api_key is None or api_key.user_id != user.id:
        raise ServiceError(404, "API key not found.")
    return api_key


def find_named_key(user: Principal, name: str) -> Optional[ApiKey]:
    return db.session.scalar(
        sa.select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.name == name)
    )


def enable_key(user: Principal, api_key: ApiKey) -> None:
    """Re-enable a key the guard disabled for lack of use. It counts as a use, so the key
    works until it goes unused for the policy's number of days again."""
    refuse_unless_keys_usable(user)
    if not api_key.is_disabled():
        return
    audit.key_enabled(api_key, api_key.disabled_at)
    api_key.disabled_at = api_key.disabled_reason = None
    api_key.last_used_at = now()
    db.session.commit()


def delete_key(api_key: ApiKey) -> None:
    audit.key_deleted(api_key)
    db.session.delete(api_key)
    db.session.commit()


# --- the administrator's policy for new keys --------------------------------------


def max_lifetime_days() -> Optional[int]:
    return get_setting("API_KEYS_MAX_LIFETIME_DAYS")


def max_expiry() -> Optional[int]:
    """The latest expiry a new key may have (epoch seconds), or None when unlimited."""
    days = max_lifetime_days()
    return None if days is None else now() + days * DAY


def check_expiry(expires_at: Optional[int]) -> Optional[int]:
    """``expires_at`` (already validated as None or a future time) when the policy allows it."""
    latest = max_expiry()
    if latest is None:
        return expires_at
    days = max_lifetime_days()
    if expires_at is None:
        raise KeyFieldError(
            "expires_at",
            f"expires_at is required: the administrator's policy (API_KEYS_MAX_LIFETIME_DAYS) "
            f"says keys must expire within {days} days.",
            f"Keys must expire within {days} days (the administrator's maximum); "
            "choose a number of days or a date.",
        )
    # A minute of slack: a form's "N days" is computed a moment before this check.
    if expires_at > latest + 60:
        raise KeyFieldError(
            "expires_at",
            f"expires_at is too late: the administrator's policy (API_KEYS_MAX_LIFETIME_DAYS) "
            f"says keys must expire within {days} days; choose an earlier date.",
            f"Keys must expire within {days} days (the administrator's maximum); "
            "choose an earlier date.",
        )
    return expires_at


def refuse_unless_within_policy(expires_at: Optional[int]) -> None:
    """A key's present expiry, kept by a change, must be within the maximum lifetime in force;
    a past one is (an expired key stays expired)."""
    latest = max_expiry()
    if latest is None or (expires_at is not None and expires_at <= latest + 60):
        return
    days = max_lifetime_days()
    now_expires = "never expires" if expires_at is None else f"expires on {expiry_text(expires_at)}"
    raise KeyFieldError(
        "expires_at",
        f"expires_at is required: this key {now_expires}, but the administrator's policy "
        f"(API_KEYS_MAX_LIFETIME_DAYS) says keys must expire within {days} days; send an "
        "expires_at within it with your change.",
        f"This key {now_expires}, but keys must now expire within {days} days (the "
        "administrator's maximum); choose when it expires.",
    )


def expiry_text(expires_at: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires_at))


def allowed_expiry_choices(choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The account page's expiry choices the policy allows ("never", "N" days, "date");
    the maximum itself is offered when no listed number of days equals it."""
    days = max_lifetime_days()
    if days is None:
        return list(choices)
    allowed = [(value, label) for value, label in choices if value.isdigit() and int(value) <= days]
    if str(days) not in {value for value, _ in allowed}:
        allowed.append((str(days), f"{days} days (the maximum)"))
    allowed += [(value, label) for value, label in choices if value == "date"]
    return allowed
