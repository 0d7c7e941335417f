"""Static files: versioned URLs cached for a year, anything else revalidated."""

import hashlib
import re
from pathlib import Path

import pytest

import webui

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
