"""The chat page's conversation pane in Chromium against gunicorn: a window-high layout
with the composer pinned at the bottom, failed answers that keep the question and offer
Retry, saved chats drawn by the server, attachments as chips, safe images, a typing
indicator, and each model's own chat route."""

import pytest

from tests.support.chromium import sign_up
from tests.support.fake_upstream import connection_settings

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails the tests
    expect = None

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn

ANSWERED = 20_000  # ms: only to stop a hang


@pytest.fixture
def upstreams(openai_up, ollama_up, save_settings):
    save_settings(**connection_settings(openai_up, ollama_up))
    return openai_up


@pytest.fixture
def ada(crowd, upstreams):
    page = crowd.person("ada")
    sign_up(page, "Ada Admin", "ada@example.com")
    return page


def open_chat(page, model: str = "gpt-test") -> None:
    page.goto("/chat")
    page.get_by_label("Model").select_option(model)


def send(page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send").click()
    # The answer has stopped streaming when its text loses the "streaming" class.
    last = page.locator(".message-assistant .message-text").last
    expect(last).to_have_class("message-text", timeout=ANSWERED)


def inside_viewport(page, selector: str) -> bool:
    return page.locator(selector).evaluate(
        """(element) => {
            const box = element.getBoundingClientRect();
            return box.top >= 0 && box.left >= 0 && box.bottom <= window.innerHeight
                && box.right <= window.innerWidth && box.height > 0;
        }"""
    )


def page_scrolls(page) -> bool:
    return page.evaluate("() => document.scrollingElement.scrollHeight > window.innerHeight + 1")


def test_composer_is_pinned_and_the_first_message_shows_at_360(ada, upstreams):
    ada.set_viewport_size({"width": 360, "height": 800})
    open_chat(ada)
    log = ada.locator("#chat-log")
    expect(log).to_have_attribute("role", "log")
    expect(log).to_have_attribute("tabindex", "0")
    expect(log).to_have_accessible_name("Conversation")
    expect(ada.locator(".chat-topbar #chat-model")).to_be_visible()  # beside the title

    upstreams.reply_words = [f"Line {number}\n\n" for number in range(60)]
    send(ada, "The first question")
    assert inside_viewport(ada, "#chat-message")
    assert inside_viewport(ada, "#chat-send")
    assert not page_scrolls(ada)
    # The long answer scrolls inside the log; back at its top the first message shows.
    log.evaluate("log => { log.scrollTop = 0; }")
    assert inside_viewport(ada, ".message-user")
    assert inside_viewport(ada, "#chat-message")

    # Scrolled up, a button leads back down to the end of the answer.
    to_bottom = ada.get_by_role("button", name="Scroll to bottom")
    expect(to_bottom).to_be_visible()
    to_bottom.click()
    expect(to_bottom).to_be_hidden()
    expect(ada.get_by_text("Line 59")).to_be_in_viewport()
