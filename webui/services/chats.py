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
from dataclasses import dataclass
from datetime import UTC, date, datetime
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
# Said under an answer saved as failed without words of its own (chat.js says the same).
ANSWER_FAILED = (
    "The model server did not answer. Try again, or tell an administrator if it keeps happening."
)


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
    if not all(isinstance(m, dict) for m in history.get("messages", {}).values()):
        raise ServiceError(400, "chat.history.messages must map message ids to message objects.")
    size = len(json.dumps(chat, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_CHAT_BYTES:
        raise ServiceError(
            413,
            f"This chat would hold {size} bytes; a chat may hold at most {MAX_CHAT_BYTES} "
            "bytes. Start a new chat, or leave out attachments' contents.",
        )
    return chat


def message_text(message: Any) -> str:
    """A message's text: its string content, or the text of OpenAI's content parts
    ([{"type": "text", "text": …}]) one per line."""
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _message_texts(chat: dict[str, Any]) -> Iterator[str]:
    """The text of every message; the history (the full tree) when there is one."""
    messages = list(chat.get("history", {}).get("messages", {}).values()) or chat.get(
        "messages", []
    )
    return (message_text(message) for message in messages)


def search_text_of(title: str, chat: dict[str, Any]) -> str:
    return "\n".join([title, *_message_texts(chat)])[:MAX_SEARCH_TEXT]


# --- reading ------------------------------------------------------------------------------


def _page_bounds(page: Optional[int]) -> tuple[Optional[int], int]:
    if page is None:
        return None, 0
    return PAGE_SIZE, (page - 1) * PAGE_SIZE


def _own(user: Principal) -> sa.Select:
    return sa.select(Chat).where(Chat.user_id == user.id)


def _newest_first(query: sa.Select, page: Optional[int] = None) -> list[Chat]:
    limit, offset = _page_bounds(page)
    ordered = query.order_by(Chat.touched_ns.desc()).limit(limit).offset(offset)
    return list(db.session.scalars(ordered))


def list_chats(user: Principal, page: Optional[int] = None) -> list[Chat]:
    """The person's chats that are not archived, newest first; a page holds 60, no page
    means all of them (Open WebUI's list leaves archived chats out too)."""
    return _newest_first(_own(user).where(Chat.archived.is_(False)), page)


def list_pinned(user: Principal) -> list[Chat]:
    return _newest_first(_own(user).where(Chat.pinned.is_(True), Chat.archived.is_(False)))


def list_all(user: Principal) -> list[Chat]:
    """Every chat of the person, archived ones too, newest first."""
    return _newest_first(_own(user))


ARCHIVED_ORDERS = {
    "updated_at": Chat.touched_ns,
    "created_at": Chat.created_at,
    "title": Chat.title,
}


def list_archived(
    user: Principal,
    page: Optional[int] = None,
    query: str = "",
    order_by: str = "updated_at",
    direction: str = "desc",
) -> list[Chat]:
    """The person's archived chats, optionally those whose title holds ``query``."""
    if order_by not in ARCHIVED_ORDERS:
        raise ServiceError(400, f"order_by must be one of: {', '.join(ARCHIVED_ORDERS)}.")
    if direction not in ("asc", "desc"):
        raise ServiceError(400, "direction must be asc or desc.")
    selected = _own(user).where(Chat.archived.is_(True))
    if query:
        selected = selected.where(Chat.title.icontains(query, autoescape=True))
    column = ARCHIVED_ORDERS[order_by]
    limit, offset = _page_bounds(page)
    ordered = selected.order_by(column.asc() if direction == "asc" else column.desc(), Chat.id)
    return list(db.session.scalars(ordered.limit(limit).offset(offset)))


def count_archived(user: Principal) -> int:
    counted = sa.select(sa.func.count()).where(Chat.user_id == user.id, Chat.archived.is_(True))
    return db.session.scalar(counted)


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


def delete_all(user: Principal) -> None:
    """Every chat of the person (never anyone else's)."""
    for chat in db.session.scalars(_own(user)):
        db.session.delete(chat)  # one by one, so the search index follows on every database
    db.session.commit()


def _touch(chat: Chat) -> None:
    chat.updated_at, chat.touched_ns = now(), time.time_ns()


def _toggle(user: Principal, chat_id: str, flag: str) -> Chat:
    chat = get_own(user, chat_id)
    setattr(chat, flag, not getattr(chat, flag))
    _touch(chat)
    db.session.commit()
    return chat


def toggle_pinned(user: Principal, chat_id: str) -> Chat:
    return _toggle(user, chat_id, "pinned")


def toggle_archived(user: Principal, chat_id: str) -> Chat:
    return _toggle(user, chat_id, "archived")


def set_all_archived(user: Principal, archived: bool) -> None:
    changed = (
        sa.update(Chat)
        .where(Chat.user_id == user.id, Chat.archived.is_(not archived))
        .values(archived=archived, updated_at=now(), touched_ns=time.time_ns())
    )
    db.session.execute(changed)
    db.session.commit()


def clone(user: Principal, chat_id: str, title: Any = None) -> Chat:
    """A copy of the chat, as Open WebUI's: marked with the original's id and the message it
    branched at, titled "Clone of …" unless a title is given; pinned and tags carried over."""
    original = get_own(user, chat_id)
    if title is not None and not isinstance(title, str):
        raise ServiceError(400, "title must be a string.")
    title = clean_title(title) if title and title.strip() else f"Clone of {original.title}"
    title = title[:MAX_TITLE]  # "Clone of " and a long title would not fit
    content = {
        **original.chat,
        "originalChatId": original.id,
        "branchPointMessageId": original.chat.get("history", {}).get("currentId"),
        "title": title,
    }
    copy = Chat(user_id=user.id, pinned=original.pinned, meta=dict(original.meta or {}))
    _store(copy, clean_chat(content), clean_title(title))
    db.session.add(copy)
    db.session.commit()
    return copy


def stored_shape(chat: Chat) -> dict[str, Any]:
    """The stored chat object, checked again: one saved before a check existed may fail it."""
    try:
        return clean_chat(chat.chat)
    except ServiceError as error:
        raise ServiceError(
            400,
            f"This chat was saved in a shape that cannot be edited here: {error.detail} "
            "Save the whole chat again with POST /api/v1/chats/<id>.",
        ) from None


def failure_text(message: dict[str, Any]) -> str:
    """What the chat page says under an answer that failed ("error" as Open WebUI saves it:
    an object with "content", or just true)."""
    error = message.get("error")
    if not error:
        return ""
    content = error.get("content") if isinstance(error, dict) else None
    return content if isinstance(content, str) and content else ANSWER_FAILED


def attachment_names(message: dict[str, Any]) -> list[str]:
    """The names of the files and collections sent with a message (as the chat page saves them)."""
    files = message.get("files")
    return [
        item["name"]
        for item in (files if isinstance(files, list) else [])
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    ]


def shown_messages(chat: Chat) -> list[dict[str, Any]]:
    """The messages of a saved chat as the chat page draws them before its script runs."""
    messages = chat.chat.get("messages") if isinstance(chat.chat, dict) else None
    return [
        {
            "role": "user" if message.get("role") == "user" else "assistant",
            "model": message.get("model") if isinstance(message.get("model"), str) else "",
            "text": message_text(message),
            "failed": failure_text(message),
            "stopped": bool(message.get("stopped")),
            "files": attachment_names(message),
        }
        for message in (messages if isinstance(messages, list) else [])
        if isinstance(message, dict)
    ]


def update_message(user: Principal, chat_id: str, message_id: str, content: Any) -> Chat:
    """Replace one message's text, in ``history`` and in ``messages`` wherever it is."""
    chat = get_own(user, chat_id)
    if not isinstance(content, str):
        raise ServiceError(400, 'content is required: send {"content": "the new text"}.')
    stored = stored_shape(chat)
    history = dict(stored.get("history", {}))
    by_id = dict(history.get("messages", {}))
    listed = [m for m in stored.get("messages", []) if m.get("id") == message_id]
    if message_id not in by_id and not listed:
        raise ServiceError(404, f"Message not found in this chat: {message_id}.")
    if message_id in by_id:
        by_id[message_id] = {**by_id[message_id], "content": content}
        history["messages"] = by_id
    messages = [
        {**m, "content": content} if m.get("id") == message_id else m
        for m in stored.get("messages", [])
    ]
    changed = clean_chat({**stored, "history": history, "messages": messages})
    _store(chat, changed, chat.title)
    _touch(chat)
    db.session.commit()
    return chat


# --- import ------------------------------------------------------------------------------

MAX_IMPORT = 500  # chats in one import


def _import_time(item: dict[str, Any], field: str) -> Optional[int]:
    value = item.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= now():
        raise ServiceError(400, f"{field} must be a time in epoch seconds, not in the future.")
    return value


def _imported(user: Principal, number: int, item: Any) -> Chat:
    if not isinstance(item, dict):
        raise ServiceError(400, f'chats[{number}] must be an object like {{"chat": {{…}}}}.')
    try:
        content = clean_chat(item.get("chat"))
        meta = item.get("meta") or {}
        if not isinstance(meta, dict):
            raise ServiceError(400, "meta must be an object.")
        tags = meta.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ServiceError(400, "meta.tags must be a list of tag names.")
        pinned = item.get("pinned") or False
        if not isinstance(pinned, bool):
            raise ServiceError(400, "pinned must be true or false.")
        created = _import_time(item, "created_at") or now()
        updated = _import_time(item, "updated_at") or created
        tag_ids = list(dict.fromkeys(tag_id(name) for name in tags))
        if len(tag_ids) > MAX_TAGS:
            raise ServiceError(400, f"A chat may have at most {MAX_TAGS} tags.")
        title = clean_title(content.get("title"))
    except ServiceError as error:
        raise ServiceError(error.status, f"chats[{number}]: {error.detail}") from None
    chat = Chat(user_id=user.id, pinned=pinned, meta={"tags": tag_ids})
    chat.created_at, chat.updated_at = created, updated
    chat.touched_ns = updated * 1_000_000_000 + number  # keeps the import's order within a second
    _store(chat, content, title)
    return chat


def import_chats(user: Principal, items: Any) -> list[Chat]:
    """Chats exported from Open WebUI (or webui): all of them saved, or none."""
    if not isinstance(items, list):
        raise ServiceError(400, 'chats is required: a list like [{"chat": {…}}].')
    if len(items) > MAX_IMPORT:
        raise ServiceError(400, f"At most {MAX_IMPORT} chats can be imported at once.")
    imported = [_imported(user, number, item) for number, item in enumerate(items)]
    db.session.add_all(imported)
    db.session.commit()
    return imported


# --- tags (Open WebUI keeps a chat's tag ids in its meta) ---------------------------------

MAX_TAGS = 50  # on one chat
MAX_TAG = 64  # characters of a tag


def tag_id(name: Any) -> str:
    """Open WebUI's tag id: the name in lower case, spaces as underscores."""
    if not isinstance(name, str):
        raise ServiceError(400, 'name is required: send {"name": "the tag"}.')
    tag = clean_title(name) if name.strip() else ""
    tag = tag.replace(" ", "_").lower()
    if not tag:
        raise ServiceError(400, "A tag name cannot be empty.")
    if tag == "none":
        raise ServiceError(400, "A tag cannot be called None.")
    if len(tag) > MAX_TAG:
        raise ServiceError(400, f"A tag must be at most {MAX_TAG} characters.")
    return tag


def tags_of(chat: Chat) -> list[str]:
    return list((chat.meta or {}).get("tags", []))


def _set_tags(chat: Chat, tags: list[str]) -> None:
    chat.meta = {**(chat.meta or {}), "tags": tags}  # a new object, so the change is saved
    _touch(chat)
    db.session.commit()


def add_tag(user: Principal, chat_id: str, name: Any) -> Chat:
    chat, tag = get_own(user, chat_id), tag_id(name)
    tags = tags_of(chat)
    if tag not in tags:
        if len(tags) >= MAX_TAGS:
            raise ServiceError(400, f"A chat may have at most {MAX_TAGS} tags.")
        _set_tags(chat, [*tags, tag])
    return chat


def remove_tag(user: Principal, chat_id: str, name: Any) -> Chat:
    chat, tag = get_own(user, chat_id), tag_id(name)
    if tag in tags_of(chat):
        _set_tags(chat, [t for t in tags_of(chat) if t != tag])
    return chat


def _tagged(user: Principal) -> list[tuple[str, list[str]]]:
    """(chat id, tags) of the person's chats that are not archived, newest first."""
    rows = db.session.execute(
        sa.select(Chat.id, Chat.meta)
        .where(Chat.user_id == user.id, Chat.archived.is_(False))
        .order_by(Chat.touched_ns.desc())
    )
    return [(chat_id, list((meta or {}).get("tags", []))) for chat_id, meta in rows]


def all_tags(user: Principal) -> list[str]:
    """Every tag on the person's chats that are not archived, in name order."""
    return sorted({tag for _, tags in _tagged(user) for tag in tags})


def chats_tagged(user: Principal, name: Any, skip: int, limit: int) -> list[Chat]:
    tag = tag_id(name)
    ids = [chat_id for chat_id, tags in _tagged(user) if tag in tags][skip : skip + limit]
    found = {chat.id: chat for chat in db.session.scalars(_own(user).where(Chat.id.in_(ids)))}
    return [found[chat_id] for chat_id in ids]


# --- the chat page's sidebar: history a page at a time, grouped by day ---------------------

MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # [text](url) and ![alt](url)
MARKDOWN_PAIRED = re.compile(r"(\*\*|~~)(.+?)\1")  # **bold**, ~~struck~~
# *em*, _em_, __bold__; never inside a word (snake_case_name, 2*3*4 stay).
MARKDOWN_SINGLE = re.compile(r"(?<![\w*])(__|[*_])(\S(?:.*?\S)?)\1(?![\w*])")
MARKDOWN_LEAD = re.compile(r"^(?:#{1,6}|>|[-+*]|\d+\.)\s+")  # a heading, quote or list mark
MAX_PAGE = 100_000  # of the sidebar and the API's ?page=: far past anyone's history
MONTHS = (
    "January February March April May June July August September October November December"
).split()


def plain_title(title: str) -> str:
    """A title as text to show: Markdown marks dropped ("**Plan** for `x`" → "Plan for x"),
    the stored title unchanged. The same rule is plainTitle in static/chat_sidebar.js."""
    text = MARKDOWN_LINK.sub(r"\1", title).replace("`", "")
    text = MARKDOWN_SINGLE.sub(r"\2", MARKDOWN_PAIRED.sub(r"\2", text))
    text = " ".join(MARKDOWN_LEAD.sub("", text).split())
    return text or title


def history_group(updated_at: int, today: date) -> str:
    """Open WebUI's sidebar groups: Today, Yesterday, Previous 7 days, Previous 30 days, then
    the month ("November 2026"). The server counts days in UTC; the page's script regroups
    in the viewer's time zone."""
    day = datetime.fromtimestamp(updated_at, UTC).date()
    days_ago = (today - day).days
    if days_ago <= 0:
        return "Today"
    if days_ago == 1:
        return "Yesterday"
    if days_ago <= 7:
        return "Previous 7 days"
    if days_ago <= 30:
        return "Previous 30 days"
    return f"{MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class HistoryEntry:
    id: str
    title: str  # plain text
    updated_at: int


@dataclass(frozen=True)
class HistoryGroup:
    label: str
    entries: list[HistoryEntry]


@dataclass(frozen=True)
class HistoryPage:
    number: int
    groups: list[HistoryGroup]
    has_more: bool  # a full page: there may be older chats on the next one


def group_history(found: list[Chat], today: date) -> list[HistoryGroup]:
    """Chats newest first, in runs that share a group label."""
    groups: list[HistoryGroup] = []
    for chat in found:
        label = history_group(chat.updated_at, today)
        if not groups or groups[-1].label != label:
            groups.append(HistoryGroup(label, []))
        groups[-1].entries.append(HistoryEntry(chat.id, plain_title(chat.title), chat.updated_at))
    return groups


def history_page(user: Principal, page: int) -> HistoryPage:
    """One page (60) of the sidebar, grouped by UTC day."""
    found = list_chats(user, page)
    today = datetime.now(UTC).date()
    return HistoryPage(page, group_history(found, today), len(found) == PAGE_SIZE)


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
