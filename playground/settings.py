"""Prism settings: one file, every knob read from the environment with a safe default.

The embedded default (nothing set) runs with SQLite and a filesystem Celery broker under
PRISM_DATA_DIR. Team scale sets DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis).
Every variable is documented in README.md.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

from playground.lib.env import (
    ConfigError,
    bucket_origins,
    env_bool,
    env_int,
    env_list,
    env_secret,
    env_str,
    persistent_secret_key,
    private_sqlite_file,
    weak_secret_key,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("PRISM_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
PRODUCTION = env_bool("PRISM_PRODUCTION", False)

# Required in production; for the embedded default it is generated once into the data folder
# and kept, so sessions survive restarts without anyone having to invent a key.
SECRET_KEY = env_secret("SECRET_KEY") or persistent_secret_key(DATA_DIR / "secret_key", required=PRODUCTION)
if PRODUCTION:
    # Debug pages show settings and code to anyone who hits an error; a guessable key forges sessions.
    if DEBUG:
        raise ConfigError("DEBUG=True is not allowed when PRISM_PRODUCTION=True: error pages would show "
                          "settings and source code to visitors")
    if problem := weak_secret_key(SECRET_KEY):
        raise ConfigError(f"SECRET_KEY is too weak for PRISM_PRODUCTION=True: {problem}")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "axes",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "playground.apps.PlaygroundConfig",
    "playground.accounts",
    "playground.uploads",
    "playground.prompts",
    "playground.catalog",
    "playground.runs",
    "playground.sharing",  # share links: above runs (shows chosen runs' results)
    "playground.evals",  # evaluation sets (and later runs and results): above runs and sharing
    "playground.evalruns",  # evaluation runs, scores, reviews: above evals
    "playground.demo",  # seed_demo: above the apps it fills with demo data
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as axes requires: turns a lockout into its response
]

ROOT_URLCONF = "playground.urls"
WSGI_APPLICATION = "playground.wsgi.application"

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
                "playground.accounts.context_processors.current_team",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'prism.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker write while the web process reads; the timeout covers short write bursts.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # It holds sessions and encrypted keys: owner-only, like the secret key. An existing one is
    # tightened here; a new one is created 0600 when first opened (playground/apps.py).
    private_sqlite_file(DATABASES["default"]["NAME"], create=False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Login throttling (django-axes): failures counted per address and per username, so neither one
# address trying many accounts nor many addresses trying one account get more than the limit.
# (The username+address pair is implied by both.) Counted in the database: shared by every
# web process. Unlock early with `manage.py axes_reset` (or axes_reset_username NAME).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_FAILURE_LIMIT = env_int("PRISM_LOGIN_FAILURE_LIMIT", 5)
PRISM_LOGIN_COOLOFF_MIN = env_int("PRISM_LOGIN_COOLOFF_MIN", 15)
if AXES_FAILURE_LIMIT < 1 or PRISM_LOGIN_COOLOFF_MIN < 1:
    raise ConfigError("PRISM_LOGIN_FAILURE_LIMIT and PRISM_LOGIN_COOLOFF_MIN must be at least 1")
AXES_COOLOFF_TIME = timedelta(minutes=PRISM_LOGIN_COOLOFF_MIN)
# Guesses while locked out are refused unchecked and do not extend it: "try again in 15 minutes" holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False  # done narrowly instead: playground/accounts/throttle.py
AXES_LOCKOUT_CALLABLE = "playground.accounts.throttle.lockout_response"
AXES_CLIENT_IP_CALLABLE = "playground.accounts.throttle.client_ip"
AXES_USERNAME_CALLABLE = "playground.accounts.throttle.client_username"
# The client's address comes from this header (e.g. X-Forwarded-For, X-Real-IP) only when set:
# only behind a proxy that always sets it, with Prism reachable through that proxy alone.
PRISM_CLIENT_IP_HEADER = env_str("PRISM_CLIENT_IP_HEADER", "")
PRISM_CLIENT_IP_META = ("HTTP_" + PRISM_CLIENT_IP_HEADER.upper().replace("-", "_")) if PRISM_CLIENT_IP_HEADER else ""
AXES_VERBOSE = False

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "uploads:library"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"  # filled by collectstatic (bin/run)
STORAGES = {
    # There is no public media URL: every stored file is served by a view that checks the team.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(DATA_DIR / "media"), "base_url": None}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = None
# Team scale: media, thumbnails and variants in an S3-compatible bucket (django-storages), so web
# processes and workers on several machines share them. Credentials come from boto3's own chain
# (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance role), never from settings.
PRISM_S3_BUCKET = env_str("PRISM_S3_BUCKET", "")
# Members get media through Prism (Range supported), or with this on, a redirect to a presigned GET
# that expires after PRISM_S3_URL_EXPIRE_S; never a public object either way.
PRISM_S3_SIGNED_URLS = env_bool("PRISM_S3_SIGNED_URLS", False)
PRISM_S3_URL_EXPIRE_S = env_int("PRISM_S3_URL_EXPIRE_S", 300)
if PRISM_S3_BUCKET:
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": PRISM_S3_BUCKET,
        "endpoint_url": env_str("PRISM_S3_ENDPOINT_URL", "") or None,  # MinIO, R2, Ceph...; unset: AWS
        "region_name": env_str("PRISM_S3_REGION", "") or None,
        "location": env_str("PRISM_S3_PREFIX", "").strip("/"),  # a key prefix, to share a bucket
        "addressing_style": env_str("PRISM_S3_ADDRESSING_STYLE", "") or None,  # "path" for most self-hosted
        "signature_version": "s3v4",
        "default_acl": None,  # the bucket's own (private); never public-read
        "querystring_auth": True,
        "querystring_expire": PRISM_S3_URL_EXPIRE_S,
        "file_overwrite": True,  # names are content hashes: the same name is the same bytes
    }}
elif PRISM_S3_SIGNED_URLS:
    raise ConfigError("PRISM_S3_SIGNED_URLS=True needs PRISM_S3_BUCKET: files on disk are served by Prism")
# A machine's local copies of bucket objects, for whatever needs a file (decoders, variants, base64
# for request bodies, ZIP exports). Named by sha256, so never stale; least recently used evicted
# past PRISM_MEDIA_CACHE_MB. Unused with the local media folder.
PRISM_MEDIA_CACHE_DIR = Path(env_str("PRISM_MEDIA_CACHE_DIR", str(DATA_DIR / "cache"))).resolve()
PRISM_MEDIA_CACHE_MB = env_int("PRISM_MEDIA_CACHE_MB", 2048)

# Uploads: the cap is enforced while the body streams in, so an oversize file never lands on disk.
MAX_UPLOAD_MB = env_int("MAX_UPLOAD_MB", 50)
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
# An evaluation set's ZIP (playground/evals/upload_handlers.py): a thousand photos are far past MAX_UPLOAD_MB;
# each file inside it is still held to MAX_UPLOAD_MB.
PRISM_EVAL_ZIP_MAX_MB = env_int("PRISM_EVAL_ZIP_MAX_MB", 2048)
MAX_IMAGE_PIXELS = env_int("MAX_IMAGE_PIXELS", 100_000_000)
# Uploads are decoded in a child process with these limits (playground/uploads/sandbox.py): a
# file needing more memory or time is refused as a possible decompression bomb.
PRISM_DECODE_MAX_MB = env_int("PRISM_DECODE_MAX_MB", 1024)
PRISM_DECODE_TIMEOUT_S = env_int("PRISM_DECODE_TIMEOUT_S", 30)
FILE_UPLOAD_HANDLERS = [
    "playground.uploads.upload_handlers.CappedUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # always stream to a temp file; hashing and decoding read from disk
# On the same filesystem as the media folder, so a checked upload is hard-linked into place, not copied.
FILE_UPLOAD_TEMP_DIR = DATA_DIR / "tmp"
FILE_UPLOAD_TEMP_DIR.mkdir(exist_ok=True)
DATA_UPLOAD_MAX_NUMBER_FILES = 100

# Fetching media by URL: refused for private, loopback, link-local and metadata addresses.
URL_FETCH_TIMEOUT_S = env_int("URL_FETCH_TIMEOUT_S", 20)
URL_FETCH_MAX_REDIRECTS = env_int("URL_FETCH_MAX_REDIRECTS", 5)
# URL fetches at once per web process (each holds a thread up to URL_FETCH_TIMEOUT_S): half the
# threads, so slow URLs always leave the other half free for everything else.
URL_FETCH_MAX_CONCURRENT = max(1, env_int("URL_FETCH_MAX_CONCURRENT", max(1, env_int("WEB_THREADS", 4) // 2)))
# Only for tests and local development against a server on this machine; never in production.
URL_FETCH_ALLOW_LOOPBACK = env_bool("URL_FETCH_ALLOW_LOOPBACK", False)

# API keys at rest are encrypted with this Fernet key (comma-separated list to rotate, newest
# first). Empty: derived from SECRET_KEY, fine for the embedded default; set it in production.
PRISM_ENCRYPTION_KEY = env_secret("PRISM_ENCRYPTION_KEY")
if PRODUCTION and not PRISM_ENCRYPTION_KEY:
    raise ConfigError("PRISM_ENCRYPTION_KEY must be set when PRISM_PRODUCTION=True (see README)")

# Environment variables teams may use as provider keys, granted by the operator per team and host:
# "OPENAI_API_KEY=api.openai.com@*;ANTHROPIC_API_KEY=api.anthropic.com@research,ml". Nothing else
# in the environment can be read by a team; Prism's own variables can never be granted (checked
# again once every setting is read: catalog/apps.py).
from playground.lib.env import env_key_grants  # noqa: E402

PRISM_ENV_KEYS = env_key_grants("PRISM_ENV_KEYS")

# Celery. The embedded default is kombu's filesystem transport: no server, one machine.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_DIR = DATA_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "playground.celery:RedisTransport"  # kombu's, one Redis client per channel (celery.py)
CELERY_RESULT_BACKEND = None  # results are written to our own models
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Runs (playground/runs/sending.py has the design notes). Run tasks go to their own queue, served by a threads-pool
# worker (bin/run) that keeps many model calls in flight; variants stay on the default queue.
PRISM_RUNS_QUEUE = env_str("PRISM_RUNS_QUEUE", "runs")  # the runs worker consumes it (bin/run: -Q runs)
CELERY_TASK_ROUTES = {"playground.runs.tasks.send_results": {"queue": PRISM_RUNS_QUEUE},
                      "playground.runs.tasks.send_result": {"queue": PRISM_RUNS_QUEUE}}
PRISM_RESULT_LEASE_S = env_int("PRISM_RESULT_LEASE_S", 30)  # a lost worker's results are sent again after this
PRISM_RESULT_REQUEUE_S = env_int("PRISM_RESULT_REQUEUE_S", 600)  # a queued result whose task never came
PRISM_RUN_MAX_RETRIES = env_int("PRISM_RUN_MAX_RETRIES", 3)  # on 408/409/429/5xx/529/connection errors
PRISM_DISPATCH_MAX_CONNECTIONS = env_int("PRISM_DISPATCH_MAX_CONNECTIONS", 256)  # per worker process
PRISM_RUNS_DB_THREADS = env_int("PRISM_RUNS_DB_THREADS", 4)  # database connections per runs worker process
PRISM_RUNS_BATCH = env_int("PRISM_RUNS_BATCH", 10)  # results per send task (runs/enqueue.py says why)
# Provider limits across all runs workers: this Redis, else the broker's if it is Redis (else per process).
PRISM_LIMITS_REDIS_URL = env_str("PRISM_LIMITS_REDIS_URL", "")
PRISM_LIMITS_LEASE_S = env_int("PRISM_LIMITS_LEASE_S", 15)  # a dead worker's provider slots are free after this
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The filesystem transport sleeps this long whenever it hands nothing out, including while a
    # worker's prefetch is full: at kombu's default (1 s) a runs worker took ~64 tasks a second.
    CELERY_BROKER_TRANSPORT_OPTIONS["polling_interval"] = 0.1

# Security headers; the HTTPS ones switch on in production behind TLS.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response: scripts and styles only from Prism's static files (no
# inline script, no eval: htmx is configured for it in base.html), media from Prism itself.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF],
    "media-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
if PRISM_S3_SIGNED_URLS:
    # Media redirect to the bucket: pages may load images, audio and video from its origin (and only those).
    for _origin in bucket_origins(PRISM_S3_BUCKET, STORAGES["default"]["OPTIONS"]):
        SECURE_CSP["img-src"].append(_origin)
        SECURE_CSP["media-src"].append(_origin)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)  # only behind HTTPS, e.g. 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie; kept default-compatible
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
