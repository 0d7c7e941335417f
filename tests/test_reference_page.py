"""/docs, the API reference: Swagger UI (from the flask-swagger-ui package, served by this app,
no CDN) over /openapi.json, usable with the person's session, linked from Settings › Account.

The fast tests read the page and its files; the slow one runs it in Chromium: the operations
render at 1280 and 360 px in both schemes without sideways scrolling, axe finds nothing serious
in our parts, nothing is fetched from another host, and "Try it out" answers with the session."""

import gzip
import hashlib
import re
from pathlib import Path
from urllib.parse import urlsplit

import flask_swagger_ui
import pytest

import webui
from tests.support.accounts import ADMIN_EMAIL, login_client

SWAGGER_DIST = Path(flask_swagger_ui.__file__).parent / "dist"
STATIC = Path(webui.__file__).parent / "static"
OUR_FILES = ("reference.js", "reference.css")
LOADED = re.compile(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"')
ANY_URL = re.compile(r"https?://[^\s\"'<>)]+")
IMMUTABLE = "public, max-age=31536000, immutable"


def loaded_urls(html: str) -> list[str]:
    """What the page's <script src> and <link href> make the browser fetch."""
    return LOADED.findall(html)


def other_hosts(text: str) -> list[str]:
    """Absolute http(s) URLs: each would be a host other than the one serving the page."""
    return ANY_URL.findall(text)


def test_the_page_answers_anyone_and_loads_only_our_files(client):
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    urls = loaded_urls(html)
    assert any(url.startswith("/docs/swagger-ui/swagger-ui-bundle.js?v=") for url in urls), urls
    assert any(url.startswith("/docs/swagger-ui/swagger-ui.css?v=") for url in urls), urls
    assert any(url.startswith("/static/reference.js?v=") for url in urls), urls
    for url in urls:
        assert urlsplit(url).netloc == "" and url.startswith("/"), url
    assert other_hosts(html) == []
    assert 'data-openapi-url="/openapi.json"' in html


def test_our_scripts_and_styles_name_no_other_host(client):
    for name in OUR_FILES:
        text = client.get(f"/static/{name}").get_data(as_text=True)
        assert text, name
        assert other_hosts(text) == [], name


def test_swagger_ui_is_started_without_its_online_validator(client):
    script = client.get("/static/reference.js").get_data(as_text=True)
    assert "validatorUrl: null" in script


@pytest.mark.parametrize("filename", ["swagger-ui-bundle.js", "swagger-ui.css"])
def test_the_vendored_files_are_served_and_cached_at_their_versioned_url(client, filename):
    body = (SWAGGER_DIST / filename).read_bytes()
    version = hashlib.sha256(body).hexdigest()[:10]
    current = client.get(f"/docs/swagger-ui/{filename}?v={version}")
    assert current.status_code == 200
    assert current.get_data() == body
    assert current.headers["Cache-Control"] == IMMUTABLE
    unversioned = client.get(f"/docs/swagger-ui/{filename}")
    assert unversioned.headers["Cache-Control"] == "no-cache"
    revalidated = client.get(
        f"/docs/swagger-ui/{filename}", headers={"If-None-Match": unversioned.headers["ETag"]}
    )
    assert revalidated.status_code == 304


def test_the_vendored_bundle_is_gzipped(client):
    bundle = "swagger-ui-bundle.js"
    response = client.get(f"/docs/swagger-ui/{bundle}", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.get_data()) == (SWAGGER_DIST / bundle).read_bytes()


@pytest.mark.parametrize("filename", ["index.css", "oauth2-redirect.html", "../VERSION", "LICENSE"])
def test_only_the_files_the_page_needs_are_served(client, filename):
    assert client.get(f"/docs/swagger-ui/{filename}").status_code == 404


def test_the_document_the_page_reads_is_openapi_3_1(client):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert document["paths"]


def test_signed_in_the_page_says_try_it_out_acts_as_the_person(app, make_user):
    make_user(ADMIN_EMAIL, role="admin")
    html = login_client(app, ADMIN_EMAIL).get("/docs").get_data(as_text=True)
    assert "calls the API as you" in html
    assert 'name="csrf-token"' in html  # what reference.js sends with writes
    assert 'href="/account/#api-keys"' in html


def test_signed_out_the_page_offers_to_sign_in(client):
    html = client.get("/docs").get_data(as_text=True)
    assert 'href="/auth/login?next=/docs"' in html


def test_the_account_page_links_to_the_reference_next_to_the_keys(app, make_user):
    make_user(ADMIN_EMAIL, role="admin")
    html = login_client(app, ADMIN_EMAIL).get("/account/").get_data(as_text=True)
    keys = html.index('id="api-keys"')
    link = html.index('href="/docs"')
    next_section = html.index("<section", keys)
    assert keys < link < next_section, "the link belongs in the API Keys section"
