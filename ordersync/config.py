"""Reading the environment with errors a person can act on.

Settings call these helpers; a bad value stops the process with one line naming the variable
instead of a traceback from deep inside a library.
"""

import sys
import warnings
from urllib.parse import urlsplit

import environ

env = environ.Env()

KNOWN_DB_ENGINES = {
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
}
KNOWN_BROKER_SCHEMES = {"redis", "rediss", "amqp", "amqps", "pyamqp", "filesystem", "memory", "sqla+sqlite"}


class ConfigError(Exception):
    """A setting from the environment that cannot be used."""


def fail(message: str) -> None:
    """Stop the process with one readable line; settings import happens too early for logging."""
    sys.stderr.write(f"ordersync: configuration error: {message}\n")
    raise SystemExit(2)


def database_from_env(name: str, default: str) -> dict:
    raw = env.str(name, default=default)
    try:
        with warnings.catch_warnings():
            # django-environ warns on unknown engines; the check below turns that into one clear line.
            warnings.simplefilter("ignore", UserWarning)
            config = env.db_url_config(raw)
    except ValueError as exc:
        fail(f"{name}={raw!r} cannot be parsed ({exc}); expected e.g. postgres://user@127.0.0.1:5432/ordersync")
    if config.get("ENGINE") not in KNOWN_DB_ENGINES or not config.get("NAME"):
        fail(
            f"{name}={raw!r} is not a PostgreSQL or SQLite URL; expected e.g. "
            "postgres://user@127.0.0.1:5432/ordersync or sqlite:////absolute/path/db.sqlite3"
        )
    return config


def database_settings(name: str, default: str) -> dict:
    """DATABASES["default"] from the URL in `name`, with connection reuse for PostgreSQL.

    Opening a PostgreSQL connection costs more than most requests and tasks do, so connections are kept:
    persistent per thread (DATABASE_CONN_MAX_AGE seconds, checked before reuse so a connection the server
    dropped is replaced) or, with DATABASE_POOL=true, a psycopg pool per process. Every settings module uses this.
    """
    config = database_from_env(name, default)
    config["ATOMIC_REQUESTS"] = False
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Web, worker and beat share the file: wait for locks instead of failing, take the write lock up front.
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        return config
    config["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
    if env.bool("DATABASE_POOL", default=False):
        # Django returns a pooled connection at the end of each request and task; the pool checks it on loan.
        config["CONN_MAX_AGE"] = 0
        config.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=1),
            "max_size": env.int("DATABASE_POOL_MAX", default=4),
        }
    else:
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
    return config


def broker_from_env(name: str, default: str) -> str:
    raw = env.str(name, default=default)
    scheme = urlsplit(raw).scheme
    if scheme not in KNOWN_BROKER_SCHEMES:
        fail(f"{name}={raw!r} is not a broker URL; expected e.g. redis://127.0.0.1:6379/0")
    return raw
