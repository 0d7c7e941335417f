"""Every response carries the hardening headers, and no page holds code the
Content-Security-Policy would block: inline <script>, on…= handlers, style= or <style>."""

from html.parser import HTMLParser

import pytest

from tests.support.accounts import ADMIN_EMAIL, login_client
from tests.support.files import upload_ok

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
ON_EVERY_RESPONSE = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
ON_PAGES = {**ON_EVERY_RESPONSE, "Content-Security-Policy": POLICY}


class InlineCodeFinder(HTMLParser):
    """Collects what a strict CSP refuses to run or apply."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> block")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            elif name == "style":
                self.found.append(f"<{tag} style=…>")
            elif (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    return finder.found


def header_problems(response, expected: dict) -> list[str]:
    return [
        f"{name}: {response.headers.get(name)!r}, expected {value!r}"
        for name, value in expected.items()
        if response.headers.get(name) != value
    ]


@pytest.fixture
def site(app, people_with_keys, make_group):
    """An admin's session on a site with something on every page: another user, keys, a
    group, a file and a knowledge collection. Returns the client and the URL values."""
    people = people_with_keys("bob")
    client = login_client(app, ADMIN_EMAIL)
    group_id = make_group("Operators", people["bob"])
    file_id = upload_ok(client, "notes.txt", b"Backups run at 02:00 UTC.\n")["id"]
    created = client.post("/api/v1/knowledge/create", json={"name": "Runbooks"})
    assert created.status_code == 200, created.get_json()
    chat = client.post("/api/v1/chats/new", json={"chat": {"title": "Backups", "messages": []}})
    assert chat.status_code == 200, chat.get_json()
    values = {
        "group_id": group_id,
        "file_id": file_id,
        "knowledge_id": created.get_json()["id"],
        "chat_id": chat.get_json()["id"],
        "filename": "app.js",
        "user_id": people["bob"],
        "url_idx": 0,
        "file_name": "notes.txt",
        "rest": "v1/nothing",
        "key_id": client.get("/api/v1/auths/api_keys").get_json()["items"][0]["id"],
    }
    return client, values


def get_urls(app, values: dict) -> list[str]:
    """Every GET route of the app, its arguments filled from ``values``."""
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            missing = rule.arguments - values.keys()
            assert not missing, f"{rule.rule}: give the walk a value for {sorted(missing)}"
            urls.append(app.url_for(rule.endpoint, **{k: values[k] for k in rule.arguments}))
    return sorted(set(urls))


def walk(client, urls) -> tuple[list[str], list[str]]:
    """GET each URL; the problems found and the URLs that answered with an HTML page."""
    problems, pages = [], []
    for url in urls:
        response = client.get(url)
        is_page = response.mimetype == "text/html"
        is_download = "attachment" in response.headers.get("Content-Disposition", "")
        if is_download and response.status_code == 200:
            # a download keeps its own, stricter policy
            expected = {**ON_EVERY_RESPONSE, "Content-Security-Policy": "sandbox"}
        else:
            expected = ON_PAGES if is_page else ON_EVERY_RESPONSE
        problems += [f"{url}: {p}" for p in header_problems(response, expected)]
        if is_page:
            pages.append(url)
            problems += [f"{url}: {code}" for code in inline_code(response.get_data(as_text=True))]
    return problems, pages


def test_every_get_route_has_the_headers_and_no_inline_code(app, site):
    client, values = site
    urls = get_urls(app, values)
    problems, pages = walk(client, urls)
    assert not problems, "\n".join(problems)
    # The walk saw real pages, including the confirmed delete buttons of users, keys and files.
    assert {"/account/", "/admin/users", "/chat", "/workspace/files"} <= set(pages), pages
    for url in ("/account/", "/admin/users", "/workspace/files", "/admin/api-keys"):
        assert b"data-confirm=" in client.get(url).data, url
    download = client.get(f"/api/v1/files/{values['file_id']}/content")
    assert download.status_code == 200
    assert download.headers["Content-Security-Policy"] == "sandbox"


def test_signed_out_pages_error_pages_and_redirects_have_them_too(app, site):
    _, values = site
    anonymous = app.test_client()
    problems, pages = walk(anonymous, get_urls(app, values) + ["/no/such/page", "/api/nothing"])
    assert not problems, "\n".join(problems)
    assert {"/auth/login", "/auth/signup", "/no/such/page"} <= set(pages), pages


def test_the_finder_sees_what_the_policy_blocks():
    html = (
        '<script>alert(1)</script><script src="/static/app.js"></script>'
        '<form onsubmit="return confirm(1)"><a href="javascript:void 0" style="x">'
        "<style>p{}</style>"
    )
    assert inline_code(html) == [
        "inline <script>",
        "<form onsubmit=…>",
        "<a href=javascript:…>",
        "<a style=…>",
        "<style> block",
    ]
