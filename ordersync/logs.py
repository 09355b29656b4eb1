"""Structured logs: one processor chain for our own and every library's log records (stdlib logging), rendered as
JSON lines in production (LOG_FORMAT=json) and as plain key=value text in `make run`.

Each line carries what is bound in the current context: `request_id` and `path` for a web request
(`RequestContextMiddleware`), `task` and `task_id` plus the id arguments of a Celery task (signals below),
`delivery_id`, `endpoint`, `event_id` and `order_id` while a delivery is sent (sync.services.drain). Secrets are
masked in every line, whatever logged them.
"""

import inspect
import re
import uuid

import structlog
from structlog.contextvars import bind_contextvars, clear_contextvars

# What a secret looks like wherever it may end up in a message: API keys (osk_<prefix>.<secret>), Standard-Webhooks
# signing secrets (whsec_…), bearer tokens and passwords inside URLs.
_SECRET_PATTERNS = [
    (re.compile(r"(osk_[A-Za-z0-9]+)\.[A-Za-z0-9_\-]+"), r"\1.[redacted]"),
    (re.compile(r"whsec_[A-Za-z0-9+/=_\-]+"), "whsec_[redacted]"),
    (re.compile(r"(?i)(bearer\s+)[^\s'\",]+"), r"\1[redacted]"),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1[redacted]@"),
]
_SECRET_KEYS = re.compile(r"(?i)(secret|token|password|authorization|api_key|signature)")
# Id arguments of our tasks that belong on every line the task logs.
TASK_ID_ARGUMENTS = ("order_id", "delivery_id", "endpoint_id", "message_id", "notification_id", "channel_id")
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


def mask_secrets(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(_logger, _method, event_dict: dict) -> dict:
    # logging's Formatter leaves the rendered message on the record, so ExtraAdder copies it beside `event`.
    if event_dict.get("message") == event_dict.get("event"):
        del event_dict["message"]
    for key, value in event_dict.items():
        if _SECRET_KEYS.search(key):
            event_dict[key] = "[redacted]"
        elif isinstance(value, str):
            event_dict[key] = mask_secrets(value)
        elif not isinstance(value, int | float | bool | type(None)):  # e.g. Django's request object: its repr
            event_dict[key] = mask_secrets(str(value))
    return event_dict


def logging_config(*, fmt: str, level: str) -> dict:
    """Django's LOGGING for `fmt` "json" or "plain": stdlib records go through structlog's processors."""
    renderer = (structlog.processors.JSONRenderer() if fmt == "json"
                else structlog.dev.ConsoleRenderer(colors=False))
    pre_chain = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": pre_chain,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    redact,
                    renderer,
                ],
            },
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
    }


def log_settings(*, default_format: str) -> dict:
    """LOG_FORMAT (from the environment, else `default_format`), LOG_LEVEL, LOGGING and Celery's root-logger choice
    for a settings module: with JSON logs the worker keeps them (Celery would otherwise put its own text format on
    the root logger)."""
    from ordersync.config import env, fail

    fmt = env.str("LOG_FORMAT", default=default_format)
    if fmt not in ("plain", "json"):
        fail(f"LOG_FORMAT={fmt!r} must be plain or json")
    level = env.str("LOG_LEVEL", default="INFO")
    return {"LOG_FORMAT": fmt, "LOG_LEVEL": level, "LOGGING": logging_config(fmt=fmt, level=level),
            "CELERY_WORKER_HIJACK_ROOT_LOGGER": fmt != "json"}


def configure_structlog() -> None:
    """structlog's own loggers (structlog.get_logger) hand their events to stdlib logging, so one formatter renders
    everything."""
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.stdlib.add_log_level,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


class RequestContextMiddleware:
    """Binds a request id (the caller's X-Request-ID when it is a plain token, else a new one) and the path for every
    line logged while the request runs, the order id for order URLs, and returns the id in the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        clear_contextvars()
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        bind_contextvars(request_id=request_id, method=request.method, path=request.path)
        # Not cleared on the way out: Django logs an error response after the middleware returns (django.request),
        # and that line belongs to this request. The next request on this thread starts by clearing.
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith("/api/v1/orders/") and "pk" in view_kwargs:
            bind_contextvars(order_id=view_kwargs["pk"])
        return None


def task_context_bind(*, task, task_id: str, args: tuple, kwargs: dict) -> None:
    """Binds the task, its id and its id arguments (given by position or by name) for the lines it logs."""
    clear_contextvars()
    try:
        arguments = inspect.signature(task.run).bind_partial(*args, **kwargs).arguments
    except TypeError:  # a call that does not fit the signature fails in the task itself, with its own log line
        arguments = kwargs
    bind_contextvars(task=task.name, task_id=task_id,
                     **{key: arguments[key] for key in TASK_ID_ARGUMENTS if key in arguments})
