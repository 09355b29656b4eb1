"""Runs every benchmark in bench/ (files named bench_*.py) and prints each result as a ratio to its baseline.

Each benchmark module defines `run() -> list[dict]`; every dict has `name`, `value`, `baseline`, `unit`,
`ratio` (value / baseline, higher is better unless `lower_is_better`), `goal` (a ratio or threshold) and
optional `notes` and `series` ({label: [[seconds, value], ...]}, plotted over time). Each module's results are
stored in bench/results/<module>.json with the machine, date and versions of its run (and appended to
bench/results/history.jsonl); results with `per_process` throughput are merged into bench/results/latest.json for
the capacity advice (docs/FORECAST.md); then docs/BENCHMARKS.md and its plots are rebuilt from every stored module
(bench/report.py), so running one module keeps the others' last results on the page. A module that fails keeps
its previous stored result and makes the run exit non-zero.
Benchmarks use their own PostgreSQL database (ordersync_bench by default) so they never touch
development data. `python bench/run.py inventory` runs only modules whose name contains "inventory".
"""

import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

from bench.server import ensure_secret_key  # noqa: E402

# What production runs (bench/settings.py); one SECRET_KEY for every process of the run.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
ensure_secret_key()
os.environ.setdefault("STATIC_ROOT", str(ROOT / ".run" / "bench-static"))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ordersync_bench")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/5")


def _prepare_database() -> None:
    import django
    import psycopg
    from django.conf import settings

    django.setup()
    db = settings.DATABASES["default"]
    with psycopg.connect(dbname="postgres", host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
                         autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # as a deploy does; whitenoise serves these


def machine() -> str:
    return f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"


def versions() -> dict:
    import django
    import psycopg
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return {"Django": django.get_version(), "psycopg": psycopg.__version__, "PostgreSQL": postgres,
            "Python": platform.python_version()}


def _run_module(name: str, run_versions: dict) -> dict:
    print(f"== {name}", flush=True)
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    started = time.monotonic()
    module = importlib.import_module(f"bench.{name}")
    results = []
    for result in module.run():
        result["module"] = name
        results.append(result)
        print(
            f"   {result['name']}: {result['value']:.4g} {result['unit']} vs baseline "
            f"{result['baseline']:.4g} -> ratio {result['ratio']:.3f} (goal {result['goal']})"
            + (f"  [{result['notes']}]" if result.get("notes") else ""),
            flush=True,
        )
    seconds = round(time.monotonic() - started, 1)
    print(f"   ({seconds}s)")
    return {"module": name, "machine": machine(), "versions": run_versions, "started_at": started_at,
            "seconds": seconds, "loadavg": "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg()), "results": results}


def main(argv: list[str]) -> int:
    from bench.report import load_failures, load_history, load_runs, throughput_section, write_report

    _prepare_database()
    wanted = argv[1:] or [""]
    modules = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py") if any(w in p.stem for w in wanted))
    out = BENCH_DIR / "results"
    out.mkdir(exist_ok=True)
    run_versions, failed, failures = versions(), [], load_failures(out)
    for name in modules:
        try:
            run = _run_module(name, run_versions)
        except Exception as exc:  # one broken module must not cost the others' results
            print(f"   FAILED: {exc!r}; its previous stored result (if any) stays on the page", flush=True)
            failed.append(name)
            failures[name] = {"at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "error": repr(exc)}
            continue
        failures.pop(name, None)
        (out / f"{name}.json").write_text(json.dumps(run, indent=2, default=str))
        with (out / "history.jsonl").open("a") as history:
            for r in run["results"]:
                history.write(json.dumps({"module": name, "started_at": run["started_at"], "name": r["name"],
                                          "value": r["value"], "baseline": r["baseline"], "ratio": r["ratio"]},
                                         default=str) + "\n")
    (out / "failures.json").write_text(json.dumps(failures, indent=2))
    runs = load_runs(out)
    (out / "latest.json").write_text(json.dumps({"machine": machine(), "throughput": throughput_section(runs)},
                                                indent=2))
    report = write_report(runs, ROOT / "docs" / "BENCHMARKS.md", history=load_history(out), failures=failures)
    print(f"\nmachine: {machine()}\nwritten: bench/results/ and {report.relative_to(ROOT)}"
          + (f"\nfailed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
