"""The chat page in a real browser (Chromium against gunicorn): conversations saved and
listed in the sidebar, Markdown answers rendered without letting the upstream inject
anything, a file attached from the chat box with its source shown, usage recorded, and
the page at 360 px."""

import re

import pytest
import sqlalchemy as sa

from tests.support.chromium import sign_up
from tests.support.fake_upstream import connection_settings
from webui.extensions import db
from webui.models import Usage

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails the tests
    expect = None

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn

MARKDOWN_ANSWER = [
    "## Plan\n\n",
    "- **first** step\n- second step\n\n",
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n",
    "[docs](https://example.com/docs)\n\n",
    "```html\n<b>not bold</b>\n```\n",
]
HOSTILE_ANSWER = [
    '<img src="x" onerror="window.injected = 1">\n\n',
    "[click me](javascript:window.injected=2)\n\n",
    "<script>window.injected = 3</script>\n\n",
    "![tracking pixel](https://example.com/pixel.png)\n\n",
    '<a href="javascript:window.injected=4">raw link</a> ',
    '<iframe src="/"></iframe> plain words',
]


@pytest.fixture
def upstreams(openai_up, ollama_up, save_settings):
    save_settings(**connection_settings(openai_up, ollama_up))
    return openai_up


def send(page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send").click()
    # The answer has stopped streaming when its text loses the "streaming" class.
    last = page.locator(".message-assistant .message-text").last
    expect(last).to_have_class("message-text", timeout=20_000)


def test_conversations_are_saved_rendered_safely_and_attached(crowd, upstreams, app):
    page = crowd.person("ada")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_up(page, "Ada Admin", "ada@example.com")
    page.goto("/chat")

    # Only chat models are offered: the embedding model is not.
    options = page.locator("#chat-model option").all_text_contents()
    assert "gpt-test" in options and "llama-test:latest" in options, options
    assert not [name for name in options if "embed" in name], options
    page.get_by_label("Model").select_option("gpt-test")

    # First message: a Markdown answer.
    upstreams.reply_words = MARKDOWN_ANSWER
    send(page, "Make a plan for the launch")
    answer = page.locator(".message-assistant .message-text").last
    expect(answer.locator("h2")).to_have_text("Plan")
    expect(answer.locator("li strong")).to_have_text("first")
    expect(answer.locator("table td").first).to_have_text("1")
    link = answer.get_by_role("link", name="docs")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(answer.locator("pre code")).to_have_text("<b>not bold</b>\n")
    expect(answer.locator("pre b")).to_have_count(0)
    expect(answer.get_by_role("button", name="Copy")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/chat/[0-9a-f-]{36}$"))

    # Second message: an answer that tries to inject HTML and script.
    upstreams.reply_words = HOSTILE_ANSWER
    send(page, "Say something hostile")
    hostile = page.locator(".message-assistant .message-text").last
    expect(hostile).to_contain_text("plain words")
    expect(hostile).to_contain_text('<img src="x"')  # shown as text, not made an element
    log = page.locator("#chat-log")
    for tag in ("img", "script", "iframe"):
        expect(log.locator(tag)).to_have_count(0)
    for anchor in hostile.locator("a").all():
        assert not (anchor.get_attribute("href") or "").lower().startswith("javascript"), (
            anchor.evaluate("a => a.outerHTML")
        )
    hostile.get_by_text("click me").click()  # a dead link now, whatever it was meant to do
    assert page.evaluate("window.injected") is None

    # A reload keeps the conversation: both questions and both answers, and the sidebar.
    page.reload()
    expect(page.locator(".message-user .message-text")).to_have_text(
        ["Make a plan for the launch", "Say something hostile"]
    )
    expect(page.locator(".message-assistant h2")).to_have_text("Plan")
    expect(page.locator("#chat-log img")).to_have_count(0)
    sidebar = page.locator("#chat-list")
    expect(sidebar.locator("li")).to_have_count(1)
    expect(sidebar.get_by_role("link", name="Make a plan for the launch")).to_be_visible()

    # A new chat, with a file uploaded from the chat box; the answer lists its source.
    upstreams.reply_words = ["The code word is pineapple."]
    page.get_by_role("link", name="New chat").click()
    expect(page.locator("#chat-log .message")).to_have_count(0)
    page.get_by_label("Model").select_option("gpt-test")
    page.get_by_text("Attach files and collections").click()
    page.get_by_label("Upload a file").set_input_files(
        files=[
            {
                "name": "launch-notes.txt",
                "mimeType": "text/plain",
                "buffer": b"Launch notes.\n\nThe secret code word for the launch is pineapple.\n",
            }
        ]
    )
    expect(page.locator("#chat-upload-status")).to_have_text("launch-notes.txt is attached.")
    expect(page.get_by_label("launch-notes.txt", exact=True)).to_be_checked()
    send(page, "What is the secret code word?")
    expect(page.locator(".message-assistant .message-text").last).to_have_text(
        "The code word is pineapple."
    )
    sources = page.locator(".message-assistant .message-sources").last
    expect(sources).to_contain_text("launch-notes.txt")
    sources.locator("summary").first.click()
    expect(sources.locator("blockquote").first).to_contain_text("pineapple")

    # Both chats in the sidebar, newest first; the search box finds one by what was said.
    expect(sidebar.locator("li a")).to_have_text(
        ["What is the secret code word?", "Make a plan for the launch"]
    )
    page.get_by_label("Search chats").fill("hostile")
    expect(sidebar.locator("li a")).to_have_text(["Make a plan for the launch"])
    page.get_by_label("Search chats").fill("")
    expect(sidebar.locator("li")).to_have_count(2)

    # Browser chats are metered like keyed ones, tokens included.
    with app.app_context():
        rows = db.session.scalars(sa.select(Usage).where(Usage.api_key_id.is_(None))).all()
    assert len(rows) == 3
    assert all(row.status == 200 and row.total_tokens for row in rows), rows

    # A stopped answer is marked so, and saved as far as it got.
    upstreams.reply_words = [f"word{number} " for number in range(40)]
    upstreams.chunk_delay = 0.25
    page.get_by_label("Message").fill("Tell me a long story")
    page.get_by_role("button", name="Send").click()
    partial = page.locator(".message-assistant .message-text").last
    expect(partial).to_contain_text("word1 ", timeout=20_000)
    page.get_by_role("button", name="Stop").click()
    stopped = page.locator(".message-assistant").last
    expect(stopped.locator(".message-note")).to_contain_text("Stopped")
    expect(page.locator("#chat-error")).to_be_hidden()
    upstreams.chunk_delay = 0.0
    page.wait_for_timeout(500)  # the save after the stop
    page.reload()
    expect(page.locator(".message-assistant").last.locator(".message-note")).to_contain_text(
        "Stopped"
    )
    saved_text = page.locator(".message-assistant .message-text").last.inner_text()
    assert saved_text.startswith("word0 word1") and "word39" not in saved_text, saved_text

    # At 360 px the sidebar folds away and nothing of the chat page reaches past the screen.
    # (The site header is the shared layout's, checked with the other pages.)
    page.set_viewport_size({"width": 360, "height": 740})
    page.reload()
    expect(page.locator("#chat-sidebar")).not_to_have_attribute("open", "")
    page.get_by_text("Chats", exact=True).click()  # unfold the sidebar: it fits too
    sidebar.get_by_role("link", name="Make a plan for the launch").click()
    expect(page.locator(".message-assistant table")).to_have_count(1)  # tables and code too
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('#chat-app, #chat-app *')]
            .filter((e) => e.getBoundingClientRect().right > 360.5)
            .map((e) => `${e.tagName}#${e.id}.${e.className}`)"""
    )
    assert too_wide == [], too_wide

    # Deleting asks first, then the chat is gone from the sidebar.
    page.get_by_text("Chats", exact=True).click()
    sidebar.get_by_role("button", name="Delete What is the secret code word?").click()
    expect(sidebar.locator("li")).to_have_count(1)
    assert any("Delete the chat" in message for message in crowd.dialogs), crowd.dialogs

    assert errors == [], errors
