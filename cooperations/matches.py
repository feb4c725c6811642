"""Where a search matched: the extract a result row shows under its summary.

A row found by a search shows its name and summary with the query's words marked and, when
another field holds more of them than the summary shown, about twenty words of that field,
those words marked, and the field's name (« dans : Plus-value « Filières » »). The words are
matched as the search matches them (`search.query_terms`: the stems of the query and of its word
families, each the start of a stem of the text), so the extract shows why the record was found.

Only values leave this module: segments of plain text, each marked or not, that the row's
template (templates/jinja2/includes/result_row.html) writes, escaped like every other value.
The texts are read for the rows of one page (`page_matches`: three queries, whatever the page's
size) and only when the page searches.
"""

import re
from dataclasses import dataclass

from .models import Cooperation, CooperationFactor, CooperationPlusValue
from .search import STOP_WORDS, query_terms, stem
from .text import fold

EXTRACT_WORDS = 20
# Words shown before the first marked one, so that the reader sees what it is about.
WORDS_BEFORE = 6
# The record's own texts searched for an extract, in the order a tie between them is decided.
RECORD_FIELDS = (
    ("summary", "Résumé"),
    ("description", "Description"),
    ("governance", "Gouvernance"),
    ("funding", "Financements"),
    ("staffing", "Moyens humains"),
)
_WORD = re.compile(r"\w+")

# (text, marked): a piece of an extract or of a name.
Segments = tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class Match:
    """What a row shows of a search: its name and the summary it shows with the matched words
    marked (each None when they hold none), and an extract with its field (or none)."""

    name: Segments | None
    summary: Segments | None
    field: str
    extract: Segments


def _matched(word: str, prefixes: tuple[str, ...]) -> int | None:
    """The index of the query word whose stems start the stem of `word`, or None."""
    folded = fold(word).replace(" ", "")
    if not folded or folded in STOP_WORDS:
        return None
    word_stem = stem(folded)
    for term, alternatives in enumerate(prefixes):
        if any(word_stem.startswith(alternative) for alternative in alternatives):
            return term
    return None


def marked_words(text: str, terms: list[list[str]]) -> list[tuple[int, int, int]]:
    """(start, end, query word) of each word of `text` that a query word matches."""
    prefixes = tuple(tuple(alternatives) for alternatives in terms)
    found = []
    for word in _WORD.finditer(text):
        term = _matched(word.group(), prefixes)
        if term is not None:
            found.append((word.start(), word.end(), term))
    return found


def segments(text: str, marks: list[tuple[int, int, int]], start: int, end: int) -> Segments:
    """`text[start:end]` cut into plain and marked pieces; adjacent plain pieces joined."""
    pieces: list[tuple[str, bool]] = []
    position = start
    for mark_start, mark_end, _term in marks:
        if mark_start < start or mark_end > end:
            continue
        if mark_start > position:
            pieces.append((text[position:mark_start], False))
        pieces.append((text[mark_start:mark_end], True))
        position = mark_end
    if position < end:
        pieces.append((text[position:end], False))
    return tuple(pieces)


def extract(text: str, terms: list[list[str]]) -> tuple[int, Segments]:
    """How many distinct query words `text` holds, and about EXTRACT_WORDS of its words from
    a little before the first marked one, « … » where it is cut; (0, ()) when none matches."""
    marks = marked_words(text, terms)
    if not marks:
        return 0, ()
    words = list(_WORD.finditer(text))
    first = next(i for i, word in enumerate(words) if word.start() == marks[0][0])
    begin = max(0, min(first - WORDS_BEFORE, len(words) - EXTRACT_WORDS))
    stop = min(len(words), begin + EXTRACT_WORDS)
    start = 0 if begin == 0 else words[begin].start()
    # Up to the end of the text when it is shown to its last word (its final full stop).
    end = len(text) if stop == len(words) else words[stop - 1].end()
    pieces = segments(text, marks, start, end)
    if begin > 0:
        pieces = (("… ", False), *pieces)
    if stop < len(words):
        pieces = (*pieces, (" …", False))
    return len({term for _start, _end, term in marks}), pieces


def _marked(text: str, terms: list[list[str]]) -> tuple[int, Segments | None]:
    """How many distinct query words `text` holds, and the whole text cut into pieces."""
    marks = marked_words(text, terms)
    if not marks:
        return 0, None
    return len({term for _start, _end, term in marks}), segments(text, marks, 0, len(text))


def best_match(
    name: str, summary: str, fields: list[tuple[str, str]], terms: list[list[str]]
) -> Match | None:
    """The row's match: its name and `summary` (the part of the summary the row shows) marked,
    and the extract of the field (label, text) holding the most distinct query words (the first
    of them on a tie) when it holds more than the summary shown, which is not repeated; None
    when nothing is marked."""
    _count, marked_name = _marked(name, terms)
    best_count, marked_summary = _marked(summary, terms)
    best_field, best_extract = "", ()
    for label, text in fields:
        count, pieces = extract(text or "", terms)
        if count > best_count:
            best_count, best_field, best_extract = count, label, pieces
    if marked_name is None and marked_summary is None and not best_extract:
        return None
    return Match(name=marked_name, summary=marked_summary, field=best_field, extract=best_extract)


def page_matches(rows, query: str, families: dict) -> dict[int, Match]:
    """The match of each row of a page (`pk` and `name`) for `query` with the themes' word
    `families`, by pk: three queries (the records' texts, their factor and plus-value texts)."""
    terms = query_terms(query, families)
    ids = [row.pk for row in rows]
    if not terms or not ids:
        return {}
    fields: dict[int, list[tuple[str, str]]] = {pk: [] for pk in ids}
    names = [name for name, _label in RECORD_FIELDS]
    for pk, *texts in Cooperation.objects.filter(pk__in=ids).values_list("pk", *names):
        fields[pk].extend(
            (label, text) for (_name, label), text in zip(RECORD_FIELDS, texts, strict=True)
        )
    factors = (
        CooperationFactor.objects.filter(cooperation_id__in=ids)
        .exclude(text="")
        .order_by("factor__position")
        .values_list("cooperation_id", "factor__label", "text")
    )
    for pk, label, text in factors:
        fields[pk].append((f"Facteur « {label} »", text))
    plus_values = (
        CooperationPlusValue.objects.filter(cooperation_id__in=ids)
        .exclude(text="")
        .order_by("plus_value")
        .values_list("cooperation_id", "plus_value", "text")
    )
    labels = dict(CooperationPlusValue.PlusValue.choices)
    for pk, code, text in plus_values:
        fields[pk].append((f"Plus-value « {labels[code]} »", text))
    found = {}
    for row in rows:
        match = best_match(row.name, row.summary, fields[row.pk], terms)
        if match is not None:
            found[row.pk] = match
    return found
