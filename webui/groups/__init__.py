from flask import Blueprint

bp = Blueprint("groups", __name__, url_prefix="/admin")

from webui.groups import routes  # noqa: E402,F401
