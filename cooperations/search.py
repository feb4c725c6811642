"""French-aware search over cooperations: the one seam where the two database engines differ.

Both engines search the same denormalised column, `Cooperation.search_text`: the accent-folded
text of the record (name, summary, description, notes), of its legal form and themes, and of the
names and official codes of the territories taking part. `derived.refresh_derived_text()`
rebuilds it; whatever writes participations, themes or names (admin, import) must call it
afterwards.

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
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
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


# --- SQLite's full-text index --------------------------------------------------------------------
#
# An external-content FTS5 table over `search_text`, kept by three triggers, so that every writer
# (admin, import, refresh_derived_text, raw SQL) stays consistent without knowing about it:
# without it each search read the search text of every published row (65 ms at 100,000
# cooperations, over twice PostgreSQL's time). Its unicode61 tokenizer splits words where the
# folded search text does (only [0-9a-z], spaces and the name's end mark), so the prefix query
# `"mot"*` keeps exactly the rows where « mot » starts a word: the fallback's own rule. It is
# (re)made after every migrate rather than by a migration, because Django rebuilds an SQLite
# table to alter it, which drops the table's triggers.

SQLITE_INDEX = "cooperations_search_fts"
_SQLITE_TRIGGERS = {
    "cooperations_search_fts_insert": (
        "AFTER INSERT ON cooperations_cooperation BEGIN "
        "INSERT INTO cooperations_search_fts(rowid, search_text) "
        "VALUES (new.id, new.search_text); END"
    ),
    "cooperations_search_fts_delete": (
        "AFTER DELETE ON cooperations_cooperation BEGIN "
        "INSERT INTO cooperations_search_fts(cooperations_search_fts, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); END"
    ),
    "cooperations_search_fts_update": (
        "AFTER UPDATE OF search_text ON cooperations_cooperation BEGIN "
        "INSERT INTO cooperations_search_fts(cooperations_search_fts, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); "
        "INSERT INTO cooperations_search_fts(rowid, search_text) "
        "VALUES (new.id, new.search_text); END"
    ),
}
# Connection alias → whether its database holds the index (read once per process).
_sqlite_index_ready: dict[str, bool] = {}


def _sqlite_index_parts(cursor) -> set[str]:
    names = [SQLITE_INDEX, *_SQLITE_TRIGGERS]
    placeholders = ", ".join("%s" for _ in names)
    cursor.execute(f"SELECT name FROM sqlite_master WHERE name IN ({placeholders})", names)  # noqa: S608
    return {name for (name,) in cursor.fetchall()}


def ensure_sqlite_index(using: str = "default") -> bool:
    """Create SQLite's full-text index and its triggers where any part is missing, and fill it;
    returns whether the database has it (never on PostgreSQL, nor on an SQLite built without
    FTS5, where the search reads the column instead)."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    if "cooperations_cooperation" not in connection.introspection.table_names():
        return False  # migrated back to before the table existed
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')")
        if not cursor.fetchone()[0]:
            _sqlite_index_ready[using] = False
            return False
        if _sqlite_index_parts(cursor) != {SQLITE_INDEX, *_SQLITE_TRIGGERS}:
            with transaction.atomic(using=using):
                for trigger in _SQLITE_TRIGGERS:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
                cursor.execute("DROP TABLE IF EXISTS cooperations_search_fts")
                cursor.execute(
                    "CREATE VIRTUAL TABLE cooperations_search_fts USING fts5(search_text, "
                    "content='cooperations_cooperation', content_rowid='id', "
                    "tokenize='unicode61 remove_diacritics 0')"
                )
                for trigger, body in _SQLITE_TRIGGERS.items():
                    cursor.execute(f"CREATE TRIGGER {trigger} {body}")
                cursor.execute(
                    "INSERT INTO cooperations_search_fts(cooperations_search_fts) "
                    "VALUES ('rebuild')"
                )
    _sqlite_index_ready[using] = True
    return True


def _has_sqlite_index(using: str) -> bool:
    if using not in _sqlite_index_ready:
        with connections[using].cursor() as cursor:
            _sqlite_index_ready[using] = SQLITE_INDEX in _sqlite_index_parts(cursor)
    return _sqlite_index_ready[using]


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
    if _has_sqlite_index(queryset.db):
        # Stems hold only [0-9a-z]: safe between the quotes of an FTS5 phrase.
        match = " AND ".join(f'"{stem}"*' for stem in stems)
        found = RawSQL(  # noqa: S611 — a constant statement; the words are its parameter
            "SELECT rowid FROM cooperations_search_fts WHERE cooperations_search_fts MATCH %s",
            [match],
        )
        queryset = queryset.filter(pk__in=found)
    else:
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
