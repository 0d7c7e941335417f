from flask import Blueprint

bp = Blueprint("workspace", __name__, url_prefix="/workspace")

from webui.workspace import routes  # noqa: E402,F401
