from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from webui.admin import audit, connections, groups, keys, quotas, routes  # noqa: E402,F401
