"""Django settings: the console, sessions and management commands. Read by `apiserver.server.config` only.

Values come from the environment through strict helpers (healthchecks' style); nothing here is secret in the
repository. The data directory holds the console database and the generated secret key; `manage.py serve
--data-dir DIR` picks it, exactly as its flag does for the PKI and the embedded store.
"""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: bool) -> bool:
    """`true`/`false` (or `1`/`0`) only: a typo such as `yes` must fail loudly, not read as false."""
    value = os.environ.get(name, "")
    if value == "":
        return default
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    return float(value) if value else default


def envstr(name: str, default: str) -> str:
    return os.environ.get(name) or default


def data_dir_from_argv(argv: list[str]) -> str | None:
    """The `--data-dir` of a `serve` (or storage command) line.

    Settings load before the command parses its flags, so the value is read here the way Django itself
    pre-reads `--settings`; the command then validates it along with every other flag.
    """
    if argv[1:2] not in (["serve"], ["exportobjects"], ["importobjects"], ["initpki"]):
        return None
    args = argv[2:]
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg.startswith("--data-dir="):
            return arg.partition("=")[2]
        if arg == "--data-dir" and index + 1 < len(args):
            return args[index + 1]
    return None


def load_or_create_secret_key(path: Path) -> str:
    """The key in `path`, created once (mode 0600) when missing.

    An unusable data directory yields a key for this process only: settings load before any command can say
    what is wrong, and `serve` then reports the directory itself in one line.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    except OSError:
        return secrets.token_urlsafe(50)
    key = secrets.token_urlsafe(50)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # it will hold keys and the store too
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return key
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    return key


DATA_DIR = Path(data_dir_from_argv(sys.argv) or envstr("PILOTHOUSE_DATA_DIR", "var"))
SECRET_KEY = os.environ.get("PILOTHOUSE_SECRET_KEY") or load_or_create_secret_key(DATA_DIR / "secret_key")
DEBUG = envbool("PILOTHOUSE_DEBUG", False)
# The server answers on every name its certificate carries; TLS, not the Host header, decides who it is.
ALLOWED_HOSTS = ["*"]

# Seconds `serve` keeps retrying storage at start before giving up (kube-apiserver waits for etcd likewise).
STORAGE_START_TIMEOUT = envfloat("PILOTHOUSE_STORAGE_START_TIMEOUT", 60.0)

INSTALLED_APPS = [
    "daphne",  # first: imports daphne.server, which installs the asyncio reactor before anything else can
    "channels",
    "django.contrib.staticfiles",
    "django.contrib.sessions",
    "django_htmx",  # its bundled htmx script (static files) only; no CDN
    "console",
    "apiserver",  # for its management commands (`serve`); it has no models
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "apiserver.urls"
ASGI_APPLICATION = "apiserver.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# A separate file from the embedded store (<data-dir>/state.db), so the two never contend for a write lock.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "console.sqlite3",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Console sessions: the user's credential lives only in the server-side session (the database above); the
# browser holds an opaque id in a cookie scripts cannot read, sent only to /console/, never cross-site.
# Served over TLS only.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_NAME = "pilothouse_session"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_PATH = "/console/"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Seconds without a request before a console session ends, and seconds after login when it ends regardless.
CONSOLE_SESSION_IDLE_TIMEOUT = envfloat("PILOTHOUSE_CONSOLE_IDLE_TIMEOUT", 30 * 60)
CONSOLE_SESSION_ABSOLUTE_TIMEOUT = envfloat("PILOTHOUSE_CONSOLE_ABSOLUTE_TIMEOUT", 12 * 60 * 60)
SESSION_COOKIE_AGE = int(CONSOLE_SESSION_ABSOLUTE_TIMEOUT)  # the database row expires with the absolute timeout
CSRF_COOKIE_NAME = "pilothouse_csrf"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True  # forms carry the token; no script needs to read it
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_PATH = "/console/"
CSRF_FAILURE_VIEW = "console.views.errors.csrf_failure"
# Largest kubeconfig upload accepted by the console login (bytes).
CONSOLE_KUBECONFIG_MAX_BYTES = 256 * 1024

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"()": "apiserver.observability.logging.KeyValueFormatter",
                          "format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": envstr("PILOTHOUSE_LOG_LEVEL", "WARNING")},
    "loggers": {"daphne": {"level": "WARNING"}},
}
