"""/api/v1/chats (Open WebUI's paths, a subset): the caller's saved chats.

No declaration beyond the default: a signed-in, approved person, or a key acting as its
owner, so a key's allowlist can include or leave out /api/v1/chats, and read-only keys
(GET only, by the guard) may list and read.
"""

from typing import Any

from flask import g, jsonify, request

from webui.api import bp
from webui.api.payloads import json_object
from webui.core.parsers import query_number
from webui.errors import ServiceError
from webui.models import Chat
from webui.services import chats

MAX_PAGE = 100_000
MAX_SEARCH = 500  # characters of a search query


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
        "meta": {},
    }


def title_json(chat: Chat) -> dict[str, Any]:
    return {
        "id": chat.id,
        "title": chat.title,
        "updated_at": chat.updated_at,
        "created_at": chat.created_at,
    }


def chat_from_body() -> Any:
    body = json_object()
    if "chat" not in body:
        raise ServiceError(400, 'chat is required: send {"chat": {"title": "…", "messages": []}}.')
    return body["chat"]


def page_number() -> int:
    return query_number(request.args, "page", 1, 1, MAX_PAGE)


def optional_page() -> int | None:
    """?page=N, or None (every chat) when it is absent, as Open WebUI's list."""
    return page_number() if request.args.get("page") not in (None, "") else None


@bp.get("/api/v1/chats/list", endpoint="list_chats_alias")
@bp.get("/api/v1/chats/")
def list_chats():
    return jsonify([title_json(chat) for chat in chats.list_chats(g.principal, optional_page())])


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
