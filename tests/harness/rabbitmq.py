"""RabbitMQ for tests: a vhost of the test's own on the node at 127.0.0.1:5672, removed afterwards.

    vhost = RabbitVhost.create()      # amqp://guest:guest@127.0.0.1:5672/ordersync-test-<pid>-<n>
    vhost.url
    restart_rabbitmq()                # stop_app + start_app of the node: connections drop, durable queues stay
    vhost.delete()

Queues, exchanges and messages of the vhost go with it, so nothing leaks between tests. `rabbitmqctl` must be on
PATH and allowed to talk to the node (root, or the node's Erlang cookie).
"""

import itertools
import os
import shutil
import subprocess

from tests.harness.celery_worker import wait_until

HOST = "127.0.0.1:5672"
_numbers = itertools.count(1)


def rabbitmqctl(*args: str, timeout: float = 60) -> str:
    binary = shutil.which("rabbitmqctl")
    if binary is None:
        raise AssertionError("rabbitmqctl is not installed; the RabbitMQ variants of the broker tests need it")
    result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr or result.stdout}")
    return result.stdout


def _answers(url: str) -> bool:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=1) as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
    except Exception:  # refused while the app restarts
        return False
    return True


class RabbitVhost:
    def __init__(self, name: str):
        self.name = name
        self.url = f"amqp://guest:guest@{HOST}/{name}"

    @classmethod
    def create(cls) -> "RabbitVhost":
        vhost = cls(f"ordersync-test-{os.getpid()}-{next(_numbers)}")
        rabbitmqctl("add_vhost", vhost.name)
        rabbitmqctl("set_permissions", "-p", vhost.name, "guest", ".*", ".*", ".*")
        return vhost

    def delete(self) -> None:
        rabbitmqctl("delete_vhost", self.name)


def restart_rabbitmq(url: str) -> None:
    """Stops and starts the RabbitMQ application (the Erlang node stays up): every connection is cut, messages in
    durable queues survive. Returns once `url` accepts connections again."""
    rabbitmqctl("stop_app")
    rabbitmqctl("start_app")
    wait_until(lambda: _answers(url), timeout=60, message="RabbitMQ accepting connections after start_app")
