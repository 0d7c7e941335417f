from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from webui.admin import (  # noqa: E402,F401
    audit,
    connections,
    groups,
    keys,
    quotas,
    routes,
    service_accounts,
)
