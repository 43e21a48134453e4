"""Settings of the example project. Everything that differs between machines comes from the environment:

- the database from libpq's own variables (PGDATABASE required; PGHOST, PGPORT, PGUSER, PGPASSWORD as libpq
  reads them), which psql and projectord (through projectord.toml) read too;
- the Celery broker from CELERY_BROKER_URL, the running daemon's HTTP address from PROJECTORD_URL, and the
  directory the welcome emails are written to from EMAIL_FILE_PATH;
- the daemon's admin token from PROJECTORD_ADMIN_TOKEN, read by the rebuild action when it calls (not here);
- DJANGO_SECRET_KEY; without it each process draws a random key (sessions then last as long as the process).
"""
import os
from pathlib import Path

from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or get_random_secret_key()
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "users",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mysite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Empty values let libpq fall back to its defaults (a local socket, the login name).
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["PGDATABASE"],
        "HOST": os.environ.get("PGHOST", ""),
        "PORT": os.environ.get("PGPORT", ""),
        "USER": os.environ.get("PGUSER", ""),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_L10N = True
USE_TZ = True

STATIC_URL = "/static/"

# Written as files so that the worker's sends can be seen from any process (the test counts them).
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "sent_emails"))
DEFAULT_FROM_EMAIL = "welcome@example.com"

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
# projectord.toml's welcome_email handler queues this task there; the worker consumes it (-Q welcome_email).
CELERY_TASK_ROUTES = {"users.tasks.send_welcome_email": {"queue": "welcome_email"}}

# The running daemon's [http] listen address, and the handlers whose read models a page reads after a write.
PROJECTORD_URL = os.environ.get("PROJECTORD_URL", "http://127.0.0.1:9464")
PROJECTORD_READ_MODELS = ["users", "user_log"]
