"""The API's catch-all: a route webui does not serve answers 404 with a JSON ``detail``.

Without it, a path that only looks like a served one (``GET /api/v1/users/all`` against
``DELETE /api/v1/users/<id>``) would answer 405, and a script could not tell "not here" from
"wrong method". The rules use the ``path`` converter, so every served route wins over them.
"""

from flask import request

from webui.api import bp
from webui.errors import ServiceError
from webui.security.permissions import public

EVERY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# Open WebUI routes webui leaves out whose paths a served pattern would otherwise take
# (``/users/usage`` looks like ``/users/<user_id>``): named here so they answer as left out.
SHADOWED = [
    "/api/v1/users/usage",
    "/api/v1/users/user/info",
    "/api/v1/files/<file_id>/content/html",
    "/api/v1/knowledge/search/files",
    "/api/v1/chats/config",
    "/api/v1/chats/read",
    "/api/v1/chats/shared",
]


@bp.route("/api", methods=EVERY_METHOD)
@bp.route("/openai", methods=EVERY_METHOD)
@bp.route("/api/<path:rest>", methods=EVERY_METHOD)
@bp.route("/openai/<path:rest>", methods=EVERY_METHOD)
@bp.route("/ollama/<path:rest>", methods=EVERY_METHOD)
@public
def not_provided(**_path_values):
    raise ServiceError(
        404,
        f"{request.method} {request.path} is not provided by webui (the Open WebUI routes it "
        "serves, and why the others are left out, are listed in docs/api.md).",
    )


for shadowed in SHADOWED:
    bp.add_url_rule(shadowed, view_func=not_provided, methods=EVERY_METHOD)
