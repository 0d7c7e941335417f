"""The JSON API; paths follow Open WebUI so its users' scripts work unchanged."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from webui.api import (  # noqa: E402,F401,E501
    admin_keys,
    audit,
    auths,
    chat,
    chats,
    files,
    groups,
    health,
    key_usage,
    knowledge,
    models,
    not_provided,
    ollama,
    openai,
    openapi,
    platform,
    profile,
    quotas,
    reference,
    retrieval,
    service_accounts,
    upstreams,
    users,
)
