"""The Jinja2 environment of the public pages (the admin keeps Django's templates).

Why Jinja2: the public lists render some 250 facet options and 20 result rows per page, and
Django's engine took three times as long as Jinja2 for the same markup. Autoescaping is on for
every template (Django's backend turns it on), so every value a page shows is escaped by the
engine; helpers below return plain text or numbers, never markup.

Addresses come from `url()` and `static()`, kept per process and per script prefix (see
`paths.py`), so that a site mounted under a prefix gets it on every link and asset.
"""

import functools

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix
from django.utils.text import Truncator
from dsfr.checksums import (
    INTEGRITY_CSS,
    INTEGRITY_JS_MODULE,
    INTEGRITY_JS_NOMODULE,
    INTEGRITY_UTILITY_CSS,
)
from dsfr.constants import DsfrStaticAssets
from jinja2 import Environment

from cooperations.articles import of_name
from cooperations.models import Participation, Territory, format_date_fr
from cooperations.paths import fixed_path, source_label

from .fragments import FragmentCache
from .typography import FrenchSpacing, french_spacing


def url(name: str, *args) -> str:
    """The address of URL pattern `name` with `args`, under the request's script prefix."""
    return fixed_path(name, *args)


def static(path: str) -> str:
    """The address of a static file (its hashed name once collected) under the request's
    script prefix, kept per storage and prefix."""
    return _static(path, storages["staticfiles"], get_script_prefix())


@functools.lru_cache(maxsize=1024)
def _static(path: str, storage, prefix: str) -> str:
    # Django adds the script prefix to a relative STATIC_URL once, with the prefix of the first
    # request that reads it, and its storage keeps that address: the file's own part of the
    # address is taken from the storage and the prefix of this request put in front.
    address = storage.url(path)
    configured = getattr(settings._wrapped, "STATIC_URL", None) or ""
    if configured.startswith(("/", "http://", "https://")) or not address.startswith(
        storage.base_url or "/"
    ):
        return address
    return prefix + configured + address[len(storage.base_url) :]


def dsfr_assets() -> dict:
    """django-dsfr's stylesheets and scripts with their integrity checksums (its own tags are
    Django templates; the base template writes the same links)."""
    return _dsfr_assets(getattr(settings, "DSFR_USE_INTEGRITY_CHECKSUMS", True) is not False)


@functools.cache
def _dsfr_assets(checksums: bool) -> dict:
    assets = DsfrStaticAssets
    return {
        "css": [
            (assets.DSFR_CSS, checksums and INTEGRITY_CSS),
            (assets.DSFR_UTILITY_CSS, checksums and INTEGRITY_UTILITY_CSS),
            (assets.DSFR_OVERRIDES_CSS, None),
        ],
        "module": (assets.DSFR_MODULE_JS, checksums and INTEGRITY_JS_MODULE),
        "nomodule": (assets.DSFR_NOMODULE_JS, checksums and INTEGRITY_JS_NOMODULE),
    }


@receiver(setting_changed)
def _forget_settings_derived(setting, **kwargs) -> None:
    if setting in ("STATIC_URL", "STORAGES", "STATIC_ROOT", "DSFR_USE_INTEGRITY_CHECKSUMS"):
        _static.cache_clear()


def pluriel(count, suffix: str = "s") -> str:
    """French plural: « 0 coopération », « 1 coopération », « 2 coopérations »."""
    try:
        return suffix if abs(int(count)) > 1 else ""
    except (TypeError, ValueError):
        return ""


def role_label(value) -> str:
    try:
        return Participation.Role(value).label
    except ValueError:
        return ""


def kind_label(value) -> str:
    try:
        return Territory.Kind(value).label
    except ValueError:
        return ""


def of_territory(territory) -> str:
    """« de » and the territory's name with its article: « du Finistère », « d'Angers »."""
    return of_name(territory.kind, territory.code, territory.name)


def truncatewords(value, count: int) -> str:
    return Truncator(value or "").words(count)


def paragraphs(text: str) -> list[list[str]]:
    """A text's paragraphs (split on blank lines), each as its lines: what Django's
    `linebreaks` turns into paragraphs and line breaks, left for the template to write."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return []
    return [block.split("\n") for block in text.split("\n\n") if block.strip()]


def environment(**options) -> Environment:
    options.setdefault("extensions", []).extend([FrenchSpacing, FragmentCache])
    env = Environment(**options)  # noqa: S701 — Django's backend turns autoescape on.
    env.globals.update(
        url=url,
        static=static,
        dsfr_assets=dsfr_assets,
    )
    env.filters.update(
        pluriel=pluriel,
        date_fr=format_date_fr,
        role_label=role_label,
        kind_label=kind_label,
        source_label=source_label,
        truncatewords=truncatewords,
        paragraphs=paragraphs,
        typo=french_spacing,
        de_nom=of_territory,
    )
    return env
