"""Browser pages for chatting (chat.index) and for the list of models (models.index)."""

from flask import Blueprint

bp = Blueprint("chat", __name__)
models_bp = Blueprint("models", __name__)

from webui.chat import routes  # noqa: E402,F401
