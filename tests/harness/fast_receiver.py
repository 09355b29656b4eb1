"""A fast webhook receiver in its own process (aiohttp), for benchmarks where the receiver must not be the limit.

Every POST is answered 200 at once and recorded in memory as (path, webhook-id, arrival time.time()); the bench
reads the records over HTTP. A bench measures its ceiling with wrk in the same run (bench/wrk.py).

    receiver = FastReceiver().start()
    receiver.url("/drain")              # an endpoint URL
    receiver.records("/drain")          # [(webhook_id, received_at), ...] in arrival order
    receiver.stop()
"""

import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import requests

from tests.harness.http_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def serve(port: int) -> None:
    from aiohttp import web

    records: dict[str, list] = defaultdict(list)

    async def receive(request: web.Request) -> web.Response:
        arrived = time.time()
        await request.read()
        records[request.path].append((request.headers.get("webhook-id"), arrived))
        return web.Response(body=b'{"ok":true}', content_type="application/json")

    async def read(request: web.Request) -> web.Response:
        return web.json_response(records.get(request.query["path"], []))

    async def reset(request: web.Request) -> web.Response:
        records.clear()
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/_records", read)
    app.router.add_post("/_reset", reset)
    app.router.add_post("/{tail:.*}", receive)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


class FastReceiver:
    def __init__(self):
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "FastReceiver":
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.harness.fast_receiver", str(self.port)], cwd=ROOT,
                                     start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.records("/")
                return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("the fast receiver did not start")

    def records(self, path: str) -> list[tuple[str, float]]:
        response = requests.get(self.url("/_records"), params={"path": path}, timeout=30)
        return [tuple(r) for r in response.json()]

    def reset(self) -> None:
        requests.post(self.url("/_reset"), timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
