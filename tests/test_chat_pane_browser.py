"""The chat page's conversation pane in Chromium against gunicorn: a window-high layout
with the composer pinned at the bottom, failed answers that keep the question and offer
Retry, saved chats drawn by the server, attachments as chips, safe images, a typing
indicator, and each model's own chat route."""

import re

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

    send(ada, "The first question")
    assert inside_viewport(ada, ".message-user")
    assert inside_viewport(ada, ".message-assistant")
    assert inside_viewport(ada, "#chat-message")
    assert inside_viewport(ada, "#chat-send")
    assert not page_scrolls(ada)

    # A long answer scrolls inside the log, never the page.
    upstreams.reply_words = [f"Line {number}\n\n" for number in range(60)]
    send(ada, "A long one, please")
    assert not page_scrolls(ada)
    assert inside_viewport(ada, "#chat-message")
    log.evaluate("log => { log.scrollTop = 0; }")
    assert inside_viewport(ada, ".message-user >> nth=0")

    # Scrolled up, a button leads back down to the end of the answer.
    to_bottom = ada.get_by_role("button", name="Scroll to bottom")
    expect(to_bottom).to_be_visible()
    to_bottom.click()
    expect(to_bottom).to_be_hidden()
    expect(ada.get_by_text("Line 59")).to_be_in_viewport()


SERVER_SILENT = (
    "The model server did not answer. Try again, or tell an administrator if it keeps happening."
)


def saved_chat(response) -> bool:
    return response.request.method == "POST" and "/api/v1/chats/" in response.url


def expect_failed_answer(page) -> None:
    failed = page.locator(".message-assistant").last
    expect(failed.locator(".message-failed")).to_have_text(
        SERVER_SILENT + "Retry", timeout=ANSWERED
    )
    expect(failed.get_by_role("button", name="Retry")).to_be_visible()
    shown = page.locator("#chat-app").inner_text()
    for internal in ("OpenAI connection", "Error", "answered 500", "broke on purpose"):
        assert internal not in shown, shown


def test_a_failed_answer_keeps_the_question_offers_retry_and_is_saved(ada, upstreams):
    open_chat(ada)
    # The stream breaks off after its first piece (RemoteProtocolError in the app).
    upstreams.hang_seconds = 0.2
    upstreams.set_mode("stall", "/v1/chat/completions")
    ada.get_by_label("Message").fill("Is anyone there?")
    ada.get_by_role("button", name="Send").click()
    expect_failed_answer(ada)
    expect(ada.locator(".message-user .message-text")).to_have_text(["Is anyone there?"])

    upstreams.heal()
    ada.locator(".message-assistant").last.get_by_role("button", name="Retry").click()
    answer = ada.locator(".message-assistant")
    expect(answer).to_have_count(1)
    expect(answer.locator(".message-text")).to_have_text("Hello from upstream", timeout=ANSWERED)
    expect(ada.locator(".message-failed")).to_have_count(0)
    sent = upstreams.last("/v1/chat/completions").body["messages"]
    assert [m["content"] for m in sent] == ["Is anyone there?"], sent

    # The model server refuses outright: the same words, and they survive a reload.
    upstreams.set_mode("fail", "/v1/chat/completions")
    ada.get_by_label("Message").fill("And now?")
    with ada.expect_response(saved_chat, timeout=ANSWERED):
        ada.get_by_role("button", name="Send").click()
    expect_failed_answer(ada)
    ada.reload()
    expect(ada.locator(".message-user .message-text")).to_have_text(
        ["Is anyone there?", "And now?"]
    )
    expect_failed_answer(ada)
    # Retrying after the reload asks without the failed answer.
    upstreams.heal()
    ada.locator(".message-assistant").last.get_by_role("button", name="Retry").click()
    expect(ada.locator(".message-assistant .message-text").last).to_have_text(
        "Hello from upstream", timeout=ANSWERED
    )
    sent = upstreams.last("/v1/chat/completions").body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"], sent


def test_a_saved_chat_shows_its_messages_without_the_script(ada, upstreams, browser, live_server):
    upstreams.reply_words = ["## Plan\n\n", "- <b>first</b> step"]
    open_chat(ada)
    send(ada, "Make a plan")
    expect(ada).to_have_url(re.compile(r"/chat/[0-9a-f-]{36}$"))
    address = ada.url

    without_script = browser.new_context(
        base_url=live_server.url,
        java_script_enabled=False,
        storage_state=ada.context.storage_state(),
    )
    try:
        page = without_script.new_page()
        page.goto(address)
        log = page.locator("#chat-log")
        expect(log.locator(".message-user .message-text")).to_have_text("Make a plan")
        # The text as written, escaped: no element made of it.
        answer = log.locator(".message-assistant .message-text")
        assert answer.inner_text() == "## Plan\n\n- <b>first</b> step"
        expect(log.locator("b, h2")).to_have_count(0)
        expect(page.get_by_role("heading", level=1)).to_have_text("Make a plan")
    finally:
        without_script.close()

    # With the script, the same messages, the answer as Markdown.
    ada.reload()
    expect(ada.locator(".message-user .message-text")).to_have_text("Make a plan")
    expect(ada.locator(".message-assistant h2")).to_have_text("Plan")
    expect(ada.locator(".message-assistant li")).to_have_text("<b>first</b> step")


def upload_in_chat(page, name: str, data: bytes) -> None:
    page.get_by_label("Upload a file").set_input_files(
        files=[{"name": name, "mimeType": "text/plain", "buffer": data}]
    )


def test_attachments_are_chips_for_the_next_message_only(ada, upstreams):
    open_chat(ada)
    ada.get_by_text("Attach files and collections").click()
    chips = ada.locator("#chat-chips")
    status = ada.locator("#chat-upload-status")

    # A failed upload and a file whose text cannot be read: said so, never attached.
    upload_in_chat(ada, "empty.txt", b"")
    expect(status).to_contain_text("empty.txt was not uploaded")
    upload_in_chat(ada, "binary.txt", b"abc\x00\x01\x02def")
    expect(status).to_contain_text("binary.txt was stored, but its text could not be read")
    expect(chips.locator("li")).to_have_count(0)
    expect(ada.locator("#chat-files li")).to_have_count(0)  # not offered in the list either

    upload_in_chat(ada, "notes.txt", b"The code word is pineapple.\n")
    expect(status).to_have_text("notes.txt is attached.")
    expect(chips.locator("li")).to_have_text(["notes.txt×"])
    upload_in_chat(ada, "extra.txt", b"An extra note.\n")
    expect(chips.locator("li")).to_have_count(2)
    chips.get_by_role("button", name="Remove extra.txt").click()
    expect(chips.locator("li")).to_have_text(["notes.txt×"])
    expect(ada.get_by_label("extra.txt", exact=True)).not_to_be_checked()
    expect(ada.locator("#chat-files li")).to_have_count(2)  # notes.txt and extra.txt

    send(ada, "What is the code word?")
    asked = upstreams.last("/v1/chat/completions").body["messages"]
    assert "pineapple" in asked[0]["content"], asked  # the file's passage went along
    expect(ada.locator(".message-user").last.locator(".chat-chip")).to_have_text(["notes.txt"])
    expect(chips).to_be_hidden()  # the composer starts empty again

    send(ada, "And without the file?")
    asked = upstreams.last("/v1/chat/completions").body["messages"]
    assert all("pineapple" not in str(m["content"]) for m in asked if m["role"] == "system")
    expect(ada.locator(".message-user").last.locator(".chat-chip")).to_have_count(0)

    ada.reload()  # the chip stays on the message it was sent with
    expect(ada.locator(".message-user").first.locator(".chat-chip")).to_have_text(["notes.txt"])


def test_images_become_links_and_code_scrolls_by_keyboard(ada, upstreams):
    remote = []
    ada.route(
        "https://example.com/**", lambda route: (remote.append(route.request.url), route.abort())
    )
    upstreams.reply_words = [
        "![sales chart](https://example.com/chart.png) and ![](https://example.com/bare.png)\n\n",
        "```\n" + "x = 1  # " + "a long line " * 30 + "\n```\n",
    ]
    open_chat(ada)
    send(ada, "Show me")
    answer = ada.locator(".message-assistant .message-text").last
    expect(answer.get_by_role("link", name="sales chart")).to_have_attribute(
        "href", "https://example.com/chart.png"
    )
    expect(answer.get_by_role("link", name="https://example.com/bare.png")).to_be_visible()
    expect(ada.locator("#chat-log img")).to_have_count(0)
    assert remote == []
    code = answer.locator("pre")
    expect(code).to_have_attribute("tabindex", "0")
    expect(code).to_have_accessible_name("Code")
    assert code.evaluate("pre => pre.scrollWidth > pre.clientWidth")  # it does scroll


def test_the_first_token_wait_shows_a_typing_indicator(ada, upstreams):
    # An empty first piece, then the stream stalls: the wait lasts until Stop.
    upstreams.reply_words = ["", "Hello"]
    upstreams.hang_seconds = ANSWERED / 1000
    upstreams.set_mode("stall", "/v1/chat/completions")
    open_chat(ada)
    for motion, animation in (("no-preference", "typing-pulse"), ("reduce", "none")):
        ada.emulate_media(reduced_motion=motion)
        ada.get_by_label("Message").fill(f"Hello with motion {motion}")
        ada.get_by_role("button", name="Send").click()
        waiting = ada.locator(".message-assistant .message-text.waiting")
        indicator = waiting.get_by_role("status")
        expect(indicator).to_have_text("The model is writing…")
        # Asked afresh until it holds: the indicator is redrawn as pieces (even empty) arrive.
        ada.wait_for_function(
            """([animation]) => {
                const text = document.querySelector(".message-assistant .message-text.waiting");
                const dot = text && text.querySelector(".typing-dot");
                return dot && getComputedStyle(text, "::after").content === "none"
                    && getComputedStyle(dot).animationName === animation;
            }""",
            arg=[animation],
        )
        ada.get_by_role("button", name="Stop").click()
        expect(ada.locator(".typing")).to_have_count(0)

    # The first words replace the indicator.
    upstreams.heal()
    send(ada, "Now answer")
    expect(ada.locator(".message-assistant .message-text").last).to_have_text("Hello")
    expect(ada.locator(".typing")).to_have_count(0)


def test_each_model_is_asked_through_its_own_connections_route(ada, connected_upstreams):
    asked = []
    ada.on(
        "request",
        lambda request: "chat/completions" in request.url and asked.append(request.url),
    )
    for model in ("gpt-test", "llama-test:latest"):
        open_chat(ada, model)
        send(ada, f"Hello {model}")
        expect(ada.locator(".message-assistant .message-failed")).to_have_count(0)
    paths = [url.split("://", 1)[1].split("/", 1)[1] for url in asked]
    assert paths == ["api/chat/completions", "ollama/v1/chat/completions"], asked


def test_a_chat_saved_without_done_flags_shows_no_streaming_cursor(ada):
    """Chats imported or written through the API (Open WebUI's shape) carry no ``done``; their
    answers are finished, so none is drawn as still arriving."""
    open_chat(ada)
    chat_id = ada.evaluate(
        """async () => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const response = await fetch("/api/v1/chats/new", {
                method: "POST",
                headers: {"Content-Type": "application/json", "X-CSRFToken": token},
                body: JSON.stringify({chat: {title: "Imported", messages: [
                    {role: "user", content: "Hi"},
                    {role: "assistant", content: "Hello there"},
                ]}}),
            });
            return (await response.json()).id;
        }"""
    )
    ada.goto(f"/chat/{chat_id}")
    # The script has redrawn the answer once it is Markdown (a paragraph), not the server's text.
    expect(ada.locator(".message-assistant .message-text p")).to_have_text("Hello there")
    expect(ada.locator(".message-text.streaming")).to_have_count(0)
