"""Template helpers that only read what the views already loaded (never a query)."""

from django import template

register = template.Library()


@register.filter
def by_role(participations, role):
    """Participations of one role, from the prefetched list (`...|by_role:"metropole"`)."""
    return [p for p in participations if p.role == role]


@register.filter
def role_label(value):
    from cooperations.models import Participation

    try:
        return Participation.Role(value).label
    except ValueError:
        return ""


@register.filter
def pluriel(count, suffix="s"):
    """French plural: « 0 coopération », « 1 coopération », « 2 coopérations »."""
    try:
        return suffix if abs(int(count)) > 1 else ""
    except (TypeError, ValueError):
        return ""


@register.filter
def date_fr(value, precision="day"):
    """A date in words at its precision (« 1er mars 2016 », « avril 2019 », « 2017 »): the one
    way pages write dates."""
    from cooperations.models import format_date_fr

    return format_date_fr(value, precision)


@register.filter
def source_label(url):
    """The host of a source address, for a link whose document has no known title."""
    from urllib.parse import urlsplit

    host = urlsplit(url or "").hostname or ""
    return host.removeprefix("www.")
