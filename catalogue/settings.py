"""Settings for the catalogue, all read from the environment (see .env.example).

Every helper fails loudly: a typo in a variable must stop the start-up, not silently fall back
to an insecure or surprising default.
"""

import datetime
import ipaddress
import math
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from catalogue.compression import add_static_headers

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on", "oui"}
_FALSE = {"0", "false", "no", "off", "non", ""}


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} doit valoir 1/0, true/false, yes/no ou on/off, pas {raw!r}."
    )


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} doit être un nombre entier, pas {raw!r}.") from None


def env_seconds(name: str) -> float | None:
    """A positive duration in seconds (0.5, 2); unset or empty means none."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 86400:
        raise ImproperlyConfigured(
            f"{name} doit être une durée positive en secondes (1.5, 2), pas {raw!r}."
        )
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated IP addresses or networks (10.0.0.0/8); a typo stops the start-up."""
    networks = []
    for item in env_list(name, []):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} doit lister des adresses IP ou des réseaux (10.0.0.0/8), pas {item!r}."
            ) from None
    return networks


def database_config(url: str | None) -> dict:
    """Parse DATABASE_URL; unset means the embedded SQLite file, anything malformed is an error."""
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
            # Serialised writes without "database is locked" errors under the dev server.
            # WAL: readers never wait for the writer. In the default rollback journal a large
            # write (an import) locks readers out until it commits, as soon as it no longer
            # fits in SQLite's page cache: every page, the import's progress page included.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL",
            },
        }
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL doit commencer par postgres:// ou sqlite://, pas {url!r}."
        )
    try:
        # Health checks: a persistent connection that died (database restarted) is replaced at
        # the next request instead of failing it.
        config = dj_database_url.parse(
            url, conn_max_age=env_int("CONN_MAX_AGE", 60), conn_health_checks=True
        )
    except (ValueError, dj_database_url.UnknownSchemeError) as error:
        raise ImproperlyConfigured(f"DATABASE_URL est mal formée : {error}") from None
    if config["ENGINE"] != "django.db.backends.sqlite3" and not config.get("NAME"):
        raise ImproperlyConfigured(
            "DATABASE_URL doit nommer la base : postgres://hôte/nom_de_base."
        )
    if config["ENGINE"] == "django.db.backends.postgresql":
        # Pages run many short queries: starting parallel workers costs more than it saves
        # and takes cores from concurrent requests.
        workers = env_int("DATABASE_PARALLEL_WORKERS", 0)
        # JIT compilation likewise: it starts on queries whose estimated cost is high, which
        # the export's grouped joins reach through poor row estimates, and compiling took
        # 0.5 s more than the 0.2 s the 10,000-row CSV export runs without it.
        options = f"-c max_parallel_workers_per_gather={workers} -c jit=off"
        # A database that hangs must cost a request seconds, then a 503 (catalogue/errors.py),
        # not hold its worker until the database wakes up: catalogue/postgresql/base.py. The
        # web server sets both bounds (gunicorn.conf.py); commands (migrations, imports,
        # refreshes of the whole catalogue) run long statements on purpose and have none
        # unless these variables are set.
        statement_timeout = env_seconds("DATABASE_STATEMENT_TIMEOUT")
        response_timeout = env_seconds("DATABASE_RESPONSE_TIMEOUT")
        if statement_timeout:
            options += f" -c statement_timeout={round(statement_timeout * 1000)}"
        if response_timeout and statement_timeout and response_timeout <= statement_timeout:
            raise ImproperlyConfigured(
                "DATABASE_RESPONSE_TIMEOUT doit dépasser DATABASE_STATEMENT_TIMEOUT : une base "
                "qui répond annule elle-même une requête trop longue, avant que le serveur "
                "d'application ne la croie figée."
            )
        # An unreachable or frozen host answers 503 within this rather than holding the
        # worker until the TCP timeout: the backend's own deadline for a new connection, all
        # attempts together; psycopg's `connect_timeout` cannot go below 2 s and only stays
        # as the bound of each attempt, never the shorter one.
        connect_timeout = env_seconds("DATABASE_CONNECT_TIMEOUT") or 1.0
        config["ENGINE"] = "catalogue.postgresql"
        config["CONNECT_TIMEOUT"] = connect_timeout
        config["RESPONSE_TIMEOUT"] = response_timeout
        # Once a connection or a query has given up, the server fails fast for this long
        # (catalogue/postgresql/base.py, OutageBreaker): its threads answer 503 at once instead
        # of each waiting its own timeout, and `/sante/` is not queued behind them.
        config["OUTAGE_WINDOW"] = env_seconds("DATABASE_OUTAGE_WINDOW") or 1.0
        config.setdefault("OPTIONS", {})["options"] = options
        config["OPTIONS"].setdefault("connect_timeout", max(2, math.ceil(connect_timeout)))
        # The queries every list and record page sends (the catalogue's version with the
        # page's rows, cooperations/caching.py) are prepared once per connection, so that
        # PostgreSQL plans them once instead of at every page (0.6 → 0.3 ms each, measured
        # alone): planning such a short query costs more than running it. psycopg prepares
        # nothing while this is None, Django's default; Django's own queries bind their
        # parameters in the client and are never prepared. Off (0) behind a pooler in
        # transaction mode that does not carry prepared statements.
        if env_bool("DATABASE_PREPARED_STATEMENTS", True):
            config["OPTIONS"].setdefault("prepare_threshold", 5)
    return config


def cache_config(url: str | None, key_prefix: str) -> dict:
    """Parse REDIS_URL: unset means each process keeps its own cache in local memory.

    Several application servers need one shared cache (docs/operations.md « Several servers »);
    anything that is not a Redis URL stops the start-up rather than silently falling back to
    per-process caches that would disagree.
    """
    if not url:
        return {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_PREFIX": key_prefix,
        }
    scheme, _, rest = url.partition("://")
    if scheme not in {"redis", "rediss", "unix"} or not rest.strip("/"):
        raise ImproperlyConfigured(
            "REDIS_URL doit être de la forme redis://hôte:6379/0 (ou rediss://, unix://), "
            f"pas {url!r}."
        )
    try:
        port = urlsplit(url).port  # reads the port, which fails on a non-numeric one
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise ImproperlyConfigured(f"REDIS_URL a un port invalide : {url!r}.")
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": key_prefix,
        # A Redis that stops answering must cost a page a fraction of a second, not hang
        # it: cooperations/caching.py then serves pages uncached.
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY est obligatoire quand DEBUG est désactivé (sur un poste de "
            "développement, lancez les commandes par « python3 dev.py manage … »)."
        )
    # Only ever used with DEBUG on, on a developer's machine.
    SECRET_KEY = "insecure-development-key-never-used-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "widget_tweaks",
    "dsfr",
    "django_filters",
    "import_export",
    "simple_history",
    "csp",
    "axes",
    "corsheaders",
    "django_tasks",
    "django_tasks_db",
    "cooperations",
]

MIDDLEWARE = [
    # First, as django-cors-headers asks: every answer under /api/, errors and the answers of
    # other middleware included, carries the CORS headers.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, which serves its own compressed copies of static files; outside every
    # middleware that may add a secret or a cookie, which it must see (catalogue/compression.py).
    "catalogue.compression.PublicGZipMiddleware",
    # After WhiteNoise: static files need neither header.
    "csp.middleware.CSPMiddleware",
    "catalogue.middleware.PermissionsPolicyMiddleware",
    # Up here rather than last: it only sets a header on the way out, which the gate's answers
    # below need too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Before every middleware that queries (sessions, authentication): no NUL byte reaches the
    # database (catalogue/malformed_input.py). After those that set the security headers
    # (SecurityMiddleware, CSP, Permissions-Policy, X-Frame-Options), which its answers carry
    # like every other; none of those queries or reads a value it would refuse.
    "catalogue.malformed_input.MalformedInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "catalogue.urls"

TEMPLATES = [
    # The public pages (catalogue/templating.py says why Jinja2); first, so that their names
    # resolve there. Templates are read again when their file changes only with DEBUG.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "catalogue.templating.environment",
            "autoescape": True,
            "trim_blocks": True,
            "lstrip_blocks": True,
        },
    },
    # The admin's pages and its overrides in templates/admin/.
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "catalogue.wsgi.application"

DATABASES = {"default": database_config(os.environ.get("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        # Staff accounts can change the whole catalogue: 12 characters at least, out of reach
        # of online guessing at the throttled rate below.
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling (django-axes). The standalone backend comes first so that a locked-out
# attempt is refused before ModelBackend hashes the password: guessing costs no CPU once locked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failures are counted per account *and* address (AXES_LOCKOUT_PARAMETERS): locking an account
# for everyone would let anybody lock the real staff out by typing wrong passwords. Five
# failures of one username from one address lock that pair; LOGIN_FAILURE_LIMIT_PER_ADDRESS
# failures from one address, whatever the usernames, lock the address (catalogue/
# login_throttling.py), which stops one client trying many accounts.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env_int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", 20)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "catalogue.login_throttling.LoginThrottlingHandler"
# A lockout ends LOGIN_COOLOFF_MINUTES after the failure that caused it: 5 guesses per quarter of
# an hour make a 12-character password out of reach, while a member of staff who mistyped waits
# at most that long, or is unlocked at once by an administrator.
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
# Attempts refused during a lockout are not recorded: a flood of them then writes nothing (no
# growing failure log, no write per request), and does not push the end of the lockout back.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
# Keeps every failure (with whether it was locked out) after the attempts expire, for the admin.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_CALLABLE = "catalogue.login_throttling.lockout_response"
# No start-up banner on every command; each failure is still logged, and listed in the admin.
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "catalogue.login_throttling.client_ip_address"
# Addresses (or networks) of the reverse proxies in front of the application: only a request
# coming from one of them has its X-Forwarded-For header read, from the right, skipping these
# proxies. Empty: the header is ignored and the peer address counts, so a client can never
# choose the address it is counted under.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
# The catalogue's own corrections of the admin's and its libraries' French, read first.
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where the open-data package is built, one folder per catalogue version
# (cooperations/publishing/open_data.py); any writable folder, shared by the servers or not
# (each builds its own copy).
OPEN_DATA_ROOT = Path(os.environ.get("OPEN_DATA_ROOT") or BASE_DIR / "open-data")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed, and the DSFR files byte for byte (their integrity hashes hold).
        "BACKEND": "catalogue.storage.IntactVendorStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

WHITENOISE_ADD_HEADERS_FUNCTION = add_static_headers

LOGIN_URL = "admin:login"
# French error pages (and JSON for JSON clients): catalogue/errors.py, handlers in urls.py.
CSRF_FAILURE_VIEW = "catalogue.errors.csrf_failure"

# Security: HTTPS in production, switched off only for explicit local runs.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe the health endpoint in plain HTTP (catalogue/health.py).
SECURE_REDIRECT_EXEMPT = [r"^sante/$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp). Scripts only from this site's own files: no inline
# script anywhere (templates, the admin, import-export and simple-history pages), so no nonce
# either, which cached public pages could not carry anyway (cooperations/caching.py).
# Style attributes are allowed, never <style> elements nor stylesheets from elsewhere: the
# admin, import-export and simple-history templates write a few `style="…"` attributes, and a
# style attribute can neither run script nor load anything outside img-src/font-src.
# `data:` images: the DSFR stylesheets draw some icons and bullets as inline SVG.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# CORS (django-cors-headers): the read-only API may be called from any site's pages, without
# credentials; no other address of the catalogue is shared with other origins.
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ("GET", "HEAD", "OPTIONS")
CORS_ALLOW_CREDENTIALS = False

# django-import-export: the import button and URL need this permission (editors have it).
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False

# Seconds anonymous visitors may be served a cached public page (cooperations/caching.py);
# writes through the admin or the import show at once, other edits within this delay. 0: off.
PUBLIC_CACHE_SECONDS = env_int("PUBLIC_CACHE_SECONDS", 60)
# The facet index of the lists (cooperations/facet_index.py) follows every write through the
# admin, the import and the territory register at once. A positive number of seconds also
# rebuilds it that often, for edits made behind the catalogue's back (raw SQL); 0 never does.
FACET_INDEX_MAX_AGE = env_int("FACET_INDEX_MAX_AGE", 0)
# After a write, visitors' pages are served from the previous index while a thread builds the
# new one, instead of waiting for it.
FACET_INDEX_BACKGROUND = env_bool("FACET_INDEX_BACKGROUND", True)
# One Redis shared by every application server, or local memory per process when unset;
# the prefix lets several catalogues (production, staging) share one Redis.
CACHES = {
    "default": cache_config(
        os.environ.get("REDIS_URL"), os.environ.get("CACHE_KEY_PREFIX", "catalogue")
    )
}

# Upload cap for the inventory import (bytes); larger files get a clear message.
IMPORT_MAX_UPLOAD_SIZE = env_int("IMPORT_MAX_UPLOAD_SIZE", 5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_UPLOAD_SIZE + 1024 * 1024
# Seconds an import waits for another one to finish before it is refused (PostgreSQL; on SQLite
# the connection's timeout applies). Imports are serialised: cooperations/concurrency.py.
IMPORT_LOCK_WAIT_SECONDS = env_int("IMPORT_LOCK_WAIT_SECONDS", 10)
# Background imports (cooperations/import_jobs.py): a confirmed import of more rows than this is
# queued for the task worker (`manage.py db_worker`) and its page shows the progress; smaller
# ones run in the request, as before.
IMPORT_BACKGROUND_ROWS = env_int("IMPORT_BACKGROUND_ROWS", 300)
# A running import that reported no progress for this many minutes is shown as failed: its
# worker died (its transaction was rolled back by the database, so nothing was written).
IMPORT_JOB_STALE_MINUTES = env_int("IMPORT_JOB_STALE_MINUTES", 10)
# django-tasks with its database backend: the queue is a table of the catalogue's own database,
# so a worker needs nothing but the database (no Redis, no broker), on SQLite as on PostgreSQL.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# A published record not verified for this many months is listed « À vérifier » in the admin.
VERIFICATION_MAX_AGE_MONTHS = env_int("VERIFICATION_MAX_AGE_MONTHS", 12)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"without_traceback": {"()": "catalogue.errors.WithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # A request naming another host (scanners probe every address) is one line, not a
        # 15-line traceback that says nothing more.
        "django.security.DisallowedHost": {"filters": ["without_traceback"]},
    },
}

# The « Retour d'information et contact » address of the accessibility statement, the legal
# notice and the personal data page. The default is a reserved `.invalid` domain: a deployment
# that forgot to set it shows an address that visibly goes nowhere rather than someone else's.
CONTACT_EMAIL = os.environ.get("CONTACT_EMAIL", "").strip() or "contact@example.invalid"
# The host named by the legal notice (the law requires its name, address and telephone).
HOSTING_PROVIDER = os.environ.get("HOSTING_PROVIDER", "").strip()
