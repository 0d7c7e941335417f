"""/api/v1/service-accounts: administrators create service accounts and mint, rotate and
revoke their keys. Reading needs the admin role; every change also needs a browser session,
as changing users, groups or keys does."""

from flask import g, jsonify

from webui.api import bp
from webui.api.auths import (
    ADMIN_TAG,
    API_KEY,
    DELETED,
    EPOCH,
    NEW_API_KEY,
    NEW_KEY_BODY,
    no_store,
)
from webui.api.declare import documented
from webui.api.payloads import json_object
from webui.core.apidoc import BOOLEAN, INTEGER, STRING, array, component, enum, nullable, obj
from webui.security.permissions import require_role, session_only
from webui.services import service_accounts

SERVICE_ACCOUNT = component(
    "ServiceAccount",
    obj(
        {
            "id": STRING,
            "name": STRING,
            "email": {**STRING, "description": "An address no mail reaches, made for it."},
            "role": enum("user"),
            "is_service": {**BOOLEAN, "description": "Always true."},
            "owner": {
                **nullable(
                    obj({"id": STRING, "name": STRING, "email": STRING}, ("id", "name", "email"))
                ),
                "description": "The person who answers for it.",
            },
            "group_ids": array(STRING),
            "created_at": EPOCH,
            "keys": {**array(API_KEY), "description": "Its keys (one account's answer only)."},
        },
        ("id", "name", "email", "role", "is_service", "owner", "group_ids", "created_at"),
    ),
)
SERVICE_ACCOUNT_LIST = obj({"items": array(SERVICE_ACCOUNT), "total": INTEGER}, ("items", "total"))
NEW_SERVICE_ACCOUNT = obj(
    {
        "name": {**STRING, "description": "Unique among service accounts."},
        "owner_id": {
            **STRING,
            "x-refusal": "is required: the id of the person who answers for it",
        },
        "group_ids": {
            **array(STRING),
            "x-refusal": "must be a list of group ids",
            "description": "The groups it joins; none when left out.",
        },
    },
    ("name", "owner_id"),
    closed=True,
)


def one_account_json(account) -> dict:
    owner = service_accounts.owners_by_id([account]).get(account.owner_id)
    return service_accounts.account_json(account, owner, service_accounts.keys_of(account))


@bp.get("/api/v1/service-accounts")
@documented("List service accounts", ADMIN_TAG, answers={200: SERVICE_ACCOUNT_LIST})
@require_role("admin")
def list_service_accounts():
    accounts = service_accounts.all_accounts()
    owners = service_accounts.owners_by_id(accounts)
    items = [service_accounts.account_json(a, owners.get(a.owner_id)) for a in accounts]
    return jsonify(items=items, total=len(items))


@bp.post("/api/v1/service-accounts")
@documented(
    "Create a service account",
    ADMIN_TAG,
    body=NEW_SERVICE_ACCOUNT,
    answers={201: SERVICE_ACCOUNT},
    description="An account with no password that acts only through the API keys minted "
    "for it; role user, in the groups named.",
)
@require_role("admin")
@session_only
def create_service_account():
    account = service_accounts.create_from_body(json_object())
    return jsonify(one_account_json(account)), 201


@bp.get("/api/v1/service-accounts/<user_id>")
@documented("Read a service account and its keys", ADMIN_TAG, answers={200: SERVICE_ACCOUNT})
@require_role("admin")
def read_service_account(user_id: str):
    return jsonify(one_account_json(service_accounts.get_or_404(user_id)))


@bp.delete("/api/v1/service-accounts/<user_id>")
@documented("Delete a service account and its keys", ADMIN_TAG, answers={200: DELETED})
@require_role("admin")
@session_only
def delete_service_account(user_id: str):
    service_accounts.delete(service_accounts.get_or_404(user_id), g.principal.id)
    return jsonify(deleted=True)


@bp.post("/api/v1/service-accounts/<user_id>/keys")
@documented(
    "Mint a service account's API key",
    ADMIN_TAG,
    body=NEW_KEY_BODY,
    answers={201: NEW_API_KEY},
    description="The fields of a personal key; the answer holds the secret, shown only once.",
)
@require_role("admin")
@session_only
def mint_service_account_key(user_id: str):
    account = service_accounts.get_or_404(user_id)
    api_key, secret = service_accounts.mint_key(account, json_object())
    return no_store(jsonify({**api_key.to_dict(), "key": secret})), 201


@bp.post("/api/v1/service-accounts/<user_id>/keys/<key_id>/rotate")
@documented(
    "Give a service account's API key a new secret",
    ADMIN_TAG,
    answers={201: NEW_API_KEY},
    description="The old secret stops working at once; the new one is shown only once.",
)
@require_role("admin")
@session_only
def rotate_service_account_key(user_id: str, key_id: str):
    account = service_accounts.get_or_404(user_id)
    api_key = service_accounts.key_or_404(account, key_id)
    secret = service_accounts.rotate_key(account, api_key)
    return no_store(jsonify({**api_key.to_dict(), "key": secret})), 201


@bp.delete("/api/v1/service-accounts/<user_id>/keys/<key_id>")
@documented("Revoke a service account's API key", ADMIN_TAG, answers={200: DELETED})
@require_role("admin")
@session_only
def revoke_service_account_key(user_id: str, key_id: str):
    account = service_accounts.get_or_404(user_id)
    service_accounts.revoke_key(service_accounts.key_or_404(account, key_id))
    return jsonify(deleted=True)
