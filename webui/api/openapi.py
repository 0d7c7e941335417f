"""/openapi.json: the OpenAPI 3.1 document of the API, from the routes' own declarations."""

import hashlib
import json

from flask import Response, current_app, request

from webui.api import bp
from webui.api.declare import documented
from webui.api.platform import app_version
from webui.core.apidoc import obj
from webui.security.permissions import public
from webui.services import openapi


@bp.get("/openapi.json")
@documented(
    "This document: the OpenAPI 3.1 description of the API",
    "Server status",
    answers={200: obj({"openapi": {"type": "string"}, "paths": {"type": "object"}}, ("openapi",))},
)
@public
def openapi_document():
    """Built once per process and version; clients revalidate it with its ETag."""
    body = _document_bytes(app_version())
    response = Response(body, mimetype="application/json")
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.headers["Cache-Control"] = "public, no-cache"
    return response.make_conditional(request)


def _document_bytes(version: str) -> bytes:
    cache = current_app.extensions.setdefault("webui.openapi_bytes", {})
    if version not in cache:
        cache[version] = json.dumps(openapi.document(version), separators=(",", ":")).encode()
    return cache[version]
