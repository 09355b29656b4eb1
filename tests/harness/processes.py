"""Stopping the server processes tests start in their own session (gunicorn masters and their workers)."""

import contextlib
import os
import signal
import subprocess


def stop_process_group(proc: subprocess.Popen | None) -> None:
    """SIGTERM to the whole group (a gunicorn master and its workers), SIGKILL if it has not exited in 15 s."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
