"""Configuration mistakes as sentences (issue 25, item 11): a DATABASE_URL SQLAlchemy cannot
open, a database that refuses the connection, a SECRET_KEY that is the documented example or
short each stop the start with one sentence naming the variable and the fix; gunicorn and
``flask db upgrade`` print that sentence alone, not a traceback."""

import re
import subprocess
import sys

import pytest

from tests.support.servers import REPO, SECRET_KEY, environment, free_port
from webui import create_app
from webui.config import ConfigurationError
from webui.core.schema import check_database_at_start

PLACEHOLDER = "change-me-to-64-random-hex-characters"  # as docs/deployment.md shows it


def unreachable_url() -> str:
    return f"postgresql+psycopg://webui:hunter2@127.0.0.1:{free_port()}/webui"


@pytest.fixture
def clean_environment(monkeypatch, tmp_path):
    """No secret, database or allowance from the environment running the tests."""
    for name in ("SECRET_KEY", "WEBUI_SECRET_KEY", "WEBUI_ALLOW_WEAK_SECRET_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WEBUI_INSTANCE_PATH", str(tmp_path / "instance"))


@pytest.fixture
def deployed(app_config, clean_environment):
    """app_config as a deployment has it: not TESTING, with a strong key."""
    return {**app_config, "TESTING": False, "SECRET_KEY": SECRET_KEY}


@pytest.mark.parametrize(
    "url, says",
    [
        (
            "postgres://webui:hunter2@db.example/webui",
            "DATABASE_URL starts with postgres://, a name SQLAlchemy does not accept: write "
            "postgresql+psycopg:// instead",
        ),
        ("mysql://webui:hunter2@db.example/webui", "DATABASE_URL names the database 'mysql'"),
        ("hunter2", "DATABASE_URL is not a database URL: write sqlite:////"),
        (
            "postgresql+psycopg2://webui:hunter2@db.example/webui",
            "DATABASE_URL asks for the driver 'postgresql+psycopg2', which is not installed",
        ),
    ],
)
def test_a_database_url_that_cannot_work_stops_the_start(deployed, url, says):
    with pytest.raises(ConfigurationError, match="^" + re.escape(says)) as stopped:
        create_app({**deployed, "SQLALCHEMY_DATABASE_URI": url})
    assert "hunter2" not in str(stopped.value)  # the URL may hold a password: never repeated


def test_a_sqlite_file_whose_folder_is_missing_stops_the_start(deployed, tmp_path):
    missing = tmp_path / "no-such-folder" / "webui.sqlite"
    with pytest.raises(
        ConfigurationError, match=re.escape(f"SQLite file {missing}, which cannot be")
    ):
        create_app({**deployed, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{missing}"})


def test_a_database_that_refuses_the_connection_stops_a_server(deployed):
    app = create_app({**deployed, "SQLALCHEMY_DATABASE_URI": unreachable_url()})
    with pytest.raises(ConfigurationError) as stopped:
        check_database_at_start(app)
    sentence = str(stopped.value)
    assert sentence.startswith("DATABASE_URL: cannot connect to postgresql+psycopg://webui:***@")
    assert "check that the database is running" in sentence
    assert "\n" not in sentence and "hunter2" not in sentence


@pytest.mark.parametrize(
    "key, says",
    [
        (PLACEHOLDER, "SECRET_KEY is the example value from docs/deployment.md"),
        ("test-secret", "SECRET_KEY is 11 characters long, fewer than 32"),
        ("x" * 31, "SECRET_KEY is 31 characters long, fewer than 32"),
    ],
)
def test_a_weak_secret_key_stops_the_start(deployed, key, says):
    with pytest.raises(ConfigurationError, match="^" + re.escape(says)) as stopped:
        create_app({**deployed, "SECRET_KEY": key})
    assert "secrets.token_hex(32)" in str(stopped.value)
    assert "WEBUI_ALLOW_WEAK_SECRET_KEY=true" in str(stopped.value)


@pytest.mark.parametrize("key", [PLACEHOLDER, "test-secret"])
def test_a_weak_secret_key_is_accepted_where_development_says_so(deployed, monkeypatch, key):
    monkeypatch.setenv("WEBUI_ALLOW_WEAK_SECRET_KEY", "true")
    assert create_app({**deployed, "SECRET_KEY": key}).secret_key == key


def test_a_strong_key_and_a_generated_one_start(deployed):
    assert create_app({**deployed, "SECRET_KEY": "y" * 32}).secret_key == "y" * 32
    # The README's start: no SECRET_KEY anywhere, one is generated into the instance folder.
    generated = {name: value for name, value in deployed.items() if name != "SECRET_KEY"}
    app = create_app(generated)
    assert len(app.secret_key) == 64 and app.secret_key == app.config["SECRET_KEY_GENERATED"]


# --- what an operator sees: one line, from gunicorn and from flask db upgrade --------------


def run(command: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        command,
        cwd=REPO,
        env=environment(env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def start_settings(tmp_path, **overrides) -> dict:
    return {
        "WEBUI_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'webui.sqlite'}",
        "SECRET_KEY": SECRET_KEY,
        "WEBUI_ALLOW_WEAK_SECRET_KEY": "false",
        **overrides,
    }


MISTAKES = {
    "postgres scheme": (
        {"DATABASE_URL": "postgres://webui:hunter2@127.0.0.1/webui"},
        "DATABASE_URL",
    ),
    "placeholder key": ({"SECRET_KEY": PLACEHOLDER}, "SECRET_KEY"),
    "unreachable database": ({"DATABASE_URL": unreachable_url()}, "DATABASE_URL"),
}


@pytest.mark.slow
@pytest.mark.parametrize("mistake", MISTAKES)
def test_gunicorn_stops_with_one_sentence(tmp_path, mistake):
    overrides, variable = MISTAKES[mistake]
    settings = start_settings(tmp_path, **overrides)
    # One worker: with several, gunicorn 27 may raise a traceback of its own when a second
    # worker fails while it halts (wsgi.py makes that rare, a loaded machine can still show it).
    settings.update(HOST="127.0.0.1", PORT=str(free_port()), WEB_CONCURRENCY="1")
    result = run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], settings)
    output = result.stdout + result.stderr
    sentences = [line for line in output.splitlines() if line.startswith("webui cannot start:")]
    assert result.returncode == 3, output  # gunicorn's "worker failed to boot"
    assert len(sentences) == 1, output
    assert sentences[0].startswith(f"webui cannot start: {variable}")
    assert "Traceback" not in output and "hunter2" not in output


@pytest.mark.slow
@pytest.mark.parametrize("mistake", ["postgres scheme", "unreachable database"])
def test_flask_db_upgrade_stops_with_one_sentence(tmp_path, mistake):
    overrides, variable = MISTAKES[mistake]
    result = run(
        [sys.executable, "-m", "flask", "--app", "webui", "db", "upgrade"],
        start_settings(tmp_path, **overrides),
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith(f"Error: {variable}")
    assert "hunter2" not in result.stderr
