"""Strict parsers for every value that comes from outside: the environment, forms,
query strings and JSON bodies. Each raises ``ValueError`` with a sentence a person can
act on; callers add the name of the field.

Only ASCII digits are numbers: ``"²"``, ``"１２"`` and ``"٣"`` pass ``str.isdigit`` and
``int()`` but are not what anyone typed on purpose, so they are refused.

Text is held to what every part of the app can store and send on: no lone surrogates
(``"\\ud800"``: not Unicode, cannot be encoded) and no NUL characters (PostgreSQL refuses them).
"""

import json
import math
import re
from collections.abc import Callable, Iterable, Sized
from typing import Any, Optional, TypeVar

from webui.errors import ServiceError

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
MAX_DIGITS = 18  # more than any limit here needs; keeps int() of a huge string off the CPU
MAX_JSON_DEPTH = 64  # arrays and objects inside each other; far more than any request needs
MAX_JSON_INTEGER_DIGITS = 19  # a 64-bit integer has at most 19 digits
T = TypeVar("T")
S = TypeVar("S", bound=Sized)


def is_ascii_digits(text: str) -> bool:
    return 0 < len(text) <= MAX_DIGITS and text.isascii() and text.isdigit()


def parse_bool(value: Any) -> bool:
    """True or false, from a JSON boolean or one of the words in TRUE_WORDS/FALSE_WORDS."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS or word == "":
            return False
    raise ValueError("must be true or false")


def parse_whole_number(value: Any, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``: a JSON integer or a string of ASCII digits."""
    message = f"must be a whole number from {low} to {high}"
    if isinstance(value, bool):
        raise ValueError(message)
    if isinstance(value, str):
        text = value.strip()
        if not is_ascii_digits(text):
            raise ValueError(message)
        value = int(text)
    if not isinstance(value, int) or not low <= value <= high:
        raise ValueError(message)
    return value


def parse_optional_whole_number(value: Any, low: int, high: int) -> Optional[int]:
    """Like ``parse_whole_number``; None or an empty string mean "not set"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return parse_whole_number(value, low, high)
    except ValueError:
        raise ValueError(f"must be a whole number from {low} to {high}, or empty") from None


def whole_number(low: int, high: int) -> Callable[[Any], int]:
    """A parser for a setting: ``parse_whole_number`` with its bounds."""
    return lambda value: parse_whole_number(value, low, high)


def optional_whole_number(low: int, high: int) -> Callable[[Any], Optional[int]]:
    return lambda value: parse_optional_whole_number(value, low, high)


def choice(*choices: str) -> Callable[[Any], str]:
    """A parser that accepts exactly one of ``choices``."""

    def parse(value: Any) -> str:
        if isinstance(value, str) and value.strip() in choices:
            return value.strip()
        raise ValueError("must be one of " + ", ".join(choices))

    return parse


# --- lists a request may carry --------------------------------------------------------------
# Every list that comes from outside is held to one of these, checked before any entry is
# looked at, so what a request costs follows what a person could mean, not the body limit.

MAX_ENDPOINTS = 200  # paths in one allowlist: a key's own, or the administrator's
MAX_PATH_LENGTH = 500  # characters of one allowlist path
MAX_MEMBER_IDS = 10_000  # user ids in one change of a group's members
MAX_GROUP_IDS = 1_000  # groups one collection or one model is shared with
MAX_ID_LENGTH = 64  # characters of one id (ours have 36)
MAX_CONNECTIONS = 100  # model servers of one kind: their URLs, keys and options
MAX_URL_LENGTH = 2_000  # characters of one connection's base URL
MAX_SECRET_LENGTH = 4_000  # characters of one connection's API key
MAX_BATCH_FILES = 100  # files one request indexes or adds to a collection
MAX_SOURCES = 20  # files and collections one query or one chat completion searches
MAX_EMBEDDING_INPUTS = 2_048  # texts in one embeddings request (OpenAI's own limit)


def unique(items: Iterable[T]) -> list[T]:
    """Each item once, in the order first seen: linear, where a list scan would be quadratic."""
    return list(dict.fromkeys(items))


def check_count(items: Sized, most: int, what: str) -> None:
    if len(items) > most:
        raise ValueError(f"must hold at most {most} {what} (it holds {len(items)})")


def at_most(most: int, what: str) -> Callable[[S], S]:
    """A parser that passes a list (or mapping) of at most ``most`` entries through."""

    def parse(value: S) -> S:
        check_count(value, most, what)
        return value

    return parse


def check_lengths(items: list[str], most: int) -> None:
    longest = max(map(len, items), default=0)
    if longest > most:
        raise ValueError(f"must hold entries of at most {most} characters (one has {longest})")


def text_list(most: int, longest: int, what: str) -> Callable[[Any], list[str]]:
    """A parser for a JSON list of at most ``most`` strings of at most ``longest``
    characters each; ``what`` names the entries ("user ids")."""

    def parse(value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValueError(f"must be a list of {what}")
        check_count(value, most, what)
        check_lengths(value, longest)
        return value

    return parse


user_id_list = text_list(MAX_MEMBER_IDS, MAX_ID_LENGTH, "user ids")
group_id_list = text_list(MAX_GROUP_IDS, MAX_ID_LENGTH, "group ids")
connection_url_list = text_list(MAX_CONNECTIONS, MAX_URL_LENGTH, "URLs")
connection_key_list = text_list(MAX_CONNECTIONS, MAX_SECRET_LENGTH, "API keys")


def split_endpoints(value: Any) -> list[str]:
    """Allowlist entries (paths), from a comma-separated string or a list of strings: checked,
    and each kept once, in the order given. Reads stored values too, so it holds no bound
    (``endpoint_list`` does, for what comes in)."""
    entries = _endpoint_entries(value)
    for entry in entries:
        _check_endpoint(entry)
    return unique(entries)


def endpoint_list(value: Any) -> list[str]:
    """``split_endpoints`` for a value from outside: at most MAX_ENDPOINTS paths of at most
    MAX_PATH_LENGTH characters, counted before any is looked at."""
    entries = _endpoint_entries(value)
    check_count(entries, MAX_ENDPOINTS, "paths")
    check_lengths(entries, MAX_PATH_LENGTH)
    return split_endpoints(entries)


def _endpoint_entries(value: Any) -> list[str]:
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = value
    else:
        raise ValueError("must be a comma-separated list of paths")
    return [entry for entry in (raw.strip() for raw in items) if entry]


SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")


def _check_endpoint(entry: str) -> None:
    if not entry.startswith("/"):
        raise ValueError(f"'{entry}' must start with /")
    for bad, why in (("?", "a query string"), ("#", "a fragment"), ("*", "a wildcard")):
        if bad in entry:
            raise ValueError(f"'{entry}' must not contain {why} ({bad})")
    if SPACE_OR_CONTROL.search(entry):
        raise ValueError(f"'{entry}' must not contain spaces or control characters")


def parse_endpoints(value: Any) -> str:
    """Allowlist entries as the one comma-separated string a setting stores."""
    return ",".join(endpoint_list(value))


def parse_field(name: str, parse: Callable[[Any], Any], value: Any) -> Any:
    """``parse(value)``; a refusal becomes a 400 whose detail names the field."""
    try:
        return parse(value)
    except ValueError as error:
        raise ServiceError(400, f"{name} {error}.") from None


def query_flag(args, name: str, default: bool = False) -> bool:
    """A query-string switch such as ``?refresh=true``; absent means ``default``."""
    raw = args.get(name)
    return default if raw is None else parse_field(name, parse_bool, raw)


def query_number(args, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter (``?page=2``); absent or empty means ``default``."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    return parse_field(name, whole_number(low, high), raw)


# --- text and JSON bodies -------------------------------------------------------------------


def text_problem(text: str) -> Optional[str]:
    """Why ``text`` cannot be stored or sent on, or None when it can."""
    if "\x00" in text:
        return "holds a NUL character (\\u0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "holds a lone surrogate (such as \\ud800), which is not a Unicode character"
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"The request body holds {name}, which is not a JSON number.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"The request body holds the number {text[:20]}, which is too large.")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_INTEGER_DIGITS:
        raise ValueError(
            f"The request body holds a whole number of more than {MAX_JSON_INTEGER_DIGITS} digits."
        )
    return int(text)


def json_place(path: tuple) -> str:
    """``("messages", 0, "content")`` → ``messages[0].content``, printable whatever the keys."""
    place = ""
    for step in path:
        if isinstance(step, int):
            place += f"[{step}]"
        else:
            step = (
                step.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")
            )
            place += f".{step}" if place else step
    return place


def parse_json(data: bytes | str) -> Any:
    """A JSON document from a client, or ValueError with a sentence saying what is wrong.

    Beyond the grammar: no NaN or Infinity, numbers that fit in 64 bits, nesting at most
    MAX_JSON_DEPTH deep, and text (keys and values) that ``text_problem`` accepts; the
    sentence names the field, such as ``messages[0].content``."""
    try:
        value = json.loads(
            data,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except RecursionError:
        raise ValueError(
            f"The request body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep."
        ) from None
    except UnicodeDecodeError:
        raise ValueError(
            "The request body is not UTF-8 text; send JSON encoded as UTF-8."
        ) from None
    except json.JSONDecodeError as error:
        raise ValueError(
            f"The request body is not valid JSON ({error}); send a JSON object."
        ) from None
    check_json_value(value)
    return value


def check_json_value(value: Any) -> None:
    """Depth and text of a parsed JSON value, without recursion (see ``parse_json``)."""
    pending: list[tuple[Any, tuple]] = [(value, ())]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                where = f"The field {json_place(path)}" if path else "The request body"
                raise ValueError(f"{where} {problem}.")
            continue
        if isinstance(item, dict):
            children = item.items()
        elif isinstance(item, list):
            children = enumerate(item)
        else:
            continue
        if len(path) >= MAX_JSON_DEPTH:
            raise ValueError(
                f"The request body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep."
            )
        for key, child in children:
            if isinstance(key, str):
                problem = text_problem(key)
                if problem:
                    where = f"in {json_place(path)}" if path else "at the top level"
                    raise ValueError(f"A field name {where} {problem}.")
            pending.append((child, (*path, key)))
