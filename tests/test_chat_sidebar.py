"""The chat page's sidebar through the Flask client: history drawn by the server a page (60) at
a time, grouped Today / Yesterday / Previous 7 days / Previous 30 days / by month, "More chats"
to the next page, titles shown as plain text, and bad pages refused with a 400."""

import calendar
import time
from datetime import date
from html.parser import HTMLParser

import pytest

from tests.support.accounts import login_client
from webui.extensions import db
from webui.models import Chat, User
from webui.services.chats import PAGE_SIZE, history_group, plain_title

DAY = 24 * 3600
MONTH_NAMES = calendar.month_name[1:]
# Shared with the browser test, which holds the script's plainTitle to the same rule.
PLAIN_TITLES = [
    ("**Plan** for `x`", "Plan for x"),
    ("# Launch *notes*", "Launch notes"),
    ("See [the docs](https://example.com) ~~now~~", "See the docs now"),
    ("![chart](https://example.com/c.png) of sales", "chart of sales"),
    ("snake_case stays, 2 * 3 * 4 too", "snake_case stays, 2 * 3 * 4 too"),
    ("__Bold__ but not_a__word__here", "Bold but not_a__word__here"),
    ("**", "**"),
]


class SidebarReader(HTMLParser):
    """The sidebar as data: [(heading, [title, …]), …], the links by id, the current chat."""

    def __init__(self):
        super().__init__()
        self.groups: list[tuple[str, list[str]]] = []
        self.links: dict[str, dict] = {}
        self.current: list[str] = []
        self.nav: dict = {}
        self._reading = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav" and attrs.get("id") == "chat-list":
            self.nav = attrs
        if tag == "h2" and attrs.get("class") == "chat-group-heading":
            self._reading = "heading"
        elif tag == "a" and attrs.get("class") == "chat-link":
            self._reading = "title"
            if attrs.get("aria-current") == "page":
                self.current.append(attrs["href"])
        elif tag == "a" and attrs.get("id"):
            self.links[attrs["id"]] = attrs

    def handle_data(self, data):
        if self._reading == "heading":
            self.groups.append((data.strip(), []))
        elif self._reading == "title":
            self.groups[-1][1].append(data.strip())
        self._reading = None


def read_sidebar(response) -> SidebarReader:
    assert response.status_code == 200, response.data[:500]
    reader = SidebarReader()
    reader.feed(response.get_data(as_text=True))
    return reader


@pytest.fixture
def alice(app, people_with_keys):
    people_with_keys("alice")
    return login_client(app, "alice@example.com")


def store_chat(app, email: str, title: str, updated_at: int) -> str:
    """A chat stored directly (what a test is not about is made without HTTP); its id."""
    with app.app_context():
        owner = db.session.scalar(db.select(User.id).where(User.email == email))
        chat = Chat(
            user_id=owner,
            title=title,
            chat={"title": title, "messages": []},
            created_at=updated_at,
            updated_at=updated_at,
            touched_ns=updated_at * 1_000_000_000,
        )
        db.session.add(chat)
        db.session.commit()
        return chat.id


@pytest.fixture
def add_chat(app):
    """A chat of alice's, last changed ``days_ago`` days before now."""
    return lambda title, days_ago=0: store_chat(
        app, "alice@example.com", title, int(time.time() - days_ago * DAY)
    )


@pytest.mark.parametrize(
    ("changed", "group"),
    [
        (date(2026, 12, 5), "Today"),
        (date(2026, 12, 6), "Today"),  # a clock a little ahead
        (date(2026, 12, 4), "Yesterday"),
        (date(2026, 12, 3), "Previous 7 days"),
        (date(2026, 11, 28), "Previous 7 days"),
        (date(2026, 11, 27), "Previous 30 days"),
        (date(2026, 11, 5), "Previous 30 days"),
        (date(2026, 11, 4), "November 2026"),
        (date(2025, 12, 31), "December 2025"),
    ],
)
def test_chats_are_grouped_by_how_long_ago_they_changed(changed, group):
    noon = calendar.timegm(changed.timetuple()) + 12 * 3600  # UTC, as the server groups
    assert history_group(noon, date(2026, 12, 5)) == group


def test_the_page_draws_the_newest_sixty_grouped_with_more_chats(alice, add_chat):
    add_chat("today's chat")
    add_chat("yesterday's chat", 1)
    add_chat("last week's chat", 5)
    add_chat("last month's chat", 20)
    for number in range(PAGE_SIZE - 4):
        add_chat(f"old chat {number}", 40 + number)
    oldest = add_chat("the oldest chat", 400)

    first = read_sidebar(alice.get("/chat"))
    headings = [heading for heading, _ in first.groups]
    assert headings[:4] == ["Today", "Yesterday", "Previous 7 days", "Previous 30 days"]
    assert all(heading.split()[0] in MONTH_NAMES for heading in headings[4:]), headings
    assert first.groups[0][1] == ["today's chat"]
    titles = [title for _, group in first.groups for title in group]
    assert len(titles) == PAGE_SIZE and "the oldest chat" not in titles
    assert first.links["chat-more"]["href"] == "/chat?page=2"

    second = read_sidebar(alice.get("/chat?page=2"))
    assert [title for _, group in second.groups for title in group] == ["the oldest chat"]
    assert "hidden" in second.links["chat-more"]  # no third page
    assert second.links["chat-newer"]["href"] == "/chat?page=1"
    assert read_sidebar(alice.get(f"/chat/{oldest}?page=2")).current == [f"/chat/{oldest}"]


def test_with_no_chats_the_sidebar_says_so_without_more(alice):
    page = alice.get("/chat")
    sidebar = read_sidebar(page)
    assert sidebar.groups == []
    assert "hidden" in sidebar.links["chat-more"]
    assert "No chats yet." in page.get_data(as_text=True)


@pytest.mark.parametrize("bad", ["0", "-1", "x", "1.5", "100001", "99999999999999999999"])
def test_a_bad_page_is_a_clear_400_on_the_page_and_the_api(alice, bad):
    page = alice.get(f"/chat?page={bad}")
    assert page.status_code == 400
    assert "page must be a whole number from 1 to 100000" in page.get_data(as_text=True)
    api = alice.get(f"/api/v1/chats/?page={bad}")
    assert api.status_code == 400
    assert "page" in api.get_json()["detail"]


def test_an_empty_page_far_back_is_not_an_error(alice, add_chat):
    add_chat("only chat")
    sidebar = read_sidebar(alice.get("/chat?page=100000"))
    assert sidebar.groups == []
    assert alice.get("/api/v1/chats/?page=100000").get_json() == []


@pytest.mark.parametrize(("stored", "shown"), PLAIN_TITLES)
def test_plain_title_drops_markdown_marks(stored, shown):
    assert plain_title(stored) == shown


def test_titles_show_as_plain_text_but_are_stored_unchanged(alice, add_chat):
    chat_id = add_chat("**Plan** for `x`")
    page = alice.get(f"/chat/{chat_id}")
    sidebar = read_sidebar(page)
    assert sidebar.groups == [("Today", ["Plan for x"])]
    assert 'data-current-title="Plan for x"' in page.get_data(as_text=True)
    assert alice.get(f"/api/v1/chats/{chat_id}").get_json()["title"] == "**Plan** for `x`"


def test_the_list_is_a_labelled_focusable_region_marking_the_current_chat(alice, add_chat):
    other = add_chat("another chat")
    chat_id = add_chat("this chat")
    sidebar = read_sidebar(alice.get(f"/chat/{chat_id}"))
    assert sidebar.nav["aria-label"] == "Your chats"
    assert sidebar.nav["tabindex"] == "0"
    assert sidebar.current == [f"/chat/{chat_id}"]
    assert f"/chat/{other}" not in sidebar.current
