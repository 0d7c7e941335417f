"""Uploaded bytes in an S3-compatible bucket (STORAGE_PROVIDER=s3): stored under the key prefix,
downloaded as a stream, deleted with their row; the size limit while staging; a storage outage
answers 503 and leaves rows and bytes together; ``flask storage migrate`` copies a local folder
into the bucket and verifies each file. The bucket is on a real S3 server on loopback."""

import hashlib
import os

import pytest
import sqlalchemy as sa

from tests.support.accounts import ADMIN_EMAIL, login_client
from tests.support.files import chunk_texts, file_rows, upload, upload_ok
from tests.support.servers import free_port
from webui import create_app

pytestmark = pytest.mark.slow  # an S3 server in its own process


@pytest.fixture
def app_config(app_config, bucket, tmp_path):
    return {**app_config, **bucket.settings(), "STORAGE_STAGING_DIR": str(tmp_path / "staging")}


@pytest.fixture
def people(people_with_keys):
    return people_with_keys("alice")


@pytest.fixture
def storage_down(app_config):
    """A second app on the same database whose bucket endpoint does not answer."""
    return create_app({**app_config, "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"})


def staged(app_config) -> list[str]:
    return os.listdir(app_config["STORAGE_STAGING_DIR"])


def test_upload_download_delete_through_the_bucket(app_config, client, people, bucket):
    data = b"Bucket notes: the north region grew.\n" * 50
    body = upload_ok(client, "notes.txt", data, people["alice_key"])
    assert bucket.keys() == [f"uploads/{body['id']}"]
    assert bucket.read(f"uploads/{body['id']}") == data
    assert body["hash"] == hashlib.sha256(data).hexdigest()
    assert staged(app_config) == []  # the staging file is gone once the bytes are stored
    assert not os.path.exists(app_config["UPLOAD_DIR"])  # no local folder at all

    content = client.get(f"/api/v1/files/{body['id']}/content", headers=people["alice_key"])
    assert content.status_code == 200 and content.data == data
    assert content.headers["ETag"] == f'"{body["hash"]}"'
    assert content.headers["Content-Length"] == str(len(data))

    deleted = client.delete(f"/api/v1/files/{body['id']}", headers=people["alice_key"])
    assert deleted.get_json() == {"deleted": True}
    assert bucket.keys() == []


def test_a_download_is_streamed_in_blocks(client, people):
    data = os.urandom(300 * 1024)
    file_id = upload_ok(client, "blob.bin", data, people["alice_key"])["id"]
    response = client.get(
        f"/api/v1/files/{file_id}/content", headers=people["alice_key"], buffered=False
    )
    blocks = list(response.response)
    response.close()
    assert b"".join(blocks) == data
    assert len(blocks) > 1 and max(map(len, blocks)) < len(data)


def test_an_unchanged_download_answers_304(client, people):
    file_id = upload_ok(client, "a.txt", b"same everywhere", people["alice_key"])["id"]
    url = f"/api/v1/files/{file_id}/content"
    etag = client.get(url, headers=people["alice_key"]).headers["ETag"]
    again = client.get(url, headers={**people["alice_key"], "If-None-Match": etag})
    assert again.status_code == 304


def test_indexing_later_reads_the_bytes_back_from_the_bucket(app, client, people):
    body = upload_ok(
        client,
        "later.txt",
        b"index me from the bucket",
        people["alice_key"],
        query="?process=false",
    )
    processed = client.post(
        "/api/v1/retrieval/process/file", json={"file_id": body["id"]}, headers=people["alice_key"]
    )
    assert processed.status_code == 200
    assert chunk_texts(app, body["id"]) == ["index me from the bucket"]


def test_the_size_limit_holds_and_nothing_is_left(
    app, app_config, client, people, bucket, save_settings
):
    save_settings(FILE_MAX_SIZE_MB=1)
    response = upload(client, "big.bin", b"x" * (1024 * 1024 + 1), people["alice_key"])
    assert response.status_code == 413 and "1 MB" in response.get_json()["detail"]
    assert bucket.keys() == [] and file_rows(app) == [] and staged(app_config) == []


# --- an outage: 503, and rows and bytes stay together ---------------------------------------


def test_an_outage_on_upload_is_503_with_no_row_and_no_bytes(
    app, app_config, people, bucket, storage_down
):
    response = upload(storage_down.test_client(), "a.txt", b"hello", people["alice_key"])
    assert response.status_code == 503
    assert "file storage cannot be reached" in response.get_json()["detail"]
    assert file_rows(app) == [] and bucket.keys() == [] and staged(app_config) == []


def test_a_row_that_cannot_be_committed_leaves_no_bytes_in_the_bucket(app, client, people, bucket):
    """The database fails after the bytes reached the bucket: they are removed again."""

    def database_gone(_session):
        raise RuntimeError("the database connection was lost")

    sa.event.listen(sa.orm.Session, "before_commit", database_gone)
    try:
        response = upload(client, "a.txt", b"hello", people["alice_key"])
    finally:
        sa.event.remove(sa.orm.Session, "before_commit", database_gone)
    assert response.status_code == 500
    assert file_rows(app) == [] and bucket.keys() == []


def test_an_outage_on_download_and_delete_is_503_and_keeps_both(
    app, client, people, bucket, storage_down
):
    file_id = upload_ok(client, "keep.txt", b"keep me", people["alice_key"])["id"]
    down = storage_down.test_client()
    read = down.get(f"/api/v1/files/{file_id}/content", headers=people["alice_key"])
    assert read.status_code == 503 and "cannot be read" in read.get_json()["detail"]
    gone = down.delete(f"/api/v1/files/{file_id}", headers=people["alice_key"])
    assert gone.status_code == 503 and "Nothing was deleted" in gone.get_json()["detail"]
    assert file_rows(app) == [file_id] and bucket.keys() == [f"uploads/{file_id}"]


def test_an_outage_while_deleting_a_user_keeps_the_user_and_their_files(
    app, client, people, bucket, storage_down
):
    upload_ok(client, "alice.txt", b"alice's file", people["alice_key"])
    admin = login_client(storage_down, ADMIN_EMAIL)
    refused = admin.delete(f"/api/v1/users/{people['alice']}")
    assert refused.status_code == 503
    assert len(file_rows(app)) == 1 and len(bucket.keys()) == 1

    assert (
        login_client(app, ADMIN_EMAIL).delete(f"/api/v1/users/{people['alice']}").status_code == 200
    )
    assert file_rows(app) == [] and bucket.keys() == []


# --- flask storage migrate --------------------------------------------------------------------


@pytest.fixture
def local_uploads(app, app_config, people):
    """Three files uploaded while the app stored them in the local folder; {id: bytes}."""
    local = create_app({**app_config, "STORAGE_PROVIDER": "local"}).test_client()
    uploaded = {}
    for n in range(3):
        data = f"local file {n}\n".encode() * (n + 1)
        uploaded[upload_ok(local, f"f{n}.txt", data, people["alice_key"])["id"]] = data
    return uploaded


def test_migrate_copies_each_local_file_into_the_bucket_and_verifies_it(
    app, client, people, bucket, local_uploads
):
    result = app.test_cli_runner().invoke(args=["storage", "migrate"])
    assert result.exit_code == 0, result.output
    assert "3 copied and verified, 0 already in the bucket" in result.output
    assert bucket.keys() == sorted(f"uploads/{file_id}" for file_id in local_uploads)
    for file_id, data in local_uploads.items():
        content = client.get(f"/api/v1/files/{file_id}/content", headers=people["alice_key"])
        assert content.data == data

    again = app.test_cli_runner().invoke(args=["storage", "migrate"])
    assert again.exit_code == 0 and "0 copied and verified, 3 already in the bucket" in again.output


def test_migrate_reports_a_file_missing_from_the_folder(app, app_config, bucket, local_uploads):
    lost = next(iter(local_uploads))
    os.remove(os.path.join(app_config["UPLOAD_DIR"], lost))
    result = app.test_cli_runner().invoke(args=["storage", "migrate"])
    assert result.exit_code == 1
    assert f"missing: file {lost}" in result.output
    assert "2 copied and verified" in result.output and "1 missing from the folder" in result.output


def test_migrate_needs_the_bucket_configured(app_config):
    local = create_app({**app_config, "STORAGE_PROVIDER": "local"})
    result = local.test_cli_runner().invoke(args=["storage", "migrate"])
    assert result.exit_code == 1 and "set STORAGE_PROVIDER=s3" in result.output
