"""Names other people read (accounts, keys, groups) hold no character that hides or
reorders text.

A right-to-left override shows "Bob\\u202etxt.exe" as "Bobexe.txt"; zero-width and other
invisible format characters make two different names look the same, or a name look empty.
Such names are refused where they are stored, with a sentence naming the character, rather
than quietly changed. Two invisible joiners stay allowed where scripts and emoji need them:
between two characters that are not ASCII (never inside a Latin word).
"""

import unicodedata
from typing import Optional

from webui.errors import ServiceError

# Categories refused: control characters, invisible format characters (every bidirectional
# control is one: U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069) and line and
# paragraph separators.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
JOINERS = frozenset({"\u200c", "\u200d"})  # zero-width non-joiner, zero-width joiner
# Letters that show as nothing at all (the Hangul fillers): a name of them looks empty.
BLANK_LETTERS = frozenset({"\u115f", "\u1160", "\u3164", "\uffa0"})


def hidden_character(text: str) -> Optional[str]:
    """The first character of ``text`` that hides or reorders text, or None."""
    if text.isascii() and text.isprintable():
        return None  # the common case needs no closer look
    for at, char in enumerate(text):
        if char in JOINERS and _between_non_ascii(text, at):
            continue
        if char in BLANK_LETTERS or unicodedata.category(char) in REFUSED_CATEGORIES:
            return char
    return None


def _between_non_ascii(text: str, at: int) -> bool:
    return 0 < at < len(text) - 1 and not text[at - 1].isascii() and not text[at + 1].isascii()


def describe(char: str) -> str:
    """'U+202E (RIGHT-TO-LEFT OVERRIDE)'; control characters have no Unicode name."""
    name = unicodedata.name(char, "a control character")
    return f"U+{ord(char):04X} ({name})"


def refuse_hidden_characters(name: str, field: str) -> None:
    """ServiceError 400 naming ``field`` and the character when ``name`` holds one."""
    char = hidden_character(name)
    if char is not None:
        raise ServiceError(
            400,
            f"{field} holds the invisible character {describe(char)}, which can make a name "
            "look like another; remove it and try again.",
        )
