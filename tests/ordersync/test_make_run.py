"""`make run` from nothing: the script that target runs brings up web, worker and beat; a task the web process
submits is executed by the separate worker; Ctrl-C ends all of it."""

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.harness.rabbitmq import RabbitVhost

ROOT = Path(__file__).resolve().parents[2]
RUN_SCRIPT = ROOT / "scripts" / "run.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes_with_env(name: str, value: str) -> list[int]:
    found = []
    needle = f"{name}={value}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class RunningSystem:
    def __init__(self, run_dir: Path, port: int, broker_url: str):
        self.run_dir, self.port = run_dir, port
        self.base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
        env.update(ORDERSYNC_RUN_DIR=str(run_dir), PORT=str(port), CELERY_BROKER_URL=broker_url)
        self.env = env
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, str(RUN_SCRIPT)], env=env, cwd=ROOT, start_new_session=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self):
        for line in self.process.stdout:
            self.output.append(line)

    def log(self) -> str:
        return "".join(self.output)

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.base}/readyz", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or still booting its workers
            return False

    def manage(self, *args: str) -> str:
        """Runs a management command against this system's database, as an operator in another shell would."""
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args], env=self.env, cwd=ROOT,
            capture_output=True, text=True, timeout=60, check=True,
        )
        return result.stdout

    def interrupt(self):
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=60)


@pytest.fixture
def system(tmp_path, request):
    root_before = sorted(p.name for p in ROOT.iterdir())
    vhost = RabbitVhost.create() if request.param == "rabbitmq" else None
    running = RunningSystem(tmp_path / "run", free_port(), vhost.url if vhost else request.param)
    running.root_before = root_before
    yield running
    # A test that failed half-way must not leave web, worker or beat running: stop them as Ctrl-C would, then
    # kill whatever still carries this run's directory in its environment.
    if running.process.poll() is None:
        os.killpg(running.process.pid, signal.SIGINT)
        try:
            running.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(running.process.pid, signal.SIGKILL)
    for pid in processes_with_env("ORDERSYNC_RUN_DIR", str(running.run_dir)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    if vhost:
        vhost.delete()


DEMO_ORDER = {
    "external_id": "make-run-1",
    "currency": "EUR",
    "customer_name": "Grace Hopper",
    "customer_email": "grace@example.com",
    "shipping_address": {"name": "Grace Hopper", "line1": "1 Harbour St", "city": "Rotterdam",
                         "postal_code": "3011", "country": "NL"},
    "lines": [{"sku": "TSHIRT-BLK-M", "name": "T-shirt black M", "quantity": 2, "unit_price": "19.90"}],
}


def admin_login(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/admin/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    session.post(
        f"{base}/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token, "username": username, "password": password, "next": "/admin/"},
        headers={"Referer": f"{base}/admin/login/"}, timeout=10,
    )
    return session


@pytest.mark.slow
@pytest.mark.parametrize(
    "system", [settings.CELERY_BROKER_URL, "rabbitmq", "filesystem://"], indirect=True,
    ids=["redis", "rabbitmq", "no-server"],
)
def test_make_run_serves_admin_delivers_through_the_worker_and_ctrl_c_stops_everything(system):
    wait_for(system.ready, 120, f"/readyz to answer 200; output so far:\n{system.log()}")
    assert "worker" in system.log() and "beat" in system.log()
    credentials = re.search(r"admin login: username '([^']+)' password '([^']+)'", system.log())
    assert credentials, system.log()
    assert f"{system.base}/admin/" in system.log()

    session = admin_login(system.base, *credentials.groups())
    dashboard = session.get(f"{system.base}/admin/", timeout=10)
    assert dashboard.status_code == 200
    assert "OrderSync operations" in dashboard.text
    assert "Log out" in dashboard.text

    # The web process only writes the order and its outbox rows; the signed POST to each demo endpoint can only
    # come from the separate worker process, and the receiver (in the web process) logs it after verifying it.
    key = json.loads(system.manage("create_api_key", "webshop", "--scopes", "orders:write,orders:read"))["key"]
    order = requests.post(
        f"{system.base}/api/v1/orders/", json=DEMO_ORDER, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert order.status_code == 201, order.text
    for endpoint in ("demo-payment", "demo-warehouse", "demo-carrier", "demo-notify"):
        wait_for(
            lambda endpoint=endpoint: f"demo receiver {endpoint} accepted order.created" in system.log(), 60,
            f"the worker to deliver order.created to {endpoint}; output so far:\n{system.log()}",
        )
    assert re.search(r"worker\.1 .*sync\.tasks\.", system.log()), "the delivery task ran in the worker process"

    system.interrupt()
    wait_for(
        lambda: not processes_with_env("ORDERSYNC_RUN_DIR", str(system.run_dir)), 30,
        "every process started by make run to exit",
    )
    # Everything a run writes (database, broker files with kombu's control folder, static) is in its run dir.
    assert sorted(p.name for p in ROOT.iterdir()) == system.root_before
    assert (system.run_dir / "broker" / "control").is_dir() == (system.env["CELERY_BROKER_URL"] == "filesystem://")


def load_run_script():
    spec = importlib.util.spec_from_file_location("ordersync_run_script", RUN_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_a_broker_url_and_no_local_redis_it_falls_back_to_the_file_broker(monkeypatch):
    run_script = load_run_script()
    monkeypatch.setattr(run_script, "LOCAL_REDIS", "redis://127.0.0.1:1/0")
    assert run_script.choose_broker({}) == "filesystem://"


def test_an_unreachable_configured_broker_stops_with_one_line_naming_it(tmp_path):
    env = {**os.environ, "ORDERSYNC_RUN_DIR": str(tmp_path), "CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run([sys.executable, str(RUN_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CELERY_BROKER_URL" in lines[0] and "unreachable" in lines[0]
