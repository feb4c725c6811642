"""French-aware search over cooperations: the one seam where the two database engines differ.

Both engines search the same denormalised column, `Cooperation.search_text`: the accent-folded
text of the record (name, summary, description, notes), of its legal form and themes, and of the
names and official codes of the territories taking part. `refresh_search_text()` rebuilds it;
whatever writes participations, themes or names (admin, import) must call it afterwards.

- PostgreSQL: full-text search with the `french_unaccent` configuration (migration 0003): French
  stemming, stop words, accents removed, each word matched as a prefix, on `search_vector`, the
  stored tsvector that a trigger (migration 0005) derives from the name (weighted above the
  rest) and the search text; a GIN index serves the match and ranking reads the stored vector.
- SQLite (and any other engine): every significant word of the query, folded and crudely
  de-pluralised, must start a word of the search text; results with those words in the name
  rank first.
"""

import contextlib

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connections, transaction
from django.db.models import Case, F, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import StrIndex

from .text import fold

CONFIG = "french_unaccent"
NAME_END = "|"

# Words that carry no meaning in a query; PostgreSQL's French configuration drops the same ones.
_STOP_WORDS_TEXT = (
    "a au aux avec ce ces d dans de des du en et l la le les leur leurs ou par pour sa se "
    "ses son sur un une y"
)
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


def search_words(query: str) -> list[str]:
    """Folded significant words: « Contrats de réciprocité » → contrats, reciprocite."""
    return [word for word in fold(query).split() if word not in STOP_WORDS]


def _stem(word: str) -> str:
    """Crude French de-pluralisation and de-feminisation for the SQLite fallback only."""
    if len(word) > 4 and word.endswith("aux"):
        return word[:-2]
    for suffix in ("es", "s", "x", "e"):
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def document_for(cooperation) -> str:
    """The folded search text of one cooperation, from already-loaded relations (no query when
    `themes`, `participations__territory` and `legal_form` are prefetched/selected).
    """
    parts = [
        cooperation.summary,
        cooperation.description,
        cooperation.governance,
        cooperation.funding,
        cooperation.staffing,
    ]
    if cooperation.legal_form is not None:
        parts.append(cooperation.legal_form.label)
    parts.extend(theme.label for theme in cooperation.themes.all())
    for participation in cooperation.participations.all():
        parts.extend([participation.territory.name, participation.territory.code])
    # Leading and trailing spaces let the SQLite fallback match at the start of any word; the
    # name comes first, up to NAME_END, which folding can never produce, so that the fallback
    # can rank matches in the name first.
    return f" {fold(cooperation.name)} {NAME_END} {fold(' '.join(p for p in parts if p))} "


def refresh_search_text(cooperations: QuerySet | None = None, batch_size: int = 500) -> int:
    """Rebuild `search_text` of the given cooperations (all when None); returns how many.

    Costs 4 queries per batch of `batch_size` rows (rows, themes, participations, update).
    """
    from .models import Cooperation, Participation

    queryset = Cooperation.objects.all() if cooperations is None else cooperations
    queryset = (
        queryset.select_related("legal_form")
        .prefetch_related(
            "themes",
            Prefetch("participations", queryset=Participation.objects.select_related("territory")),
        )
        .order_by("pk")
    )
    changed = []
    total = 0
    for cooperation in queryset.iterator(chunk_size=batch_size):
        total += 1
        text = document_for(cooperation)
        if text != cooperation.search_text:
            cooperation.search_text = text
            changed.append(cooperation)
        if len(changed) >= batch_size:
            Cooperation.objects.bulk_update(changed, ["search_text"])
            changed = []
    if changed:
        Cooperation.objects.bulk_update(changed, ["search_text"])
    return total


@contextlib.contextmanager
def through_the_search_index(using: str):
    """Make PostgreSQL read the matches of an unordered search through the GIN index.

    Without an ORDER BY, the planner prefers walking the small partial index of published ids
    and testing every row's vector: at 100,000 cooperations that took 42 ms where the GIN
    index's bitmap scan takes 10 (30 with the ranks). Index scans are turned off for this one
    statement, inside its own transaction (or savepoint), then turned on again.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        yield
        # Inside an outer transaction SET LOCAL would last until its end; after an error the
        # savepoint's rollback undoes it.
        cursor.execute("SET LOCAL enable_indexscan = on")


def uses_postgres(queryset: QuerySet) -> bool:
    return connections[queryset.db].vendor == "postgresql"


def search(queryset: QuerySet, query: str) -> QuerySet:
    """Cooperations of `queryset` matching every significant word of `query`, annotated with
    `search_rank` (higher is better). No query of its own: it only adds WHERE and SELECT terms.
    A query made only of stop words returns the queryset unchanged (with a zero rank).
    """
    words = search_words(query)
    if not words:
        return queryset.annotate(search_rank=Value(0))
    if uses_postgres(queryset):
        # Folded words hold only [0-9a-z], so they are safe in to_tsquery syntax; the prefix
        # match (:*) behaves like the SQLite fallback: "mobil" or a code's first digits match.
        text = " & ".join(f"{word}:*" for word in words)
        ts_query = SearchQuery(text, config=CONFIG, search_type="raw")
        # The stored vector (name weighted A, search_text B; trigger of migration 0005) and its
        # GIN index: no to_tsvector() per row, neither to match nor to rank.
        return queryset.filter(search_vector=ts_query).annotate(
            search_rank=SearchRank(F("search_vector"), ts_query)
        )
    stems = [_stem(word) for word in words]
    for stem in stems:
        queryset = queryset.filter(search_text__contains=f" {stem}")
    queryset = queryset.annotate(_name_end=StrIndex("search_text", Value(NAME_END)))
    score = Value(0)
    for i, stem in enumerate(stems):
        position = f"_word_{i}"
        queryset = queryset.annotate(**{position: StrIndex("search_text", Value(f" {stem}"))})
        score = score + Case(
            When(Q(**{f"{position}__lt": F("_name_end")}), then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
    return queryset.annotate(search_rank=score)
