from flask import g, render_template, request

from webui.chat import bp, models_bp
from webui.core.parsers import query_flag, query_number
from webui.models import Chat
from webui.services import chats, model_access


def history_page_number() -> int:
    """?page=N of the sidebar (60 chats a page); a bad one is a 400, not an empty list."""
    return query_number(request.args, "page", 1, 1, chats.MAX_PAGE)


def chat_page(chat_id: str | None = None, saved: Chat | None = None):
    history = chats.history_page(g.principal, history_page_number())
    models = chats.chat_models(model_access.usable_models(g.principal))
    # Labels only ("OpenAI connection #2"): URLs and upstream keys are for admins.
    failing = [state.label for state in model_access.connection_states() if not state.ok]
    return render_template(
        "chat/index.html",
        models=models,
        chat_id=chat_id,
        chat_title=chats.plain_title(saved.title) if saved else "",
        failing=failing,
        history=history,
        # A saved chat is drawn at first paint; its script reads the same chat from the page.
        saved=saved,
        saved_messages=chats.shown_messages(saved) if saved else [],
    )


@bp.get("/chat")
def index():
    return chat_page()


@bp.get("/chat/<chat_id>")
def saved(chat_id: str):
    """A saved chat by its address, so it survives a reload; others' chats are not found."""
    chat = chats.get_own(g.principal, chat_id)
    return chat_page(chat.id, chat)


@models_bp.get("/models", endpoint="index")
def index_models():
    refresh = query_flag(request.args, "refresh")
    return render_template(
        "models/index.html", models=model_access.usable_models(g.principal, refresh)
    )
