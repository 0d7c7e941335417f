"""/api/v1/retrieval (Open WebUI's paths): ranked passages from files and collections."""

from flask import g, jsonify

from webui.api import bp
from webui.api.files import file_json
from webui.api.payloads import json_object
from webui.errors import ServiceError
from webui.services import files, retrieval

MAX_COLLECTIONS = 20


@bp.post("/api/v1/retrieval/query/doc")
def query_doc():
    body = json_object()
    return jsonify(
        retrieval.query(
            g.principal, [body.get("collection_name")], body.get("query"), body.get("k")
        )
    )


@bp.post("/api/v1/retrieval/query/collection")
def query_collection():
    body = json_object()
    names = body.get("collection_names")
    if not isinstance(names, list) or not names:
        raise ServiceError(
            400, "collection_names must be a non-empty list of file or knowledge ids."
        )
    if len(names) > MAX_COLLECTIONS:
        raise ServiceError(400, f"collection_names may hold at most {MAX_COLLECTIONS} ids.")
    return jsonify(retrieval.query(g.principal, names, body.get("query"), body.get("k")))


@bp.post("/api/v1/retrieval/process/file")
def process_file():
    """Extract and index a file uploaded with process=false (or retry a failed one)."""
    file_id = json_object().get("file_id")
    if not isinstance(file_id, str) or not file_id:
        raise ServiceError(400, "file_id is required.")
    return jsonify(file_json(files.reprocess(files.get_file_for(g.principal, file_id))))
