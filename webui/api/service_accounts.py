"""/api/v1/service-accounts: administrators create service accounts and mint, rotate and
revoke their keys. Reading needs the admin role; every change also needs a browser session,
as changing users, groups or keys does."""

from flask import g, jsonify

from webui.api import bp
from webui.api.auths import no_store
from webui.api.payloads import json_object
from webui.security.permissions import require_role, session_only
from webui.services import service_accounts


def one_account_json(account) -> dict:
    owner = service_accounts.owners_by_id([account]).get(account.owner_id)
    return service_accounts.account_json(account, owner, service_accounts.keys_of(account))


@bp.get("/api/v1/service-accounts")
@require_role("admin")
def list_service_accounts():
    accounts = service_accounts.all_accounts()
    owners = service_accounts.owners_by_id(accounts)
    items = [service_accounts.account_json(a, owners.get(a.owner_id)) for a in accounts]
    return jsonify(items=items, total=len(items))


@bp.post("/api/v1/service-accounts")
@require_role("admin")
@session_only
def create_service_account():
    account = service_accounts.create_from_body(json_object())
    return jsonify(one_account_json(account)), 201


@bp.get("/api/v1/service-accounts/<user_id>")
@require_role("admin")
def read_service_account(user_id: str):
    return jsonify(one_account_json(service_accounts.get_or_404(user_id)))


@bp.delete("/api/v1/service-accounts/<user_id>")
@require_role("admin")
@session_only
def delete_service_account(user_id: str):
    service_accounts.delete(service_accounts.get_or_404(user_id), g.principal.id)
    return jsonify(deleted=True)


@bp.post("/api/v1/service-accounts/<user_id>/keys")
@require_role("admin")
@session_only
def mint_service_account_key(user_id: str):
    account = service_accounts.get_or_404(user_id)
    api_key, secret = service_accounts.mint_key(account, json_object())
    return no_store(jsonify({**api_key.to_dict(), "key": secret})), 201


@bp.post("/api/v1/service-accounts/<user_id>/keys/<key_id>/rotate")
@require_role("admin")
@session_only
def rotate_service_account_key(user_id: str, key_id: str):
    account = service_accounts.get_or_404(user_id)
    api_key = service_accounts.key_or_404(account, key_id)
    secret = service_accounts.rotate_key(account, api_key)
    return no_store(jsonify({**api_key.to_dict(), "key": secret})), 201


@bp.delete("/api/v1/service-accounts/<user_id>/keys/<key_id>")
@require_role("admin")
@session_only
def revoke_service_account_key(user_id: str, key_id: str):
    account = service_accounts.get_or_404(user_id)
    service_accounts.revoke_key(service_accounts.key_or_404(account, key_id))
    return jsonify(deleted=True)
