"""Defaults for the application; environment variables override them.

Every environment read of the app is here. Names follow Open WebUI where it has one.
Settings an admin can change in the browser are declared in ``core/catalog.py``: the
environment only gives their first value.
"""

import os
import secrets
from pathlib import Path

import click
import sqlalchemy as sa

from webui.core.parsers import parse_bool, parse_whole_number

MIB = 1024 * 1024
S3_VARIABLES = (
    "S3_BUCKET_NAME",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_REGION_NAME",
    "S3_KEY_PREFIX",
    "S3_ADDRESSING_STYLE",
)


# The example value docs/deployment.md shows; copied unchanged it is no secret at all.
PLACEHOLDER_SECRET_KEYS = frozenset({"change-me-to-64-random-hex-characters"})
MIN_SECRET_KEY_LENGTH = 32
GENERATE_A_KEY = "python3 -c 'import secrets; print(secrets.token_hex(32))'"
SUPPORTED_DATABASES = ("sqlite", "postgresql")
DATABASE_URL_EXAMPLES = (
    "sqlite:////absolute/path/webui.sqlite or postgresql+psycopg://user:password@host:5432/name"
)


class ConfigurationError(click.ClickException, ValueError):
    """A setting that stops the start, as one sentence naming the variable and the fix. A
    ClickException, so a ``flask`` command that builds the app prints the sentence alone;
    wsgi.py does the same for gunicorn's workers."""


def env_bool(name: str, default: bool) -> bool:
    """A true/false environment variable; a bad value stops the app with its name."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return parse_bool(raw)
    except ValueError as error:
        raise ConfigurationError(f"{name} {error}, not {raw!r}") from None


def env_int(name: str, default: int, minimum: int = 0, maximum: int = 1_000_000) -> int:
    """A whole-number environment variable; a bad value stops the app with its name."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return parse_whole_number(raw, minimum, maximum)
    except ValueError as error:
        raise ConfigurationError(f"{name} {error}, not {raw!r}") from None


def pool_options(database_url: str) -> dict:
    """A pooled connection for every request thread (GUNICORN_THREADS), so a busy worker
    never opens and closes connections per request: that costs more than the request, and
    a new SQLite connection also re-reads the schema."""
    if database_url in ("sqlite://", "sqlite:///:memory:"):
        return {}  # one in-memory database per connection: SQLAlchemy picks its own pool
    return {
        "pool_size": env_int("DATABASE_POOL_SIZE", env_int("GUNICORN_THREADS", 8, 1), 1),
        "max_overflow": env_int("DATABASE_POOL_MAX_OVERFLOW", 10),
    }


def private_folder(path: str) -> None:
    """A folder only the app's own user can enter (uploads, the database, the secret key)."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


def private_sqlite_file(database_url: str) -> None:
    """Create the SQLite file owner-only before SQLite creates it under the umask (0644);
    SQLite gives its -wal and -shm files the same mode."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    try:
        os.close(os.open(url.database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        os.chmod(url.database, 0o600)
    except OSError as error:
        raise ConfigurationError(
            f"DATABASE_URL names the SQLite file {url.database}, which cannot be created "
            f"({error.strerror}): create its folder, writable by the app's user, or correct "
            "DATABASE_URL."
        ) from None


def instance_path_from_environment() -> str | None:
    """WEBUI_INSTANCE_PATH moves the instance folder (an absolute path), e.g. one per app
    instance on a machine; unset, Flask's default (instance/ beside the package) holds."""
    return os.environ.get("WEBUI_INSTANCE_PATH") or None


def secret_key_from_environment() -> str | None:
    return os.environ.get("SECRET_KEY") or os.environ.get("WEBUI_SECRET_KEY") or None


def check_configuration(config: dict) -> None:
    """Stop the start on a setting that cannot work, with a sentence saying what to change,
    before anything builds on it (SQLAlchemy's own errors name neither the variable nor
    the fix)."""
    check_database_url(config["SQLALCHEMY_DATABASE_URI"])
    require_shared_secret(config)
    require_strong_secret(config)


def check_database_url(database_url: str) -> None:
    """A URL SQLAlchemy can open, for a database webui runs on, with its driver installed.
    The URL itself is never repeated: it may hold a password."""
    try:
        url = sa.engine.make_url(database_url)
    except sa.exc.ArgumentError:
        raise ConfigurationError(
            f"DATABASE_URL is not a database URL: write {DATABASE_URL_EXAMPLES}."
        ) from None
    backend = url.get_backend_name()
    if backend == "postgres":
        raise ConfigurationError(
            "DATABASE_URL starts with postgres://, a name SQLAlchemy does not accept: write "
            "postgresql+psycopg:// instead, the rest unchanged."
        )
    if backend not in SUPPORTED_DATABASES:
        raise ConfigurationError(
            f"DATABASE_URL names the database {url.drivername!r}, which webui does not run "
            f"on: write {DATABASE_URL_EXAMPLES}."
        )
    try:
        url.get_dialect().import_dbapi()
    except (ImportError, sa.exc.NoSuchModuleError):
        raise ConfigurationError(
            f"DATABASE_URL asks for the driver {url.drivername!r}, which is not installed: "
            "write postgresql+psycopg:// (psycopg comes with webui), or install that driver."
        ) from None


def unreachable_database(url: sa.URL, error: Exception) -> ConfigurationError:
    """The sentence for a database that refused the connection (a server's start, a ``flask
    db`` command): the driver's reason on one line, the URL without its password."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    reason = lines[0] if lines else type(error).__name__
    return ConfigurationError(
        f"DATABASE_URL: cannot connect to {url.render_as_string(hide_password=True)} "
        f"({reason}): check that the database is running and that DATABASE_URL names the "
        "right host, port, database and credentials."
    )


def require_shared_secret(config: dict) -> None:
    """Object storage means several hosts; a key each host generated for itself would make
    a session signed on one host invalid on the next, so start-up stops instead."""
    generated = config["SECRET_KEY"] == config["SECRET_KEY_GENERATED"]
    if config["STORAGE_PROVIDER"] == "s3" and generated:
        raise ConfigurationError(
            "STORAGE_PROVIDER=s3 is for several hosts: set SECRET_KEY to the same value on "
            f"every host ({GENERATE_A_KEY}); a key generated into instance/.secret_key is "
            "this host's alone."
        )


def require_strong_secret(config: dict) -> None:
    """SECRET_KEY signs every session: whoever knows or guesses it signs in as anyone. The
    documented example and short keys are refused, except in tests and where
    WEBUI_ALLOW_WEAK_SECRET_KEY says this is development."""
    if config.get("TESTING") or config["ALLOW_WEAK_SECRET_KEY"]:
        return
    key = config["SECRET_KEY"] or ""
    if key in PLACEHOLDER_SECRET_KEYS:
        problem = "is the example value from docs/deployment.md"
    elif len(key) < MIN_SECRET_KEY_LENGTH:
        problem = f"is {len(key)} characters long, fewer than {MIN_SECRET_KEY_LENGTH}"
    else:
        return
    raise ConfigurationError(
        f"SECRET_KEY {problem}: set a random one ({GENERATE_A_KEY}), or leave it unset on a "
        "single host to have one generated into instance/.secret_key "
        "(WEBUI_ALLOW_WEAK_SECRET_KEY=true accepts a weak key, for development only)."
    )


def load_secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/."""
    from_env = secret_key_from_environment()
    if from_env:
        return from_env
    key_file = Path(instance_path) / ".secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    # Create with owner-only permissions; never overwrite a key another worker wrote first.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def default_config(instance_path: str) -> dict:
    """The configuration every app starts from, before test overrides."""
    database_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + os.path.join(instance_path, "webui.sqlite")
    )
    secret_key = load_secret_key(instance_path)
    return {
        "SECRET_KEY": secret_key,
        # The key generated into instance/ (None when the environment set one): right for one
        # host, wrong for several, see require_shared_secret.
        "SECRET_KEY_GENERATED": None if secret_key_from_environment() else secret_key,
        # A placeholder or short SECRET_KEY stops the start unless this says "development".
        "ALLOW_WEAK_SECRET_KEY": env_bool("WEBUI_ALLOW_WEAK_SECRET_KEY", False),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": pool_options(database_url),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env_bool("WEBUI_SESSION_COOKIE_SECURE", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        # CSRF is checked by the request guard, which skips it only for validated keys.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR") or os.path.join(instance_path, "uploads"),
        # --- where uploaded bytes live (core/storage.py); Open WebUI's names -------------
        # local: files in UPLOAD_DIR (one host). s3: an S3-compatible bucket (several hosts);
        # uploads are then staged in STORAGE_STAGING_DIR, a per-host folder, while they arrive.
        "STORAGE_PROVIDER": os.environ.get("STORAGE_PROVIDER", "").strip().lower() or "local",
        "STORAGE_STAGING_DIR": os.environ.get("STORAGE_STAGING_DIR")
        or os.path.join(instance_path, "staging"),
        **{name: os.environ.get(name, "").strip() for name in S3_VARIABLES},
        "TRUSTED_PROXY_COUNT": env_int("TRUSTED_PROXY_COUNT", 0, maximum=10),
        # Every request body is capped (413) before anything reads it; only the upload routes
        # raise their own limit to FILE_MAX_SIZE_MB.
        "MAX_CONTENT_LENGTH": env_int("MAX_REQUEST_BODY_BYTES", MIB, 1024, 64 * MIB),
        # Seconds to wait for a model server (Open WebUI's names).
        "AIOHTTP_CLIENT_TIMEOUT": os.environ.get("AIOHTTP_CLIENT_TIMEOUT"),
        "AIOHTTP_CLIENT_TIMEOUT_MODEL_LIST": os.environ.get("AIOHTTP_CLIENT_TIMEOUT_MODEL_LIST"),
        # How long each process serves the model list before a background refresh (a day at most).
        "MODELS_CACHE_SECONDS": env_int("MODELS_CACHE_SECONDS", 30, 0, 86_400),
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "webui"),
        # Configuration, not a saved setting: judging a bad key must not read the database.
        "RATELIMIT_FAILED_AUTH": os.environ.get("RATELIMIT_FAILED_AUTH") or "20 per minute",
        # --- Bounds on extracting an upload's text (services/extract_process.py) ---------
        # Extraction runs in a child process; a file that reaches one of these is stored
        # and marked failed with a sentence that names the limit.
        "EXTRACT_MAX_CHARACTERS": env_int("EXTRACT_MAX_CHARACTERS", 5_000_000, 1, 10**9),
        "EXTRACT_MAX_CHUNKS": env_int("EXTRACT_MAX_CHUNKS", 10_000, 1),
        "EXTRACT_CPU_SECONDS": env_int("EXTRACT_CPU_SECONDS", 10, 1, 3600),
        "EXTRACT_TIMEOUT_SECONDS": env_int("EXTRACT_TIMEOUT_SECONDS", 30, 1, 3600),
        "EXTRACT_MEMORY_MB": env_int("EXTRACT_MEMORY_MB", 1024, 128),
        # What one request may spend on extraction over all its files (services/files.py),
        # and the children each server process runs at once; the rest wait in a short queue,
        # and past it the request is refused (503).
        "EXTRACT_MAX_FILES_PER_REQUEST": env_int("EXTRACT_MAX_FILES_PER_REQUEST", 20, 1, 1000),
        "EXTRACT_REQUEST_SECONDS": env_int("EXTRACT_REQUEST_SECONDS", 60, 1, 3600),
        "EXTRACT_CONCURRENCY": env_int("EXTRACT_CONCURRENCY", 2, 1, 64),
        "EXTRACT_QUEUE": env_int("EXTRACT_QUEUE", 8, 0, 10_000),
        "EXTRACT_QUEUE_SECONDS": env_int("EXTRACT_QUEUE_SECONDS", 30, 1, 3600),
        # --- rate limits every worker shares ---
        # Empty: counters in the app's database, one limit for every worker and host on it;
        # redis://… keeps them in Redis; memory:// counts in each process (tests only).
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "").strip(),
        # Sign-ups per client address, counted like failed sign-ins.
        "RATELIMIT_SIGNUPS": os.environ.get("RATELIMIT_SIGNUPS") or "10 per hour",
    }
