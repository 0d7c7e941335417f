"""webui: a self-hosted web interface for teams that run LLMs."""

import hmac
import logging
import os

import sqlalchemy as sa
from flask import Flask, g, redirect, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

from webui import settings
from webui.config import default_config
from webui.errors import register_error_handlers
from webui.extensions import csrf, db, login_manager, migrate
from webui.security import permissions  # noqa: F401  (registers the permission settings)
from webui.security.guard import init_guard

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.json.sort_keys = False
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(default_config(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.config["UPLOAD_DIR"], exist_ok=True)

    if app.config["TRUSTED_PROXY_COUNT"]:
        # X-Forwarded-For is trusted only for the configured number of proxies.
        count = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    init_extensions(app)
    init_guard(app)
    register_error_handlers(app)
    register_blueprints(app)
    register_template_helpers(app)
    # After the blueprints: their modules register settings of their own.
    app.config.setdefault("SETTINGS_INITIAL", settings.initial_values())

    from webui.cli import register_commands

    register_commands(app)
    logging.getLogger("webui").setLevel(logging.INFO)
    return app


def init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            sa.event.listen(db.engine, "connect", _tune_sqlite)


def _tune_sqlite(dbapi_connection, _record) -> None:
    """WAL lets readers and one writer work at once; the busy timeout waits out locks."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@login_manager.user_loader
def load_user(session_id: str):
    """The signed-in user, unless their password changed since the session began."""
    from webui.models import User

    user_id, _, stamp = session_id.partition(".")
    user = db.session.get(User, user_id)
    if user is None or not hmac.compare_digest(stamp, user.session_stamp()):
        return None
    return user


@login_manager.request_loader
def load_user_from_key(_request):
    """A request the guard authenticated with a key acts as the key's owner."""
    return g.user if g.get("api_key") is not None else None


def register_blueprints(app: Flask) -> None:
    from webui.account import bp as account_bp
    from webui.admin import bp as admin_bp
    from webui.api import bp as api_bp
    from webui.auth import bp as auth_bp
    from webui.chat import bp as chat_bp
    from webui.chat import models_bp
    from webui.groups import bp as groups_bp
    from webui.workspace import bp as workspace_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(groups_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(chat_bp)
    app.register_blueprint(models_bp)
    app.register_blueprint(workspace_bp)
    app.add_url_rule("/", "home", lambda: redirect(url_for("account.index")))


def register_template_helpers(app: Flask) -> None:
    from webui.templating import template_globals, timestamp

    app.add_template_filter(timestamp, "timestamp")
    app.context_processor(template_globals)
