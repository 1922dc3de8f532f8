"""Django settings for retain. Values come from ``retain.conf.environment()``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

from retain.conf import environment

ENV = environment()
BASE_DIR = Path(__file__).resolve().parent
RETAIN_HOME = ENV.home

SECRET_KEY = ENV.secret_key
DEBUG = ENV.debug
ALLOWED_HOSTS = list(ENV.allowed_hosts)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "ninja",  # serves its Swagger UI assets from static files, not a CDN
    "retain.accounts",
    "retain.customers",
    "retain.tags",
    "retain.orders",
    "retain.interactions",
    "retain.complaints",
    "retain.surveys",
    "retain.campaigns",
    "retain.web",
    "retain.audit",
    "retain.api",
    "retain.imports",
    "retain.dedup",
    "retain.scoring",
    "retain.playbooks",
    "retain.tasks",
    "retain.care",
    "retain.kpis",
    "retain.pipeline",
    "retain.loyalty",
]

MIDDLEWARE = [
    # first: forwarded headers are believed only from RETAIN_TRUSTED_PROXIES
    "retain.core.proxy.TrustedProxyMiddleware",
    "retain.core.requestlog.RequestIdMiddleware",  # X-Request-ID and one JSON log line
    "django.middleware.security.SecurityMiddleware",
    "retain.core.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost: a locked SQLite database is retried (reads) or answered 503, never 500.
    "retain.core.middleware.DatabaseBusyMiddleware",
]

ROOT_URLCONF = "retain.urls"
WSGI_APPLICATION = "retain.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(ENV.database_url, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; a busy timeout instead of
    # "database is locked" errors under short write bursts.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation for the app's queries: PostgreSQL compiles any query its planner
    # costs high (the plan results' correlated subqueries), which took 1.5 s of a 2.2 s page
    # at 100k customers to save milliseconds. The engine's bulk reads use their own connection.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins are audited and lock a username after repeated failures (retain.accounts.login).
AUTHENTICATION_BACKENDS = ["retain.accounts.login.AuditedLockoutBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = ENV.language
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["retain.formats"]
TIME_ZONE = ENV.time_zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Served by WhiteNoise straight from the app folders (no STATIC_ROOT, no collectstatic).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = ENV.home / "media"
# Uploads and reject files hold personal data: owner-only, like the rest of RETAIN_HOME.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Security: Django's protections on; the deploy-only ones follow DEBUG.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 8
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Reverse proxies whose X-Forwarded-For / -Proto are believed (retain.core.proxy); from
# anyone else those headers are removed first, so trusting the scheme header is safe.
RETAIN_TRUSTED_PROXIES = list(ENV.trusted_proxies)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Failed sign-ins from one address (any usernames) per 15 minutes before it is locked.
RETAIN_LOGIN_IP_LIMIT = ENV.login_ip_limit
# Searches by phone or email per user per 10 minutes (audited; retain.accounts.access).
RETAIN_SEARCH_LIMIT = ENV.search_limit
# Links in e-mails, quiet hours and complaint deadlines (retain.conf, README "Settings").
RETAIN_BASE_URL = ENV.base_url
#: Requests a minute one address may make to the public survey page (0: no limit).
RETAIN_SURVEY_RATE_LIMIT = int(os.environ.get("RETAIN_SURVEY_RATE_LIMIT", "60"))
RETAIN_QUIET_HOURS = ENV.quiet_hours
RETAIN_COMPLAINT_FIRST_RESPONSE = ENV.complaint_first_response
RETAIN_COMPLAINT_RESOLUTION = ENV.complaint_resolution
if ENV.https:
    # Behind TLS in production: cookies only over HTTPS, redirect plain HTTP, HSTS.
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes speak plain HTTP
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Cache (the board's figures, see retain.core.cache): shared by every worker process, in
# Redis when RETAIN_REDIS_URL is set, else in files under RETAIN_HOME.
CACHES: dict[str, dict[str, Any]]
if ENV.redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": ENV.redis_url,
            "KEY_PREFIX": "retain",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(ENV.home / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }

# Background jobs: Huey on SQLite in RETAIN_HOME, or on Redis when RETAIN_REDIS_URL is set.
if ENV.redis_url:
    HUEY = {
        "huey_class": "retain.pipeline.queue.RedisHuey",  # periodic jobs once
        "name": "retain",
        "url": ENV.redis_url,
        "immediate": False,
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "retain",
        "filename": str(ENV.home / "huey.sqlite3"),
        "immediate": False,
    }

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = ENV.email_host
EMAIL_PORT = ENV.email_port
DEFAULT_FROM_EMAIL = ENV.email_from

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "retain.core.requestlog.RequestIdFilter"}},
    "formatters": {"json": {"()": "retain.core.requestlog.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"]},
        "json": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    # One JSON line per request (retain.core.requestlog), on stderr.
    "loggers": {"retain.request": {"handlers": ["json"], "level": "INFO", "propagate": False}},
}
