"""The storage interface and its configuration: the local folder's put/open/delete/exists, and
start-up that stops with a sentence saying what to change (an unknown provider, no bucket, a
bad addressing style, the S3 client not installed, several hosts without a shared SECRET_KEY).
The S3 backend itself is tested against a real S3 server in test_storage_s3.py."""

import os
import subprocess
import sys

import pytest

from tests.support.files import upload_ok
from tests.support.servers import REPO, environment
from webui import create_app
from webui.core.storage import (
    LocalStorage,
    MissingObject,
    S3Settings,
    S3Storage,
    StorageConfigError,
)

S3 = {
    "STORAGE_PROVIDER": "s3",
    "S3_BUCKET_NAME": "uploads",
    "S3_ENDPOINT_URL": "http://127.0.0.1:9",
}


def test_the_local_folder_puts_opens_and_deletes_by_name(tmp_path):
    storage = LocalStorage(str(tmp_path))
    staged = tmp_path / ".abc.part"
    staged.write_bytes(b"some bytes")
    storage.put("abc", str(staged))
    assert not staged.exists() and storage.exists("abc")
    stored = storage.open("abc")
    with stored.stream:
        assert stored.stream.read() == b"some bytes" and stored.size == 10
    storage.delete("abc")
    storage.delete("abc")  # already gone: quiet
    assert not storage.exists("abc")
    with pytest.raises(MissingObject):
        storage.open("abc")


def test_a_local_download_keeps_ranges_and_its_etag_is_the_sha256(client, people_with_keys):
    key = people_with_keys("alice")["alice_key"]
    data = bytes(range(256)) * 10
    body = upload_ok(client, "a.bin", data, key)
    url = f"/api/v1/files/{body['id']}/content"
    part = client.get(url, headers={**key, "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == data[10:20]
    assert part.headers["ETag"] == f'"{body["hash"]}"'
    assert (
        client.get(url, headers={**key, "If-None-Match": part.headers["ETag"]}).status_code == 304
    )


NOT_STORED_NAMES = ["../x", "../secret", "a/b", "", ".hidden", "abc\n", "a\\b", None]


@pytest.mark.parametrize("name", NOT_STORED_NAMES)
def test_a_stored_name_never_leaves_the_folder(tmp_path, name):
    with pytest.raises(ValueError):
        LocalStorage(str(tmp_path)).exists(name)


@pytest.mark.parametrize("prefix", ["", "webui/uploads/"])
@pytest.mark.parametrize("name", NOT_STORED_NAMES)
def test_an_s3_object_key_never_leaves_its_prefix(tmp_path, prefix, name):
    """Only the key is computed: no bucket is reached."""
    storage = S3Storage(S3Settings(bucket="uploads", key_prefix=prefix), str(tmp_path))
    with pytest.raises(ValueError, match="not a stored file name"):
        storage.key(name)


def test_an_s3_object_key_is_the_prefix_and_the_name(tmp_path):
    with_prefix = S3Storage(S3Settings(bucket="uploads", key_prefix="/webui/"), str(tmp_path))
    assert with_prefix.key("0b1c-2.d_e") == "webui/0b1c-2.d_e"
    assert S3Storage(S3Settings(bucket="uploads"), str(tmp_path)).key("abc") == "abc"


@pytest.mark.parametrize(
    "settings, says",
    [
        ({"STORAGE_PROVIDER": "ftp"}, "STORAGE_PROVIDER must be local or s3, not 'ftp'"),
        ({**S3, "S3_BUCKET_NAME": ""}, "STORAGE_PROVIDER=s3 needs S3_BUCKET_NAME"),
        ({**S3, "S3_ADDRESSING_STYLE": "sideways"}, "S3_ADDRESSING_STYLE must be one of"),
    ],
)
def test_a_storage_setting_that_cannot_work_stops_start_up(app_config, settings, says):
    with pytest.raises(StorageConfigError, match=says):
        create_app({**app_config, **settings})


def test_s3_without_a_shared_secret_key_stops_start_up(tmp_path):
    env = {**S3, "WEBUI_INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": ""}
    result = start_app(env)
    assert result.returncode != 0
    assert "set SECRET_KEY to the same value on every host" in result.stderr


def test_s3_without_the_client_installed_says_what_to_install(tmp_path):
    """boto3 made unimportable in a fresh interpreter, as in an install without the extra."""
    env = {**S3, "WEBUI_INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "shared" * 6}
    result = start_app(env, "import sys; sys.modules['boto3'] = None; ")
    assert result.returncode != 0
    assert "pip install -e '.[s3]'" in result.stderr


def start_app(env: dict, before: str = "") -> subprocess.CompletedProcess:
    code = before + "from webui import create_app; create_app()"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**environment(env), "DATABASE_URL": "sqlite://"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_instance_folder_can_be_moved(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBUI_INSTANCE_PATH", str(tmp_path / "host-a"))
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    app = create_app({"SECRET_KEY": "x", "TESTING": True})
    assert app.instance_path == str(tmp_path / "host-a")
    assert os.path.isdir(os.path.join(app.instance_path, "uploads"))
