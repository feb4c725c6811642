"""French typography for the public pages: no-break spaces inside « » and before : ; ! ?

Why at template load: the pages' wording lives in the templates, typed with ordinary spaces
(readable in an editor, easy to review); a line must never break between a word and its
colon or closing guillemet. The Jinja extension rewrites the templates' own text once, when a
template is compiled, so that no page pays for it; values from the database go through the
`typo` filter where a page shows free text typed by staff.
"""

import re

from jinja2.ext import Extension

NBSP = "\u00a0"
# A space after an opening guillemet or before a closing one or a high punctuation mark; the
# mark must not be glued to the next character of a word ("?q=" in an address has no space).
_AFTER_OPENING = re.compile(r"« +")
_BEFORE_CLOSING = re.compile(r" +([»:;!?])")
# Jinja's own tags, comments and expressions: their strings and code are left as they are.
_JINJA = re.compile(r"({{.*?}}|{%.*?%}|{#.*?#})", re.DOTALL)


def french_spacing(text: str) -> str:
    """`text` with the spaces inside « » and before : ; ! ? made non-breaking."""
    text = _AFTER_OPENING.sub("«" + NBSP, text)
    return _BEFORE_CLOSING.sub(NBSP + r"\1", text)


class FrenchSpacing(Extension):
    """Applies `french_spacing` to the text of every template, outside Jinja's tags."""

    def preprocess(self, source, name, filename=None):
        parts = _JINJA.split(source)
        # split() with one group: text at even indexes, Jinja tags at odd ones.
        return "".join(
            part if index % 2 else french_spacing(part) for index, part in enumerate(parts)
        )
