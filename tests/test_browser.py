"""The walk-through in a real browser: Chromium (headless, through Playwright) against gunicorn.

People click through the pages as the README describes; a plain HTTP client then uses the key
the way a script would. On failure every open page is saved under test-artifacts/.
"""

import httpx
import pytest

from tests.support.accounts import bearer
from tests.support.chromium import (
    flashes,
    open_account_settings,
    open_admin_tab,
    sign_in,
    sign_up,
)
from tests.support.fake_upstream import UPSTREAM_KEY, connection_settings

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails the tests
    expect = None

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn

ADMIN = ("Ada Admin", "ada@example.com")
BOB = ("Bob Builder", "bob@example.com")
KEY_NAME = "Monitoring Bot"
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def openai_upstream(openai_up, save_settings):
    """The OpenAI-compatible fake upstream, configured as the app's one OpenAI connection."""
    save_settings(**connection_settings(openai=openai_up))
    return openai_up


# --- steps of the walk-through ------------------------------------------------------------


def admin_enables_api_keys(admin) -> None:
    open_admin_tab(admin, "General")
    admin.get_by_label("Enable API Keys", exact=True).check()
    admin.get_by_role("button", name="Save").click()
    expect(flashes(admin)).to_contain_text("Settings saved.")
    expect(admin.get_by_label("Enable API Keys", exact=True)).to_be_checked()


def admin_approves(admin, email: str) -> None:
    open_admin_tab(admin, "Users")
    row = admin.locator(f'tr[data-email="{email}"]')
    row.get_by_label(f"Role of {email}").select_option("user")
    row.get_by_role("button", name="Change role").click()
    expect(flashes(admin)).to_contain_text(f"{email} is now user.")
    expect(
        admin.locator(f'tr[data-email="{email}"]').get_by_label(f"Role of {email}")
    ).to_have_value("user")


def admin_creates_group_granting_keys(admin, group: str, member_email: str) -> None:
    open_admin_tab(admin, "Groups")
    admin.get_by_label("Name", exact=True).fill(group)
    admin.get_by_role("button", name="Create group").click()
    expect(admin.locator("h1")).to_have_text(f"Group: {group}")
    admin.locator('input[name="perm-features.api_keys"]').check()
    admin.locator("fieldset.members label", has_text=member_email).locator(
        'input[name="member"]'
    ).check()
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(flashes(admin)).to_contain_text(f"Group '{group}' saved.")
    expect(admin.locator('input[name="perm-features.api_keys"]')).to_be_checked()


def admin_restricts_keys_to(admin, endpoints: str) -> None:
    open_admin_tab(admin, "General")
    admin.get_by_label("Enable API Key Endpoint Restrictions").check()
    admin.get_by_label("Allowed Endpoints").fill(endpoints)
    admin.get_by_role("button", name="Save").click()
    expect(flashes(admin)).to_contain_text("Settings saved.")
    expect(admin.locator("#allowlist-preview")).to_contain_text(endpoints)


def user_generates_key(page, name: str) -> str:
    open_account_settings(page)
    form = page.locator("form.key-form")
    # The creation form may arrive folded; the <details> says so when it arrives (asking
    # is_visible() could answer for the page before it loaded).
    folded = page.locator("details:has(form.key-form)")
    if folded.get_attribute("open") is None:
        folded.locator(":scope > summary").click()
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_role("button", name="Generate New API Key").click()
    expect(flashes(page)).to_contain_text(f"API key '{name}' created.")
    secret = page.locator("input#new-key").input_value()
    assert secret.startswith("sk-")
    expect(page.locator(f'tr[data-key-name="{name}"]')).to_have_count(1)
    return secret


def user_deletes_key(page, name: str) -> None:
    open_account_settings(page)
    page.locator(f'tr[data-key-name="{name}"]').get_by_role("button", name="Delete").click()
    expect(flashes(page)).to_contain_text(f"API key '{name}' deleted.")
    expect(page.locator(f'tr[data-key-name="{name}"]')).to_have_count(0)


# --- the walk-through -----------------------------------------------------------------------


def test_keys_walkthrough_from_sign_up_to_deletion(crowd, live_server, openai_upstream):
    # The first person to sign up is the administrator; they switch keys on.
    admin = crowd.person("admin")
    sign_up(admin, *ADMIN)
    expect(admin.locator(".who .role")).to_have_text("admin")
    admin_enables_api_keys(admin)

    # Bob signs up in his own browser and waits for approval; the admin approves him
    # and grants the API Keys permission through a group.
    bob = crowd.person("bob-signup")
    sign_up(bob, *BOB)
    expect(bob).to_have_url(f"{live_server.url}/auth/login")
    expect(flashes(bob)).to_contain_text("waits for an administrator's approval")
    admin_approves(admin, BOB[1])
    admin_creates_group_granting_keys(admin, "API Users", BOB[1])
    crowd.leave("bob-signup")

    # Bob signs in and generates a key; it is shown once, and not after he comes back.
    bob = crowd.person("bob")
    sign_in(bob, BOB[1])
    expect(bob).to_have_url(f"{live_server.url}/chat")  # people land on the chat
    open_account_settings(bob)
    expect(bob.locator('li[data-permission="features.api_keys"]')).to_have_class("granted")
    secret = user_generates_key(bob, KEY_NAME)
    open_account_settings(bob)
    expect(bob.locator("input#new-key")).to_have_count(0)
    expect(bob.locator(f'tr[data-key-name="{KEY_NAME}"]')).to_have_count(1)
    assert secret not in bob.content()

    with httpx.Client(base_url=live_server.url, headers=bearer(secret), timeout=30.0) as script:
        # A script uses the key: Bob's identity, the models, a completion.
        me = script.get("/api/v1/auths/")
        assert me.status_code == 200, me.text
        assert (me.json()["email"], me.json()["role"]) == (BOB[1], "user")
        assert "set-cookie" not in me.headers
        models = script.get("/api/models")
        assert models.status_code == 200, models.text
        assert "gpt-test" in [model["id"] for model in models.json()["data"]]
        chat = script.post("/api/chat/completions", json={"model": "gpt-test", "messages": HELLO})
        assert chat.status_code == 200, chat.text
        assert chat.json()["choices"][0]["message"]["content"] == openai_upstream.reply_text()

        # The admin lets keys reach only the model list.
        admin_restricts_keys_to(admin, "/api/models")
        assert script.get("/api/models").status_code == 200
        files = script.get("/api/v1/files/")
        assert files.status_code == 403, files.text
        assert "/api/v1/files/" in files.json()["detail"]

        # Bob deletes the key in the browser (confirming the dialog); the script is shut out.
        user_deletes_key(bob, KEY_NAME)
        assert any(KEY_NAME in message for message in crowd.dialogs), crowd.dialogs
        gone = script.get("/api/models")
        assert gone.status_code == 401, gone.text
        assert gone.headers["WWW-Authenticate"].startswith("Bearer")


# --- one walk per area ----------------------------------------------------------------------


@pytest.fixture
def signed_in(crowd, make_user, make_key, save_settings):
    """A person made directly (what the test is not about), signed in through the page,
    with a key for their scripts."""

    def sign_in_as(email: str, role: str = "user"):
        user_id = make_user(email, role=role)
        save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
        page = crowd.person(email.split("@")[0])
        sign_in(page, email)
        expect(page.locator(".who .role")).to_have_text(role)
        return page, make_key(user_id, "script")

    return sign_in_as


def test_admin_adds_an_openai_connection_that_keys_then_use(
    signed_in, live_server, save_settings, openai_up
):
    save_settings(**connection_settings())  # no connection, both APIs off
    admin, secret = signed_in("ada@example.com", role="admin")
    open_admin_tab(admin, "Connections")
    switches = admin.locator("form", has=admin.get_by_label("OpenAI API", exact=True))
    switches.get_by_label("OpenAI API", exact=True).check()
    switches.get_by_role("button", name="Save").click()
    expect(flashes(admin)).to_contain_text("Connection switches saved.")

    adding = admin.locator("#add-connection")
    adding.get_by_label("Type").select_option(label="OpenAI")
    adding.get_by_label("Base URL").fill(openai_up.url + "/v1")
    adding.get_by_label("API key").fill(UPSTREAM_KEY)
    adding.get_by_role("button", name="Add connection").click()
    expect(flashes(admin)).to_contain_text("Added OpenAI connection")
    connection = admin.locator('[data-connection="openai-0"]')
    expect(connection).to_contain_text("enabled")
    assert UPSTREAM_KEY not in admin.content()  # shown masked only

    connection.get_by_role("button", name="Verify").click()
    expect(admin.locator(".flash-success")).to_have_count(1)

    with httpx.Client(base_url=live_server.url, headers=bearer(secret), timeout=30.0) as script:
        models = script.get("/api/models")
        assert "gpt-test" in [model["id"] for model in models.json()["data"]], models.text
        chat = script.post("/api/chat/completions", json={"model": "gpt-test", "messages": HELLO})
        assert chat.status_code == 200, chat.text
        forwarded = openai_up.last("/v1/chat/completions")
        assert forwarded.headers.get("authorization") == f"Bearer {UPSTREAM_KEY}"

        # Disabling the connection takes its models away at once, on every worker.
        connection = admin.locator('[data-connection="openai-0"]')
        connection.get_by_label("Enabled").uncheck()
        connection.get_by_role("button", name="Save").click()
        expect(admin.locator('[data-connection="openai-0"]')).to_contain_text("disabled")
        for _ in range(6):
            listed = [model["id"] for model in script.get("/api/models").json()["data"]]
            assert "gpt-test" not in listed


def upload_on_files_page(page, path) -> None:
    """Uploads one file from Workspace › Files; its own line in the results says it arrived."""
    page.locator("header nav").get_by_role("link", name="Files").click()
    page.get_by_label("File", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    result = page.locator(f'[data-progress] li[data-file-name="{path.name}"] .upload-status')
    expect(result).to_have_text("stored and indexed")
    expect(flashes(page)).to_contain_text("The file was uploaded.")


def test_user_uploads_a_file_that_their_key_reads_then_deletes_it(signed_in, live_server, tmp_path):
    bob, secret = signed_in("bob@example.com")
    notes = tmp_path / "notes.txt"
    notes.write_text("The backup runs at 02:00 UTC and keeps 14 days.\n")

    upload_on_files_page(bob, notes)
    row = bob.locator("table.files tbody tr", has_text="notes.txt")
    expect(row.locator(".status")).to_have_text("completed")
    file_id = row.get_attribute("data-file-id")

    with httpx.Client(base_url=live_server.url, headers=bearer(secret), timeout=30.0) as script:
        listed = script.get("/api/v1/files/").json()["items"]
        assert [item["id"] for item in listed] == [file_id]
        content = script.get(f"/api/v1/files/{file_id}/content")
        assert content.status_code == 200 and content.content == notes.read_bytes()

        bob.locator(f'tr[data-file-id="{file_id}"]').get_by_role("button", name="Delete").click()
        expect(flashes(bob)).to_contain_text("notes.txt deleted.")
        expect(bob.locator(f'tr[data-file-id="{file_id}"]')).to_have_count(0)
        assert script.get(f"/api/v1/files/{file_id}").status_code == 404


def test_user_builds_a_knowledge_collection_and_queries_it(
    signed_in, live_server, save_settings, tmp_path
):
    save_settings(USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=True)
    bob, secret = signed_in("bob@example.com")
    runbook = tmp_path / "runbook.md"
    runbook.write_text(
        "# Restores\n\nTo restore a backup, run restore.sh with the snapshot date.\n"
    )

    upload_on_files_page(bob, runbook)

    bob.locator("header nav").get_by_role("link", name="Knowledge").click()
    bob.get_by_label("Name", exact=True).fill("Runbooks")
    bob.get_by_role("button", name="Create collection").click()
    expect(flashes(bob)).to_contain_text("Collection 'Runbooks' created")
    bob.get_by_label("Already in your Files").select_option(label="runbook.md")
    bob.get_by_role("button", name="Add file").click()
    expect(flashes(bob)).to_contain_text("runbook.md added.")

    bob.get_by_label("Query").fill("restore snapshot")
    bob.get_by_role("button", name="Search").click()
    expect(bob.locator("ol.passages")).to_contain_text("restore.sh")

    knowledge_id = bob.locator("p.muted code").first.inner_text()
    with httpx.Client(base_url=live_server.url, headers=bearer(secret), timeout=30.0) as script:
        answer = script.post(
            "/api/v1/retrieval/query/collection",
            json={"collection_names": [knowledge_id], "query": "restore snapshot"},
        )
        assert answer.status_code == 200, answer.text
        assert any("restore.sh" in text for text in answer.json()["documents"][0])


def test_pages_run_their_scripts_under_the_content_security_policy(
    crowd, signed_in, openai_upstream
):
    admin, _ = signed_in("ada@example.com", role="admin")
    admin.context.grant_permissions(["clipboard-read", "clipboard-write"])
    errors = []
    admin.on("console", lambda message: message.type == "error" and errors.append(message.text))
    admin.on("pageerror", lambda error: errors.append(str(error)))

    page = admin.goto("/account/")
    policy = page.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy

    # The copy button and the confirm dialog of app.js, wired by data-* attributes.
    secret = user_generates_key(admin, "CSP Bot")
    admin.get_by_role("button", name="Copy").click()
    expect(admin.get_by_role("button", name="Copied")).to_be_visible()
    assert admin.evaluate("navigator.clipboard.readText()") == secret
    user_deletes_key(admin, "CSP Bot")
    confirmed = any("Delete the API key CSP Bot?" in message for message in crowd.dialogs)
    assert confirmed, (crowd.dialogs, errors)

    # The chat page streams an answer through chat.js.
    admin.locator("header nav").get_by_role("link", name="Chat").click()
    admin.get_by_label("Message").fill("Hello")
    admin.get_by_role("button", name="Send").click()
    answer = admin.locator(".message-assistant .message-text")
    # A loaded CI machine can take seconds to start the stream; the check is that it arrives.
    expect(answer).to_have_text(openai_upstream.reply_text(), timeout=20_000)
    expect(answer).to_have_class("message-text")  # the stream ended
    assert errors == [], errors

    # The policy is enforced, and a violation would have been seen: inline script is refused.
    with admin.expect_console_message(lambda m: "Content Security Policy" in m.text):
        ran = admin.evaluate(
            """() => { const probe = document.createElement("script");
                       probe.textContent = "window.inlineRan = true";
                       document.body.append(probe);
                       return window.inlineRan === true; }"""
        )
    assert ran is False
