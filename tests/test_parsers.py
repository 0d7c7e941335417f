"""Strict parsers: only ASCII digits are numbers, everywhere a number comes in; lists from
outside are bounded, and repeats are dropped in linear time."""

import pytest

from tests.support.accounts import login_client
from webui.core import parsers
from webui.core.parsers import MAX_ENDPOINTS, MAX_ID_LENGTH, MAX_MEMBER_IDS

NOT_ASCII_DIGITS = ["²", "１２", "٣", "1²", "৩", "Ⅻ"]
NOT_WHOLE = ["", " ", "-1", "+1", "1.5", "1e3", "0x10", "1_000", "abc", "9" * 40]


@pytest.mark.parametrize("raw", NOT_ASCII_DIGITS + NOT_WHOLE)
def test_only_ascii_digits_are_whole_numbers(raw):
    with pytest.raises(ValueError, match="whole number from 1 to 100"):
        parsers.parse_whole_number(raw, 1, 100)


@pytest.mark.parametrize("raw, number", [("7", 7), (" 42 ", 42), ("0100", 100), (5, 5)])
def test_whole_numbers_within_bounds(raw, number):
    assert parsers.parse_whole_number(raw, 1, 100) == number


@pytest.mark.parametrize("value", [True, 0, 101, 2.0, None, [1]])
def test_other_values_are_refused(value):
    with pytest.raises(ValueError):
        parsers.parse_whole_number(value, 1, 100)


@pytest.mark.parametrize("raw, value", [("TRUE", True), (" on", True), ("0", False), ("", False)])
def test_true_and_false_words(raw, value):
    assert parsers.parse_bool(raw) is value


@pytest.mark.parametrize("raw", ["maybe", "١", "2", None, 1])
def test_other_words_are_not_true_or_false(raw):
    with pytest.raises(ValueError, match="true or false"):
        parsers.parse_bool(raw)


def test_environment_numbers_are_strict(monkeypatch, app_config):
    from webui.config import env_int

    monkeypatch.setenv("DATABASE_POOL_SIZE", "１２")
    with pytest.raises(ValueError, match="DATABASE_POOL_SIZE"):
        env_int("DATABASE_POOL_SIZE", 8, 1)


@pytest.fixture
def admin(app, make_user, save_settings):
    make_user("root@example.com", role="admin")
    save_settings(ENABLE_API_KEYS=True, USER_PERMISSIONS_FEATURES_API_KEYS=True)
    return login_client(app, "root@example.com")


@pytest.mark.parametrize("raw", NOT_ASCII_DIGITS[:3])
@pytest.mark.parametrize(
    "path, field",
    [
        ("/api/v1/files/?page={}", "page"),
        ("/api/v1/files/?limit={}", "limit"),
        ("/api/v1/audit?per_page={}", "per_page"),
        ("/api/v1/auths/admin/api_keys?unused_days={}", "unused_days"),
    ],
)
def test_query_numbers_refuse_other_digits_naming_the_field(admin, path, field, raw):
    response = admin.get(path.format(raw))
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith(field)


@pytest.mark.parametrize("raw", NOT_ASCII_DIGITS[:3])
def test_settings_refuse_other_digits_naming_the_setting(admin, raw):
    response = admin.post("/api/v1/auths/admin/config", json={"API_KEYS_MAX_LIFETIME_DAYS": raw})
    assert response.status_code == 400
    assert "API_KEYS_MAX_LIFETIME_DAYS" in response.get_json()["detail"]
    assert admin.get("/api/v1/auths/admin/config").get_json()["API_KEYS_MAX_LIFETIME_DAYS"] is None


@pytest.mark.parametrize("raw", NOT_ASCII_DIGITS[:3])
def test_a_key_rate_limit_refuses_other_digits(admin, raw):
    response = admin.post("/api/v1/auths/api_keys", json={"name": "k", "rate_limit": raw})
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("rate_limit")
    assert admin.get("/api/v1/auths/api_keys").get_json()["items"] == []


def test_a_query_switch_must_be_true_or_false(admin):
    response = admin.get("/api/models?refresh=perhaps")
    assert response.status_code == 400 and "refresh" in response.get_json()["detail"]


# --- lists: bounded, and repeats dropped in linear time ---------------------------------------


class Counted:
    """A value that counts how often it is compared for equality."""

    comparisons = 0

    def __init__(self, number: int):
        self.number = number

    def __hash__(self) -> int:
        return self.number

    def __eq__(self, other) -> bool:
        Counted.comparisons += 1
        return isinstance(other, Counted) and other.number == self.number


def test_dropping_repeats_compares_no_pair_of_distinct_entries():
    """A list scan compares each entry with every one before it (n²/2 comparisons); a dict
    compares only entries whose hashes are equal: here, the repeats."""
    Counted.comparisons = 0
    items = [Counted(n) for n in range(2000)] + [Counted(7)]
    kept = parsers.unique(items)
    assert [item.number for item in kept] == list(range(2000))
    assert Counted.comparisons <= 1


def test_allowlists_keep_each_path_once_in_the_order_given():
    assert parsers.split_endpoints("/b, /a,/b ,/c,/a") == ["/b", "/a", "/c"]
    assert parsers.endpoint_list(["/b", "/a", "/b"]) == ["/b", "/a"]


def test_stored_allowlists_are_read_whatever_their_length():
    """A setting saved before the bound existed must never fail a request that reads it."""
    stored = ",".join(f"/p{number}" for number in range(MAX_ENDPOINTS + 50))
    assert len(parsers.split_endpoints(stored)) == MAX_ENDPOINTS + 50
    with pytest.raises(ValueError, match=f"at most {MAX_ENDPOINTS} paths"):
        parsers.endpoint_list(stored)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a,b", "must be a list of user ids"),
        (["a", 1], "must be a list of user ids"),
        (["a"] * (MAX_MEMBER_IDS + 1), f"must hold at most {MAX_MEMBER_IDS} user ids"),
        (["a" * (MAX_ID_LENGTH + 1)], f"entries of at most {MAX_ID_LENGTH} characters"),
    ],
)
def test_a_list_of_ids_says_what_is_wrong(value, message):
    with pytest.raises(ValueError, match=message):
        parsers.user_id_list(value)
