"""/api/v1/files (Open WebUI's paths): upload, list, read, download and delete files."""

from typing import Any

from flask import g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from webui import transfers
from webui.api import bp
from webui.api.payloads import json_object
from webui.core.parsers import query_flag, query_number
from webui.errors import json_error
from webui.models import File
from webui.security.permissions import require_permission
from webui.services import files

UPLOAD_ENDPOINT = "api.upload_file"
MAX_PAGE_SIZE = 100


def file_json(file: File) -> dict[str, Any]:
    data = {"status": file.status}
    if file.error:
        data["error"] = file.error
    return {
        "id": file.id,
        "user_id": file.user_id,
        "hash": file.sha256,
        "filename": file.filename,
        "data": data,
        "meta": {"name": file.filename, "content_type": file.content_type, "size": file.size},
        "created_at": file.created_at,
        "updated_at": file.updated_at,
    }


@bp.url_value_preprocessor
def _limit_upload(endpoint, _values):
    # Runs before the request guard, which may read the form (CSRF) on browser uploads.
    if endpoint == UPLOAD_ENDPOINT:
        transfers.prepare_upload_request()


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    if request.endpoint == UPLOAD_ENDPOINT:
        return json_error(413, files.too_large_message())
    return json_error(413, error.description)


@bp.post("/api/v1/files/")
@require_permission("chat.file_upload")
def upload_file():
    process = query_flag(request.args, "process", default=True)
    file = files.store_upload(g.principal, transfers.uploaded_file(), process=process)
    return jsonify(file_json(file))


@bp.get("/api/v1/files/")
def list_files():
    page = query_number(request.args, "page", 1, 1, 1_000_000)
    limit = query_number(request.args, "limit", 50, 1, MAX_PAGE_SIZE)
    items, total = files.list_files(g.principal, page, limit)
    return jsonify(items=[file_json(file) for file in items], total=total)


@bp.get("/api/v1/files/<file_id>")
def get_file(file_id: str):
    return jsonify(file_json(files.get_file_for(g.principal, file_id)))


@bp.get("/api/v1/files/<file_id>/content")
def file_content(file_id: str):
    return transfers.download_response(files.get_file_for(g.principal, file_id))


@bp.get("/api/v1/files/<file_id>/process/status")
def file_process_status(file_id: str):
    file = files.get_file_for(g.principal, file_id)
    body = {"status": file.status}
    if file.error:
        body["error"] = file.error
    return jsonify(body)


@bp.delete("/api/v1/files/<file_id>")
def delete_file(file_id: str):
    files.delete_file(files.get_file_for(g.principal, file_id))
    return jsonify(deleted=True)


# --- the rest of Open WebUI's file routes ---------------------------------------------------


def files_found(own_only: bool):
    found = files.search_files(g.principal, request.args.get("filename"), own_only)
    return jsonify([file_json(file) for file in found])


@bp.get("/api/v1/files/search")
def search_files():
    return files_found(own_only=False)


@bp.get("/api/v1/files/user/search")
def search_own_files():
    """As /search, but an admin's own files only."""
    return files_found(own_only=True)


@bp.get("/api/v1/files/count")
def count_files():
    return jsonify(count=files.count_files(g.principal))


@bp.get("/api/v1/files/user/count")
def count_own_files():
    return jsonify(count=files.count_files(g.principal, own_only=True))


@bp.delete("/api/v1/files/all")
def delete_own_files():
    deleted = files.delete_own_files(g.principal)
    return jsonify(message=f"Deleted {deleted} of your files.", count=deleted)


@bp.get("/api/v1/files/<file_id>/data/content")
def file_text(file_id: str):
    file = files.get_file_for(g.principal, file_id)
    return jsonify(content=files.extracted_text(file))


@bp.get("/api/v1/files/<file_id>/content/<path:file_name>")
def file_content_named(file_id: str, file_name: str):
    """The same download; Open WebUI puts the name in the URL for browsers to save it by."""
    return transfers.download_response(files.get_file_for(g.principal, file_id))


@bp.post("/api/v1/files/<file_id>/rename")
def rename_file(file_id: str):
    file = files.get_file_for(g.principal, file_id)
    return jsonify(file_json(files.rename(file, json_object().get("filename"))))
