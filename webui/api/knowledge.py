"""/api/v1/knowledge (Open WebUI's paths): collections of files to retrieve from."""

from typing import Any

from flask import g, jsonify, request

from webui import transfers
from webui.api import bp
from webui.api.declare import documented
from webui.api.files import FILE_ITEM, FILE_PAGE, STORAGE_DOWN, file_json
from webui.api.payloads import json_array, json_object
from webui.core.apidoc import (
    BOOLEAN,
    INTEGER,
    STRING,
    Answer,
    array,
    component,
    nullable,
    obj,
)
from webui.core.parsers import MAX_BATCH_FILES, at_most, parse_field, query_number
from webui.errors import ServiceError
from webui.models import Knowledge
from webui.security.permissions import require_permission
from webui.services import files, knowledge

ACCESS_RULE = 'must be {} (private) or {"read": {"group_ids": ["…"]}} (readable by those groups)'
ACCESS_HELP = f"access_control {ACCESS_RULE}"
MAX_PAGE = 1_000_000
PAGE_SIZE = 30  # collections a search answers at once
BATCH_OF = '{"file_id": "…"} objects'
BATCH_HELP = f"must be a JSON array of {BATCH_OF}"

# --- what the routes declare (webui/core/apidoc.py) ------------------------------------------

ID_LISTS = obj({"group_ids": array(STRING), "user_ids": array(STRING)}, ("group_ids", "user_ids"))
KNOWLEDGE = component(
    "Knowledge",
    obj(
        {
            "id": STRING,
            "user_id": STRING,
            "name": STRING,
            "description": STRING,
            "data": obj({"file_ids": array(STRING)}, ("file_ids",)),
            "access_control": obj(
                {
                    "read": {**ID_LISTS, "description": "The groups that may read it."},
                    "write": {
                        **ID_LISTS,
                        "description": "Always empty: only the owner and "
                        "administrators change a collection.",
                    },
                },
                ("read", "write"),
            ),
            "files": array(FILE_ITEM),
            "created_at": {**INTEGER, "description": "Epoch seconds."},
            "updated_at": {**INTEGER, "description": "Epoch seconds."},
        },
        (
            "id",
            "user_id",
            "name",
            "description",
            "data",
            "access_control",
            "files",
            "created_at",
            "updated_at",
        ),
    ),
)
KNOWLEDGE_PAGE = obj({"items": array(KNOWLEDGE), "total": INTEGER}, ("items", "total"))


def or_null(schema: dict) -> dict:
    """An object or array schema that takes null too (one type list, so a refusal reads
    "must be a list or null" rather than naming two alternatives)."""
    return {**schema, "type": [schema["type"], "null"]}


# What the view reads of Open WebUI's access_control. Null (public) gets through the schema
# for the view to refuse in its own words.
ACCESS_CONTROL = {
    **or_null(
        obj(
            {
                "read": or_null(
                    obj(
                        {
                            "group_ids": or_null(array(STRING)),
                            "user_ids": {
                                **or_null(array(STRING)),
                                "description": "Must be empty: collections are shared with groups.",
                            },
                        }
                    )
                ),
                "write": {"description": "Ignored: only the owner and administrators change it."},
            }
        )
    ),
    "x-refusal": ACCESS_RULE,
    "description": "{} keeps it private; read.group_ids shares it with those groups (yours, "
    "or any for an administrator). null (public) is refused.",
}
NAME = {**STRING, "description": "At most 100 characters."}
DESCRIPTION = {**nullable(STRING), "maxLength": 1000}
CREATE = obj(
    {"name": NAME, "description": DESCRIPTION, "access_control": ACCESS_CONTROL}, ("name",)
)
UPDATE = obj({"name": NAME, "description": DESCRIPTION, "access_control": ACCESS_CONTROL})
ACCESS_UPDATE = obj({"access_control": ACCESS_CONTROL}, ("access_control",))
FILE_ID = obj({"file_id": STRING}, ("file_id",))
BATCH_ITEM = {**FILE_ID, "x-refusal": 'must be {"file_id": "…"}'}
FILE_BATCH = {
    **array(BATCH_ITEM),
    "x-refusal": BATCH_HELP,
    "description": f"At most {MAX_BATCH_FILES} files; all are added, or none.",
}
ZIP = Answer(
    schema={"type": "string", "format": "binary"},
    media_type="application/zip",
    description="A zip of each file's extracted text, as <name>.txt.",
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
@documented("List the collections you may read", "Knowledge", answers={200: KNOWLEDGE_PAGE})
def list_knowledge():
    items = knowledge.list_readable(g.principal)
    return jsonify(items=[knowledge_json(item) for item in items], total=len(items))


@bp.post("/api/v1/knowledge/create")
@documented("Create a collection", "Knowledge", body=CREATE, answers={200: KNOWLEDGE})
@require_permission("workspace.knowledge")
def create_knowledge():
    body = json_object()
    changes = changes_from(body)
    collection = knowledge.create(
        g.principal, body.get("name"), body.get("description"), changes.get("group_ids")
    )
    return jsonify(knowledge_json(collection))


@bp.get("/api/v1/knowledge/<knowledge_id>")
@documented("A collection and its files", "Knowledge", answers={200: KNOWLEDGE})
def get_knowledge(knowledge_id: str):
    return jsonify(knowledge_json(knowledge.get_readable(g.principal, knowledge_id)))


@bp.post("/api/v1/knowledge/<knowledge_id>/update")
@documented(
    "Change a collection's name, description or groups",
    "Knowledge",
    body=UPDATE,
    answers={200: KNOWLEDGE},
    description="Only the fields sent change; only the owner or an administrator may.",
)
def update_knowledge(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    return jsonify(
        knowledge_json(knowledge.update(g.principal, collection, changes_from(json_object())))
    )


@bp.post("/api/v1/knowledge/<knowledge_id>/file/add")
@documented(
    "Add an indexed file to a collection", "Knowledge", body=FILE_ID, answers={200: KNOWLEDGE}
)
def add_knowledge_file(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    file = files.get_file_for(g.principal, file_id_from(json_object()))
    return jsonify(knowledge_json(knowledge.add_file(collection, file)))


@bp.post("/api/v1/knowledge/<knowledge_id>/file/remove")
@documented(
    "Take a file out of a collection (the file stays)",
    "Knowledge",
    body=FILE_ID,
    answers={200: KNOWLEDGE},
)
def remove_knowledge_file(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    return jsonify(knowledge_json(knowledge.remove_file(collection, file_id_from(json_object()))))


@bp.delete("/api/v1/knowledge/<knowledge_id>/delete")
@documented("Delete a collection (its files stay)", "Knowledge", answers={200: BOOLEAN})
def delete_knowledge(knowledge_id: str):
    knowledge.delete(knowledge.get_changeable(g.principal, knowledge_id))
    return jsonify(True)


# --- the rest of Open WebUI's knowledge routes ----------------------------------------------


@bp.get("/api/v1/knowledge/search")
@documented(
    "Find collections by name or description",
    "Knowledge",
    query={
        "query": {**STRING, "description": "Text the name or description contains."},
        "page": {**INTEGER, "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    },
    answers={200: KNOWLEDGE_PAGE},
    description=f"The collections you may read, {PAGE_SIZE} a page, by name.",
)
def search_knowledge():
    page = query_number(request.args, "page", 1, 1, MAX_PAGE)
    items, total = knowledge.search_readable(
        g.principal, request.args.get("query", ""), (page - 1) * PAGE_SIZE, PAGE_SIZE
    )
    return jsonify(items=[knowledge_json(item) for item in items], total=total)


@bp.get("/api/v1/knowledge/<knowledge_id>/files")
@documented("A collection's files", "Knowledge", answers={200: FILE_PAGE})
def list_knowledge_files(knowledge_id: str):
    collection = knowledge.get_readable(g.principal, knowledge_id)
    return jsonify(
        items=[file_json(file) for file in collection.files], total=len(collection.files)
    )


@bp.post("/api/v1/knowledge/<knowledge_id>/access/update")
@documented(
    "Choose the groups that may read a collection",
    "Knowledge",
    body=ACCESS_UPDATE,
    answers={200: KNOWLEDGE},
)
def update_knowledge_access(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    body = json_object()
    if "access_control" not in body:
        raise ServiceError(400, f"access_control is required: {ACCESS_HELP}.")
    changes = {"group_ids": group_ids_from(body["access_control"])}
    return jsonify(knowledge_json(knowledge.update(g.principal, collection, changes)))


@bp.post("/api/v1/knowledge/<knowledge_id>/file/update")
@documented(
    "Index a file of a collection again",
    "Knowledge",
    body=FILE_ID,
    answers={200: KNOWLEDGE, 503: STORAGE_DOWN},
)
def update_knowledge_file(knowledge_id: str):
    """Index a file of the collection again (after its bytes or the chunk settings changed)."""
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    file_id = file_id_from(json_object())
    if file_id not in {file.id for file in collection.files}:
        raise ServiceError(404, f"File {file_id} is not in this collection.")
    files.reprocess(files.get_file_for(g.principal, file_id))
    return jsonify(knowledge_json(collection))


@bp.post("/api/v1/knowledge/<knowledge_id>/files/batch/add")
@documented(
    "Add several indexed files to a collection",
    "Knowledge",
    body=FILE_BATCH,
    answers={200: KNOWLEDGE},
)
def add_knowledge_files(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    items = parse_field(
        "The request body",
        at_most(MAX_BATCH_FILES, "files"),
        json_array(BATCH_OF),
    )
    ids = [file_id_from(item if isinstance(item, dict) else {}) for item in items]
    chosen = [files.get_file_for(g.principal, file_id) for file_id in ids]
    return jsonify(knowledge_json(knowledge.add_files(collection, chosen)))


@bp.post("/api/v1/knowledge/<knowledge_id>/reset")
@documented("Empty a collection (its files stay)", "Knowledge", answers={200: KNOWLEDGE})
def reset_knowledge(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    return jsonify(knowledge_json(knowledge.reset(collection)))


@bp.get("/api/v1/knowledge/<knowledge_id>/export")
@documented("Download a collection's text as a zip", "Knowledge", answers={200: ZIP})
def export_knowledge(knowledge_id: str):
    collection = knowledge.get_readable(g.principal, knowledge_id)
    return transfers.bytes_download(
        knowledge.export_zip(collection), f"knowledge-{collection.id}.zip", "application/zip"
    )
