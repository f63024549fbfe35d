"""One settings module, driven by environment variables with safe local defaults.

Defaults: SQLite under ./data, the in-memory channel layer, the native engine, robots in
simulation, DEBUG off. DATABASE_URL, REDIS_URL and PREFECT_API_URL switch on real services.
"""

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str = "False") -> bool:
    value = os.getenv(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: int) -> int:
    value = os.getenv(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}")


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.getenv("SDL_DATA_DIR", BASE_DIR / "data")).resolve()
# The database, sessions and the secret key live here: readable by their owner only.
DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
if DATA_DIR.stat().st_uid == os.getuid():
    DATA_DIR.chmod(0o700)

# The opentrons package writes its configuration on first import: keep it in our data folder.
os.environ.setdefault("OT_API_CONFIG_DIR", str(DATA_DIR / "opentrons"))


def _secret_key() -> str:
    key = os.getenv("SDL_SECRET_KEY")
    if key:
        return key
    # A local install without SDL_SECRET_KEY gets a random key kept beside its database,
    # so sessions survive a restart; production sets SDL_SECRET_KEY (see the README).
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("SDL_DEBUG")
ALLOWED_HOSTS = envlist("SDL_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = envlist("SDL_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "ninja",  # its Swagger UI from our own static files, not a CDN
    "axes",
    "canvas",
    "orchestration",
    "robots",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "sdl_site.middleware.LoginRequired",
    "sdl_site.middleware.PageErrors",
    "canvas.jsonbody.ApiJsonBody",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "sdl_site.security.ContentSecurityPolicy",
    "axes.middleware.AxesMiddleware",
]

# Sign-in throttling (django-axes): after SDL_LOGIN_FAILURES wrong passwords for one user name
# from one address, that pair is locked out for SDL_LOGIN_LOCKOUT_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("SDL_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("SDL_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

ROOT_URLCONF = "sdl_site.urls"
WSGI_APPLICATION = "sdl_site.wsgi.application"
ASGI_APPLICATION = "sdl_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sdl_site.vocabulary.vocabulary",
            ],
        },
    },
]

DATABASE_URL = os.getenv("DATABASE_URL", "")
SQLITE_OPTIONS = {
    # Writers queue for the lock instead of failing with "database is locked".
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS
    # A thread keeps its connection to the file (a new one reads the schema again).
    DATABASES["default"]["CONN_MAX_AGE"] = None
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A bounded pool per process, whatever the number of runs and requests: a thread that
    # finds it empty waits for a connection rather than opening one more.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": envint("SDL_DB_POOL_SIZE", 20),
        "timeout": 120,
    }

# Runs this process executes at once (native engine); more wait `queued`, and start in order.
# Paused and waiting runs count; their database connections go back to the pool meanwhile.
SDL_MAX_ACTIVE_RUNS = envint("SDL_MAX_ACTIVE_RUNS", 64)

REDIS_URL = os.getenv("REDIS_URL", "")


def channel_layer(redis_url: str) -> dict:
    """Live events between processes: Redis publish/subscribe (one PUBLISH per event and run,
    pushed to every process watching it: half the latency of channels_redis's queued layer
    here, and no queue to overflow), or in this process only. Either way the layer carries
    only the live tail: the database has every event, and sockets replay from it."""
    if not redis_url:
        return {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 5000}}
    return {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        # redis-py 8's 5 s socket timeout would drop idle websockets (stack.md).
        "CONFIG": {"hosts": [{"address": redis_url, "socket_timeout": None}]},
    }


CHANNEL_LAYERS = {"default": channel_layer(REDIS_URL)}

# Orchestration
SDL_DEFAULT_ENGINE = os.getenv("SDL_ENGINE", "native")
SDL_ENGINE_THREADS = envint("SDL_ENGINE_THREADS", 8)
PREFECT_API_URL = os.getenv("PREFECT_API_URL", "")
SDL_PREFECT_WORK_POOL = os.getenv("SDL_PREFECT_WORK_POOL", "sdl")
# Where Prefect workers find this project (the deployment's working directory).
SDL_PREFECT_PROJECT_DIR = Path(os.getenv("SDL_PREFECT_PROJECT_DIR", BASE_DIR))
# A Prefect run whose flow process (on another machine) has not written for this long is gone.
SDL_PREFECT_HEARTBEAT_TIMEOUT_S = envint("SDL_PREFECT_HEARTBEAT_TIMEOUT_S", 60)
# Fire schedules from the web server's own process (several servers are safe: fires are claimed).
SDL_SCHEDULER_IN_SERVER = envbool("SDL_SCHEDULER_IN_SERVER", "true")
# The shortest time between two fires of a schedule (a protocol is not a polling loop).
SDL_MIN_SCHEDULE_INTERVAL_S = envint("SDL_MIN_SCHEDULE_INTERVAL_S", 60)
# Seconds to wait for a robot's HTTP answer before the node fails.
SDL_ROBOT_TIMEOUT_S = envint("SDL_ROBOT_TIMEOUT_S", 10)
# How long a robot may take over a command whose length the protocol decides (waiting for a
# temperature, a thermocycler profile), beyond SDL_ROBOT_TIMEOUT_S.
SDL_ROBOT_SLOW_COMMAND_S = envint("SDL_ROBOT_SLOW_COMMAND_S", 3600)
# Campaign optimisers beyond the built-in ones (optuna, gp, random): name → dotted class, e.g.
# SDL_OPTIMISERS='{"baybe": "my_lab.optimisers.BayBE"}'
SDL_OPTIMISERS = json.loads(os.getenv("SDL_OPTIMISERS", "{}"))
# Where people reach this site: links in notifications (e-mail, webhooks) point here.
SDL_SITE_URL = os.getenv("SDL_SITE_URL", "http://127.0.0.1:8000")
# E-mail for notifications: Django's settings (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER,
# EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, DEFAULT_FROM_EMAIL) from the environment.
EMAIL_HOST = os.getenv("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.getenv("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "sdl-canvas@localhost")
# Whole-workflow dry runs (robots.dryrun): worker processes, and the seconds one may take.
SDL_DRY_RUN_WORKERS = envint("SDL_DRY_RUN_WORKERS", 2)
SDL_DRY_RUN_BUDGET_S = envint("SDL_DRY_RUN_BUDGET_S", 60)
# Functions a `python.call` node may call, by dotted name. Only the installation decides.
SDL_PYTHON_CALLABLES = envlist(
    "SDL_PYTHON_CALLABLES",
    "orchestration.examples.add,orchestration.examples.mean,orchestration.examples.distance",
)
# Hosts, addresses or networks (CIDR) that `http.request` nodes may reach although they are
# internal (loopback, private, link-local, this server): a lab's instruments and LIMS.
SDL_HTTP_ALLOWED_HOSTS = envlist("SDL_HTTP_ALLOWED_HOSTS")
# The largest document (bytes) and JSON nesting the API accepts.
# Where the node types are declared (canvas.registry finds every NodeType class in them), and
# the checks of a whole document that belong to the apps above canvas (robot, deck).
SDL_NODE_TYPE_MODULES = [
    "orchestration.nodes.control",
    "robots.nodes.liquid_handling",
    "robots.nodes.modules",
    "robots.nodes.plate_reader",
    "orchestration.nodes.integration",
    "orchestration.nodes.data",
]
SDL_DOCUMENT_CHECKS = ["robots.deck.check_document"]
SDL_MAX_DOCUMENT_BYTES = envint("SDL_MAX_DOCUMENT_BYTES", 2 * 1024 * 1024)
SDL_MAX_JSON_DEPTH = envint("SDL_MAX_JSON_DEPTH", 32)
DATA_UPLOAD_MAX_MEMORY_SIZE = SDL_MAX_DOCUMENT_BYTES + 1024

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.getenv("SDL_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["sdl_site.formats"]  # one date format, with its zone, the admin included

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_HTTPONLY = True
# Served over HTTPS (directly or behind a proxy that says so in X-Forwarded-Proto): HTTP is
# redirected, browsers are told to use HTTPS only (HSTS), cookies travel over HTTPS only.
SDL_HTTPS = envbool("SDL_HTTPS")
SECURE_SSL_REDIRECT = SDL_HTTPS
SECURE_HSTS_SECONDS = envint("SDL_HSTS_SECONDS", 31536000 if SDL_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SDL_HSTS_SUBDOMAINS", str(SDL_HTTPS))
SECURE_HSTS_PRELOAD = envbool("SDL_HSTS_PRELOAD", str(SDL_HTTPS))
if envbool("SDL_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = SDL_HTTPS or envbool("SDL_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("SDL_LOG_LEVEL", "INFO")},
    "loggers": {
        # Failed simulator commands log whole tracebacks; the node error keeps the message.
        "opentrons": {"level": "CRITICAL", "propagate": False},
        "opentrons_shared_data": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # lockouts, not every sign-in
    },
}
