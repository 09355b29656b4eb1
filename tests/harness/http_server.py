"""A real HTTP server on 127.0.0.1 that records what it receives and answers as a test tells it to.

`http_server` starts one per test (ThreadingHTTPServer in a thread). Behaviour is set per path or globally:

    http_server.respond(200)                                  # everything answers 200 (the default)
    http_server.respond(500, path="/pay")                     # only /pay fails
    http_server.respond_sequence("/pay", [500, 500, 200])     # one answer per request, then the default
    http_server.respond(429, headers={"Retry-After": "120"})
    http_server.respond(Hang(seconds=5))                      # sleep past the client's read timeout
    http_server.respond(CLOSE)                                # drop the connection without an answer
    http_server.respond(gate := Gate(), path="/slow")         # hold answers until gate.open()
    http_server.respond_by(lambda r: 500 if r.json()["data"]["order_id"] == 2 else None)  # answer by content

`server.requests` lists every request (path, headers, body, time); `server.unique_by_webhook_id(path)` is a
receiver that deduplicates on the `webhook-id` header, in first-seen order, for exactly-once checks;
`server.max_in_flight` is the most requests it was answering at once (concurrency limits).
`on_request` callbacks run when a request arrives, before the answer (used to kill a worker mid-delivery).
`refused_url` is a URL whose port nothing listens on.
"""

import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass(frozen=True)
class Hang:
    seconds: float


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b'{"ok": true}'
    delay: float = 0.0


CLOSE = "close"


class Gate:
    """Holds every request it answers until `open()` (then 200), e.g. a slow carrier a test releases at will."""

    def __init__(self, timeout: float = 60.0):
        self._opened = threading.Event()
        self.timeout = timeout

    def open(self) -> None:
        self._opened.set()

    def wait(self) -> None:
        self._opened.wait(self.timeout)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict
    body: bytes
    received_at: float  # time.time() when the body was read
    complete: bool = True  # False when the client died before sending the whole body


    def json(self):
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog of 5 drops the SYNs of a worker opening a batch's connections at once.
    request_queue_size = 128

    def handle_error(self, request, client_address):
        """Clients that die mid-request (killed workers, timeouts) are expected here, not errors."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def _as_behaviour(spec):
    if isinstance(spec, int):
        return Reply(status=spec)
    return spec


class RecordingServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self._default = Reply()
        self._per_path: dict[str, object] = {}
        self._sequences: dict[str, list] = {}
        self._callbacks: list[Callable[[RecordedRequest], None]] = []
        self._deciders: list[Callable[[RecordedRequest], object]] = []
        self._in_flight = 0
        self.max_in_flight = 0  # the most requests being answered at the same moment
        self._arrived = threading.Condition(self._lock)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                # Headers and body go out as two writes; without this, Nagle + delayed ACK add ~40 ms per answer.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args):
                pass

            def do_POST(self):
                server._handle(self)

            do_GET = do_PUT = do_POST

        self.httpd = _QuietServer((host, port), Handler)
        self.host, self.port = self.httpd.server_address[:2]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> "RecordingServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    # Behaviour ---------------------------------------------------------------------------------------------
    def respond(self, spec=200, *, path: str | None = None, headers: dict | None = None, delay: float = 0.0) -> None:
        behaviour = _as_behaviour(spec)
        if isinstance(behaviour, Reply) and (headers or delay):
            behaviour = Reply(status=behaviour.status, headers=headers or {}, body=behaviour.body, delay=delay)
        with self._lock:
            if path is None:
                self._default = behaviour
                self._per_path.clear()
            else:
                self._per_path[path] = behaviour

    def respond_sequence(self, path: str, specs: list) -> None:
        with self._lock:
            self._sequences[path] = [_as_behaviour(s) for s in specs]

    def on_request(self, callback: Callable[[RecordedRequest], None]) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def respond_by(self, decide: Callable[[RecordedRequest], object]) -> None:
        """`decide(request)` picks the answer from the request itself (e.g. its order id); None = as otherwise."""
        with self._lock:
            self._deciders.append(decide)

    def _behaviour_for(self, record: RecordedRequest):
        for decide in list(self._deciders):
            spec = decide(record)
            if spec is not None:
                return _as_behaviour(spec)
        path = record.path
        with self._lock:
            queued = self._sequences.get(path)
            if queued:
                return queued.pop(0)
            return self._per_path.get(path, self._default)

    # Serving -----------------------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        record = RecordedRequest(
            method=handler.command,
            path=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            received_at=time.time(),
            complete=len(body) == length,
        )
        with self._lock:
            self.requests.append(record)
            callbacks = list(self._callbacks)
            self._arrived.notify_all()
        if not record.complete:
            handler.close_connection = True
            return
        for callback in callbacks:  # may change how this very request is answered
            callback(record)
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            self._answer(handler, self._behaviour_for(record))
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, handler: BaseHTTPRequestHandler, behaviour) -> None:
        if behaviour == CLOSE:
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if isinstance(behaviour, Hang):
            time.sleep(behaviour.seconds)
            behaviour = Reply(status=200)
        if isinstance(behaviour, Gate):
            behaviour.wait()
            behaviour = Reply(status=200)
        if behaviour.delay:
            time.sleep(behaviour.delay)
        try:
            handler.send_response(behaviour.status)
            for name, value in behaviour.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(behaviour.body)))
            handler.end_headers()
            handler.wfile.write(behaviour.body)
        except OSError:  # the client gave up (timeout) or was killed: nothing to answer
            handler.close_connection = True

    # Reading -----------------------------------------------------------------------------------------------
    def requests_for(self, path: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def unique_by_webhook_id(self, path: str | None = None) -> list[RecordedRequest]:
        """The receiver's view: the first complete request per webhook-id, in arrival order (duplicates and
        bodies cut off by a dying client dropped, as a receiver verifying signatures would)."""
        seen: set[str] = set()
        unique = []
        for request in self.requests_for(path):
            if request.complete and request.webhook_id not in seen:
                seen.add(request.webhook_id)
                unique.append(request)
        return unique

    def wait_for_requests(self, count: int, *, path: str | None = None, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                got = [r for r in self.requests if path is None or r.path == path]
                if len(got) >= count:
                    return got
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} requests to {path or 'any path'}, got {len(got)}")
                self._arrived.wait(remaining)


@pytest.fixture
def http_server():
    server = RecordingServer().start()
    yield server
    server.stop()


def free_port() -> int:
    """A port nothing listens on (bound then released; the kernel will not hand it out again right away)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def refused_url() -> str:
    return f"http://127.0.0.1:{free_port()}/refused"
