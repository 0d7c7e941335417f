from flask import jsonify

from webui.api import bp
from webui.security.permissions import public


@bp.get("/health")
@public
def health():
    return jsonify(status=True)
