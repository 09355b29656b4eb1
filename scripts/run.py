"""`make run`: prepare a working OrderSync from nothing and start web, worker and beat together.

Uses DATABASE_URL / CELERY_BROKER_URL when set. Otherwise a SQLite file in .run/ and Redis on localhost when it
answers, else a file-system broker that needs no server: either way a real worker process runs the tasks.
"""

import os
import subprocess
import sys
from pathlib import Path

from kombu import Connection

ROOT = Path(__file__).resolve().parent.parent
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def say(message: str) -> None:
    print(f"ordersync: {message}", flush=True)


def die(message: str) -> None:
    sys.stderr.write(f"ordersync: {message}\n")
    raise SystemExit(2)


def broker_reachable(url: str) -> str | None:
    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # kombu raises transport-specific errors; all mean "not reachable"
        return str(exc) or type(exc).__name__
    return None


def choose_broker(env: dict) -> str:
    configured = env.get("CELERY_BROKER_URL")
    if configured:
        error = broker_reachable(configured)
        if error:
            die(
                f"CELERY_BROKER_URL={configured!r} is unreachable ({error}). "
                "Start that broker, or unset CELERY_BROKER_URL to use local Redis or the built-in file broker."
            )
        return configured
    if broker_reachable(LOCAL_REDIS) is None:
        return LOCAL_REDIS
    say("Redis is not running on 127.0.0.1:6379; using the built-in file-system broker in .run/broker")
    return "filesystem://"


def manage(env: dict, *args: str) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def main() -> None:
    env = dict(os.environ)
    run_dir = Path(env.setdefault("ORDERSYNC_RUN_DIR", str(ROOT / ".run")))
    run_dir.mkdir(parents=True, exist_ok=True)
    env.setdefault("DJANGO_SETTINGS_MODULE", "ordersync.settings.dev")
    env.setdefault("PORT", "8000")
    env["CELERY_BROKER_URL"] = choose_broker(env)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"

    manage(env, "check", "--fail-level", "ERROR")
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    base = f"http://127.0.0.1:{env['PORT']}"
    manage(env, "seed_demo", "--receiver-base", base)

    say(f"database: {env.get('DATABASE_URL') or 'sqlite file ' + str(run_dir / 'db.sqlite3')}")
    say(f"broker:   {env['CELERY_BROKER_URL']}")
    say(f"admin:    {base}/admin/   API docs: {base}/api/docs/   readiness: {base}/readyz")
    say("starting web, worker and beat; Ctrl-C stops all of them")
    honcho = str(Path(sys.executable).parent / "honcho")
    os.chdir(ROOT)
    os.execve(honcho, [honcho, "start", "-f", str(ROOT / "Procfile"), "-d", str(ROOT)], env)


if __name__ == "__main__":
    main()
