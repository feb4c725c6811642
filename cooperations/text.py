"""Pure text helpers shared by matching, search and import: no Django, no database."""

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(value: str) -> str:
    """Lower-case, strip accents and turn every run of punctuation (hyphens, apostrophes,
    dashes, spaces) into one space, so that « Saint-Étienne » and "saint etienne" compare equal.
    """
    decomposed = unicodedata.normalize("NFKD", value or "")
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    ascii_only = ascii_only.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae")
    return _NON_ALNUM.sub(" ", ascii_only.lower()).strip()


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def shown(raw: str, limit: int) -> str:
    """A visitor's raw value as a notice quotes it: cut short, control characters replaced."""
    return _CONTROL_CHARACTERS.sub("\ufffd", raw[:limit])
