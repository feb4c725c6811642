"""Error answers of the whole site: French pages in the site's layout, JSON for JSON clients,
and 503 instead of 500 when the database cannot be reached.

Every uncaught exception, wherever it is raised (a view, the page cache, the session or
authentication middleware of a staff request, the admin), ends in Django's `handler500`,
called while the exception is being handled. `server_error` therefore sees it and answers a
database outage with 503 and `Retry-After`. It logs that request once, as a warning without
traceback: during a 15 s outage under load, a traceback per request buried the log (more
than a thousand) while saying nothing the first line does not. Any other exception keeps
Django's error log with its traceback.

The pages render without the request's context processors and without a query, so that they
still render while the database is down.
"""

import logging
import sys

from django.core.exceptions import SuspiciousOperation
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.cache import add_never_cache_headers
from django.utils.log import log_response

# Seconds a client is asked to wait before trying again during a database outage.
RETRY_AFTER_SECONDS = 30

# Per status: page title, the sentence that the page leads with and JSON clients get as
# `message`, and what the visitor can do.
ERRORS = {
    400: (
        "Requête incorrecte",
        "La demande reçue par le catalogue est mal formée : elle n'a pas pu être traitée.",
        "Vérifiez l'adresse saisie, ou repartez de la page d'accueil.",
    ),
    403: (
        "Accès refusé",
        "Vous n'avez pas le droit d'accéder à cette page.",
        "Si vous faites partie de l'équipe du catalogue, connectez-vous avec un compte qui "
        "dispose de ce droit.",
    ),
    404: (
        "Page introuvable",
        "La page que vous cherchez est introuvable. Excusez-nous pour la gêne occasionnée.",
        "Si vous avez tapé l'adresse dans le navigateur, vérifiez qu'elle est correcte. "
        "La fiche a peut-être été retirée du catalogue.",
    ),
    500: (
        "Erreur inattendue",
        "Désolé, le service rencontre un problème. Nous travaillons à le résoudre le plus "
        "rapidement possible.",
        "Essayez de rafraîchir la page ou revenez un peu plus tard.",
    ),
    503: (
        "Service momentanément indisponible",
        "Le catalogue ne peut pas joindre sa base de données pour le moment : "
        "réessayez dans quelques instants.",
        "Le service reprend de lui-même dès que la base de données répond. Si vous "
        "enregistriez une modification, elle n'a pas été prise en compte : recommencez-la "
        "une fois le service rétabli.",
    ),
}

CSRF_ERROR = (
    "Formulaire expiré",
    "Le formulaire n'a pas pu être vérifié : la page est peut-être restée ouverte trop "
    "longtemps, ou votre navigateur bloque les cookies.",
    "Revenez à la page précédente, rechargez-la, puis envoyez de nouveau le formulaire. "
    "L'espace d'administration a besoin des cookies de ce site.",
)


class WithoutTraceback(logging.Filter):
    """Logs the record's message alone: for errors whose first line says everything."""

    def filter(self, record):
        record.exc_info = None
        record.exc_text = None
        return True


def wants_json(request) -> bool:
    """A JSON client: the API (`/api/`), `format=json`, or an Accept header naming JSON but not
    HTML."""
    if request.path.startswith("/api/"):
        return True
    try:
        if request.GET.get("format") == "json":
            return True
    except SuspiciousOperation:
        pass  # Too many parameters to parse: that is the 400 being answered; the header decides.
    types = {(t.main_type, t.sub_type) for t in request.accepted_types}
    return ("application", "json") in types and ("text", "html") not in types


def error_response(request, status: int, wording: tuple[str, str, str] | None = None):
    """The French page (or JSON) of an error status, rendered without any query."""
    title, message, help_text = wording or ERRORS[status]
    if wants_json(request):
        # With its charset, as the API's own answers: the message is French.
        return JsonResponse(
            {"error": {"status": status, "message": message}},
            status=status,
            content_type="application/json; charset=utf-8",
        )
    context = {"status": status, "title": title, "message": message, "help_text": help_text}
    if status == 503 and request.method == "GET":
        context["retry_url"] = request.get_full_path()
    # No request passed to the template: context processors may query (the user, messages).
    return HttpResponse(loader.render_to_string("error.html", context), status=status)


def bad_request(request, exception):
    return error_response(request, 400)


def permission_denied(request, exception):
    return error_response(request, 403)


def page_not_found(request, exception):
    return error_response(request, 404)


def csrf_failure(request, reason=""):
    return error_response(request, 403, CSRF_ERROR)


def is_database_outage(exception) -> bool:
    """The database cannot be reached or cannot serve now: connecting failed, the connection
    was lost, the server is shutting down or refused the work. Errors of the query itself
    (DataError, ProgrammingError, IntegrityError) are bugs and stay 500.
    """
    return isinstance(exception, OperationalError | InterfaceError)


def database_unavailable(request, exception):
    response = error_response(request, 503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    # One line, no traceback; marks the response as logged so that Django does not log it
    # again, with the traceback, when the exception reaches its handler.
    first_line = (str(exception).strip().splitlines() or [""])[0][:200]
    log_response(
        "Database unavailable, answered 503: %s %s (%s: %s)",
        request.method,
        request.path,
        type(exception).__name__,
        first_line,
        response=response,
        request=request,
        level="warning",
    )
    return response


def server_error(request):
    exception = sys.exc_info()[1]
    if is_database_outage(exception):
        return database_unavailable(request, exception)
    return error_response(request, 500)
