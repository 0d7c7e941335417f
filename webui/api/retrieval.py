"""/api/v1/retrieval (Open WebUI's paths): ranked passages from files and collections."""

from flask import g, jsonify

from webui.api import bp
from webui.api.files import file_json
from webui.api.payloads import json_object
from webui.core.parsers import MAX_BATCH_FILES, MAX_SOURCES
from webui.core.settings import get_setting
from webui.errors import ServiceError
from webui.models import Knowledge
from webui.security.permissions import require_permission, require_role
from webui.services import files, knowledge, retrieval


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
    if len(names) > MAX_SOURCES:
        raise ServiceError(400, f"collection_names may hold at most {MAX_SOURCES} ids.")
    return jsonify(retrieval.query(g.principal, names, body.get("query"), body.get("k")))


@bp.post("/api/v1/retrieval/process/file")
def process_file():
    """Extract and index a file uploaded with process=false (or retry a failed one)."""
    file_id = json_object().get("file_id")
    if not isinstance(file_id, str) or not file_id:
        raise ServiceError(400, "file_id is required.")
    return jsonify(file_json(files.reprocess(files.get_file_for(g.principal, file_id))))


def target_collection(body: dict) -> Knowledge | None:
    """The knowledge collection named by ``collection_name``, which the caller may change."""
    target = body.get("collection_name")
    if target is None or target == "":
        return None
    if not isinstance(target, str):
        raise ServiceError(400, "collection_name must be the id of a knowledge collection.")
    return knowledge.get_changeable(g.principal, target)


@bp.post("/api/v1/retrieval/process/text")
@require_permission("chat.file_upload")
def process_text():
    """Index a piece of text: it is kept as a plain-text file of the caller's, whose id is the
    ``collection_name`` to query; a knowledge id in ``collection_name`` also gets the file."""
    body = json_object()
    collection = target_collection(body)
    file = files.store_text(g.principal, body.get("name"), body.get("content"))
    if collection is not None and file.status == "completed":
        knowledge.add_file(collection, file)
    return jsonify(
        status=file.status == "completed",
        collection_name=collection.id if collection is not None else file.id,
        file_id=file.id,
        content=body["content"],
    )


@bp.post("/api/v1/retrieval/process/files/batch")
def process_files_batch():
    body = json_object()
    items = body.get("files")
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and isinstance(item.get("id"), str) for item in items
    ):
        raise ServiceError(400, 'files must be a list of file objects like {"id": "…"}.')
    if len(items) > MAX_BATCH_FILES:
        raise ServiceError(400, f"files may hold at most {MAX_BATCH_FILES} files at a time.")
    collection = target_collection(body)
    results, errors = retrieval.process_files(g.principal, [item["id"] for item in items])
    if collection is not None:
        indexed = [r["file_id"] for r in results if r["status"] == "completed"]
        knowledge.add_files(collection, [files.get_file_for(g.principal, i) for i in indexed])
    return jsonify(results=results, errors=errors)


@bp.get("/api/v1/retrieval/config")
@require_role("admin")
def retrieval_config():
    """The settings retrieval runs with; they are changed on the admin settings page."""
    chunk_size, overlap, top_k = (
        get_setting(n) for n in ("CHUNK_SIZE", "CHUNK_OVERLAP", "RAG_TOP_K")
    )
    return jsonify(
        status=True,
        RAG_EMBEDDING_ENGINE="",
        RAG_EMBEDDING_MODEL="",
        ENABLE_RAG_HYBRID_SEARCH=False,
        CHUNK_SIZE=chunk_size,
        CHUNK_OVERLAP=overlap,
        TOP_K=top_k,
        chunk={"chunk_size": chunk_size, "chunk_overlap": overlap},
        file={"max_size": get_setting("FILE_MAX_SIZE_MB")},
        search="full-text (BM25-like ranking by the database; no embeddings)",
    )
