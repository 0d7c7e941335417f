"""Persistent settings: the environment gives the first value, a saved value wins."""

import pytest

from tests.support.accounts import bearer, login_client
from webui import create_app
from webui.config import ConfigurationError
from webui.core import parsers, settings, version_cache
from webui.core.catalog import SETTINGS
from webui.extensions import db
from webui.services import configuration, model_access


def test_environment_gives_the_initial_value_and_a_saved_value_wins(
    monkeypatch, app_config, make_user
):
    monkeypatch.setenv("ENABLE_API_KEYS", "true")
    monkeypatch.setenv("USER_PERMISSIONS_FEATURES_API_KEYS", "True")
    app = create_app(app_config)
    with app.app_context():
        assert settings.get_setting("ENABLE_API_KEYS") is True
        assert settings.get_setting("USER_PERMISSIONS_FEATURES_API_KEYS") is True
        configuration.save({"ENABLE_API_KEYS": False}, SETTINGS, None)
        assert settings.get_setting("ENABLE_API_KEYS") is False

    # A new process with the same environment still sees the saved value.
    monkeypatch.setenv("ENABLE_API_KEYS", "true")
    with create_app(app_config).app_context():
        assert settings.get_setting("ENABLE_API_KEYS") is False


def test_a_bad_environment_value_names_the_variable(monkeypatch, app_config):
    monkeypatch.setenv("DEFAULT_USER_ROLE", "owner")
    # A sentence that stops the start (gunicorn and flask commands print it alone).
    with pytest.raises(ConfigurationError, match="DEFAULT_USER_ROLE: environment value 'owner'"):
        create_app(app_config)


def test_a_saved_change_holds_for_another_app_instance_at_once(app, app_config, make_user):
    """Two app objects stand in for two worker processes sharing one database."""
    make_user("root@example.com", role="admin")
    other_worker = create_app(app_config)
    admin = login_client(app, "root@example.com")
    assert (
        admin.post("/api/v1/auths/admin/config", json={"ENABLE_SIGNUP": False}).status_code == 200
    )
    response = other_worker.test_client().post(
        "/api/v1/auths/signup",
        json={"name": "Eve", "email": "eve@example.com", "password": "x" * 10},
    )
    assert response.status_code == 403


def seed_the_version(app) -> None:
    """What migration 0002 does: every migrated database holds a version from the start."""
    with app.app_context():
        version_cache.bump_version()
        db.session.commit()


def restrict_a_model(app) -> None:
    """Another change that moves the version token: a model access rule."""
    with app.app_context():
        model_access.set_access("gpt-secret", False, [], None)


@pytest.mark.parametrize(
    "earlier_change",
    [None, seed_the_version, restrict_a_model],
    ids=["no version before", "version seeded by the migration", "version set by a model rule"],
)
def test_a_worker_that_cached_the_settings_sees_a_change_on_its_next_request(
    app, app_config, make_user, save_settings, make_key, earlier_change
):
    """Workers keep saved values under a version token the key lookup reads every time. Once
    any change has set a token, workers cache under it: a settings save must move it too."""
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    if earlier_change:
        earlier_change(app)
    make_user("root@example.com", role="admin")
    secret = make_key(make_user("ada@example.com"), "bot")
    other_worker = create_app(app_config).test_client()
    assert other_worker.get("/api/v1/auths/", headers=bearer(secret)).status_code == 200

    admin = login_client(app, "root@example.com")
    assert (
        admin.post("/api/v1/auths/admin/config", json={"ENABLE_API_KEYS": False}).status_code == 200
    )
    response = other_worker.get("/api/v1/auths/", headers=bearer(secret))
    assert response.status_code == 403 and "turned off" in response.get_json()["detail"]

    assert (
        admin.post("/api/v1/auths/admin/config", json={"ENABLE_API_KEYS": True}).status_code == 200
    )
    assert other_worker.get("/api/v1/auths/", headers=bearer(secret)).status_code == 200


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/api/models", ["/api/models"]),
        (" /a , /b/ ,, /a ", ["/a", "/b/"]),
        ("", []),
        (["/x", " /y "], ["/x", "/y"]),
    ],
)
def test_allowlist_entries_are_normalised(raw, expected):
    assert parsers.split_endpoints(raw) == expected


@pytest.mark.parametrize("raw", ["api", "/a?b", "/a*", "/a b", "/a#b", "/a\tb", 7, [1]])
def test_allowlist_entries_are_validated(raw):
    with pytest.raises(ValueError):
        parsers.split_endpoints(raw)
