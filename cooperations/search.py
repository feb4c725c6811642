"""French-aware search over cooperations: the one seam where the two database engines differ.

Both engines search the same denormalised column, `Cooperation.search_text`: the French stems
(Snowball, applied here in Python to the accent-folded words) of everything a record page shows,
in three sections — the name, then the summary, legal form and themes, then the other texts
(description, notes, factor and plus-value illustrations, sources, territories' names, usual
names and codes). The query's words get the same stems, so that the two engines agree: each
query stem, or one of its word family's (`Theme.word_families`), must start a stem of the text.
`derived.refresh_derived_text()` rebuilds the column; whatever writes participations, themes or
names (admin, import) must call it afterwards; a change of its format bumps FORMAT_VERSION.

- PostgreSQL: `search_vector`, a tsvector of the three sections weighted A, B and C with the
  `simple` configuration (no stemming of its own: the text is already stems), kept by a trigger
  (migrations 0005, 0018); a GIN index serves the match (`stem:*`).
- SQLite: an FTS5 index over the column (below) serves the match (`"stem"*`).

On both, results rank by the section where each word first occurs (name, then summary and
themes, then the rest), the rule the public lists' in-process search (`stem_index`) follows.
"""

import functools
import re

import snowballstemmer
from django.contrib.postgres.search import SearchQuery
from django.db import connections, transaction
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Greatest, StrIndex

from .text import fold

# Bumped whenever document_for's output changes: the stored texts are then rewritten after the
# next `migrate` (derived.fill_missing_derived_text).
FORMAT_VERSION = 2
CONFIG = "simple"
# Section ends; folding never produces them and both engines' tokenizers skip them.
NAME_END = "|"
MAIN_END = "#"

# Words that carry no meaning in a query; dropped from the texts too.
_STOP_WORDS_TEXT = (
    "a au aux avec ce ces d dans de des du en et l la le les leur leurs ou par pour sa se "
    "ses son sur un une y"
)
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

_stemmer = snowballstemmer.stemmer("french")
# Snowball's French rules read the accents that folding removed: put back the few whose loss
# changes a stem (« mobilite » would keep its « it », « filiere » its « er »), so that a word
# typed with or without accents gets the same stem.
_REACCENT = [
    (re.compile(r"ite(s?)$"), r"ité\1"),
    (re.compile(r"ee(s?)$"), r"ée\1"),
    (re.compile(r"iere(s?)$"), r"ière\1"),
]


def search_words(query: str) -> list[str]:
    """Folded significant words: « Contrats de réciprocité » → contrats, reciprocite."""
    return [word for word in fold(query).split() if word not in STOP_WORDS]


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The French stem of one folded word, in [0-9a-z]: « mobilites » → « mobil »."""
    for pattern, replacement in _REACCENT:
        if pattern.search(word):
            word = pattern.sub(replacement, word)
            break
    return fold(_stemmer.stemWord(word)) or word


def stems(text: str) -> str:
    """The stems of the significant words of `text`, space-separated."""
    return " ".join(stem(word) for word in search_words(text))


def word_families(texts) -> dict[str, frozenset[str]]:
    """Stem → the stems of its families, from texts of one family per line."""
    families: dict[str, frozenset[str]] = {}
    for text in texts:
        for line in text.splitlines():
            family = frozenset(stem(word) for word in search_words(line))
            for member in family:
                families[member] = families.get(member, frozenset()) | family
    return families


def _families() -> dict[str, frozenset[str]]:
    """The themes' word families: one query (16 short rows)."""
    from .models import Theme

    return word_families(
        Theme.objects.exclude(word_families="").values_list("word_families", flat=True)
    )


_kept_families: dict[str, object] = {"version": None, "families": {}}


def families_for(version: str) -> dict[str, frozenset[str]]:
    """The themes' word families, read once per catalogue version (an edit of a theme's
    families in the admin moves the version): a searching list page's search and its extracts
    share them."""
    if _kept_families["version"] != version:
        _kept_families["families"] = _families()
        _kept_families["version"] = version
    return _kept_families["families"]


def forget_families() -> None:
    _kept_families["version"] = None


def query_terms(query: str, families: dict | None = None) -> list[list[str]]:
    """For each significant word of the query, the stems any of which it matches (its own
    first), without duplicates: « alimentaire » → [alimentair, aliment, agroalimentair]."""
    families = _families() if families is None else families
    terms = []
    for word in search_words(query):
        own = stem(word)
        alternatives = [own, *sorted(families.get(own, frozenset()) - {own})]
        if alternatives not in terms:
            terms.append(alternatives)
    return terms


def document_for(cooperation) -> str:
    """The search text of one cooperation, from already-loaded relations (no query when
    `themes`, `sources`, `participations__territory__aliases`, `factor_links__factor`,
    `plus_value_links` and `legal_form` are prefetched/selected).
    """
    main = [cooperation.summary]
    if cooperation.legal_form is not None:
        main.append(cooperation.legal_form.label)
    main.extend(theme.label for theme in cooperation.themes.all())
    other = [cooperation.description, cooperation.governance, cooperation.funding]
    other.append(cooperation.staffing)
    for link in cooperation.factor_links.all():
        other.extend([link.factor.label, link.text])
    for link in cooperation.plus_value_links.all():
        other.extend([link.get_plus_value_display(), link.text])
    for source in cooperation.sources.all():
        other.extend([source.title, source.publisher])
    for participation in cooperation.participations.all():
        territory = participation.territory
        other.extend([territory.name, territory.code])
        other.extend(alias.alias for alias in territory.aliases.all())
    # Leading and trailing spaces let the search without FTS5 match at the start of any word.
    sections = [stems(cooperation.name), stems(" ".join(main)), stems(" ".join(other))]
    return f" {sections[0]} {NAME_END} {sections[1]} {MAIN_END} {sections[2]} "


def sections(search_text: str) -> tuple[list[str], list[str], list[str]]:
    """The stems of the three sections of a text written by `document_for` (the name, the
    summary, legal form and themes, the other texts); empty sections for an empty text."""
    name, _, rest = search_text.partition(NAME_END)
    main, _, other = rest.partition(MAIN_END)
    return name.split(), main.split(), other.split()


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


def search(queryset: QuerySet, query: str, families: dict | None = None) -> QuerySet:
    """Cooperations of `queryset` matching every significant word of `query` (or one of its
    family's), annotated with `search_rank` (higher is better). One query for the word
    families (none when given); otherwise it only adds WHERE and SELECT terms. A query with no
    significant word matches nothing.
    """
    terms = query_terms(query, families)
    if not terms:
        return queryset.none().annotate(search_rank=Value(0))
    if uses_postgres(queryset):
        # Stems hold only [0-9a-z], so they are safe in to_tsquery syntax; `:*` matches them as
        # prefixes, like FTS5's `*` below.
        text = " & ".join(
            "(" + " | ".join(f"{alternative}:*" for alternative in alternatives) + ")"
            for alternatives in terms
        )
        queryset = queryset.filter(
            search_vector=SearchQuery(text, config=CONFIG, search_type="raw")
        )
    elif _has_sqlite_index(queryset.db):
        # Stems hold only [0-9a-z]: safe between the quotes of an FTS5 phrase.
        match = " AND ".join(
            "(" + " OR ".join(f'"{alternative}"*' for alternative in alternatives) + ")"
            for alternatives in terms
        )
        found = RawSQL(  # noqa: S611 — a constant statement; the words are its parameter
            "SELECT rowid FROM cooperations_search_fts WHERE cooperations_search_fts MATCH %s",
            [match],
        )
        queryset = queryset.filter(pk__in=found)
    else:
        for alternatives in terms:
            condition = Q()
            for alternative in alternatives:
                condition |= Q(search_text__contains=f" {alternative}")
            queryset = queryset.filter(condition)
    queryset = queryset.annotate(
        _name_end=StrIndex("search_text", Value(NAME_END)),
        _main_end=StrIndex("search_text", Value(MAIN_END)),
    )
    score = Value(0)
    for i, alternatives in enumerate(terms):
        sections = []
        for j, alternative in enumerate(alternatives):
            position = f"_word_{i}_{j}"
            queryset = queryset.annotate(
                **{position: StrIndex("search_text", Value(f" {alternative}"))}
            )
            sections.append(
                Case(
                    When(Q(**{f"{position}__gt": 0, f"{position}__lt": F("_name_end")}), then=2),
                    When(Q(**{f"{position}__gt": 0, f"{position}__lt": F("_main_end")}), then=1),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            )
        score = score + (Greatest(*sections) if len(sections) > 1 else sections[0])
    return queryset.annotate(search_rank=score)


# --- Suggestions for typos -----------------------------------------------------------------------
#
# Engine-independent: the words a visitor can read on the published records (names, summaries,
# themes, factor and plus-value texts), in their usual spelling, kept per process for one
# catalogue version and read only when a search finds nothing.

_vocabulary: dict[str, object] = {"version": None, "words": {}}
_WORD = re.compile(r"[^\W\d_]{3,}")


def _read_vocabulary() -> dict[str, str]:
    """Folded word → its most frequent spelling: 3 queries, over every published record."""
    from collections import Counter

    from .models import Cooperation, CooperationFactor, CooperationPlusValue, Theme

    published = Cooperation.objects.published()
    texts = [
        *published.values_list("name", "summary"),
        *CooperationFactor.objects.filter(cooperation__in=published).values_list("text"),
        *CooperationPlusValue.objects.filter(cooperation__in=published).values_list("text"),
        *Theme.objects.values_list("label"),
    ]
    spellings = Counter(
        word.lower() for row in texts for text in row for word in _WORD.findall(text or "")
    )
    words: dict[str, str] = {}
    for spelling, _count in spellings.most_common():
        words.setdefault(fold(spelling), spelling)
    return words


def vocabulary(version: str) -> dict[str, str]:
    if _vocabulary["version"] != version:
        _vocabulary["words"] = _read_vocabulary()
        _vocabulary["version"] = version
    return _vocabulary["words"]


def suggestion(query: str, words: dict[str, str]) -> str:
    """The query with each significant word that starts no word of `words` replaced by the
    closest one (« mobilte » → « mobilité »); "" when no word is unknown or none is close."""
    from rapidfuzz import fuzz, process

    stems_known = {stem(word) for word in words}
    changed = False
    corrected = []
    for word in query.split():
        folded = fold(word)
        significant = folded and folded not in STOP_WORDS and " " not in folded
        if significant and not any(known.startswith(stem(folded)) for known in stems_known):
            best = process.extractOne(folded, list(words), scorer=fuzz.ratio, score_cutoff=75)
            if best is not None:
                corrected.append(words[best[0]])
                changed = True
                continue
        corrected.append(word)
    return " ".join(corrected) if changed else ""
