"""The chat page's sidebar in Chromium against gunicorn: 130 chats spread over months, grouped
under their headings, older pages arriving as the list scrolls, "More chats" without
JavaScript, groups by the viewer's own day, titles as plain text, and 360 px."""

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.axe import blocking_violations, describe, load_axe
from tests.support.chromium import TIMEOUT_MS, sign_in, sign_up
from tests.test_chat_sidebar import DAY, PLAIN_TITLES, store_chat
from webui.services.chats import PAGE_SIZE, history_group

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails the tests
    expect = None

pytestmark = pytest.mark.slow  # Chromium against a live gunicorn

EMAIL = "ada@example.com"
CHATS = 130
FAR_ZONE = "Pacific/Kiritimati"  # UTC+14 all year: its day is rarely the UTC day


def store_history(app) -> dict[str, str]:
    """130 chats: one today (with a Markdown title), yesterday, last week, last month, then
    one every three days back to over a year ago. Their ids by title."""
    now = int(time.time())
    ages = [0, 1, 4, 15] + [40 + 3 * number for number in range(CHATS - 4)]
    ids = {}
    for number, days_ago in enumerate(ages):
        title = "**Plan** for `x`" if number == 0 else f"Chat {number:03}"
        ids[title] = store_chat(app, EMAIL, title, now - days_ago * DAY - number)
    return ids


def headings(page) -> list[str]:
    return page.locator("#chat-list .chat-group-heading").all_text_contents()


def new_context(browser, live_server, **options):
    context = browser.new_context(base_url=live_server.url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def test_history_is_grouped_pages_on_scroll_and_without_javascript(
    crowd, app, browser, live_server
):
    page = crowd.person("ada")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    load_axe(page.context)
    sign_up(page, "Ada Admin", EMAIL)
    ids = store_history(app)

    page.goto("/chat")
    rows = page.locator("#chat-list li")
    expect(rows).to_have_count(PAGE_SIZE)
    shown = headings(page)
    assert shown[:4] == ["Today", "Yesterday", "Previous 7 days", "Previous 30 days"], shown
    assert all(len(label.split()) == 2 for label in shown[4:]), shown  # "November 2026"
    first_link = page.locator("#chat-list li a").first
    expect(first_link).to_have_text("Plan for x")

    # Scrolling to the end of the list brings the older pages, until a short one.
    chat_list = page.get_by_role("navigation", name="Your chats")
    expect(chat_list).to_have_attribute("tabindex", "0")
    chat_list.focus()  # by keyboard: End scrolls the focused list to its end
    page.keyboard.press("End")
    expect(rows).to_have_count(2 * PAGE_SIZE)
    chat_list.evaluate("list => list.scrollTo(0, list.scrollHeight)")
    expect(rows).to_have_count(CHATS)
    expect(page.locator("#chat-more")).to_be_hidden()
    expect(rows.last.locator("a")).to_have_text("Chat 129")
    month_labels = headings(page)[4:]
    assert len(month_labels) == len(set(month_labels)) >= 12, month_labels  # no heading twice

    # The script's plainTitle follows the server's plain_title.
    plain = page.evaluate("cases => cases.map(([title]) => window.plainTitle(title))", PLAIN_TITLES)
    assert plain == [shown for _, shown in PLAIN_TITLES]

    # A saved chat: marked current in the list, its title as text in the tab.
    page.goto(f"/chat/{ids['**Plan** for `x`']}")
    current = page.locator('#chat-list a[aria-current="page"]')
    expect(current).to_have_text("Plan for x")
    expect(page).to_have_title("Plan for x · webui")
    violations = blocking_violations(page)
    assert violations == [], describe(violations)

    # At 360 px the sidebar folds, unfolds, and nothing reaches past the screen.
    page.set_viewport_size({"width": 360, "height": 740})
    page.reload()
    expect(page.locator("#chat-sidebar")).not_to_have_attribute("open", "")
    page.get_by_text("Chats", exact=True).click()
    expect(current).to_be_visible()
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('#chat-sidebar, #chat-sidebar *')]
            .filter((e) => e.getBoundingClientRect().right > 360.5)
            .map((e) => `${e.tagName}#${e.id}.${e.className}`)"""
    )
    assert too_wide == [], too_wide
    assert errors == [], errors

    # Without JavaScript the first page is there, and "More chats" opens the next.
    context = new_context(browser, live_server, java_script_enabled=False)
    try:
        plain_page = context.new_page()
        sign_in(plain_page, EMAIL)
        plain_page.goto("/chat")
        plain_rows = plain_page.locator("#chat-list li")
        expect(plain_rows).to_have_count(PAGE_SIZE)
        assert headings(plain_page)[:2] == ["Today", "Yesterday"]
        plain_page.get_by_role("link", name="More chats").click()
        expect(plain_page).to_have_url(f"{live_server.url}/chat?page=2")
        expect(plain_rows).to_have_count(PAGE_SIZE)
        expect(plain_rows.first.locator("a")).to_have_text(f"Chat {PAGE_SIZE:03}")
        plain_page.get_by_role("link", name="More chats").click()
        expect(plain_rows).to_have_count(CHATS - 2 * PAGE_SIZE)
        expect(plain_page.get_by_role("link", name="More chats")).to_be_hidden()
    finally:
        context.close()


def local_group(updated_at: int, zone: ZoneInfo) -> str:
    """The group a viewer in ``zone`` sees: history_group on their wall clock."""
    offset = int(datetime.now(zone).utcoffset().total_seconds())
    return history_group(
        updated_at + offset, (datetime.now(UTC) + timedelta(seconds=offset)).date()
    )


def test_groups_follow_the_viewers_own_day_and_entries_rename_and_delete(
    crowd, app, browser, live_server
):
    sign_up(crowd.person("ada"), "Ada Admin", EMAIL)
    now, zone = int(time.time()), ZoneInfo(FAR_ZONE)
    today_utc = datetime.now(UTC).date()
    # A chat some hours old whose group differs between UTC and the far zone.
    updated_at = next(
        now - hours * 3600
        for hours in range(1, 48)
        if history_group(now - hours * 3600, today_utc) != local_group(now - hours * 3600, zone)
    )
    store_chat(app, EMAIL, "Across midnight", updated_at)

    context = new_context(browser, live_server, timezone_id=FAR_ZONE)
    try:
        page = context.new_page()
        sign_in(page, EMAIL)
        page.goto("/chat")
        expect(page.locator("#chat-list .chat-group-heading")).to_have_text(
            [local_group(updated_at, zone)]
        )

        # Renaming from the list: the new name shown as text, the buttons named after it.
        page.once("dialog", lambda dialog: dialog.accept("**Renamed** chat"))
        page.get_by_role("button", name="Rename Across midnight").click()
        expect(page.locator("#chat-list li a")).to_have_text(["Renamed chat"])
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Delete Renamed chat").click()
        expect(page.locator("#chat-list li")).to_have_count(0)
        expect(page.locator("#chat-list .chat-group")).to_have_count(0)
        expect(page.get_by_text("No chats yet.")).to_be_visible()
    finally:
        context.close()
