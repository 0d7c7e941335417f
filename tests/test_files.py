"""Files: upload, list, read, download, delete; extraction of each type; bad input; BOLA."""

import hashlib
import io
import json
import os

import pytest
import sqlalchemy as sa
from werkzeug.http import parse_options_header

from tests.support.accounts import login_client
from tests.support.files import (
    chunk_texts,
    closed,
    file_rows,
    make_pdf,
    raw_part,
    raw_upload,
    stored_names,
    upload,
    upload_ok,
)
from webui.extensions import db
from webui.models import FileChunk


@pytest.fixture
def people(people_with_keys):
    """An admin and two users, each with an API key."""
    return people_with_keys("alice", "bob")


# --- the happy paths -------------------------------------------------------------------


def test_upload_with_a_key_stores_bytes_by_id_and_metadata(app, client, people):
    data = b"Quarterly report: revenue grew in the north region.\n"
    body = upload_ok(client, "report.txt", data, people["alice_key"])

    assert body["user_id"] == people["alice"]
    assert body["filename"] == "report.txt"
    assert body["meta"] == {"name": "report.txt", "content_type": "text/plain", "size": len(data)}
    assert body["hash"] == hashlib.sha256(data).hexdigest()
    assert body["data"] == {"status": "completed"}
    assert isinstance(body["created_at"], int)
    # Stored under its generated id, nothing else left behind.
    assert stored_names(app) == [body["id"]]
    with open(os.path.join(app.config["UPLOAD_DIR"], body["id"]), "rb") as handle:
        assert handle.read() == data
    assert chunk_texts(app, body["id"]) == [data.decode().strip()]


def test_upload_list_download_delete_with_a_session(app, people):
    browser = login_client(app, "alice@example.com")
    data = b"Meeting notes from Tuesday."
    file_id = upload_ok(browser, "notes.txt", data)["id"]

    listing = browser.get("/api/v1/files/").get_json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == file_id

    content = browser.get(f"/api/v1/files/{file_id}/content")
    assert content.status_code == 200 and content.data == data

    assert browser.delete(f"/api/v1/files/{file_id}").get_json() == {"deleted": True}
    assert browser.get(f"/api/v1/files/{file_id}").status_code == 404
    assert stored_names(app) == [] and file_rows(app) == []


def test_list_shows_own_files_and_admins_see_all(client, people):
    alice_ids = {
        upload_ok(client, f"a{i}.txt", b"alpha text", people["alice_key"])["id"] for i in range(3)
    }
    bob_id = upload_ok(client, "b.txt", b"bravo text", people["bob_key"])["id"]

    alice = client.get("/api/v1/files/", headers=people["alice_key"]).get_json()
    assert alice["total"] == 3 and {item["id"] for item in alice["items"]} == alice_ids
    admin = client.get("/api/v1/files/", headers=people["admin_key"]).get_json()
    assert admin["total"] == 4 and bob_id in {item["id"] for item in admin["items"]}

    page_one = client.get("/api/v1/files/?page=1&limit=2", headers=people["alice_key"]).get_json()
    page_two = client.get("/api/v1/files/?page=2&limit=2", headers=people["alice_key"]).get_json()
    assert page_one["total"] == page_two["total"] == 3
    assert len(page_one["items"]) == 2 and len(page_two["items"]) == 1
    assert {i["id"] for i in page_one["items"] + page_two["items"]} == alice_ids


@pytest.mark.parametrize("query", ["page=0", "page=abc", "limit=0", "limit=101", "limit=1.5"])
def test_list_rejects_bad_paging(client, people, query):
    response = client.get(f"/api/v1/files/?{query}", headers=people["alice_key"])
    assert response.status_code == 400
    assert query.split("=")[0] in response.get_json()["detail"]


def test_file_object_and_process_status(client, people):
    file_id = upload_ok(client, "a.md", b"# Title\n\nSome words.", people["alice_key"])["id"]
    body = client.get(f"/api/v1/files/{file_id}", headers=people["alice_key"]).get_json()
    assert body["id"] == file_id and body["meta"]["content_type"] == "text/markdown"
    status = client.get(f"/api/v1/files/{file_id}/process/status", headers=people["alice_key"])
    assert status.get_json() == {"status": "completed"}


def test_process_false_stores_without_indexing_until_processed(app, client, people):
    body = upload_ok(
        client, "later.txt", b"index me later", people["alice_key"], query="?process=false"
    )
    assert body["data"]["status"] == "pending" and chunk_texts(app, body["id"]) == []
    status = client.get(f"/api/v1/files/{body['id']}/process/status", headers=people["alice_key"])
    assert status.get_json() == {"status": "pending"}

    processed = client.post(
        "/api/v1/retrieval/process/file", json={"file_id": body["id"]}, headers=people["alice_key"]
    )
    assert processed.status_code == 200 and processed.get_json()["data"]["status"] == "completed"
    assert chunk_texts(app, body["id"]) == ["index me later"]
    # Processing again replaces the chunks rather than duplicating them.
    client.post(
        "/api/v1/retrieval/process/file", json={"file_id": body["id"]}, headers=people["alice_key"]
    )
    assert chunk_texts(app, body["id"]) == ["index me later"]


def test_process_flag_must_be_a_boolean(client, people):
    response = upload(client, "a.txt", b"x", people["alice_key"], query="?process=maybe")
    assert response.status_code == 400 and "process" in response.get_json()["detail"]


def test_download_is_an_attachment_never_inline_html(client, people):
    page = b"<html><body><script>alert(1)</script>Hello</body></html>"
    file_id = upload_ok(client, "page.html", page, people["alice_key"])["id"]
    response = client.get(f"/api/v1/files/{file_id}/content", headers=people["alice_key"])
    assert response.status_code == 200 and response.data == page
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert disposition == "attachment" and options["filename"] == "page.html"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "application/octet-stream"


def test_delete_removes_row_chunks_and_bytes(app, client, people):
    file_id = upload_ok(client, "gone.txt", b"text to forget " * 200, people["alice_key"])["id"]
    assert chunk_texts(app, file_id)
    response = client.delete(f"/api/v1/files/{file_id}", headers=people["alice_key"])
    assert response.get_json() == {"deleted": True}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FileChunk)) == 0
    assert stored_names(app) == [] and file_rows(app) == []


def test_deleting_a_user_removes_their_uploaded_bytes_too(app, client, people):
    upload_ok(client, "alice.txt", b"alice's notes", people["alice_key"])
    kept = upload_ok(client, "bob.txt", b"bob's notes", people["bob_key"])["id"]
    admin = login_client(app, "root@example.com")
    assert admin.delete(f"/api/v1/users/{people['alice']}").status_code == 200
    assert stored_names(app) == [kept]
    assert file_rows(app) == [kept]


# --- extraction ------------------------------------------------------------------------------

CSV = b"name,city\nAda,London\nGrace,Arlington\n"
HTML = (
    b"<html><head><title>T</title><style>.x{color:red}</style></head><body>"
    b"<h1>Caf&eacute; menu</h1><p>Espresso &amp; cake</p>"
    b"<script>var secret = 1;</script></body></html>"
)


@pytest.mark.parametrize(
    "name, data, present, absent",
    [
        ("plain.txt", b"Plain text about walruses.", ["walruses"], []),
        ("latin1.txt", "Caf\xe9 cr\xe8me".encode("latin-1"), ["Café crème"], []),
        ("utf16.txt", "Unicode \u00fcber text".encode("utf-16"), ["über"], []),
        ("readme.md", b"# Heading\n\n- a *list* item about otters", ["otters", "# Heading"], []),
        ("people.csv", CSV, ["name: Ada; city: London", "name: Grace; city: Arlington"], []),
        ("data.json", json.dumps({"animal": "narwhal", "count": 3}).encode(), ["narwhal"], []),
        ("page.html", HTML, ["Café menu", "Espresso & cake"], ["secret", "color:red", "<p>"]),
        (
            "paper.pdf",
            make_pdf("Mitochondria are the powerhouse (of) the cell.", "Second line."),
            ["Mitochondria are the powerhouse (of) the cell.", "Second line."],
            [],
        ),
    ],
)
def test_each_supported_type_is_extracted(app, client, people, name, data, present, absent):
    body = upload_ok(client, name, data, people["alice_key"])
    assert body["data"] == {"status": "completed"}, body
    text = "\n".join(chunk_texts(app, body["id"]))
    for phrase in present:
        assert phrase in text
    for phrase in absent:
        assert phrase not in text


def test_content_type_alone_selects_the_extractor(app, client, people):
    data = make_pdf("Typed by content type only.")
    body = upload(
        client, "scan", data, people["alice_key"], content_type="application/pdf"
    ).get_json()
    assert body["data"]["status"] == "completed"
    assert "content type only" in chunk_texts(app, body["id"])[0]


def test_other_types_are_stored_but_not_indexed(app, client, people):
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    body = upload_ok(client, "picture.png", data, people["alice_key"])
    assert body["data"]["status"] == "failed" and "not indexed" in body["data"]["error"]
    assert chunk_texts(app, body["id"]) == []
    download = client.get(f"/api/v1/files/{body['id']}/content", headers=people["alice_key"])
    assert download.data == data and download.mimetype == "image/png"


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("fake.pdf", b"This is not a PDF at all", "not a PDF"),
        ("broken.pdf", b"%PDF-1.4\n" + b"\x00garbage" * 50, "PDF"),
        ("bad.json", b"{not json", "not valid JSON"),
        ("binary.txt", b"abc\x00\x01\x02def", "binary"),
        ("blank.txt", b"   \n\n  ", "No text"),
    ],
)
def test_extraction_failure_keeps_the_upload_and_says_why(app, client, people, name, data, reason):
    body = upload_ok(client, name, data, people["alice_key"])
    assert body["data"]["status"] == "failed"
    assert reason in body["data"]["error"]
    status = client.get(f"/api/v1/files/{body['id']}/process/status", headers=people["alice_key"])
    assert status.get_json()["status"] == "failed" and reason in status.get_json()["error"]
    assert stored_names(app) == [body["id"]]
    assert (
        client.get(f"/api/v1/files/{body['id']}/content", headers=people["alice_key"]).data == data
    )


def test_long_text_is_split_into_overlapping_chunks(app, client, people, save_settings):
    save_settings(CHUNK_SIZE=200, CHUNK_OVERLAP=50)
    sentences = [f"Sentence number {i} talks about topic {i}." for i in range(60)]
    body = upload_ok(client, "long.txt", " ".join(sentences).encode(), people["alice_key"])
    chunks = chunk_texts(app, body["id"])
    assert len(chunks) > 5
    assert all(len(chunk) <= 200 for chunk in chunks)
    for before, after in zip(chunks, chunks[1:], strict=False):
        # The start of each chunk repeats the end of the one before it.
        assert after[:20] in before
    # Every sentence survives whole in at least one chunk.
    for sentence in sentences:
        assert any(sentence in chunk for chunk in chunks), sentence


# --- bad input ---------------------------------------------------------------------------------


def test_empty_file_is_refused_and_nothing_is_written(app, client, people):
    response = upload(client, "empty.txt", b"", people["alice_key"])
    assert response.status_code == 400 and "empty" in response.get_json()["detail"]
    assert stored_names(app) == [] and file_rows(app) == []


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 3 * 1024 * 1024])
def test_oversized_file_is_413_and_nothing_is_written(app, client, people, save_settings, size):
    save_settings(FILE_MAX_SIZE_MB=1)
    response = upload(client, "big.txt", b"a" * size, people["alice_key"])
    assert response.status_code == 413
    assert (
        "1 MB" in response.get_json()["detail"]
        and "FILE_MAX_SIZE_MB" in response.get_json()["detail"]
    )
    assert stored_names(app) == [] and file_rows(app) == []
    # Exactly at the limit is fine.
    assert upload(client, "fits.txt", b"a" * (1024 * 1024), people["alice_key"]).status_code == 200


def test_oversized_browser_upload_is_413_too(app, people, save_settings):
    save_settings(FILE_MAX_SIZE_MB=1)
    browser = login_client(app, "alice@example.com")
    response = upload(browser, "big.txt", b"a" * (2 * 1024 * 1024))
    assert response.status_code == 413 and "1 MB" in response.get_json()["detail"]
    assert stored_names(app) == []


def test_missing_file_field_is_400(client, people):
    response = client.post(
        "/api/v1/files/",
        data={"upload": (io.BytesIO(b"x"), "x.txt")},
        headers=people["alice_key"],
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "'file'" in response.get_json()["detail"]


def test_a_body_that_is_not_multipart_is_400(client, people):
    response = client.post("/api/v1/files/", json={"file": "hello"}, headers=people["alice_key"])
    assert response.status_code == 400
    assert "multipart/form-data" in response.get_json()["detail"]


@pytest.mark.parametrize("cut", [-30, -8, 40])
def test_truncated_multipart_is_a_clear_400(app, client, people, cut):
    body = closed(raw_part(b'form-data; name="file"; filename="a.txt"', b"hello world " * 20))
    response = raw_upload(client, body[:cut], people["alice_key"])
    assert response.status_code == 400
    assert "cut off" in response.get_json()["detail"]
    assert stored_names(app) == [] and file_rows(app) == []


def test_multipart_without_boundary_is_400(client, people):
    response = client.post(
        "/api/v1/files/",
        data=b"whatever",
        headers=people["alice_key"],
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "multipart" in response.get_json()["detail"]


@pytest.mark.parametrize(
    "disposition, expected",
    [
        (b'form-data; name="file"; filename="../../etc/passwd"', "passwd"),
        (b'form-data; name="file"; filename="/abs/path/notes.txt"', "notes.txt"),
        (b'form-data; name="file"; filename=".."', "file"),
        (b'form-data; name="file"; filename="evil\x00name.txt"', "evilname.txt"),
        (b'form-data; name="file"; filename="right\xe2\x80\xaetxt.exe"', "righttxt.exe"),
        ('form-data; name="file"; filename="résumé 📄.txt"'.encode(), "résumé 📄.txt"),
        (b"form-data; name=\"file\"; filename*=iso-8859-1''caf%E9.txt", "café.txt"),
        (b'form-data; name="file"; filename="' + b"x" * 1000 + b'.txt"', "x" * 251 + ".txt"),
    ],
)
def test_weird_filenames_are_stored_safely(app, client, people, disposition, expected):
    response = raw_upload(client, closed(raw_part(disposition, b"some text")), people["alice_key"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["filename"] == expected
    # On disk only the generated id, inside the upload folder.
    assert stored_names(app) == [body["id"]]
    download = client.get(f"/api/v1/files/{body['id']}/content", headers=people["alice_key"])
    assert download.data == b"some text"
    header = download.headers["Content-Disposition"]
    assert "\r" not in header and "\n" not in header and "\x00" not in header
    assert parse_options_header(header)[1]["filename"] == expected


def test_a_non_utf8_file_name_is_a_clear_400(app, client, people):
    body = closed(raw_part(b'form-data; name="file"; filename="caf\xe9.txt"', b"text"))
    response = raw_upload(client, body, people["alice_key"])
    assert response.status_code == 400 and "UTF-8" in response.get_json()["detail"]
    assert stored_names(app) == []


def test_upload_needs_the_file_upload_permission(app, client, people, save_settings):
    save_settings(USER_PERMISSIONS_CHAT_FILE_UPLOAD=False)
    response = upload(client, "a.txt", b"hello", people["alice_key"])
    assert response.status_code == 403 and "chat.file_upload" in response.get_json()["detail"]
    assert stored_names(app) == [] and file_rows(app) == []
    # Admins always have it; reading one's files needs no upload permission.
    assert upload(client, "a.txt", b"hello", people["admin_key"]).status_code == 200
    assert client.get("/api/v1/files/", headers=people["alice_key"]).status_code == 200


def test_upload_without_credentials_is_401(client, people):
    response = upload(client, "a.txt", b"hello")
    assert response.status_code == 401


# --- object-level access --------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/api/v1/files/{id}", None),
        ("GET", "/api/v1/files/{id}/content", None),
        ("GET", "/api/v1/files/{id}/process/status", None),
        ("DELETE", "/api/v1/files/{id}", None),
        ("POST", "/api/v1/retrieval/process/file", {"file_id": "{id}"}),
    ],
)
def test_another_users_file_is_404_like_an_unknown_id(app, client, people, method, path, body):
    alice_file = upload_ok(client, "private.txt", b"alice's secret plans", people["alice_key"])[
        "id"
    ]

    def call(file_id):
        json_body = {"file_id": file_id} if body else None
        return client.open(
            path.format(id=file_id), method=method, json=json_body, headers=people["bob_key"]
        )

    theirs, unknown = call(alice_file), call("no-such-id")
    assert theirs.status_code == unknown.status_code == 404
    assert "secret" not in theirs.get_data(as_text=True)
    assert theirs.get_json()["detail"].replace(alice_file, "X") == unknown.get_json()[
        "detail"
    ].replace("no-such-id", "X")
    # Still there, and the owner and an admin can reach it.
    assert client.get(f"/api/v1/files/{alice_file}", headers=people["alice_key"]).status_code == 200
    assert client.get(f"/api/v1/files/{alice_file}", headers=people["admin_key"]).status_code == 200
    assert stored_names(app) == [alice_file]


def test_admin_may_delete_anyones_file(app, client, people):
    file_id = upload_ok(client, "x.txt", b"x", people["alice_key"])["id"]
    assert client.delete(f"/api/v1/files/{file_id}", headers=people["admin_key"]).status_code == 200
    assert stored_names(app) == []


# --- Workspace > Files -----------------------------------------------------------------------


def test_files_page_uploads_lists_and_deletes(app, people):
    browser = login_client(app, "alice@example.com")
    page = browser.get("/workspace/files")
    assert page.status_code == 200 and b"No files yet" in page.data

    response = browser.post(
        "/workspace/files",
        data={"file": (io.BytesIO(b"page upload text"), "page.txt"), "extract": "y"},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code == 200 and b"page.txt uploaded" in response.data
    [file_id] = file_rows(app)
    assert f'data-file-id="{file_id}"'.encode() in response.data
    assert f"/api/v1/files/{file_id}/content".encode() in response.data

    response = browser.post(f"/workspace/files/{file_id}/delete", follow_redirects=True)
    assert b"page.txt deleted" in response.data and file_rows(app) == [] and stored_names(app) == []


def test_files_page_reports_bad_uploads(app, people, save_settings):
    browser = login_client(app, "alice@example.com")
    empty = browser.post(
        "/workspace/files",
        data={"file": (io.BytesIO(b""), "empty.txt")},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 400 and b"empty" in empty.data
    save_settings(FILE_MAX_SIZE_MB=1)
    big = browser.post(
        "/workspace/files",
        data={"file": (io.BytesIO(b"a" * (2 * 1024 * 1024)), "big.txt")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert big.status_code == 200 and b"1 MB upload limit" in big.data
    assert file_rows(app) == [] and stored_names(app) == []


def test_files_page_shows_only_own_files_and_cannot_delete_others(app, client, people):
    bob_file = upload_ok(client, "bobs.txt", b"bob text", people["bob_key"])["id"]
    browser = login_client(app, "alice@example.com")
    assert b"bobs.txt" not in browser.get("/workspace/files").data
    assert browser.post(f"/workspace/files/{bob_file}/delete").status_code == 404
    assert file_rows(app) == [bob_file]
