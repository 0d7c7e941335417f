"""MODELS_CACHE_SECONDS is read from the environment as documented; a value that is not a
whole number of seconds stops the start with a sentence naming it."""

import time

import pytest

from tests.support.accounts import bearer
from webui import create_app
from webui.config import ConfigurationError


@pytest.fixture
def app_config(app_config, monkeypatch):
    monkeypatch.setenv("MODELS_CACHE_SECONDS", "0")  # every model list is old at once
    return app_config


def wait_until(condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "no background refresh of the model list"
        time.sleep(0.02)


def test_the_environment_sets_how_long_the_model_list_is_kept(
    app, client, make_user, make_key, connected_upstreams, openai_up
):
    assert app.config["MODELS_CACHE_SECONDS"] == 0
    make_user("root@example.com", role="admin")
    key = bearer(make_key(make_user("ada@example.com"), "bot"))
    assert client.get("/api/models", headers=key).status_code == 200
    asked = len(openai_up.calls("/v1/models"))
    assert client.get("/api/models", headers=key).status_code == 200
    # Kept for 0 s: the second listing starts a refresh (with the default 30 s it would not).
    wait_until(lambda: len(openai_up.calls("/v1/models")) > asked)


@pytest.mark.parametrize("value, seconds", [("45", 45), (" 600 ", 600), ("", 30)])
def test_whole_seconds_are_read(app_config, monkeypatch, value, seconds):
    monkeypatch.setenv("MODELS_CACHE_SECONDS", value)
    assert create_app(app_config).config["MODELS_CACHE_SECONDS"] == seconds


def test_unset_is_thirty_seconds(app_config, monkeypatch):
    monkeypatch.delenv("MODELS_CACHE_SECONDS")
    assert create_app(app_config).config["MODELS_CACHE_SECONDS"] == 30


@pytest.mark.parametrize("value", ["thirty", "-5", "1.5", "1e3", "３０", "86401"])
def test_a_bad_value_stops_the_start_naming_it(app_config, monkeypatch, value):
    monkeypatch.setenv("MODELS_CACHE_SECONDS", value)
    with pytest.raises(ConfigurationError, match="^MODELS_CACHE_SECONDS ") as stopped:
        create_app(app_config)
    assert repr(value.strip()) in str(stopped.value)
