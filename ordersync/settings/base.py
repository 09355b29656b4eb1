"""Settings shared by every environment; all of it is read from the environment (12-factor).

Environment-specific modules (dev, test, production) only override defaults.
"""

from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF, UNSAFE_INLINE

from ordersync.brokers import celery_broker_settings
from ordersync.config import broker_from_env, database_settings, env, fail
from ordersync.logs import configure_structlog, log_settings

BASE_DIR = Path(__file__).resolve().parent.parent.parent
RUN_DIR = Path(env.str("ORDERSYNC_RUN_DIR", default=str(BASE_DIR / ".run")))

SECRET_KEY = env.str("SECRET_KEY", default="dev-insecure-secret-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "sync",
    "inventory",
    "orders",
    "compliance",
    "channels_integration",
    "notifications",
    "analytics",
]

MIDDLEWARE = [
    "ordersync.logs.RequestContextMiddleware",
    "ordersync.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "ordersync.middleware.ApiInputGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Admin and the API docs load scripts only from this origin: an injected <script> or on* attribute never runs.
# Inline styles stay allowed (admin's list displays and Swagger UI use them; styles cannot run code).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# The development error page masks passwords inside URLs (broker, cache, mail) as it masks the database's.
DEFAULT_EXCEPTION_REPORTER_FILTER = "ordersync.reporting.ExceptionReporterFilter"

ROOT_URLCONF = "ordersync.urls"
WSGI_APPLICATION = "ordersync.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": database_settings("DATABASE_URL", default=f"sqlite:///{RUN_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

try:
    _email = env.email_url("EMAIL_URL", default="consolemail://")
except (ValueError, KeyError) as exc:
    fail(f"EMAIL_URL cannot be parsed ({exc}); expected e.g. smtp://user:password@mail.example.com:587")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)  # smtp+ssl:// (implicit TLS, port 465)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="orders@ordersync.localhost")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(RUN_DIR / "static")))

# Orders bodies are small; anything near this is abuse, answered with 413 before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["channels_integration.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["channels_integration.auth.HasScopes"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["ordersync.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "ordersync.parsers.ExactMediaTypeNegotiation",
    "DEFAULT_THROTTLE_CLASSES": ["ordersync.api.ApiKeyRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ordersync.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "OrderSync channel API",
    "DESCRIPTION": (
        "Channel-facing REST API: orders, stock and transitions. "
        "Authenticate with `Authorization: Bearer <api key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "ordersync.api.document_common_errors"],
}

CELERY_BROKER_URL = broker_from_env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = True
# A worker killed mid-task must not lose the task: ack only after it ran, requeue on worker loss.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
# Celery's Django fixup closes the database connection around every task unless this is set. Connections are kept
# and recycled by age and health at each task boundary instead (ordersync/celery.py); Celery closes them only after
# this many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_BEAT_SCHEDULE_FILENAME = str(RUN_DIR / "celerybeat-schedule")

# Outbound endpoints on private or loopback addresses are refused unless this is set (tests, make run).
SYNC_ALLOW_PRIVATE_ENDPOINTS = env.bool("SYNC_ALLOW_PRIVATE_ENDPOINTS", default=False)
# Mounts /demo/receiver/<endpoint>/, a local stand-in for downstream systems (dev and `make run` only).
ORDERSYNC_DEMO_RECEIVER = env.bool("ORDERSYNC_DEMO_RECEIVER", default=False)
SYNC_SWEEP_INTERVAL = timedelta(seconds=env.int("SYNC_SWEEP_INTERVAL_SECONDS", default=5))

# Channel API: requests per API key over all endpoints (DRF rate syntax, e.g. "6000/min").
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="6000/min")
# How long a web process trusts the API key (and its channel) it read: a key revoked or a channel deactivated in
# another process is refused at most this many seconds later (at once in the process that did it).
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=5)
# Unpaid orders of a channel without its own reservation_ttl give their stock back after this long (0: never).
ORDERS_DEFAULT_RESERVATION_TTL = timedelta(minutes=env.int("ORDERS_DEFAULT_RESERVATION_TTL_MINUTES", default=24 * 60))
# Expiry of unpaid orders runs every minute.
CELERY_BEAT_SCHEDULE["orders-expire-unpaid"] = {
    "task": "orders.expire_unpaid_orders",
    "schedule": timedelta(seconds=env.int("ORDERS_EXPIRY_INTERVAL_SECONDS", default=60)),
}
# Personal data of finished orders is anonymised this many days after their last status change (0: kept).
ORDER_RETENTION_DAYS = env.int("ORDER_RETENTION_DAYS", default=0)
CELERY_BEAT_SCHEDULE["compliance-retention"] = {"task": "compliance.retention_sweep", "schedule": timedelta(hours=1)}

# Logs (ordersync/logs.py, docs/OPERATIONS.md → Logs): plain text here and in `make run`, JSON lines in production.
globals().update(log_settings(default_format="plain"))
configure_structlog()

# Inventory: the stock feed publisher is nudged after each change; the beat entry catches anything missed.
INVENTORY_STOCK_FEED_INTERVAL = timedelta(seconds=env.int("INVENTORY_STOCK_FEED_INTERVAL_SECONDS", default=10))
INVENTORY_STOCK_FEED_RETRY_SECONDS = env.float("INVENTORY_STOCK_FEED_RETRY_SECONDS", default=0.5)
CELERY_BEAT_SCHEDULE["inventory-publish-stock-changes"] = {
    "task": "inventory.tasks.publish_stock_changes",
    "schedule": INVENTORY_STOCK_FEED_INTERVAL,
}

# --- sync engine (outbound deliveries) -------------------------------------------------------------------------
# One queue per endpoint kind so a slow carrier never delays a payment capture; `default` for everything else.
ORDERSYNC_QUEUES = ["default", "payment", "stock", "logistics", "notification", "channel"]
CELERY_TASK_ROUTES = ["sync.routing.route_task"]
CELERY_BEAT_SCHEDULE["sync-sweep"] = {"task": "sync.tasks.deliveries_sweep", "schedule": SYNC_SWEEP_INTERVAL}
CELERY_BEAT_SCHEDULE["sync-prune-attempts"] = {"task": "sync.tasks.attempts_prune", "schedule": timedelta(hours=1)}
# Reference schedule (seconds before attempt n+1): immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
SYNC_RETRY_SCHEDULE = env.list(
    "SYNC_RETRY_SCHEDULE", cast=int, default=[0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
)
SYNC_RETRY_JITTER = env.float("SYNC_RETRY_JITTER", default=0.2)
SYNC_MIN_BACKOFF_THROTTLED = env.int("SYNC_MIN_BACKOFF_THROTTLED_SECONDS", default=60)  # after a timeout or 429
# A lease covers connect + read timeout plus this margin; a worker killed mid-request leaves it to expire.
SYNC_LEASE_MARGIN = env.float("SYNC_LEASE_MARGIN_SECONDS", default=30.0)
# A queued drain that no worker started within this long is sent again by the sweeper (lost broker message).
SYNC_NUDGE_TTL = env.int("SYNC_NUDGE_TTL_SECONDS", default=60)
# Short retries are nudged with a countdown (well under the broker's visibility timeout); longer ones are swept.
SYNC_MAX_COUNTDOWN = env.int("SYNC_MAX_COUNTDOWN_SECONDS", default=30)
SYNC_SWEEP_BATCH = env.int("SYNC_SWEEP_BATCH", default=500)
SYNC_BREAKER_THRESHOLD = env.int("SYNC_BREAKER_THRESHOLD", default=5)
SYNC_BREAKER_PAUSE = env.int("SYNC_BREAKER_PAUSE_SECONDS", default=60)
SYNC_BREAKER_MAX_PAUSE = env.int("SYNC_BREAKER_MAX_PAUSE_SECONDS", default=3600)
# Characters kept of a non-2xx answer (2xx bodies are never stored: they could be anything the URL serves).
SYNC_RESPONSE_BODY_LIMIT = env.int("SYNC_RESPONSE_BODY_LIMIT", default=256)
# A drain claims up to this many due deliveries of one endpoint per statement (never more than the endpoint's
# max_concurrency in flight) and sends them from a pool of SYNC_SEND_THREADS threads per worker process.
SYNC_BATCH_SIZE = env.int("SYNC_BATCH_SIZE", default=50)
SYNC_SEND_THREADS = env.int("SYNC_SEND_THREADS", default=64)
# A send still running after this long finishes on its own thread while the drain moves on: a slow endpoint holds
# its own concurrency slots, not the worker.
SYNC_DRAIN_PATIENCE = env.float("SYNC_DRAIN_PATIENCE_SECONDS", default=1.0)
# A drain hands its worker back after this long and queues itself again, so one backlog cannot hog a queue.
SYNC_DRAIN_MAX_SECONDS = env.float("SYNC_DRAIN_MAX_SECONDS", default=5.0)
SYNC_ATTEMPT_RETENTION_DAYS = env.int("SYNC_ATTEMPT_RETENTION_DAYS", default=14)

# --- channel connectors (webhooks in, stock out, reconciliation) -----------------------------------------------
# Webhook bodies above this are answered 413 before they are read (Shopify and WooCommerce orders are far smaller).
CHANNELS_WEBHOOK_MAX_BYTES = env.int("CHANNELS_WEBHOOK_MAX_BYTES", default=2 * 1024 * 1024)
# A message still `received` this long after its task was sent is sent again (the task was lost or failed).
CHANNELS_INBOUND_REQUEUE_SECONDS = env.int("CHANNELS_INBOUND_REQUEUE_SECONDS", default=30)
CHANNELS_HTTP_CONNECT_TIMEOUT = env.float("CHANNELS_HTTP_CONNECT_TIMEOUT", default=3.0)
CHANNELS_HTTP_READ_TIMEOUT = env.float("CHANNELS_HTTP_READ_TIMEOUT", default=15.0)
CHANNELS_SHOPIFY_API_VERSION = env.str("CHANNELS_SHOPIFY_API_VERSION", default="2025-01")
# Per SKU and channel, at most one stock push per this many seconds; a burst ends on one push of the final value.
CHANNELS_STOCK_PUSH_MIN_INTERVAL = env.float("CHANNELS_STOCK_PUSH_MIN_INTERVAL", default=1.0)
# Shopify's REST bucket leaks 2 requests/s on standard plans; stock push endpoints are created with this limit.
CHANNELS_SHOPIFY_PUSH_RATE = env.float("CHANNELS_SHOPIFY_PUSH_RATE", default=2.0)
CHANNELS_RECONCILE_INTERVAL = timedelta(minutes=env.int("CHANNELS_RECONCILE_INTERVAL_MINUTES", default=15))
CHANNELS_RECONCILE_OVERLAP = timedelta(minutes=env.int("CHANNELS_RECONCILE_OVERLAP_MINUTES", default=10))
CELERY_BEAT_SCHEDULE["channels-inbound-sweep"] = {
    "task": "channels.inbound_sweep",
    "schedule": timedelta(seconds=env.int("CHANNELS_INBOUND_SWEEP_SECONDS", default=10)),
}
CELERY_BEAT_SCHEDULE["channels-reconcile-due"] = {"task": "channels.reconcile_due", "schedule": timedelta(minutes=1)}

# --- broker-specific Celery settings (ordersync/brokers.py; docs/OPERATIONS.md → Choosing a broker) -------------
# Redis: CELERY_VISIBILITY_TIMEOUT. RabbitMQ: durable queues of CELERY_QUEUE_TYPE (quorum or classic), publisher
# confirms. Both: late acks, prefetch 1, requeue on worker loss (above). test.py applies this again for its URL.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_QUEUE_TYPE = env.str("CELERY_QUEUE_TYPE", default="quorum")
if CELERY_QUEUE_TYPE not in ("quorum", "classic"):
    fail(f"CELERY_QUEUE_TYPE={CELERY_QUEUE_TYPE!r} must be quorum or classic")
globals().update(celery_broker_settings(
    CELERY_BROKER_URL, queues=ORDERSYNC_QUEUES, run_dir=RUN_DIR, visibility_timeout=CELERY_VISIBILITY_TIMEOUT,
    queue_type=CELERY_QUEUE_TYPE,
))

# --- observability (docs/OPERATIONS.md → Metrics, Logs) -----------------------------------------------------------
# /metrics: with a token, only `Authorization: Bearer <token>`; without one, only these client networks.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])

# --- operator console (console/, docs/CONSOLE.md) --------------------------------------------------------------
# Installed last: its post_migrate handler sets the role groups once every app's permissions exist.
INSTALLED_APPS += ["axes", "console"]
# Password guessing: django-axes counts failed logins per username and address; AxesMiddleware (last) answers a
# locked-out login with 429. Unlock with `manage.py axes_reset_username <name>` or by deleting the attempt in admin.
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
# English and Simplified Chinese, chosen by the browser (Accept-Language) or the switch posting to /i18n/setlang/.
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.common.CommonMiddleware"),
                  "django.middleware.locale.LocaleMiddleware")
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
# The project's own catalogue (the console's strings); Django and its apps bring theirs.
LOCALE_PATHS = [BASE_DIR / "locale"]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# axes' own admin offers an unguarded bulk action; lockouts are listed and lifted from console/admin.py instead.
AXES_ENABLE_ADMIN = False
