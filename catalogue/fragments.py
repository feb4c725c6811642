"""`{% cache key, ... %}…{% endcache %}`: a template fragment rendered once per process for
the same key, then reused.

Why: a list page repeats the same 20 result rows and the same facet options across thousands
of requests, and rendering them is most of the page's time. The fragment stays in its template
(a designer edits it as any other markup); only its output is kept, in this process's memory.

What the output depends on is in the key, so that nothing kept can be stale:
- the values written into the fragment (the caller passes them: a row's `RowData`, which holds
  every value the row shows, its heading level…);
- the request's script prefix, which every address in the fragment carries;
- the compiled code of the fragment itself: a template changed on disk (auto-reload), through
  an override or by a deploy is compiled again, and its new code makes new keys (code objects
  compare by their content: the same source compiles to an equal key, and the same output). A
  fragment must therefore not `include` another template, whose changes would not change the
  key.

The kept outputs are bounded in number and in characters (least recently used first out). They
are Jinja's own output of the fragment, escaped by the engine like the rest of the page.
"""

import threading
from collections import OrderedDict

from django.urls import get_script_prefix
from jinja2 import nodes
from jinja2.ext import Extension

# Fragments kept per process: a result row is about 1 kB of markup.
MAX_FRAGMENTS = 5_000
# And the characters they hold in all: a métropole's network is some 200,000, and each change
# of its partners makes a new one, which must push out old ones rather than add up.
MAX_FRAGMENT_CHARACTERS = 20_000_000


class FragmentCache(Extension):
    tags = {"cache"}

    def __init__(self, environment):
        super().__init__(environment)
        self._kept: OrderedDict = OrderedDict()
        self._characters = 0
        self._lock = threading.Lock()

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        key = parser.parse_tuple()
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", [key]), [], [], body).set_lineno(lineno)

    def _render(self, key, caller):
        # The macro's code object: it differs whenever the fragment's source does (see above).
        full_key = (caller._func.__code__, get_script_prefix(), key)
        with self._lock:
            output = self._kept.get(full_key)
            if output is not None:
                self._kept.move_to_end(full_key)
                return output
        output = caller()
        with self._lock:
            # Another thread may have rendered the same key meanwhile.
            self._characters += len(output) - len(self._kept.get(full_key, ""))
            self._kept[full_key] = output
            while len(self._kept) > MAX_FRAGMENTS or (
                self._characters > MAX_FRAGMENT_CHARACTERS and len(self._kept) > 1
            ):
                _key, dropped = self._kept.popitem(last=False)
                self._characters -= len(dropped)
        return output

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._characters = 0
