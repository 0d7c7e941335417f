"""Saved chats: one person's conversations, kept in Open WebUI's ``chat`` layout.

The ``chat`` object is stored as it was sent (``title``, ``models``, ``messages``,
``history``), so exports move between the two; only what this app relies on is checked.
To anyone but its owner a chat does not exist (404, like an unknown id).
"""

import json
import re
import time
import unicodedata
from collections.abc import Iterator
from typing import Any, Optional

import sqlalchemy as sa

from webui.errors import ServiceError
from webui.extensions import db
from webui.models import Chat, now
from webui.security.principal import Principal
from webui.services import fulltext
from webui.services.files import BIDI_CONTROLS

PAGE_SIZE = 60  # Open WebUI's page size
MAX_CHAT_BYTES = 1024 * 1024  # the stored chat object as compact JSON
MAX_TITLE = 200
MAX_SEARCH_TEXT = 200_000  # characters of a chat the search index reads
DEFAULT_TITLE = "New Chat"


# --- validation ---------------------------------------------------------------------------


def clean_title(title: Any) -> str:
    """A title on one line, without control characters or surrounding space, as other names
    are; empty gives "New Chat"."""
    if title is None:
        return DEFAULT_TITLE
    if not isinstance(title, str):
        raise ServiceError(400, "chat.title must be a string.")
    title = "".join(
        ch
        for ch in re.sub(r"\s+", " ", unicodedata.normalize("NFC", title))
        if unicodedata.category(ch) not in ("Cc", "Cs") and ch not in BIDI_CONTROLS
    ).strip()
    if len(title) > MAX_TITLE:
        raise ServiceError(400, f"chat.title must be at most {MAX_TITLE} characters.")
    return title or DEFAULT_TITLE


def clean_chat(chat: Any) -> dict[str, Any]:
    """The ``chat`` object of a request, checked where this app reads it, and bounded."""
    if not isinstance(chat, dict):
        raise ServiceError(400, 'chat is required: an object like {"title": "…", "messages": []}.')
    messages = chat.get("messages", [])
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ServiceError(400, "chat.messages must be a list of message objects.")
    history = chat.get("history", {})
    if not isinstance(history, dict) or not isinstance(history.get("messages", {}), dict):
        raise ServiceError(
            400, 'chat.history must be an object like {"messages": {"<id>": {…}}, "currentId": …}.'
        )
    size = len(json.dumps(chat, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_CHAT_BYTES:
        raise ServiceError(
            413,
            f"This chat would hold {size} bytes; a chat may hold at most {MAX_CHAT_BYTES} "
            "bytes. Start a new chat, or leave out attachments' contents.",
        )
    return chat


def _message_texts(chat: dict[str, Any]) -> Iterator[str]:
    """The text of every message; the history (the full tree) when there is one."""
    messages = list(chat.get("history", {}).get("messages", {}).values()) or chat.get(
        "messages", []
    )
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            yield content
        elif isinstance(content, list):  # OpenAI's parts: [{"type": "text", "text": …}]
            yield from (
                part["text"]
                for part in content
                if isinstance(part, dict) and isinstance(part.get("text"), str)
            )


def search_text_of(title: str, chat: dict[str, Any]) -> str:
    return "\n".join([title, *_message_texts(chat)])[:MAX_SEARCH_TEXT]


# --- reading ------------------------------------------------------------------------------


def _page_bounds(page: Optional[int]) -> tuple[Optional[int], int]:
    if page is None:
        return None, 0
    return PAGE_SIZE, (page - 1) * PAGE_SIZE


def list_chats(user: Principal, page: Optional[int] = None) -> list[Chat]:
    """The person's chats, newest first; a page holds 60, no page means all of them."""
    limit, offset = _page_bounds(page)
    query = (
        sa.select(Chat)
        .where(Chat.user_id == user.id)
        .order_by(Chat.touched_ns.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(db.session.scalars(query))


def search(user: Principal, text: str, page: int = 1) -> list[Chat]:
    """The person's chats whose title or messages hold every word of ``text``, newest first."""
    return fulltext.search_chats(user.id, text, PAGE_SIZE, (page - 1) * PAGE_SIZE)


def get_own(user: Principal, chat_id: str) -> Chat:
    chat = db.session.scalar(sa.select(Chat).where(Chat.id == chat_id, Chat.user_id == user.id))
    if chat is None:
        raise ServiceError(404, f"Chat not found: {chat_id}.")
    return chat


# --- writing ------------------------------------------------------------------------------


def _store(chat: Chat, content: dict[str, Any], title: str) -> None:
    chat.chat = content
    chat.title = title
    chat.search_text = search_text_of(title, content)


def create(user: Principal, content: Any) -> Chat:
    content = clean_chat(content)
    chat = Chat(user_id=user.id)
    _store(chat, content, clean_title(content.get("title")))
    db.session.add(chat)
    db.session.commit()
    return chat


def update(user: Principal, chat_id: str, changes: Any) -> Chat:
    """Merge ``changes`` into the stored chat object (top-level keys replace), as Open WebUI."""
    chat = get_own(user, chat_id)
    if not isinstance(changes, dict):
        raise ServiceError(400, "chat is required: an object with the fields to change.")
    merged = clean_chat({**chat.chat, **changes})
    title = clean_title(merged["title"]) if "title" in merged else chat.title
    _store(chat, merged, title)
    chat.updated_at, chat.touched_ns = now(), time.time_ns()
    db.session.commit()
    return chat


def delete(user: Principal, chat_id: str) -> None:
    db.session.delete(get_own(user, chat_id))
    db.session.commit()


# --- the chat page's model picker ---------------------------------------------------------

EMBEDDING_FAMILIES = frozenset({"bert", "nomic-bert", "jina-bert-v2", "xlm-roberta"})


def is_embedding_model(model: dict[str, Any]) -> bool:
    """Models that only embed text: an Ollama family of encoders, or "embed" in the name."""
    details = (model.get("ollama") or {}).get("details") or {}
    listed = details.get("families") if isinstance(details.get("families"), list) else []
    families = {name for name in [details.get("family"), *listed] if isinstance(name, str)}
    return bool(families & EMBEDDING_FAMILIES) or "embed" in model["id"].lower()


def chat_models(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [model for model in models if not is_embedding_model(model)]
