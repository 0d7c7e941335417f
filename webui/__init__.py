"""webui: a self-hosted web interface for teams that run LLMs."""

import logging
import os

import sqlalchemy as sa
from flask import Flask, g, redirect, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

from webui.account import bp as account_bp
from webui.admin import bp as admin_bp
from webui.api import bp as api_bp
from webui.assets import init_assets
from webui.auth import bp as auth_bp
from webui.chat import bp as chat_bp
from webui.chat import models_bp
from webui.cli import register_commands
from webui.compression import init_compression
from webui.config import (
    ConfigurationError,
    check_configuration,
    default_config,
    instance_path_from_environment,
    private_folder,
    private_sqlite_file,
)
from webui.core.schema import init_schema_watch
from webui.core.settings import SettingError, initial_values
from webui.core.storage import init_storage
from webui.errors import register_error_handlers
from webui.extensions import csrf, db, login_manager, migrate, tune_sqlite
from webui.headers import register_security_headers
from webui.security.guard import init_guard
from webui.security.identity import principal_for_session
from webui.templating import register_template_helpers
from webui.workspace import bp as workspace_bp

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


class WebUI(Flask):
    """Flask, minus a check repeated on every request: before each call of a hook or view,
    Flask asks ``inspect`` whether it is a coroutine function (three times a request here).
    The answer never changes for a function, so it is remembered."""

    _MOST_REMEMBERED = 1024  # views and hooks are a few hundred; per-request closures pass

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_callables: dict = {}

    def ensure_sync(self, func):
        wrapped = self._sync_callables.get(func)
        if wrapped is None:
            if len(self._sync_callables) >= self._MOST_REMEMBERED:
                self._sync_callables.clear()
            wrapped = self._sync_callables[func] = super().ensure_sync(func)
        return wrapped


def create_app(test_config: dict | None = None) -> Flask:
    app = WebUI(
        __name__, instance_relative_config=True, instance_path=instance_path_from_environment()
    )
    app.json.sort_keys = False
    private_folder(app.instance_path)
    app.config.from_mapping(default_config(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    check_configuration(app.config)  # a setting that cannot work stops here, in one sentence
    init_storage(app)  # creates the upload folder (local) or checks the S3 settings
    private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])

    if app.config["TRUSTED_PROXY_COUNT"]:
        # X-Forwarded-For is trusted only for the configured number of proxies.
        count = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    init_extensions(app)
    init_guard(app)
    register_error_handlers(app)
    init_schema_watch(app)  # a database error while the schema is behind: "being upgraded"
    register_security_headers(app)
    register_blueprints(app)
    register_template_helpers(app)
    init_assets(app)  # versioned static URLs, cached for a year
    init_compression(app)  # gzip for text responses, never for streams or downloads
    app.config.setdefault("SETTINGS_INITIAL", initial_settings())
    register_commands(app)
    logging.getLogger("webui").setLevel(logging.INFO)
    return app


def initial_settings() -> dict:
    """The saved settings' first values, from the environment; a bad one stops the start
    like any other setting."""
    try:
        return initial_values()
    except SettingError as error:
        raise ConfigurationError(str(error)) from None


def init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    csrf.init_app(app)
    if not app.config["WTF_CSRF_CHECK_DEFAULT"]:
        # The guard calls csrf.protect() itself; Flask-WTF's own hook would return at once.
        app.before_request_funcs[None] = [
            hook for hook in app.before_request_funcs[None] if hook.__module__ != "flask_wtf.csrf"
        ]
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    # Sign-in never sets Flask-Login's remember-me cookie (signin.py): its after-request hook,
    # which refreshes or clears that cookie, would only read the session of every response.
    app.after_request_funcs[None].remove(login_manager._update_remember_cookie)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            sa.event.listen(db.engine, "connect", tune_sqlite)


@login_manager.user_loader
def load_principal(session_id: str):
    """The signed-in person, unless their password changed since the session began."""
    return principal_for_session(session_id)


@login_manager.request_loader
def load_principal_from_key(_request):
    """A request the guard authenticated with a key acts as the key's owner."""
    principal = g.get("principal")
    return principal if principal is not None and principal.key is not None else None


def register_blueprints(app: Flask) -> None:
    for blueprint in (auth_bp, admin_bp, account_bp, api_bp, chat_bp, models_bp, workspace_bp):
        app.register_blueprint(blueprint)
    app.add_url_rule("/", "home", lambda: redirect(url_for("chat.index")))  # as after sign-in
