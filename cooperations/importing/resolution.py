"""Territory resolution: which territory a cell names, read without guessing.

`TerritoryIndex` holds every territory in memory and resolves codes and names step by step;
`teach_names` saves what staff chose, in the preview, for names it did not know.
"""

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import inventory
from ..inventory import ParseError, TerritoryRef
from ..models import Territory, TerritoryAlias
from ..text import fold

# Kinds whose official list is complete: a name missing from it is a typo, never a new territory.
NOT_CREATABLE_KINDS = {"METRO", "MET69", "COM", "DEP", "REG"}
# Intercommunal groupings: the only territories a name may designate by its core words alone.
GROUPING_KINDS = ("CC", "CA", "CU", "METRO", "MET69", "EPT")


@dataclass(frozen=True)
class NewTerritory:
    """A territory without official code that the file asks to create."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.name} ({Territory.Kind(self.kind).label}, à créer, sans code officiel)"


def _read_short_names(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8", newline="") as handle:
        return {row["nom_court"]: row["siren"] for row in csv.DictReader(handle)}


# The usual short names of the 22 métropoles (SIREN of the 2026 list), read only in the
# « Métropoles » column: there « Lille » can only mean the Métropole européenne de Lille, while
# among partners it is the commune. Folded spellings.
METROPOLE_SHORT_NAMES = _read_short_names(
    Path(settings.BASE_DIR) / "fixtures" / "metropoles-noms-courts.csv"
)


# --- Territory index -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _T:
    pk: int
    kind: str
    code: str
    name: str

    @property
    def kind_label(self) -> str:
        """The kind in words, as staff read it in the preview (« Communauté de communes »)."""
        return Territory.Kind(self.kind).label


@dataclass(frozen=True)
class Unresolved:
    """A territory name the file uses and the register does not know, with the closest
    territories for staff to choose from in the preview."""

    name: str
    kinds: tuple[str, ...]
    candidates: list[_T]
    # Several territories bear the name: staff pick one of them (all are candidates).
    ambiguous: bool = False


class TerritoryIndex:
    """Every territory in memory (two queries), so that 10,000 rows cost no query each.

    Resolution never guesses. A code designates its territory. A name is looked up in steps,
    each looser than the one before, and the first step that finds anything decides: one
    territory is the answer, several are an error listing them all, so a looser step never
    overrides a stricter one.

    1. an alias (editable table), then the exact name, after folding case, accents, hyphens,
       apostrophes and `&`;
    2. the loose key (`inventory.loose_key`): without kind prefix, articles nor « et »,
       « agglo » read as « agglomération » — « Quimper Bretagne Occidentale » finds
       « CA Quimper Bretagne Occidentale »; aliases are read the same way;
    3. only when the cell says it names a grouping (a prefix, or « agglomération »,
       « communauté », « métropole » in the name): the core key without those words, among
       groupings — « Agglomération de Lorient » finds « CA Lorient Agglomération »;
    4. an acronym: the one in brackets at the end of the cell (« … (CAPB) ») as an alias or
       as the register writes it (« CA Porte de l'Isère (CAPI) »), or a one-word cell that is
       such a register acronym.
    A kind given in brackets or by a prefix, and the column (métropoles only), narrow every
    step.
    """

    def __init__(self, territories: Iterable[tuple], aliases: Iterable[tuple[str, int]]):
        self.by_pk: dict[int, _T] = {}
        self.by_code: dict[str, list[_T]] = defaultdict(list)
        self.by_name: dict[str, list[_T]] = defaultdict(list)
        self.by_loose: dict[str, list[_T]] = defaultdict(list)
        self.by_core: dict[str, list[_T]] = defaultdict(list)
        self.acronyms: dict[str, list[_T]] = defaultdict(list)
        for pk, kind, code, name, search_name in territories:
            territory = _T(pk, kind, code, name)
            self.by_pk[pk] = territory
            if code:
                self.by_code[code.upper()].append(territory)
            folded = inventory.fold_name(name) if "&" in name else (search_name or fold(name))
            self.by_name[folded].append(territory)
            bare, acronym = inventory.split_acronym(name)
            if acronym:
                # « CA Porte de l'Isère (CAPI) »: the register's own acronym, and the name
                # without it, designate the territory too.
                self.acronyms[fold(acronym)].append(territory)
                folded = inventory.fold_name(bare)
                self.by_name[folded].append(territory)
            # Communes are written as they are named, except « St » for « Saint »: only those
            # get a loose key, which keeps the load of 35,000 communes cheap.
            if kind != "COM" or " saint" in f" {folded}":
                loose = inventory.loose_key(folded)
                if loose and loose != folded:
                    self.by_loose[loose].append(territory)
            if kind in GROUPING_KINDS:
                core = inventory.core_key(folded)
                if core:
                    self.by_core[core].append(territory)
        self.aliases: dict[str, _T] = {}
        self.loose_aliases: dict[str, list[_T]] = defaultdict(list)
        for search_alias, pk in aliases:
            territory = self.by_pk[pk]
            self.aliases[search_alias] = territory
            self.loose_aliases[inventory.loose_key(search_alias)].append(territory)
        self.created: dict[tuple[str, str], NewTerritory] = {}
        self.unresolved: dict[str, Unresolved] = {}  # folded cell → what staff may choose
        self._choices: dict[tuple, list[_T]] = {}
        self._choice_keys: dict[tuple, list[str]] = {}

    @classmethod
    def load(cls) -> "TerritoryIndex":
        """Two queries: all territories (values only) and all aliases."""
        rows = Territory.objects.values_list("pk", "kind", "code", "name", "search_name")
        aliases = TerritoryAlias.objects.values_list("search_alias", "territory_id")
        return cls(rows.iterator(chunk_size=5000), aliases)

    def resolve(self, ref: TerritoryRef, allowed_kinds: tuple[str, ...] = (), create=True):
        """The territory's pk or a NewTerritory; ParseError with a French message otherwise.
        With create=False, a territory the file would create counts as not found."""
        if ref.code:
            return self._by_code(ref, allowed_kinds)
        name, acronym = inventory.split_acronym(ref.name)
        folded = inventory.fold_name(name)
        if not folded:
            raise ParseError("Nom de territoire vide.")
        prefix_kinds, _ = inventory.split_kind_prefix(folded)
        kinds = (ref.kind,) if ref.kind else prefix_kinds
        if allowed_kinds:
            kinds = tuple(k for k in (kinds or allowed_kinds) if k in allowed_kinds)
            if not kinds:
                raise ParseError(self._not_allowed(ref.name, allowed_kinds))

        def keep(candidates, among=()):
            found = [t for t in candidates if (not kinds or t.kind in kinds)]
            return list(dict.fromkeys(t for t in found if not among or t.kind in among))

        full = inventory.fold_name(ref.name) if acronym else folded
        for key in (full, folded):
            alias = self.aliases.get(key)
            if alias is not None and (not kinds or alias.kind in kinds):
                return alias.pk
        if set(allowed_kinds) == set(Territory.METROPOLE_KINDS):
            short = [
                t
                for t in self.by_code.get(METROPOLE_SHORT_NAMES.get(folded, ""), [])
                if t.kind in allowed_kinds
            ]
            if len(short) == 1:
                return short[0].pk
        exact = keep(self.by_name.get(folded, []))
        if len(exact) == 1:  # most cells: no looser key is even computed
            return exact[0].pk
        steps = [lambda: exact, lambda: self._loose(folded, keep)]
        if inventory.names_a_grouping(folded):
            core = inventory.core_key(folded)
            if "metropole" in folded.split():
                # « Métropole de Montpellier », « Nice Métropole »: a métropole by the short
                # name of its city, since the cell says métropole.
                short = METROPOLE_SHORT_NAMES.get(core, "")
                steps.append(lambda: keep(self.by_code.get(short, []), Territory.METROPOLE_KINDS))
            steps.append(lambda: keep(self.by_core.get(core, []), GROUPING_KINDS))
        if acronym:
            steps.append(lambda: keep([t for t in [self.aliases.get(fold(acronym))] if t]))
            steps.append(lambda: keep(self.acronyms.get(fold(acronym), [])))
        elif " " not in folded:
            steps.append(lambda: keep(self.acronyms.get(folded, [])))
        for step in steps:
            candidates = step()
            if len(candidates) == 1:
                return candidates[0].pk
            if len(candidates) > 1:
                if create:  # the same picker as for an unknown name, with every bearer
                    self.unresolved.setdefault(
                        fold(ref.name),
                        Unresolved(ref.name.strip(), kinds or allowed_kinds,
                                   self._sorted(candidates)[:10], ambiguous=True),
                    )  # fmt: skip
                raise ParseError(self._ambiguous(ref.name, candidates))
        creatable = ref.kind or (
            prefix_kinds[0]
            if len(prefix_kinds) == 1 and prefix_kinds[0] in inventory.CREATED_BY_WORD
            else ""
        )
        if create and creatable and creatable not in NOT_CREATABLE_KINDS:
            if len(ref.name.strip()) > 200:
                raise ParseError("un nom de territoire compte 200 caractères au plus.")
            key = (creatable, folded)
            if key not in self.created:
                self.created[key] = NewTerritory(creatable, ref.name.strip())
            return self.created[key]
        message = self._unknown(ref.name, kinds, allowed_kinds)
        if create:  # the final reading of a cell, not a trial of comma-joined pieces
            candidates = self.closest(name, kinds or allowed_kinds)
            message += self._listed(candidates)
            self.unresolved.setdefault(
                fold(ref.name), Unresolved(ref.name.strip(), kinds or allowed_kinds, candidates)
            )
        raise ParseError(message)

    def _loose(self, folded: str, keep) -> list[_T]:
        loose = inventory.loose_key(folded)
        return keep(self.by_loose.get(loose, []) + self.by_name.get(loose, [])) or keep(
            self.loose_aliases.get(loose, [])
        )

    def closest(self, name: str, kinds: tuple[str, ...] = (), limit: int = 3) -> list[_T]:
        """Up to `limit` territories whose names look like `name`, best first, for staff to
        choose from; never used to resolve. Communes are only compared when the kinds allow
        them (35,000 names would cost more than a file's worth of suggestions)."""
        from rapidfuzz import fuzz, process

        with_communes = not kinds or "COM" in kinds
        key = (with_communes, tuple(kinds))
        if key not in self._choices:
            self._choices[key] = [
                t
                for t in self.by_pk.values()
                if (with_communes or t.kind != "COM") and (not kinds or t.kind in kinds)
            ]
            self._choice_keys[key] = [inventory.loose_key(fold(t.name)) for t in self._choices[key]]
        found = process.extract(
            inventory.loose_key(inventory.fold_name(name[:200])),  # a 20,000-character cell
            self._choice_keys[key],
            scorer=fuzz.token_sort_ratio,
            limit=limit,
            score_cutoff=75,
        )
        return [self._choices[key][position] for _text, _score, position in found]

    @staticmethod
    def _listed(candidates: list[_T]) -> str:
        if not candidates:
            return ""
        listed = " ; ".join(
            f"{t.name} ({Territory.Kind(t.kind).label}, {t.code or 'sans code'})"
            for t in candidates
        )
        return f" Territoires proches : {listed}."

    @staticmethod
    def _unknown(text: str, kinds: tuple[str, ...], allowed_kinds: tuple[str, ...]) -> str:
        shown = inventory.shorten(text)
        if set(allowed_kinds) == set(Territory.METROPOLE_KINDS):
            return (
                f"Métropole inconnue : « {shown} ». Indiquez son nom officiel ou son SIREN "
                "(voir le modèle), ou ajoutez un alias dans l'administration."
            )
        if kinds and set(kinds) <= set(Territory.METROPOLE_KINDS):
            return (
                f"Métropole inconnue : « {shown} ». Indiquez son SIREN entre crochets "
                f"(« {shown} [SIREN] ») ou ajoutez un alias dans l'administration."
            )
        if kinds and set(kinds) <= set(NOT_CREATABLE_KINDS):
            return (
                f"Territoire inconnu : « {shown} ». Indiquez son code officiel entre crochets "
                "(INSEE, par exemple [DEP:29] ou [COM:29019]) ou ajoutez un alias dans "
                "l'administration."
            )
        if kinds:
            kind = kinds[0]
            return (
                f"Territoire inconnu : « {shown} ». Indiquez son SIREN entre crochets "
                f"(« {shown} [SIREN] »), ajoutez un alias dans l'administration, ou, s'il n'a "
                f"pas de code officiel, écrivez « {shown} [{kind}] » pour le créer sans code."
            )
        return (
            f"Territoire inconnu : « {shown} ». Indiquez son code officiel (SIREN ou INSEE), "
            "ajoutez un alias dans l'administration, ou, pour un territoire sans code, précisez "
            f"sa nature au début du nom (PETR, Pôle métropolitain, Syndicat mixte, Parc naturel "
            f"régional…) ou entre crochets : « {shown} [PETR] »."
        )

    def _by_code(self, ref: TerritoryRef, allowed_kinds: tuple[str, ...]):
        candidates = self.by_code.get(ref.code.upper(), [])
        if ref.kind:
            candidates = [t for t in candidates if t.kind == ref.kind]
        if not candidates:
            raise ParseError(
                f"Aucun territoire n'a le code officiel « {inventory.shorten(ref.code)} »"
                + (f" parmi les {Territory.Kind(ref.kind).label.lower()}s" if ref.kind else "")
                + " dans la liste chargée."
            )
        if len(candidates) > 1 and ref.name:
            # « Bretagne (53) »: région 53, not the département 53 (Mayenne).
            named = [t for t in candidates if fold(t.name) == inventory.fold_name(ref.name)]
            candidates = named or candidates
        if len(candidates) > 1:
            raise ParseError(self._ambiguous(ref.code, candidates))
        territory = candidates[0]
        if allowed_kinds and territory.kind not in allowed_kinds:
            raise ParseError(self._not_allowed(territory.name, allowed_kinds))
        return territory.pk

    @staticmethod
    def _sorted(candidates: list[_T]) -> list[_T]:
        return sorted(candidates, key=lambda t: (t.name, t.kind, t.code))

    @classmethod
    def _ambiguous(cls, text: str, candidates: list[_T]) -> str:
        shown = cls._sorted(candidates)
        listed = " ; ".join(
            f"{t.name} ({Territory.Kind(t.kind).label}, {t.code or 'sans code'})"
            for t in shown[:10]
        )
        more = f" et {len(candidates) - 10} autres" if len(candidates) > 10 else ""
        # The notation that designates each of them, as the export writes it.
        examples = " ou ".join(
            f"« {inventory.format_territory_ref(t.name, t.kind, t.code)} »"
            for t in shown[:2]
            if t.code
        )
        advice = (
            f"Indiquez lequel avec son code entre crochets : {examples}."
            if examples
            else "Indiquez lequel par son code officiel entre crochets ou sa nature."
        )
        return (
            f"« {inventory.shorten(text)} » désigne plusieurs territoires : {listed}{more}. "
            + advice
        )

    @staticmethod
    def _not_allowed(text: str, allowed_kinds: tuple[str, ...]) -> str:
        if set(allowed_kinds) == set(Territory.METROPOLE_KINDS):
            return f"« {inventory.shorten(text)} » n'est pas une des 22 métropoles."
        return f"« {inventory.shorten(text)} » n'a pas la nature attendue."

    def label(self, handle) -> str:
        if isinstance(handle, NewTerritory):
            return str(handle)
        territory = self.by_pk[handle]
        return f"{territory.name} ({territory.code})" if territory.code else territory.name


# --- Teaching the import -------------------------------------------------------------------------


@dataclass(frozen=True)
class Taught:
    """What a staff member chose, in the preview, for a name the register does not know: one
    of the proposed territories, a territory by its official code, or a new territory without
    code of the given kind."""

    name: str
    territory_id: int | None = None
    code: str = ""
    kind: str = ""


@transaction.atomic
def teach_names(choices: list[Taught], user, file_name: str) -> tuple[int, list[str]]:
    """Save each choice as an alias (who, when, from which file): the number saved and the
    French errors. With any error nothing is saved. Two queries per choice at most."""
    errors: list[str] = []
    aliases: list[TerritoryAlias] = []
    now = timezone.now()
    for choice in choices:
        shown = inventory.shorten(choice.name)
        search_alias = fold(choice.name)
        if not search_alias or len(choice.name) > 200:
            errors.append(f"« {shown} » ne peut pas devenir un alias (vide ou trop long).")
            continue
        if search_alias in {alias.search_alias for alias in aliases} or (
            TerritoryAlias.objects.filter(search_alias=search_alias).exists()
        ):
            errors.append(f"« {shown} » est déjà un alias : modifiez-le dans l'administration.")
            continue
        territory = None
        if choice.territory_id is not None:
            territory = Territory.objects.filter(pk=choice.territory_id).first()
        elif choice.code:
            found = list(Territory.objects.filter(code=choice.code.strip().upper())[:2])
            if len(found) == 1:
                territory = found[0]
            else:
                errors.append(
                    f"« {inventory.shorten(choice.code)} » (pour « {shown} ») : "
                    + ("aucun territoire n'a ce code." if not found else "ce code est ambigu.")
                )
                continue
        elif choice.kind:
            if choice.kind in NOT_CREATABLE_KINDS or choice.kind not in Territory.Kind.values:
                errors.append(f"« {shown} » : cette nature a toujours un code officiel.")
                continue
            territory = Territory.objects.filter(
                kind=choice.kind, code="", search_name=search_alias
            ).first() or Territory.objects.create(
                kind=choice.kind, code="", name=choice.name.strip(), search_name=search_alias
            )
        if territory is None:
            errors.append(f"« {shown} » : territoire introuvable.")
            continue
        aliases.append(
            TerritoryAlias(
                alias=choice.name.strip(),
                search_alias=search_alias,
                territory=territory,
                created_by=user,
                created_at=now,
                source_file=file_name[:255],
            )
        )
    if errors:
        transaction.set_rollback(True)
        return 0, errors
    TerritoryAlias.objects.bulk_create(aliases)
    return len(aliases), []
