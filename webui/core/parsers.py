"""Strict parsers for every value that comes from outside: the environment, forms,
query strings and JSON bodies. Each raises ``ValueError`` with a sentence a person can
act on; callers add the name of the field.

Only ASCII digits are numbers: ``"²"``, ``"１２"`` and ``"٣"`` pass ``str.isdigit`` and
``int()`` but are not what anyone typed on purpose, so they are refused.
"""

from collections.abc import Callable
from typing import Any, Optional

from webui.errors import ServiceError

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
MAX_DIGITS = 18  # more than any limit here needs; keeps int() of a huge string off the CPU


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


def split_endpoints(value: Any) -> list[str]:
    """Allowlist entries (paths), from a comma-separated string or a list of strings."""
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = value
    else:
        raise ValueError("must be a comma-separated list of paths")
    entries: list[str] = []
    for raw in items:
        entry = raw.strip()
        if not entry:
            continue
        if not entry.startswith("/"):
            raise ValueError(f"'{entry}' must start with /")
        for bad, why in (("?", "a query string"), ("#", "a fragment"), ("*", "a wildcard")):
            if bad in entry:
                raise ValueError(f"'{entry}' must not contain {why} ({bad})")
        if any(ch.isspace() or ord(ch) < 32 for ch in entry):
            raise ValueError(f"'{entry}' must not contain spaces or control characters")
        if entry not in entries:
            entries.append(entry)
    return entries


def parse_endpoints(value: Any) -> str:
    """Allowlist entries as the one comma-separated string a setting stores."""
    return ",".join(split_endpoints(value))


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
