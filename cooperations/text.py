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


# Letters that decomposition leaves whole (Django's slugify drops them: « Cœur » → « cur »), and
# the dashes that join words without spaces (« Nantes—Saint-Nazaire »): spelled as fold spells
# them before a slug is made.
_SPELLED_LETTERS = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"})
_DASHES = re.compile("[\u2010-\u2015\u2212]")
_NOT_SLUG = re.compile(r"[^\w\s-]")
_SLUG_SEPARATORS = re.compile(r"[-\s]+")
SLUG_LENGTH = 200


def slug(value: str) -> str:
    """The address identifier the catalogue makes from a name: Django's slugify rules (so that
    the addresses made before stay as they were: apostrophes dropped, « d'Iroise » → « diroise »)
    after fold's letters and dashes, at most SLUG_LENGTH characters:
    « Cœur et Coteaux » → « coeur-et-coteaux »."""
    value = _DASHES.sub("-", (value or "").translate(_SPELLED_LETTERS))
    ascii_only = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    joined = _SLUG_SEPARATORS.sub("-", _NOT_SLUG.sub("", ascii_only.lower()))
    return joined.strip("-_")[:SLUG_LENGTH].strip("-")


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def shown(raw: str, limit: int) -> str:
    """A visitor's raw value as a notice quotes it: cut short, control characters replaced."""
    return _CONTROL_CHARACTERS.sub("\ufffd", raw[:limit])
