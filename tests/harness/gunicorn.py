"""gunicorn as production runs it (ordersync/gunicorn_conf.py: gthread workers), for tests and benchmarks.

    server = Gunicorn(env={**os.environ, "DJANGO_SETTINGS_MODULE": ...}, log_dir=tmp_path).start()
    server.base + "/api/v1/orders/"; server.log(); server.pids; server.stop()

The master runs in its own session, so `stop()` takes its workers down with it. Ready means /healthz answered 200.
"""

import contextlib
import http.client
import subprocess
import sys
import time
from pathlib import Path

from tests.harness.http_server import free_port
from tests.harness.processes import stop_process_group

ROOT = Path(__file__).resolve().parents[2]


def children_of(pid: int) -> list[int]:
    """Direct children of a process, read from /proc (gunicorn's workers, a Celery worker's pool processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class Gunicorn:
    def __init__(self, *, env: dict, log_dir: Path | None = None, log_level: str = "info",
                 ready_timeout: float = 60):
        """`env` is the whole environment of the server. `log_dir`: its output goes to gunicorn-<port>.log there
        (else to this process's own output)."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log_path = log_dir / f"gunicorn-{self.port}.log" if log_dir else None
        self.log_level, self.ready_timeout = log_level, ready_timeout
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Gunicorn":
        command = [str(Path(sys.executable).parent / "gunicorn"), "ordersync.wsgi:application",
                   "-c", "python:ordersync.gunicorn_conf", "--bind", f"127.0.0.1:{self.port}",
                   "--log-level", self.log_level]
        with contextlib.ExitStack() as stack:
            log = stack.enter_context(open(self.log_path, "ab")) if self.log_path else None  # noqa: SIM115
            self.proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT if log else None, start_new_session=True)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn not ready in {self.ready_timeout:.0f} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    @property
    def pids(self) -> list[int]:
        """The master and its workers (the same processes from start to end is what "no restart" means)."""
        return [self.proc.pid, *sorted(children_of(self.proc.pid))]

    def stop(self) -> None:
        stop_process_group(self.proc)
