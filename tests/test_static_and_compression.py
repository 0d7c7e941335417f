"""Static files: versioned URLs cached for a year, anything else revalidated. Text responses
gzipped when the client accepts it; streams, downloads and small bodies never."""

import gzip
import hashlib
import json
import re
from pathlib import Path

import httpx
import pytest

import webui
from tests.support.accounts import bearer
from tests.support.files import upload_ok

STATIC = Path(webui.__file__).parent / "static"
STATIC_URL = re.compile(r'(?:src|href)="(/static/[^"]+)"')
IMMUTABLE = "public, max-age=31536000, immutable"


def version_of(filename: str) -> str:
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:10]


def static_urls(html: str) -> list[str]:
    return STATIC_URL.findall(html)


def test_every_static_url_on_a_page_names_the_files_content(admin_client):
    for page in ("/chat", "/auth/login"):
        urls = static_urls(admin_client.get(page).get_data(as_text=True))
        assert urls, page
        for url in urls:
            path, _, query = url.partition("?")
            filename = path.removeprefix("/static/")
            assert query == f"v={version_of(filename)}", url


def test_a_versioned_url_is_cached_for_a_year(client):
    response = client.get(f"/static/style.css?v={version_of('style.css')}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.get_data() == (STATIC / "style.css").read_bytes()


@pytest.mark.parametrize("query", ["", "?v=0123456789", "?v="])
def test_an_unversioned_or_stale_url_is_revalidated(client, query):
    response = client.get(f"/static/app.js{query}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["ETag"] and response.headers["Last-Modified"]
    again = client.get(
        f"/static/app.js{query}", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    since = client.get(
        f"/static/app.js{query}",
        headers={"If-Modified-Since": response.headers["Last-Modified"]},
    )
    assert since.status_code == 304


def test_a_changed_file_gets_a_new_url(app, tmp_path, monkeypatch):
    (tmp_path / "note.css").write_text("a{}")
    monkeypatch.setattr(app, "static_folder", str(tmp_path))
    with app.test_request_context():
        from flask import url_for

        first = url_for("static", filename="note.css")
        (tmp_path / "note.css").write_text("a{color:red}")
        second = url_for("static", filename="note.css")
    assert first != second
    assert second.endswith("v=" + hashlib.sha256(b"a{color:red}").hexdigest()[:10])
    stale = app.test_client().get(first)
    assert stale.headers["Cache-Control"] == "no-cache"
    assert app.test_client().get(second).headers["Cache-Control"] == IMMUTABLE


def test_a_missing_static_file_is_still_404(client):
    assert client.get("/static/nothing-here.js?v=abc").status_code == 404


def test_static_files_keep_the_security_headers(client):
    response = client.get(f"/static/app.js?v={version_of('app.js')}")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


# --- compression --------------------------------------------------------------------------

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
HELLO = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def user_key(make_user, make_key, connected_upstreams):
    make_user("root@example.com", role="admin")
    return make_key(make_user("ada@example.com"), "bot")


def assert_gzipped(response) -> bytes:
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.vary
    body = gzip.decompress(response.get_data())
    assert int(response.headers["Content-Length"]) == len(response.get_data()) < len(body)
    return body


def test_a_page_is_gzipped_for_a_client_that_accepts_it(admin_client):
    plain = admin_client.get("/chat")
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.vary  # a cache must not give it to a gzip client
    assert plain.mimetype == "text/html"
    body = assert_gzipped(admin_client.get("/chat", headers=GZIP))
    assert b"<html" in body and len(body) > 1024


def test_refusing_gzip_gets_the_plain_page(admin_client):
    response = admin_client.get("/chat", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in response.headers
    assert b"<html" in response.get_data()


@pytest.mark.parametrize("filename", ["style.css", "app.js", "vendor/marked.umd.js"])
def test_static_text_is_gzipped_and_still_revalidates(client, filename):
    url = f"/static/{filename}?v={version_of(filename)}"
    response = client.get(url, headers=GZIP)
    assert assert_gzipped(response) == (STATIC / filename).read_bytes()
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert "Accept-Ranges" not in response.headers  # a range would be of the plain file
    etag = response.headers["ETag"]
    assert etag.startswith('W/"')  # other bytes than the file: a weak tag
    again = client.get(f"/static/{filename}", headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304 and not again.get_data()


def test_json_is_gzipped(client, user_key):
    long_text = "a message long enough to be worth compressing " * 40
    created = client.post(
        "/api/v1/chats/new",
        headers=bearer(user_key),
        json={"chat": {"title": "long", "messages": [{"role": "user", "content": long_text}]}},
    ).get_json()
    response = client.get(f"/api/v1/chats/{created['id']}", headers={**bearer(user_key), **GZIP})
    assert response.mimetype == "application/json"
    assert json.loads(assert_gzipped(response))["id"] == created["id"]


def test_small_responses_are_sent_as_they_are(client):
    response = client.get("/health", headers=GZIP)
    assert "Content-Encoding" not in response.headers
    assert response.get_json() == {"status": True}


def test_downloads_of_peoples_files_are_never_compressed(client, user_key):
    data = b"plain text that would compress very well\n" * 200
    uploaded = upload_ok(client, "notes.txt", data, bearer(user_key))
    response = client.get(
        f"/api/v1/files/{uploaded['id']}/content", headers={**bearer(user_key), **GZIP}
    )
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == data


def test_streamed_chat_completions_are_never_compressed(client, user_key):
    headers = {**bearer(user_key), **GZIP}
    client.get("/api/models", headers=headers)
    response = client.post(
        "/api/chat/completions",
        headers=headers,
        json={"model": "gpt-test", "messages": HELLO, "stream": True},
    )
    assert response.mimetype == "text/event-stream"
    assert "Content-Encoding" not in response.headers
    assert "data: [DONE]" in response.get_data(as_text=True)


def test_ollama_ndjson_streams_are_never_compressed(client, user_key):
    headers = {**bearer(user_key), **GZIP}
    response = client.post(
        "/ollama/api/chat", headers=headers, json={"model": "llama-test:latest", "messages": HELLO}
    )
    assert response.mimetype == "application/x-ndjson"
    assert "Content-Encoding" not in response.headers
    lines = response.get_data(as_text=True).splitlines()
    assert json.loads(lines[-1])["done"] is True


@pytest.mark.slow
@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/chat/completions", {"model": "gpt-test", "messages": HELLO, "stream": True}),
        ("/ollama/api/chat", {"model": "llama-test:latest", "messages": HELLO}),
    ],
)
def test_a_gzip_client_gets_each_token_while_the_model_still_writes(
    live_server, user_key, openai_up, ollama_up, path, body
):
    """Through gunicorn: the first piece arrives while the model server is still sending,
    so nothing between them waits for the end to compress it."""
    upstream = openai_up if path.startswith("/api/") else ollama_up
    upstream.chunk_delay = 1.0  # several seconds of stream: far longer than one hop takes
    headers = {**bearer(user_key), **GZIP}
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        http.get("/api/models", headers=headers)
        upstream.stream_finished.clear()
        with http.stream("POST", path, headers=headers, json=body) as response:
            assert response.status_code == 200
            assert "content-encoding" not in response.headers
            lines = response.iter_lines()
            first = next(line for line in lines if line.strip())
            assert not upstream.stream_finished.is_set(), "the first piece waited for the end"
            rest = "".join(lines)
    assert "Hello" in first + rest


def test_a_changed_static_file_is_compressed_again(app, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "static_folder", str(tmp_path))
    client = app.test_client()
    for text in ("a{color:red}\n" * 200, "b{color:blue}\n" * 300):
        (tmp_path / "big.css").write_text(text)
        response = client.get("/static/big.css", headers=GZIP)
        assert assert_gzipped(response) == text.encode()
