"""What every page carries around its content: the header (who is signed in, the menu and theme
buttons, the favicon, the theme script before first paint), the admin tabs on every admin page,
and the error page. The same in a real browser, at every width and in both schemes:
tests/test_pages_walk.py."""

import re

import pytest

from tests.support.accounts import ADMIN_EMAIL, login_client

ADMIN_PAGES = [
    "/admin/settings",
    "/admin/settings/connections",
    "/admin/models",
    "/admin/users",
    "/admin/groups",
    "/admin/permissions",
    "/admin/api-keys",
    "/admin/api-keys/revoke-all",
    "/admin/audit",
]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_every_admin_page_shows_the_admin_tabs(admin_client, path):
    page = admin_client.get(path)
    assert page.status_code == 200
    tabs = re.search(r'<nav class="tabs".*?</nav>', page.get_data(as_text=True), re.S)
    assert tabs is not None, "no admin tab bar"
    for label in ("General", "Connections", "Models", "Users", "Audit"):
        assert f">{label}</a>" in tabs.group(0)
    assert tabs.group(0).count('aria-current="page"') == 1  # the section this page is in


def test_a_404_shows_the_signed_in_header(admin_client):
    page = admin_client.get("/no-such-page")
    assert page.status_code == 404
    text = page.get_data(as_text=True)
    assert "Sign out" in text and "Admin Panel" in text and "Back to Chat" in text
    assert ">Sign up<" not in text


def test_a_404_offers_sign_in_to_a_visitor_and_sign_up_only_while_open(
    client, make_user, save_settings
):
    make_user(ADMIN_EMAIL, role="admin")
    assert b">Sign up</a>" in client.get("/no-such-page").data
    save_settings(ENABLE_SIGNUP=False)
    page = client.get("/no-such-page").get_data(as_text=True)
    assert ">Sign in</a>" in page and "/auth/signup" not in page


def test_with_sign_ups_off_the_pages_offer_no_sign_up_form(client, make_user, save_settings):
    make_user(ADMIN_EMAIL, role="admin")
    save_settings(ENABLE_SIGNUP=False)
    login = client.get("/auth/login").get_data(as_text=True)
    assert "/auth/signup" not in login and "Ask an administrator" in login
    signup = client.get("/auth/signup").get_data(as_text=True)
    assert 'type="password"' not in signup and 'id="signups-closed"' in signup


def test_the_first_account_may_always_sign_up(client, save_settings):
    save_settings(ENABLE_SIGNUP=False)
    assert b'type="password"' in client.get("/auth/signup").data


def test_pages_link_a_favicon_that_is_served_and_load_the_theme_first(client):
    page = client.get("/auth/login").get_data(as_text=True)
    head = page[: page.index("</head>")]
    icon = re.search(r'<link rel="icon" href="([^"]+)"', head).group(1)
    served = client.get(icon)
    assert served.status_code == 200 and served.mimetype == "image/svg+xml"
    # theme.js runs before the body is painted: in <head>, neither deferred nor async.
    script = re.search(r'<script src="[^"]*theme\.js[^"]*"[^>]*>', head).group(0)
    assert "defer" not in script and "async" not in script
    assert client.get(re.search(r'src="([^"]*theme\.js[^"]*)"', script).group(1)).status_code == 200


def test_the_header_carries_the_menu_and_theme_buttons(app, make_user):
    make_user("ada@example.com")
    page = login_client(app, "ada@example.com").get("/account/").get_data(as_text=True)
    assert 'data-menu-button aria-expanded="false" aria-controls="site-menu"' in page
    assert 'id="site-menu"' in page and "data-theme-toggle" in page
