from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from webui.account import routes  # noqa: E402,F401
