"""/api/v1/retrieval (Open WebUI's paths): ranked passages from files and collections."""

from flask import g, jsonify

from webui.api import bp
from webui.api.declare import documented
from webui.api.files import FILE_ITEM, FILE_STATUS, STORAGE_DOWN, file_json
from webui.api.payloads import json_object
from webui.core.apidoc import (
    BOOLEAN,
    INTEGER,
    NUMBER,
    STRING,
    array,
    component,
    enum,
    nullable,
    obj,
)
from webui.core.parsers import MAX_BATCH_FILES, MAX_SOURCES
from webui.core.settings import get_setting
from webui.errors import ServiceError
from webui.models import Knowledge
from webui.security.permissions import require_permission, require_role
from webui.services import files, knowledge, retrieval

SOURCES_HELP = "must be a non-empty list of file or knowledge ids"
TARGET_HELP = "must be the id of a knowledge collection"
BATCH_HELP = 'must be a list of file objects like {"id": "…"}'

# --- what the routes declare (webui/core/apidoc.py) ------------------------------------------

K = {
    "type": ["integer", "null"],
    "minimum": 1,
    "default": retrieval.DEFAULT_K,
    "x-refusal": f"must be a whole number from 1 to {retrieval.MAX_K}",
    "description": f"Passages to return; more than {retrieval.MAX_K} counts as {retrieval.MAX_K}.",
}
QUERY = {
    **STRING,
    "maxLength": retrieval.MAX_QUERY_LENGTH,
    "description": "The text to search for.",
}
PASSAGE = obj(
    {
        "file_id": STRING,
        "name": STRING,
        "source": STRING,
        "collection_name": {**STRING, "description": "The file or collection it was found in."},
        "collection_type": enum("file", "collection"),
        "chunk_index": INTEGER,
    },
    ("file_id", "name", "source", "collection_name", "collection_type", "chunk_index"),
)
RESULTS = component(
    "RetrievalResults",
    obj(
        {
            "documents": array(array(STRING)),
            "metadatas": array(array(PASSAGE)),
            "distances": {
                **array(array(NUMBER)),
                "description": "BM25-style scores: higher is better (not distances).",
            },
        },
        ("documents", "metadatas", "distances"),
    ),
)
QUERY_DOC = obj(
    {
        "collection_name": {**STRING, "description": "A file id or a knowledge collection id."},
        "query": QUERY,
        "k": K,
    },
    ("collection_name", "query"),
)
QUERY_COLLECTIONS = obj(
    {
        "collection_names": {
            **array(STRING, minItems=1),
            "x-refusal": SOURCES_HELP,
            "description": f"1 to {MAX_SOURCES} file or knowledge collection ids.",
        },
        "query": QUERY,
        "k": K,
    },
    ("collection_names", "query"),
)
FILE_ID = obj({"file_id": STRING}, ("file_id",))
TARGET = {
    **nullable(STRING),
    "x-refusal": TARGET_HELP,
    "description": "A knowledge collection (yours, or any for an administrator) to add the "
    "file to.",
}
TEXT = obj(
    {
        "name": {**nullable(STRING), "description": 'The file\'s name; "text" when not given.'},
        "content": {**STRING, "description": "The text to index."},
        "collection_name": TARGET,
    },
    ("content",),
)
TEXT_INDEXED = obj(
    {
        "status": {**BOOLEAN, "description": "Whether the text was indexed."},
        "collection_name": {
            **STRING,
            "description": "The id to query: the collection's, or else the new file's.",
        },
        "file_id": STRING,
        "content": STRING,
    },
    ("status", "collection_name", "file_id", "content"),
)
FILES_BATCH = obj(
    {
        "files": {
            **array(obj({"id": STRING}, ("id",))),
            "x-refusal": BATCH_HELP,
            "description": f"At most {MAX_BATCH_FILES} files.",
        },
        "collection_name": TARGET,
    },
    ("files",),
)
BATCH_OUTCOME = obj(
    {
        "results": array(
            obj({"file_id": STRING, "status": FILE_STATUS, "error": STRING}, ("file_id", "status"))
        ),
        "errors": array(obj({"file_id": STRING, "error": STRING}, ("file_id", "error"))),
    },
    ("results", "errors"),
)
CONFIG = obj(
    {
        "status": BOOLEAN,
        "RAG_EMBEDDING_ENGINE": STRING,
        "RAG_EMBEDDING_MODEL": STRING,
        "ENABLE_RAG_HYBRID_SEARCH": BOOLEAN,
        "CHUNK_SIZE": INTEGER,
        "CHUNK_OVERLAP": INTEGER,
        "TOP_K": INTEGER,
        "chunk": obj(
            {"chunk_size": INTEGER, "chunk_overlap": INTEGER}, ("chunk_size", "chunk_overlap")
        ),
        "file": obj({"max_size": {**INTEGER, "description": "MB."}}, ("max_size",)),
        "search": STRING,
    },
    (
        "status",
        "RAG_EMBEDDING_ENGINE",
        "RAG_EMBEDDING_MODEL",
        "ENABLE_RAG_HYBRID_SEARCH",
        "CHUNK_SIZE",
        "CHUNK_OVERLAP",
        "TOP_K",
        "chunk",
        "file",
        "search",
    ),
)


@bp.post("/api/v1/retrieval/query/doc")
@documented(
    "Search one file or collection for passages",
    "Knowledge",
    body=QUERY_DOC,
    answers={200: RESULTS},
    description="Full-text ranking of the file's (or collection's) passages, best first.",
)
def query_doc():
    body = json_object()
    return jsonify(
        retrieval.query(
            g.principal, [body.get("collection_name")], body.get("query"), body.get("k")
        )
    )


@bp.post("/api/v1/retrieval/query/collection")
@documented(
    "Search several files and collections for passages",
    "Knowledge",
    body=QUERY_COLLECTIONS,
    answers={200: RESULTS},
    description="One ranking over all of them, best first.",
)
def query_collection():
    body = json_object()
    names = body.get("collection_names")
    if not isinstance(names, list) or not names:
        raise ServiceError(400, f"collection_names {SOURCES_HELP}.")
    if len(names) > MAX_SOURCES:
        raise ServiceError(400, f"collection_names may hold at most {MAX_SOURCES} ids.")
    return jsonify(retrieval.query(g.principal, names, body.get("query"), body.get("k")))


@bp.post("/api/v1/retrieval/process/file")
@documented(
    "Index a file's text (again)",
    "Knowledge",
    body=FILE_ID,
    answers={200: FILE_ITEM, 503: STORAGE_DOWN},
)
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
        raise ServiceError(400, f"collection_name {TARGET_HELP}.")
    return knowledge.get_changeable(g.principal, target)


@bp.post("/api/v1/retrieval/process/text")
@documented(
    "Index a piece of text",
    "Knowledge",
    body=TEXT,
    answers={200: TEXT_INDEXED, 503: STORAGE_DOWN},
    description="The text is kept as a plain-text file of yours, whose id is the "
    "collection_name to query; a knowledge id in collection_name also gets the file.",
)
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
@documented(
    "Index several files (and add them to a collection)",
    "Knowledge",
    body=FILES_BATCH,
    answers={200: BATCH_OUTCOME, 503: STORAGE_DOWN},
    description="Per file, what happened: indexed files in results, unknown ones in errors.",
)
def process_files_batch():
    body = json_object()
    items = body.get("files")
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and isinstance(item.get("id"), str) for item in items
    ):
        raise ServiceError(400, f"files {BATCH_HELP}.")
    if len(items) > MAX_BATCH_FILES:
        raise ServiceError(400, f"files may hold at most {MAX_BATCH_FILES} files at a time.")
    collection = target_collection(body)
    results, errors = retrieval.process_files(g.principal, [item["id"] for item in items])
    if collection is not None:
        indexed = [r["file_id"] for r in results if r["status"] == "completed"]
        knowledge.add_files(collection, [files.get_file_for(g.principal, i) for i in indexed])
    return jsonify(results=results, errors=errors)


@bp.get("/api/v1/retrieval/config")
@documented(
    "The settings retrieval runs with (administrators)",
    "Knowledge",
    answers={200: CONFIG},
)
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
