from ordersync.logs import log_settings
from ordersync.settings.base import *  # noqa: F403
from ordersync.settings.base import SECRET_KEY, env, fail

DEBUG = False
if SECRET_KEY.startswith("dev-") or len(SECRET_KEY) < 50:
    fail("SECRET_KEY must be set to a random value of at least 50 characters in production")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Probes and Prometheus speak plain HTTP to the pod or host directly, without the proxy's X-Forwarded-Proto.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# A log pipeline parses JSON lines; LOG_FORMAT=plain keeps text for a person tailing one host.
globals().update(log_settings(default_format="json"))
