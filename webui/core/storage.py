"""Where uploaded bytes live: a local folder (the default) or an S3-compatible bucket.

Both backends have the same small interface, keyed by a stored name (a file's generated id):

- ``put(name, path)`` stores the bytes of the local file at ``path`` under ``name`` (the local
  backend moves it into place, the bucket uploads it; the caller removes ``path`` afterwards);
- ``open(name)`` gives a ``StoredObject`` whose stream is read block by block, never whole;
- ``delete(name)`` removes the bytes, and is quiet when they are already gone;
- ``exists(name)``.

Uploads are first written to a local staging file (``staging_folder``), because the size limit
is checked while the bytes arrive and text extraction reads a real file. A storage that cannot
be reached raises ``StorageUnavailable``, which callers turn into a 503; missing bytes raise
``MissingObject``. Which backend runs is configuration (``STORAGE_PROVIDER`` and the ``S3_*``
variables, Open WebUI's names), read in ``webui/config.py``.
"""

import logging
import os
import re
import threading
from dataclasses import dataclass
from typing import IO, Optional, Protocol

from flask import Flask, current_app

from webui.config import ConfigurationError, private_folder

try:  # the optional extra: pip install -e '.[s3]'
    import boto3
    import boto3.exceptions
    import botocore.config
    import botocore.exceptions
except ImportError:  # pragma: no cover - depends on the install
    boto3 = None

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")  # the whole name (fullmatch)
S3_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
S3_ADDRESSING_STYLES = ("auto", "path", "virtual")
S3_INSTALL_HINT = (
    "STORAGE_PROVIDER=s3 needs the S3 client, which is an optional extra: install it with "
    "pip install -e '.[s3]' (or pip install boto3), or unset STORAGE_PROVIDER to keep "
    "uploads in the local folder."
)


class StorageUnavailable(Exception):
    """The storage could not be reached or refused the operation; try again later."""


class MissingObject(Exception):
    """No bytes are stored under the name."""


class StorageConfigError(ConfigurationError):
    """The storage configuration cannot work; the message says what to change."""


@dataclass
class StoredObject:
    stream: IO[bytes]
    size: int
    seekable: bool  # True when range requests can be served from the stream


class Storage(Protocol):
    staging_folder: str
    description: str

    def put(self, name: str, path: str) -> None: ...

    def open(self, name: str) -> StoredObject: ...

    def delete(self, name: str) -> None: ...

    def exists(self, name: str) -> bool: ...


def checked_name(name: str) -> str:
    """Stored names are generated ids; anything that could leave the folder or prefix is a bug."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValueError(f"not a stored file name: {name!r}")
    return name


# --- the local folder ---------------------------------------------------------------------------


class LocalStorage:
    """Files named by their id in one folder, 0600, staged in the same folder so that storing
    is a rename (atomic on one filesystem)."""

    def __init__(self, folder: str):
        self.folder = folder
        self.staging_folder = folder
        self.description = f"the local folder {folder}"

    def path(self, name: str) -> str:
        return os.path.join(self.folder, checked_name(name))

    def put(self, name: str, path: str) -> None:
        try:
            os.replace(path, self.path(name))
        except OSError as error:
            raise StorageUnavailable(f"could not store {name} in {self.folder}: {error}") from None

    def open(self, name: str) -> StoredObject:
        try:
            handle = open(self.path(name), "rb")
        except FileNotFoundError:
            raise MissingObject(name) from None
        except OSError as error:
            raise StorageUnavailable(f"could not read {name} in {self.folder}: {error}") from None
        return StoredObject(handle, os.fstat(handle.fileno()).st_size, seekable=True)

    def delete(self, name: str) -> None:
        try:
            os.remove(self.path(name))
        except FileNotFoundError:
            pass
        except OSError as error:
            raise StorageUnavailable(f"could not remove {name} in {self.folder}: {error}") from None

    def exists(self, name: str) -> bool:
        return os.path.isfile(self.path(name))


# --- S3-compatible object storage -----------------------------------------------------------------


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint_url: Optional[str] = None
    access_key_id: Optional[str] = None
    secret_access_key: Optional[str] = None
    region: Optional[str] = None
    key_prefix: str = ""
    addressing_style: str = "auto"


class S3Storage:
    """Objects in one bucket under an optional key prefix, through the S3 protocol (boto3), so
    any compatible server works: AWS, MinIO, Ceph, Cloudflare R2, …

    The client is made on first use in each process (after gunicorn forks) and shared by the
    process's threads, which boto3 clients allow."""

    def __init__(self, settings: S3Settings, staging_folder: str):
        if boto3 is None:
            raise StorageConfigError(S3_INSTALL_HINT)
        self.settings = settings
        self.staging_folder = staging_folder
        where = settings.endpoint_url or "AWS"
        self.description = f"the bucket {settings.bucket} at {where}"
        self._client = None
        self._lock = threading.Lock()

    def client(self):
        with self._lock:
            if self._client is None:
                s = self.settings
                self._client = boto3.session.Session().client(
                    "s3",
                    endpoint_url=s.endpoint_url,
                    aws_access_key_id=s.access_key_id,
                    aws_secret_access_key=s.secret_access_key,
                    region_name=s.region,
                    config=botocore.config.Config(
                        s3={"addressing_style": s.addressing_style},
                        connect_timeout=5,
                        read_timeout=60,
                        retries={"max_attempts": 3, "mode": "standard"},
                    ),
                )
            return self._client

    def key(self, name: str) -> str:
        prefix = self.settings.key_prefix.strip("/")
        return f"{prefix}/{checked_name(name)}" if prefix else checked_name(name)

    def _failed(self, action: str, name: str, error: Exception) -> StorageUnavailable:
        return StorageUnavailable(f"could not {action} {name} in {self.description}: {error}")

    def put(self, name: str, path: str) -> None:
        try:
            # upload_file sends large files in parts, read from disk part by part.
            self.client().upload_file(path, self.settings.bucket, self.key(name))
        except (
            botocore.exceptions.BotoCoreError,
            botocore.exceptions.ClientError,
            boto3.exceptions.S3UploadFailedError,
        ) as error:
            raise self._failed("store", name, error) from None

    def open(self, name: str) -> StoredObject:
        try:
            answer = self.client().get_object(Bucket=self.settings.bucket, Key=self.key(name))
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in S3_MISSING_CODES:
                raise MissingObject(name) from None
            raise self._failed("read", name, error) from None
        except botocore.exceptions.BotoCoreError as error:
            raise self._failed("read", name, error) from None
        return StoredObject(S3Stream(answer["Body"], name), answer["ContentLength"], seekable=False)

    def delete(self, name: str) -> None:
        try:
            self.client().delete_object(Bucket=self.settings.bucket, Key=self.key(name))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            raise self._failed("remove", name, error) from None

    def exists(self, name: str) -> bool:
        try:
            self.client().head_object(Bucket=self.settings.bucket, Key=self.key(name))
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in S3_MISSING_CODES:
                return False
            raise self._failed("look up", name, error) from None
        except botocore.exceptions.BotoCoreError as error:
            raise self._failed("look up", name, error) from None
        return True


class S3Stream:
    """An object's body, read block by block; a connection lost midway is StorageUnavailable."""

    def __init__(self, body, name: str):
        self.body = body
        self.name = name

    def read(self, size: int = -1) -> bytes:
        try:
            return self.body.read(None if size is None or size < 0 else size)
        except botocore.exceptions.BotoCoreError as error:
            raise StorageUnavailable(f"reading {self.name} stopped: {error}") from None

    def close(self) -> None:
        self.body.close()


# --- choosing one ---------------------------------------------------------------------------------


def s3_settings(config: dict) -> S3Settings:
    bucket = (config.get("S3_BUCKET_NAME") or "").strip()
    if not bucket:
        raise StorageConfigError(
            "STORAGE_PROVIDER=s3 needs S3_BUCKET_NAME, the bucket that holds the uploads."
        )
    style = (config.get("S3_ADDRESSING_STYLE") or "auto").strip().lower()
    if style not in S3_ADDRESSING_STYLES:
        raise StorageConfigError(
            f"S3_ADDRESSING_STYLE must be one of {', '.join(S3_ADDRESSING_STYLES)}, not {style!r}."
        )
    return S3Settings(
        bucket=bucket,
        endpoint_url=config.get("S3_ENDPOINT_URL") or None,
        access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
        secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
        region=config.get("S3_REGION_NAME") or None,
        key_prefix=config.get("S3_KEY_PREFIX") or "",
        addressing_style=style,
    )


def build_storage(config: dict) -> Storage:
    """The backend the configuration names; StorageConfigError says what to fix."""
    provider = (config.get("STORAGE_PROVIDER") or "local").strip().lower()
    if provider == "local":
        private_folder(config["UPLOAD_DIR"])
        return LocalStorage(config["UPLOAD_DIR"])
    if provider == "s3":
        private_folder(config["STORAGE_STAGING_DIR"])
        return S3Storage(s3_settings(config), config["STORAGE_STAGING_DIR"])
    raise StorageConfigError(f"STORAGE_PROVIDER must be local or s3, not {provider!r}.")


def init_storage(app: Flask) -> None:
    """Build the configured backend once per app; start-up stops with a message if it cannot."""
    app.extensions["webui.storage"] = build_storage(app.config)


def current_storage() -> Storage:
    return current_app.extensions["webui.storage"]
