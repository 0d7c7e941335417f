"""Service accounts: accounts with no password that act only through API keys, which
administrators mint, rotate and revoke for them; each has an owner, the person who answers
for it. A service account is a ``users`` row marked ``is_service``, role ``user`` always,
so its keys reach what a user in its groups may reach, through the same guard.

Its owner's deletion passes it to the administrator deleting them (``users.delete_user``)."""

from typing import Any, Optional

import sqlalchemy as sa

from webui.core import audit
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import ApiKey, Group, User, new_id
from webui.security.principal import Principal, frozen_groups
from webui.services import api_keys, key_inventory, users

# Service accounts get an address no mail can reach (RFC 2606): accounts are found by
# email, and the sign-in refusal names the account it refused.
EMAIL_DOMAIN = "service.invalid"
NOT_FOUND = "Service account not found."
CREATE_FIELDS = ("name", "owner_id", "group_ids")


def clean_name(name: Any) -> str:
    """A person's name rules, and no other service account of the same name."""
    name = users.clean_name(name)
    taken = db.session.scalar(
        sa.select(User.id).where(User.is_service.is_(True), User.name == name)
    )
    if taken is not None:
        raise ServiceError(400, f"name: a service account named {name!r} exists already.")
    return name


def clean_owner(owner_id: Any) -> User:
    """The owner: an existing person (not another service account)."""
    if not isinstance(owner_id, str) or not owner_id:
        raise ServiceError(400, "owner_id is required: the id of the person who answers for it.")
    owner = db.session.get(User, owner_id)
    if owner is None or owner.is_service:
        raise ServiceError(400, "owner_id: there is no person with this id.")
    return owner


def clean_groups(group_ids: Any) -> list[Group]:
    """The groups it joins: a list of existing group ids (none when left out)."""
    if group_ids is None:
        return []
    if not isinstance(group_ids, list) or not all(isinstance(gid, str) for gid in group_ids):
        raise ServiceError(400, "group_ids must be a list of group ids.")
    wanted = set(group_ids)
    found = list(db.session.scalars(sa.select(Group).where(Group.id.in_(wanted)))) if wanted else []
    missing = wanted - {group.id for group in found}
    if missing:
        raise ServiceError(400, f"group_ids: there is no group with the id {sorted(missing)[0]!r}.")
    return sorted(found, key=lambda group: group.name)


def create(name: Any, owner_id: Any, group_ids: Any = None) -> User:
    """A new service account (role user, no password), audited with its owner."""
    name = clean_name(name)
    owner = clean_owner(owner_id)
    groups = clean_groups(group_ids)
    account_id = new_id()
    account = User(
        id=account_id,
        name=name,
        email=f"service-{account_id}@{EMAIL_DOMAIN}",
        password_hash="",  # matches no password: signing in is refused before any check
        role="user",
        is_service=True,
        owner_id=owner.id,
        groups=groups,
    )
    db.session.add(account)
    audit.service_account_created(account)
    db.session.commit()
    return account


def create_from_body(body: dict[str, Any]) -> User:
    unknown = sorted(set(body) - set(CREATE_FIELDS))
    if unknown:
        raise ServiceError(
            400, f"Unknown field {', '.join(unknown)}: send {', '.join(CREATE_FIELDS)}."
        )
    return create(body.get("name"), body.get("owner_id"), body.get("group_ids"))


def all_accounts() -> list[User]:
    return list(
        db.session.scalars(sa.select(User).where(User.is_service.is_(True)).order_by(User.name))
    )


def get_or_404(account_id: str) -> User:
    """The service account of this id; a person's id is not found either."""
    account = db.session.get(User, account_id)
    if account is None or not account.is_service:
        raise ServiceError(404, NOT_FOUND)
    return account


def owners_by_id(accounts: list[User]) -> dict[str, User]:
    """Owner id → owner, for the service accounts a list shows (one query)."""
    ids = {account.owner_id for account in accounts if account.owner_id}
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}


def delete(account: User, deleted_by: str) -> None:
    """Delete it and its keys (audited as a user's deletion)."""
    users.delete_user(account, deleted_by)


def principal_of(account: User) -> Principal:
    """The account as the guard would see it, for the key engine: keys are its own."""
    return Principal(
        id=account.id,
        name=account.name,
        email=account.email,
        role=account.role,
        groups=frozen_groups((group.id, group.permissions) for group in account.groups),
        is_service=True,
    )


# --- its keys: the engine of personal keys, for the service account ----------------


def mint_key(account: User, fields: dict[str, Any]) -> tuple[ApiKey, str]:
    """A new key of the service account; ``fields`` as a personal key's (API names).
    Returns the row and the only copy of the secret."""
    unknown = sorted(set(fields) - set(api_keys.EDITABLE_FIELDS))
    if unknown:
        raise ServiceError(
            400,
            f"Unknown field {', '.join(unknown)}: a key has {', '.join(api_keys.EDITABLE_FIELDS)}.",
        )
    others = {field: value for field, value in fields.items() if field != "name"}
    return api_keys.create_key(principal_of(account), fields.get("name"), **others)


def keys_of(account: User) -> list[ApiKey]:
    return api_keys.list_keys(principal_of(account))


def key_or_404(account: User, key_id: str) -> ApiKey:
    return api_keys.get_own_key_or_404(principal_of(account), key_id)


def rotate_key(account: User, api_key: ApiKey) -> str:
    return api_keys.rotate_key(principal_of(account), api_key)


def revoke_key(api_key: ApiKey) -> None:
    key_inventory.revoke(api_key)


def account_json(account: User, owner: Optional[User], keys: Optional[list] = None) -> dict:
    """A service account as the API shows it; ``keys`` only when given (one account)."""
    shown = {
        "id": account.id,
        "name": account.name,
        "email": account.email,
        "role": account.role,
        "is_service": True,
        "owner": None
        if owner is None
        else {"id": owner.id, "name": owner.name, "email": owner.email},
        "group_ids": [group.id for group in account.groups],
        "created_at": account.created_at,
    }
    if keys is not None:
        shown["keys"] = [api_key.to_dict() for api_key in keys]
    return shown
