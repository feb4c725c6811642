"""The links of a list page that change one parameter of its address: sorts, exports, pages.

Why not Django's `{% querystring %}`: the public pages are Jinja2 templates, and a list page
writes fifteen to twenty such links, each of which the tag would copy and encode the whole
query string for. The addresses are the ones the tag writes (same parameter order, same
encoding); tests/test_list_links.py compares them. They are plain text: the template engine
escapes them where they are written.
"""

from urllib.parse import urlencode


class QueryLinks:
    """`links(page=2)` is `{% querystring page=2 %}` for the query string given once."""

    def __init__(self, query_dict):
        # Each parameter encoded once per page, in the query string's order.
        self.pairs = [
            (key, urlencode([(key, value)]))
            for key, values in query_dict.lists()
            for value in values
        ]

    def __call__(self, **changes) -> str:
        """The query string with `changes` (None removes a parameter)."""
        parts, changed = [], set()
        for key, encoded in self.pairs:
            if key not in changes:
                parts.append(encoded)
            elif key not in changed:
                # As QueryDict: a changed parameter keeps the place of its first value.
                changed.add(key)
                if changes[key] is not None:
                    parts.append(urlencode([(key, changes[key])]))
        parts += [
            urlencode([(key, value)])
            for key, value in changes.items()
            if key not in changed and value is not None
        ]
        if not parts and not self.pairs:
            return ""
        return "?" + "&".join(parts)
