"""/api/v1/files (Open WebUI's paths): upload, list, read, download and delete files."""

from dataclasses import replace
from typing import Any

from flask import g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from webui import transfers
from webui.api import bp
from webui.api.declare import documented, file_answer
from webui.api.payloads import json_object
from webui.core.apidoc import (
    BOOLEAN,
    INTEGER,
    STRING,
    Answer,
    array,
    component,
    enum,
    obj,
)
from webui.core.parsers import query_flag, query_number
from webui.errors import json_error
from webui.models import File
from webui.security.permissions import require_permission
from webui.services import files

UPLOAD_ENDPOINT = "api.upload_file"
MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000

# --- what the routes declare (webui/core/apidoc.py) ------------------------------------------

FILE_STATUS = enum("pending", "completed", "failed")
FILE_ITEM = component(
    "FileItem",
    obj(
        {
            "id": STRING,
            "user_id": STRING,
            "hash": {**STRING, "description": "SHA-256 of the bytes, in hex."},
            "filename": STRING,
            "data": obj(
                {
                    "status": {
                        **FILE_STATUS,
                        "description": "pending: uploaded with process=false; completed: "
                        "indexed; failed: stored but not indexed (see error).",
                    },
                    "error": {**STRING, "description": "Why the text was not indexed."},
                },
                ("status",),
            ),
            "meta": obj(
                {"name": STRING, "content_type": STRING, "size": INTEGER},
                ("name", "content_type", "size"),
            ),
            "created_at": {**INTEGER, "description": "Epoch seconds."},
            "updated_at": {**INTEGER, "description": "Epoch seconds."},
        },
        ("id", "user_id", "hash", "filename", "data", "meta", "created_at", "updated_at"),
    ),
)
FILE_PAGE = obj({"items": array(FILE_ITEM), "total": INTEGER}, ("items", "total"))
PROCESS_STATUS = obj({"status": FILE_STATUS, "error": STRING}, ("status",))
FILE_COUNT = obj({"count": INTEGER}, ("count",))
UPLOAD_FORM = obj({"file": {"type": "string", "format": "binary"}}, ("file",))
RENAME = obj({"filename": STRING}, ("filename",))
STORAGE_DOWN = Answer(
    description="The file storage cannot be reached (or the server is reading too many files "
    "at once); nothing was changed. Retry later."
)
# A download goes out as its own type when a browser cannot run it (text, PDF, images...),
# else as application/octet-stream: hence any media type.
DOWNLOAD = replace(file_answer("The file's bytes, as an attachment."), media_type="*/*")
DOWNLOAD_ANSWERS = {
    200: DOWNLOAD,
    206: replace(DOWNLOAD, description="The bytes a Range header asked for."),
    304: Answer(media_type=None, description="Not modified: If-None-Match holds its ETag."),
    416: Answer(description="The Range header asks for bytes the file does not have."),
    503: STORAGE_DOWN,
}
SEARCH_QUERY = {
    "filename": {
        **STRING,
        "description": "A name or a glob, compared without case: * any run, ? one character.",
    }
}


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
@documented(
    "Upload a file (and index its text)",
    "Files",
    form=UPLOAD_FORM,
    query={"process": {**BOOLEAN, "default": True, "description": "false: store only."}},
    answers={200: FILE_ITEM, 503: STORAGE_DOWN},
    description="The file goes in the multipart field `file`; its text is extracted and "
    "indexed for retrieval unless `process=false`.",
)
@require_permission("chat.file_upload")
def upload_file():
    process = query_flag(request.args, "process", default=True)
    file = files.store_upload(g.principal, transfers.uploaded_file(), process=process)
    return jsonify(file_json(file))


@bp.get("/api/v1/files/")
@documented(
    "List your files (an administrator: everyone's), newest first",
    "Files",
    query={
        "page": {**INTEGER, "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        "limit": {**INTEGER, "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 50},
    },
    answers={200: FILE_PAGE},
)
def list_files():
    page = query_number(request.args, "page", 1, 1, MAX_PAGE)
    limit = query_number(request.args, "limit", 50, 1, MAX_PAGE_SIZE)
    items, total = files.list_files(g.principal, page, limit)
    return jsonify(items=[file_json(file) for file in items], total=total)


@bp.get("/api/v1/files/<file_id>")
@documented("A file's details", "Files", answers={200: FILE_ITEM})
def get_file(file_id: str):
    return jsonify(file_json(files.get_file_for(g.principal, file_id)))


@bp.get("/api/v1/files/<file_id>/content")
@documented("Download a file", "Files", answers=DOWNLOAD_ANSWERS)
def file_content(file_id: str):
    return transfers.download_response(files.get_file_for(g.principal, file_id))


@bp.get("/api/v1/files/<file_id>/process/status")
@documented("Whether a file's text is indexed", "Files", answers={200: PROCESS_STATUS})
def file_process_status(file_id: str):
    file = files.get_file_for(g.principal, file_id)
    body = {"status": file.status}
    if file.error:
        body["error"] = file.error
    return jsonify(body)


@bp.delete("/api/v1/files/<file_id>")
@documented(
    "Delete a file",
    "Files",
    answers={200: obj({"deleted": BOOLEAN}, ("deleted",)), 503: STORAGE_DOWN},
)
def delete_file(file_id: str):
    files.delete_file(files.get_file_for(g.principal, file_id))
    return jsonify(deleted=True)


# --- the rest of Open WebUI's file routes ---------------------------------------------------


def files_found(own_only: bool):
    found = files.search_files(g.principal, request.args.get("filename"), own_only)
    return jsonify([file_json(file) for file in found])


@bp.get("/api/v1/files/search")
@documented(
    "Find files by name",
    "Files",
    query=SEARCH_QUERY,
    required_query=("filename",),
    answers={200: array(FILE_ITEM)},
    description="Your files, or everyone's for an administrator; at most 100, newest first.",
)
def search_files():
    return files_found(own_only=False)


@bp.get("/api/v1/files/user/search")
@documented(
    "Find your own files by name",
    "Files",
    query=SEARCH_QUERY,
    required_query=("filename",),
    answers={200: array(FILE_ITEM)},
    description="Your own files, an administrator's too; at most 100, newest first.",
)
def search_own_files():
    """As /search, but an admin's own files only."""
    return files_found(own_only=True)


@bp.get("/api/v1/files/count")
@documented("Count your files (an administrator: everyone's)", "Files", answers={200: FILE_COUNT})
def count_files():
    return jsonify(count=files.count_files(g.principal))


@bp.get("/api/v1/files/user/count")
@documented("Count your own files", "Files", answers={200: FILE_COUNT})
def count_own_files():
    return jsonify(count=files.count_files(g.principal, own_only=True))


@bp.delete("/api/v1/files/all")
@documented(
    "Delete all your own files",
    "Files",
    answers={
        200: obj({"message": STRING, "count": INTEGER}, ("message", "count")),
        503: STORAGE_DOWN,
    },
)
def delete_own_files():
    deleted = files.delete_own_files(g.principal)
    return jsonify(message=f"Deleted {deleted} of your files.", count=deleted)


@bp.get("/api/v1/files/<file_id>/data/content")
@documented(
    "The text a file was indexed with",
    "Files",
    answers={200: obj({"content": STRING}, ("content",))},
)
def file_text(file_id: str):
    file = files.get_file_for(g.principal, file_id)
    return jsonify(content=files.extracted_text(file))


@bp.get("/api/v1/files/<file_id>/content/<path:file_name>")
@documented(
    "Download a file (the name in the path is only for the browser)",
    "Files",
    answers=DOWNLOAD_ANSWERS,
)
def file_content_named(file_id: str, file_name: str):
    """The same download; Open WebUI puts the name in the URL for browsers to save it by."""
    return transfers.download_response(files.get_file_for(g.principal, file_id))


@bp.post("/api/v1/files/<file_id>/rename")
@documented("Rename a file", "Files", body=RENAME, answers={200: FILE_ITEM})
def rename_file(file_id: str):
    file = files.get_file_for(g.principal, file_id)
    return jsonify(file_json(files.rename(file, json_object().get("filename"))))
