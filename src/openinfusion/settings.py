"""Django settings, read from ``OPENINFUSION_*`` environment variables with safe defaults.

Without any configuration the app keeps its SQLite database and generated secret key in a data
directory (``OPENINFUSION_DATA_DIR``, default ``./data``), created on first run, with DEBUG off.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("OPENINFUSION_DATA_DIR", Path.cwd() / "data")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    configured = os.environ.get("OPENINFUSION_SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("OPENINFUSION_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("OPENINFUSION_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("OPENINFUSION_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",  # serves the API docs' Swagger UI from its own static files, not a CDN
    "django_tasks",
    "django_tasks_db",
    "openinfusion.web",
    "openinfusion.accounts",
    "openinfusion.audit",
    "openinfusion.jobs",
    "openinfusion.formulary",
    "openinfusion.inventory",
    "openinfusion.patients",
    "openinfusion.orders",
    "openinfusion.compounding",
    "openinfusion.administration",
    "openinfusion.chairs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "openinfusion.web.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "openinfusion.accounts.middleware.SessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "openinfusion.urls"
WSGI_APPLICATION = "openinfusion.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "openinfusion.web.context.shell",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("OPENINFUSION_DATABASE_URL") or f"sqlite:///{DATA_DIR / 'openinfusion.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock at BEGIN: writers queue instead of failing
    # half-way, which serialises stock movements and the audit chain on SQLite.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests use a file, not shared-cache memory, so concurrent writers wait for the lock as in
    # production; one file per test run, so two runs side by side never share a database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-openinfusion-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background work: Django's Tasks API (django-tasks) on the database, run by ``openinfusion worker``
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- People and sessions --------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

SESSION_IDLE_MINUTES = _env_int("OPENINFUSION_SESSION_IDLE_MINUTES", 30)
SESSION_ABSOLUTE_HOURS = _env_int("OPENINFUSION_SESSION_ABSOLUTE_HOURS", 12)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = False  # renewed at most once a minute (accounts.middleware): reads write nothing
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _env_bool("OPENINFUSION_SECURE_COOKIES", False)  # forced; over HTTPS they are anyway
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGIN_FAILURE_LIMIT = _env_int("OPENINFUSION_LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_MINUTES = _env_int("OPENINFUSION_LOGIN_LOCKOUT_MINUTES", 15)
# Per network address (accounts.services._throttled): at most this many failed sign-ins in the
# window, and one fewer than LOGIN_FAILURE_LIMIT against one account, so no address locks one alone.
LOGIN_ADDRESS_FAILURE_LIMIT = _env_int("OPENINFUSION_LOGIN_ADDRESS_FAILURE_LIMIT", 20)
LOGIN_ADDRESS_WINDOW_MINUTES = _env_int("OPENINFUSION_LOGIN_ADDRESS_WINDOW_MINUTES", 15)

# --- Time -----------------------------------------------------------------------------------
USE_TZ = True
TIME_ZONE = os.environ.get("OPENINFUSION_TIME_ZONE", "UTC")
LANGUAGE_CODE = "en-us"
USE_I18N = False

# --- Static files (served by WhiteNoise straight from the apps; no collectstatic step) ------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Uploaded photos of preparations: kept with the record, served only through a permission-checked view.
MEDIA_ROOT = DATA_DIR / "media"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- HTTPS: served over it, the app sends HSTS (one year; SecurityMiddleware sends it only on HTTPS
# requests) and marks every cookie secure (web.middleware). Behind a proxy that ends TLS, set
# OPENINFUSION_PROXY_SETS_X_FORWARDED_PROTO so the app knows a request came over HTTPS.
SECURE_HSTS_SECONDS = _env_int("OPENINFUSION_HSTS_SECONDS", 31_536_000)
if _env_bool("OPENINFUSION_PROXY_SETS_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("OPENINFUSION_LOG_LEVEL", "WARNING")},
}
