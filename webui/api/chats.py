"""/api/v1/chats (Open WebUI's paths and shapes): the caller's saved chats, pinned, archived,
tagged, cloned and imported.

No declaration beyond the default: a signed-in, approved person, or a key acting as its
owner, so a key's allowlist can include or leave out /api/v1/chats, and read-only keys
(GET only, by the guard) may list and read.
"""

import json
from collections.abc import Iterator
from typing import Any

from flask import Response, g, jsonify, request, stream_with_context

from webui.api import bp
from webui.api.payloads import json_object, optional_object
from webui.core.parsers import parse_field, query_number, whole_number
from webui.errors import ServiceError
from webui.models import Chat
from webui.services import chats

MAX_SEARCH = 500  # characters of a search query
MAX_SKIP = 10_000_000


def chat_json(chat: Chat) -> dict[str, Any]:
    return {
        "id": chat.id,
        "user_id": chat.user_id,
        "title": chat.title,
        "chat": chat.chat,
        "created_at": chat.created_at,
        "updated_at": chat.updated_at,
        "archived": chat.archived,
        "pinned": chat.pinned,
        "share_id": None,
        "folder_id": None,
        "meta": chat.meta or {},
    }


def title_json(chat: Chat) -> dict[str, Any]:
    return {
        "id": chat.id,
        "title": chat.title,
        "updated_at": chat.updated_at,
        "created_at": chat.created_at,
    }


def titles_json(found: list[Chat]):
    return jsonify([title_json(chat) for chat in found])


def tags_json(tags: list[str]):
    """Open WebUI's tag objects; a tag's name is its id (webui keeps no other spelling)."""
    return jsonify(
        [{"id": tag, "name": tag, "user_id": g.principal.id, "meta": None} for tag in tags]
    )


def chat_from_body() -> Any:
    body = json_object()
    if "chat" not in body:
        raise ServiceError(400, 'chat is required: send {"chat": {"title": "…", "messages": []}}.')
    return body["chat"]


def page_number() -> int:
    return query_number(request.args, "page", 1, 1, chats.MAX_PAGE)


def optional_page() -> int | None:
    """?page=N, or None (every chat) when it is absent, as Open WebUI's list."""
    return page_number() if request.args.get("page") not in (None, "") else None


@bp.get("/api/v1/chats/list", endpoint="list_chats_alias")
@bp.get("/api/v1/chats/")
def list_chats():
    return titles_json(chats.list_chats(g.principal, optional_page()))


@bp.delete("/api/v1/chats/")
def delete_all_chats():
    chats.delete_all(g.principal)
    return jsonify(True)


@bp.get("/api/v1/chats/pinned")
def pinned_chats():
    return titles_json(chats.list_pinned(g.principal))


def ndjson_lines(found: list[Chat]) -> Iterator[str]:
    for chat in found:
        yield json.dumps(chat_json(chat), ensure_ascii=False) + "\n"


@bp.get("/api/v1/chats/all")
def all_chats():
    """Every chat, archived ones too, one JSON object a line (Open WebUI's export)."""
    lines = ndjson_lines(chats.list_all(g.principal))
    return Response(stream_with_context(lines), mimetype="application/x-ndjson")


@bp.get("/api/v1/chats/all/archived")
def all_archived_chats():
    return jsonify([chat_json(chat) for chat in chats.list_archived(g.principal)])


@bp.get("/api/v1/chats/all/tags")
def all_tags():
    return tags_json(chats.all_tags(g.principal))


@bp.get("/api/v1/chats/archived")
def archived_chats():
    args = request.args
    if len(args.get("query", "")) > MAX_SEARCH:
        raise ServiceError(400, f"query must be at most {MAX_SEARCH} characters.")
    found = chats.list_archived(
        g.principal,
        page_number(),
        args.get("query", ""),
        args.get("order_by") or "updated_at",
        args.get("direction") or "desc",
    )
    return titles_json(found)


@bp.get("/api/v1/chats/archived/count")
def archived_count():
    return jsonify(chats.count_archived(g.principal))


@bp.post("/api/v1/chats/archive/all")
def archive_all_chats():
    chats.set_all_archived(g.principal, True)
    return jsonify(True)


@bp.post("/api/v1/chats/unarchive/all")
def unarchive_all_chats():
    chats.set_all_archived(g.principal, False)
    return jsonify(True)


@bp.post("/api/v1/chats/tags")
def chats_by_tag():
    body = json_object()
    skip = parse_field("skip", whole_number(0, MAX_SKIP), body.get("skip", 0))
    limit = parse_field("limit", whole_number(1, chats.PAGE_SIZE), body.get("limit", 50))
    return titles_json(chats.chats_tagged(g.principal, body.get("name"), skip, limit))


@bp.post("/api/v1/chats/import")
def import_chats():
    imported = chats.import_chats(g.principal, json_object().get("chats"))
    return jsonify([chat_json(chat) for chat in imported])


@bp.get("/api/v1/chats/search")
def search_chats():
    text = request.args.get("text", "")
    if len(text) > MAX_SEARCH:
        raise ServiceError(400, f"text must be at most {MAX_SEARCH} characters.")
    found = chats.search(g.principal, text, page_number())
    return jsonify([title_json(chat) for chat in found])


@bp.post("/api/v1/chats/new")
def create_chat():
    return jsonify(chat_json(chats.create(g.principal, chat_from_body())))


@bp.get("/api/v1/chats/<chat_id>")
def get_chat(chat_id: str):
    return jsonify(chat_json(chats.get_own(g.principal, chat_id)))


@bp.post("/api/v1/chats/<chat_id>")
def update_chat(chat_id: str):
    return jsonify(chat_json(chats.update(g.principal, chat_id, chat_from_body())))


@bp.delete("/api/v1/chats/<chat_id>")
def delete_chat(chat_id: str):
    chats.delete(g.principal, chat_id)
    return jsonify(True)


@bp.get("/api/v1/chats/<chat_id>/pinned")
def chat_is_pinned(chat_id: str):
    return jsonify(chats.get_own(g.principal, chat_id).pinned)


@bp.post("/api/v1/chats/<chat_id>/pin")
def pin_chat(chat_id: str):
    return jsonify(chat_json(chats.toggle_pinned(g.principal, chat_id)))


@bp.post("/api/v1/chats/<chat_id>/archive")
def archive_chat(chat_id: str):
    return jsonify(chat_json(chats.toggle_archived(g.principal, chat_id)))


@bp.post("/api/v1/chats/<chat_id>/clone")
def clone_chat(chat_id: str):
    title = optional_object().get("title")
    return jsonify(chat_json(chats.clone(g.principal, chat_id, title)))


@bp.post("/api/v1/chats/<chat_id>/messages/<message_id>")
def update_message(chat_id: str, message_id: str):
    content = json_object().get("content")
    return jsonify(chat_json(chats.update_message(g.principal, chat_id, message_id, content)))


@bp.get("/api/v1/chats/<chat_id>/tags")
def chat_tags(chat_id: str):
    return tags_json(chats.tags_of(chats.get_own(g.principal, chat_id)))


@bp.post("/api/v1/chats/<chat_id>/tags")
def add_chat_tag(chat_id: str):
    chat = chats.add_tag(g.principal, chat_id, json_object().get("name"))
    return tags_json(chats.tags_of(chat))


@bp.delete("/api/v1/chats/<chat_id>/tags")
def remove_chat_tag(chat_id: str):
    chat = chats.remove_tag(g.principal, chat_id, json_object().get("name"))
    return tags_json(chats.tags_of(chat))
