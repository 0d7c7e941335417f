"""/api/v1/knowledge (Open WebUI's paths): collections of files to retrieve from."""

from typing import Any

from flask import g, jsonify, request

from webui import transfers
from webui.api import bp
from webui.api.files import file_json
from webui.api.payloads import json_array, json_object
from webui.core.parsers import MAX_BATCH_FILES, at_most, parse_field, query_number
from webui.errors import ServiceError
from webui.models import Knowledge
from webui.security.permissions import require_permission
from webui.services import files, knowledge

ACCESS_HELP = (
    'access_control must be {} (private) or {"read": {"group_ids": ["…"]}} '
    "(readable by those groups)"
)


def knowledge_json(collection: Knowledge) -> dict[str, Any]:
    return {
        "id": collection.id,
        "user_id": collection.user_id,
        "name": collection.name,
        "description": collection.description,
        "data": {"file_ids": [file.id for file in collection.files]},
        "access_control": {
            "read": {"group_ids": [group.id for group in collection.groups], "user_ids": []},
            "write": {"group_ids": [], "user_ids": []},
        },
        "files": [file_json(file) for file in collection.files],
        "created_at": collection.created_at,
        "updated_at": collection.updated_at,
    }


def group_ids_from(access_control: Any) -> list:
    """Open WebUI's access_control, reduced to what we support: read access for groups.

    Open WebUI reads null as "public"; there are no public collections here, so
    null is refused rather than quietly made private.
    """
    if access_control is None:
        raise ServiceError(400, f"Public collections are not supported: {ACCESS_HELP}.")
    if not isinstance(access_control, dict):
        raise ServiceError(400, ACCESS_HELP + ".")
    read = access_control.get("read") or {}
    if not isinstance(read, dict):
        raise ServiceError(400, ACCESS_HELP + ".")
    if read.get("user_ids"):
        raise ServiceError(
            400, "Collections are shared with groups, not single users: " + ACCESS_HELP + "."
        )
    return read.get("group_ids") or []


def changes_from(body: dict[str, Any]) -> dict[str, Any]:
    changes = {key: body[key] for key in ("name", "description") if key in body}
    if "access_control" in body:
        changes["group_ids"] = group_ids_from(body["access_control"])
    return changes


def file_id_from(body: dict[str, Any]) -> str:
    file_id = body.get("file_id")
    if not isinstance(file_id, str) or not file_id:
        raise ServiceError(400, "file_id is required.")
    return file_id


@bp.get("/api/v1/knowledge/")
def list_knowledge():
    items = knowledge.list_readable(g.principal)
    return jsonify(items=[knowledge_json(item) for item in items], total=len(items))


@bp.post("/api/v1/knowledge/create")
@require_permission("workspace.knowledge")
def create_knowledge():
    body = json_object()
    changes = changes_from(body)
    collection = knowledge.create(
        g.principal, body.get("name"), body.get("description"), changes.get("group_ids")
    )
    return jsonify(knowledge_json(collection))


@bp.get("/api/v1/knowledge/<knowledge_id>")
def get_knowledge(knowledge_id: str):
    return jsonify(knowledge_json(knowledge.get_readable(g.principal, knowledge_id)))


@bp.post("/api/v1/knowledge/<knowledge_id>/update")
def update_knowledge(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    return jsonify(
        knowledge_json(knowledge.update(g.principal, collection, changes_from(json_object())))
    )


@bp.post("/api/v1/knowledge/<knowledge_id>/file/add")
def add_knowledge_file(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    file = files.get_file_for(g.principal, file_id_from(json_object()))
    return jsonify(knowledge_json(knowledge.add_file(collection, file)))


@bp.post("/api/v1/knowledge/<knowledge_id>/file/remove")
def remove_knowledge_file(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    return jsonify(knowledge_json(knowledge.remove_file(collection, file_id_from(json_object()))))


@bp.delete("/api/v1/knowledge/<knowledge_id>/delete")
def delete_knowledge(knowledge_id: str):
    knowledge.delete(knowledge.get_changeable(g.principal, knowledge_id))
    return jsonify(True)


# --- the rest of Open WebUI's knowledge routes ----------------------------------------------

PAGE_SIZE = 30


@bp.get("/api/v1/knowledge/search")
def search_knowledge():
    page = query_number(request.args, "page", 1, 1, 1_000_000)
    items, total = knowledge.search_readable(
        g.principal, request.args.get("query", ""), (page - 1) * PAGE_SIZE, PAGE_SIZE
    )
    return jsonify(items=[knowledge_json(item) for item in items], total=total)


@bp.get("/api/v1/knowledge/<knowledge_id>/files")
def list_knowledge_files(knowledge_id: str):
    collection = knowledge.get_readable(g.principal, knowledge_id)
    return jsonify(
        items=[file_json(file) for file in collection.files], total=len(collection.files)
    )


@bp.post("/api/v1/knowledge/<knowledge_id>/access/update")
def update_knowledge_access(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    body = json_object()
    if "access_control" not in body:
        raise ServiceError(400, f"access_control is required: {ACCESS_HELP}.")
    changes = {"group_ids": group_ids_from(body["access_control"])}
    return jsonify(knowledge_json(knowledge.update(g.principal, collection, changes)))


@bp.post("/api/v1/knowledge/<knowledge_id>/file/update")
def update_knowledge_file(knowledge_id: str):
    """Index a file of the collection again (after its bytes or the chunk settings changed)."""
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    file_id = file_id_from(json_object())
    if file_id not in {file.id for file in collection.files}:
        raise ServiceError(404, f"File {file_id} is not in this collection.")
    files.reprocess(files.get_file_for(g.principal, file_id))
    return jsonify(knowledge_json(collection))


@bp.post("/api/v1/knowledge/<knowledge_id>/files/batch/add")
def add_knowledge_files(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    items = parse_field(
        "The request body",
        at_most(MAX_BATCH_FILES, "files"),
        json_array('{"file_id": "…"} objects'),
    )
    ids = [file_id_from(item if isinstance(item, dict) else {}) for item in items]
    chosen = [files.get_file_for(g.principal, file_id) for file_id in ids]
    return jsonify(knowledge_json(knowledge.add_files(collection, chosen)))


@bp.post("/api/v1/knowledge/<knowledge_id>/reset")
def reset_knowledge(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    return jsonify(knowledge_json(knowledge.reset(collection)))


@bp.get("/api/v1/knowledge/<knowledge_id>/export")
def export_knowledge(knowledge_id: str):
    collection = knowledge.get_readable(g.principal, knowledge_id)
    return transfers.bytes_download(
        knowledge.export_zip(collection), f"knowledge-{collection.id}.zip", "application/zip"
    )
