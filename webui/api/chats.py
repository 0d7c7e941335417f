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
from webui.api.declare import documented, stream
from webui.api.payloads import json_object, optional_object
from webui.core.apidoc import BOOLEAN, INTEGER, STRING, array, component, enum, nullable, obj
from webui.core.parsers import parse_field, query_number, whole_number
from webui.errors import ServiceError
from webui.models import Chat
from webui.services import chats

MAX_SEARCH = 500  # characters of a search query
MAX_SKIP = 10_000_000
TAG = "Saved chats"

# --- what the routes declare (core/apidoc.py) ----------------------------------------------

CHAT = component(
    "Chat",
    obj(
        {
            "id": STRING,
            "user_id": STRING,
            "title": STRING,
            "chat": {
                "type": "object",
                "description": "Open WebUI's chat object as it was saved: title, models, "
                "messages, history, and whatever else the client sent.",
            },
            "created_at": {**INTEGER, "description": "Epoch seconds."},
            "updated_at": {**INTEGER, "description": "Epoch seconds."},
            "archived": BOOLEAN,
            "pinned": BOOLEAN,
            "share_id": {**nullable(STRING), "description": "Always null: webui shares no chats."},
            "folder_id": {**nullable(STRING), "description": "Always null: webui has no folders."},
            "meta": obj({"tags": {**array(STRING), "description": "The chat's tag ids."}}),
        },
        (
            "id",
            "user_id",
            "title",
            "chat",
            "created_at",
            "updated_at",
            "archived",
            "pinned",
            "share_id",
            "folder_id",
            "meta",
        ),
    ),
)
CHAT_TITLE = component(
    "ChatTitle",
    obj(
        {"id": STRING, "title": STRING, "updated_at": INTEGER, "created_at": INTEGER},
        ("id", "title", "updated_at", "created_at"),
    ),
)
CHAT_TAG = component(
    "ChatTag",
    obj(
        {
            "id": {**STRING, "description": "The tag's name in lower case, spaces as _."},
            "name": {**STRING, "description": "The same as id."},
            "user_id": STRING,
            "meta": nullable({"type": "object"}),
        },
        ("id", "name", "user_id", "meta"),
    ),
)
TITLES = array(CHAT_TITLE)
TAG_LIST = array(CHAT_TAG)
DONE = {**BOOLEAN, "description": "Always true."}
PAGE = {
    "type": "integer",
    "minimum": 1,
    "maximum": chats.MAX_PAGE,
    "description": f"Pages of {chats.PAGE_SIZE} chats, newest first.",
}
SEARCH_TEXT = {"type": "string", "maxLength": MAX_SEARCH}
# The chat object as a client sends it; only what webui reads is typed, the rest is kept.
MESSAGES_BY_ID = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "x-refusal": "must be an object: chat.history.messages maps message ids to message objects",
    },
}
CHAT_CONTENT = obj(
    {
        "title": {**nullable(STRING), "description": 'Empty or null gives "New Chat".'},
        "messages": array({"type": "object"}),
        "history": obj(
            {
                "messages": MESSAGES_BY_ID,
                "currentId": {"description": "The id of the message shown last."},
            }
        ),
    }
)


def chat_body(refusal: str) -> dict:
    """A body holding the chat object; ``refusal`` words a ``chat`` that is not an object."""
    return obj({"chat": {**CHAT_CONTENT, "x-refusal": refusal}}, ("chat",))


NEW_CHAT = chat_body('is required: an object like {"title": "…", "messages": []}')
CHAT_CHANGES = chat_body("is required: an object with the fields to change")
TAG_NAME = obj({"name": STRING}, ("name",))
TAGGED = obj(
    {
        "name": STRING,
        "skip": {
            "type": ["integer", "string"],
            "minimum": 0,
            "maximum": MAX_SKIP,
            "default": 0,
            "x-refusal": f"must be a whole number from 0 to {MAX_SKIP}",
            "description": "A whole number (digits in a string are taken too).",
        },
        "limit": {
            "type": ["integer", "string"],
            "minimum": 1,
            "maximum": chats.PAGE_SIZE,
            "default": 50,
            "x-refusal": f"must be a whole number from 1 to {chats.PAGE_SIZE}",
            "description": "A whole number (digits in a string are taken too).",
        },
    },
    ("name",),
)
EPOCH = {
    "type": ["integer", "null"],
    "minimum": 0,
    "x-refusal": "must be a time in epoch seconds, not in the future",
}
IMPORT = obj(
    {
        "chats": array(
            obj(
                {
                    "chat": {
                        **CHAT_CONTENT,
                        "x-refusal": 'is required: an object like {"title": "…", "messages": []}',
                    },
                    "meta": nullable(obj({"tags": array(STRING)})),
                    "pinned": nullable(BOOLEAN),
                    "created_at": EPOCH,
                    "updated_at": EPOCH,
                },
                ("chat",),
            ),
            maxItems=chats.MAX_IMPORT,
        )
    },
    ("chats",),
)


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
@documented(
    "Your chats that are not archived, newest first",
    TAG,
    query={"page": PAGE},
    answers={200: TITLES},
    description="Without `page`, every one of them.",
)
def list_chats():
    return titles_json(chats.list_chats(g.principal, optional_page()))


@bp.delete("/api/v1/chats/")
@documented("Delete all your chats", TAG, answers={200: DONE})
def delete_all_chats():
    chats.delete_all(g.principal)
    return jsonify(True)


@bp.get("/api/v1/chats/pinned")
@documented("Your pinned chats that are not archived", TAG, answers={200: TITLES})
def pinned_chats():
    return titles_json(chats.list_pinned(g.principal))


def ndjson_lines(found: list[Chat]) -> Iterator[str]:
    for chat in found:
        yield json.dumps(chat_json(chat), ensure_ascii=False) + "\n"


@bp.get("/api/v1/chats/all")
@documented(
    "Export every chat, archived ones too",
    TAG,
    answers={
        200: stream("application/x-ndjson", "One chat a line, newest first, each shaped as `Chat`.")
    },
)
def all_chats():
    """Every chat, archived ones too, one JSON object a line (Open WebUI's export)."""
    lines = ndjson_lines(chats.list_all(g.principal))
    return Response(stream_with_context(lines), mimetype="application/x-ndjson")


@bp.get("/api/v1/chats/all/archived")
@documented("Your archived chats, in full", TAG, answers={200: array(CHAT)})
def all_archived_chats():
    return jsonify([chat_json(chat) for chat in chats.list_archived(g.principal)])


@bp.get("/api/v1/chats/all/tags")
@documented("Every tag on your chats that are not archived", TAG, answers={200: TAG_LIST})
def all_tags():
    return tags_json(chats.all_tags(g.principal))


@bp.get("/api/v1/chats/archived")
@documented(
    "Your archived chats, a page at a time",
    TAG,
    query={
        "page": {**PAGE, "default": 1},
        "query": {**SEARCH_TEXT, "description": "Only chats whose title holds this text."},
        "order_by": {**enum(*chats.ARCHIVED_ORDERS), "default": "updated_at"},
        "direction": {**enum("asc", "desc"), "default": "desc"},
    },
    answers={200: TITLES},
)
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
@documented("How many chats you archived", TAG, answers={200: INTEGER})
def archived_count():
    return jsonify(chats.count_archived(g.principal))


@bp.post("/api/v1/chats/archive/all")
@documented("Archive all your chats", TAG, answers={200: DONE})
def archive_all_chats():
    chats.set_all_archived(g.principal, True)
    return jsonify(True)


@bp.post("/api/v1/chats/unarchive/all")
@documented("Bring all your archived chats back", TAG, answers={200: DONE})
def unarchive_all_chats():
    chats.set_all_archived(g.principal, False)
    return jsonify(True)


@bp.post("/api/v1/chats/tags")
@documented("Your chats with a tag, newest first", TAG, body=TAGGED, answers={200: TITLES})
def chats_by_tag():
    body = json_object()
    skip = parse_field("skip", whole_number(0, MAX_SKIP), body.get("skip", 0))
    limit = parse_field("limit", whole_number(1, chats.PAGE_SIZE), body.get("limit", 50))
    return titles_json(chats.chats_tagged(g.principal, body.get("name"), skip, limit))


@bp.post("/api/v1/chats/import")
@documented(
    "Import chats exported from Open WebUI or webui",
    TAG,
    body=IMPORT,
    answers={200: array(CHAT)},
    description="All of them are saved, or none.",
)
def import_chats():
    imported = chats.import_chats(g.principal, json_object().get("chats"))
    return jsonify([chat_json(chat) for chat in imported])


@bp.get("/api/v1/chats/search")
@documented(
    "Search your chats' titles and messages",
    TAG,
    query={
        "text": {**SEARCH_TEXT, "description": "Chats holding every word of it."},
        "page": {**PAGE, "default": 1},
    },
    answers={200: TITLES},
)
def search_chats():
    text = request.args.get("text", "")
    if len(text) > MAX_SEARCH:
        raise ServiceError(400, f"text must be at most {MAX_SEARCH} characters.")
    found = chats.search(g.principal, text, page_number())
    return jsonify([title_json(chat) for chat in found])


@bp.post("/api/v1/chats/new")
@documented("Save a new chat", TAG, body=NEW_CHAT, answers={200: CHAT})
def create_chat():
    return jsonify(chat_json(chats.create(g.principal, chat_from_body())))


@bp.get("/api/v1/chats/<chat_id>")
@documented("One of your chats", TAG, answers={200: CHAT})
def get_chat(chat_id: str):
    return jsonify(chat_json(chats.get_own(g.principal, chat_id)))


@bp.post("/api/v1/chats/<chat_id>")
@documented(
    "Change a chat",
    TAG,
    body=CHAT_CHANGES,
    answers={200: CHAT},
    description="The fields sent replace the saved chat object's fields of the same name.",
)
def update_chat(chat_id: str):
    return jsonify(chat_json(chats.update(g.principal, chat_id, chat_from_body())))


@bp.delete("/api/v1/chats/<chat_id>")
@documented("Delete a chat", TAG, answers={200: DONE})
def delete_chat(chat_id: str):
    chats.delete(g.principal, chat_id)
    return jsonify(True)


@bp.get("/api/v1/chats/<chat_id>/pinned")
@documented("Whether a chat is pinned", TAG, answers={200: BOOLEAN})
def chat_is_pinned(chat_id: str):
    return jsonify(chats.get_own(g.principal, chat_id).pinned)


@bp.post("/api/v1/chats/<chat_id>/pin")
@documented("Pin or unpin a chat (toggles)", TAG, answers={200: CHAT})
def pin_chat(chat_id: str):
    return jsonify(chat_json(chats.toggle_pinned(g.principal, chat_id)))


@bp.post("/api/v1/chats/<chat_id>/archive")
@documented("Archive or unarchive a chat (toggles)", TAG, answers={200: CHAT})
def archive_chat(chat_id: str):
    return jsonify(chat_json(chats.toggle_archived(g.principal, chat_id)))


@bp.post("/api/v1/chats/<chat_id>/clone")
@documented(
    "Copy a chat",
    TAG,
    body=obj({"title": {**nullable(STRING), "description": 'Else "Clone of …".'}}),
    body_optional=True,
    answers={200: CHAT},
)
def clone_chat(chat_id: str):
    title = optional_object().get("title")
    return jsonify(chat_json(chats.clone(g.principal, chat_id, title)))


@bp.post("/api/v1/chats/<chat_id>/messages/<message_id>")
@documented(
    "Change one message's text",
    TAG,
    body=obj({"content": STRING}, ("content",)),
    answers={200: CHAT},
)
def update_message(chat_id: str, message_id: str):
    content = json_object().get("content")
    return jsonify(chat_json(chats.update_message(g.principal, chat_id, message_id, content)))


@bp.get("/api/v1/chats/<chat_id>/tags")
@documented("A chat's tags", TAG, answers={200: TAG_LIST})
def chat_tags(chat_id: str):
    return tags_json(chats.tags_of(chats.get_own(g.principal, chat_id)))


@bp.post("/api/v1/chats/<chat_id>/tags")
@documented("Tag a chat", TAG, body=TAG_NAME, answers={200: TAG_LIST})
def add_chat_tag(chat_id: str):
    chat = chats.add_tag(g.principal, chat_id, json_object().get("name"))
    return tags_json(chats.tags_of(chat))


@bp.delete("/api/v1/chats/<chat_id>/tags")
@documented("Take a tag off a chat", TAG, body=TAG_NAME, answers={200: TAG_LIST})
def remove_chat_tag(chat_id: str):
    chat = chats.remove_tag(g.principal, chat_id, json_object().get("name"))
    return tags_json(chats.tags_of(chat))
