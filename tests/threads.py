"""Runs callables on real threads, each with its own database connection, started together."""

import threading
from collections.abc import Callable

from django.db import connection


def run_concurrently(jobs: list[Callable[[], object]], *, timeout: float = 60) -> list[tuple[str, object]]:
    """Returns one ("ok", result) or ("error", exception) per job, in job order."""
    barrier = threading.Barrier(len(jobs))
    results: list[tuple[str, object] | None] = [None] * len(jobs)

    def worker(index: int, job: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = ("ok", job())
        except Exception as exc:  # every outcome is recorded and asserted on by the test
            results[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    return results
