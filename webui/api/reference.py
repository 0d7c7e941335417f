"""/docs: the API reference, Swagger UI over /openapi.json, for people in a browser.

Swagger UI comes from the flask-swagger-ui package (its ``dist`` folder, Swagger UI's own
build): this server sends every file, no CDN. Only the package's files are used, not its
blueprint, whose page starts Swagger UI with an inline script that the CSP refuses; our
``static/reference.js`` starts it instead."""

import os

import flask_swagger_ui
from flask import abort, render_template, url_for

from webui.api import bp
from webui.assets import add_file_folder, serve_folder_file
from webui.security.permissions import public

SWAGGER_UI_DIST = os.path.join(os.path.dirname(flask_swagger_ui.__file__), "dist")
# What the page loads: the bundle holds Swagger UI with React; no preset, no top bar.
SWAGGER_UI_FILES = frozenset(("swagger-ui-bundle.js", "swagger-ui.css"))


def serve_swagger_ui_folder(state) -> None:
    add_file_folder(state.app, "api.swagger_ui_file", SWAGGER_UI_DIST)


bp.record_once(serve_swagger_ui_folder)  # when the app registers the blueprint


@bp.get("/docs")
@public
def reference_page():
    """Anyone may read it; "Try it out" calls the API as whoever is signed in."""
    return render_template("api/reference.html", document_url=url_for("api.openapi_document"))


@bp.get("/docs/swagger-ui/<filename>")
@public
def swagger_ui_file(filename: str):
    """Swagger UI's files, cached for a year at their versioned URL like static files."""
    if filename not in SWAGGER_UI_FILES:
        abort(404)
    return serve_folder_file(SWAGGER_UI_DIST, filename)
