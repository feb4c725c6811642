#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

Production runs it as it is (`python manage.py …` with its environment); on a development
machine `python3 dev.py manage …` adds the development defaults.
"""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalogue.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        # Loaded here, not lazily: Django would otherwise show a traceback, or for `help` list
        # only its own commands, instead of the one line that says what to set.
        settings.INSTALLED_APPS  # noqa: B018
    except ImproperlyConfigured as error:
        sys.exit(f"Configuration invalide : {error}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
