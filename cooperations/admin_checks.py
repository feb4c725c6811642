"""What the admin checks of its input before Django's own code queries with it.

Django's change list runs an action on `queryset.filter(pk__in=<the ticked ids>)` as they were
posted: an id that is not a number (`abc`, a NUL) raised ValueError there, a 500. Staff never
send one from the page, but a stale or crafted form does, and the answer should say so.
"""

from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect


class ValidSelectionMixin:
    def response_action(self, request, queryset):
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                self.model._meta.pk.to_python(value)
        except ValidationError:
            self.message_user(
                request,
                "La sélection envoyée n'est pas valide (identifiant inconnu) : aucune action "
                "n'a été effectuée. Rechargez la liste et cochez de nouveau les lignes.",
                messages.WARNING,
            )
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)
