"""Retrieval over what a caller may read: the query API and the chat ``files`` hook.

A "source" is a file (owner or admin) or a knowledge collection (owner, admin,
or a member of a group it is shared with). Anything else answers 404, exactly
like an unknown id. Ranking is the database's full-text search (``fulltext``).
"""

from dataclasses import dataclass
from typing import Any

from webui.core.catalog import MAX_TOP_K
from webui.core.parsers import MAX_SOURCES
from webui.core.settings import get_setting
from webui.errors import ServiceError
from webui.models import File
from webui.security.principal import Principal
from webui.services import files, knowledge
from webui.services.fulltext import Hit, search

DEFAULT_K = 4
MAX_K = MAX_TOP_K
MAX_QUERY_LENGTH = 4000


@dataclass
class Source:
    id: str
    name: str
    type: str  # "file" or "collection"
    files: list[File]

    def file_ids(self) -> list[str]:
        return [file.id for file in self.files]

    def describe(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "type": self.type}


def file_source(user: Principal, file_id: str) -> Source:
    file = files.get_file_for(user, file_id)
    return Source(file.id, file.filename, "file", [file])


def collection_source(user: Principal, knowledge_id: str) -> Source:
    collection = knowledge.get_readable(user, knowledge_id)
    return Source(collection.id, collection.name, "collection", list(collection.files))


def any_source(user: Principal, source_id: Any) -> Source:
    """A file id or a knowledge id, as Open WebUI's ``collection_name`` may be either."""
    if not isinstance(source_id, str) or not source_id:
        raise ServiceError(400, "collection_name must be a file id or a knowledge collection id.")
    for resolve in (file_source, collection_source):
        try:
            return resolve(user, source_id)
        except ServiceError as error:
            if error.status != 404:
                raise
    raise ServiceError(404, f"No file or knowledge collection with id {source_id}.")


# --- the query API ---------------------------------------------------------------------


def parse_k(value: Any) -> int:
    """``k`` from a request: 4 when absent, at most 50."""
    if value is None:
        return DEFAULT_K
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ServiceError(400, f"k must be a whole number from 1 to {MAX_K}.")
    return min(value, MAX_K)


def parse_query(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ServiceError(400, "query is required: the text to search for.")
    if len(value) > MAX_QUERY_LENGTH:
        raise ServiceError(400, f"query must be at most {MAX_QUERY_LENGTH} characters.")
    return value


def query(user: Principal, source_ids: list[Any], text: Any, k: Any) -> dict[str, list[list]]:
    """Open WebUI's result shape: one list each of documents, metadatas and distances
    (here BM25-style scores, higher is better), best first across all sources."""
    text, k = parse_query(text), parse_k(k)
    sources = [any_source(user, source_id) for source_id in source_ids]
    owner_of: dict[str, Source] = {}
    for source in sources:
        for file in source.files:
            owner_of.setdefault(file.id, source)
    hits = search(list(owner_of), text, k)
    names = {file.id: file.filename for source in sources for file in source.files}
    return {
        "documents": [[hit.text for hit in hits]],
        "metadatas": [
            [
                {
                    "file_id": hit.file_id,
                    "name": names[hit.file_id],
                    "source": names[hit.file_id],
                    "collection_name": owner_of[hit.file_id].id,
                    "collection_type": owner_of[hit.file_id].type,
                    "chunk_index": hit.chunk_index,
                }
                for hit in hits
            ]
        ],
        "distances": [[hit.score for hit in hits]],
    }


# --- chat completions with ``files`` ---------------------------------------------------------

CONTEXT_PREAMBLE = (
    "Use the numbered sources below to answer the user's question, and cite the ones you use "
    "as [1], [2], …. If they do not contain the answer, say so instead of guessing."
)


def chat_sources(user: Principal, items: Any) -> list[Source]:
    """Validate ``files`` from a chat request and resolve each item the caller may read."""
    if not isinstance(items, list):
        raise ServiceError(400, 'files must be a list like [{"type": "collection", "id": "…"}].')
    if len(items) > MAX_SOURCES:
        raise ServiceError(400, f"files may list at most {MAX_SOURCES} files or collections.")
    sources: list[Source] = []
    seen: set[tuple[str, str]] = set()
    for position, item in enumerate(items):
        kind = item.get("type") if isinstance(item, dict) else None
        item_id = item.get("id") if isinstance(item, dict) else None
        if kind not in ("file", "collection") or not isinstance(item_id, str) or not item_id:
            raise ServiceError(
                400,
                f'files[{position}] must be {{"type": "file" or "collection", "id": "…"}}.',
            )
        if (kind, item_id) in seen:
            continue
        seen.add((kind, item_id))
        sources.append(
            file_source(user, item_id) if kind == "file" else collection_source(user, item_id)
        )
    return sources


def last_user_text(messages: Any) -> str:
    """The text of the last user message (string content or OpenAI content parts)."""
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(
                part.get("text", "")
                for part in content
                if isinstance(part, dict)
                and part.get("type") == "text"
                and isinstance(part.get("text"), str)
            )
        return ""
    return ""


def context_message(numbered: list[tuple[int, str, Hit]]) -> dict[str, str]:
    blocks = [f"[{number}] {name}\n{hit.text}" for number, name, hit in numbered]
    return {"role": "system", "content": CONTEXT_PREAMBLE + "\n\n" + "\n\n".join(blocks)}


def with_context(messages: list, message: dict) -> list:
    """Insert after the caller's own leading system messages, so theirs still comes first."""
    position = 0
    while (
        position < len(messages)
        and isinstance(messages[position], dict)
        and messages[position].get("role") == "system"
    ):
        position += 1
    return messages[:position] + [message] + messages[position:]


def augment_with_files(user: Principal, body: dict[str, Any]) -> tuple[dict[str, Any], list[dict]]:
    """Turn a chat request's ``files`` into a system message of numbered passages.

    Returns the request without ``files`` (and with the system message when
    anything matched) and the ``sources`` list for the response:
    ``[{source: {id, name, type}, document: [text…], metadata: [{file_id, name, chunk_index}…]}]``.
    Numbers run through the sources in order: the first source's passages are [1]…[n].
    Raises ServiceError 400 for a malformed ``files`` and 404 for anything unreadable.
    """
    request_body = {key: value for key, value in body.items() if key != "files"}
    if body.get("files") is None:
        return request_body, []
    sources = chat_sources(user, body["files"])
    question = last_user_text(request_body.get("messages"))
    if not sources or not question.strip():
        return request_body, []

    k = get_setting("RAG_TOP_K")
    used_chunks: set[int] = set()
    numbered: list[tuple[int, str, Hit]] = []
    cited: list[dict] = []
    for source in sources:
        names = {file.id: file.filename for file in source.files}
        hits = [h for h in search(source.file_ids(), question, k) if h.chunk_id not in used_chunks]
        if not hits:
            continue
        used_chunks.update(hit.chunk_id for hit in hits)
        for hit in hits:
            numbered.append((len(numbered) + 1, names[hit.file_id], hit))
        cited.append(
            {
                "source": source.describe(),
                "document": [hit.text for hit in hits],
                "metadata": [
                    {
                        "file_id": hit.file_id,
                        "name": names[hit.file_id],
                        "chunk_index": hit.chunk_index,
                    }
                    for hit in hits
                ],
            }
        )
    if numbered:
        request_body["messages"] = with_context(request_body["messages"], context_message(numbered))
    return request_body, cited


# --- indexing on request (Open WebUI's process routes) -------------------------------------


def process_files(user: Principal, file_ids: list[str]) -> tuple[list[dict], list[dict]]:
    """Index the user's files that are not indexed yet; per file, what happened."""
    results, errors = [], []
    for file_id in file_ids:
        try:
            file = files.get_file_for(user, file_id)
        except ServiceError as error:
            errors.append({"file_id": file_id, "error": error.detail})
            continue
        if file.status != "completed":
            files.reprocess(file)
        outcome = {"file_id": file.id, "status": file.status}
        if file.error:
            outcome["error"] = file.error
        results.append(outcome)
    return results, errors
