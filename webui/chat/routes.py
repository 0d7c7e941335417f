from flask import g, render_template, request

from webui.chat import bp, models_bp
from webui.core.parsers import query_flag
from webui.services import model_access


@bp.get("/chat")
def index():
    return render_template("chat/index.html", models=model_access.usable_models(g.principal))


@models_bp.get("/models", endpoint="index")
def index_models():
    refresh = query_flag(request.args, "refresh")
    return render_template(
        "models/index.html", models=model_access.usable_models(g.principal, refresh)
    )
