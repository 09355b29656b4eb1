"""A TCP proxy a test controls, put between two real processes to break the network between them.

    proxy = TcpProxy(("127.0.0.1", 5432)).start()      # clients connect to proxy.port instead
    proxy.latency = 0.3          # every chunk in either direction waits this long
    proxy.reset_responses()      # the next answers are cut mid-way with a TCP RST
    proxy.blackhole()            # connections are accepted, nothing is forwarded or answered
    proxy.cut()                  # every open connection is reset and new ones are refused (the server "is down")
    proxy.restore()              # back to forwarding

Threads, not asyncio: a test drives it from synchronous code and each connection needs two pumps anyway.
"""

import contextlib
import socket
import struct
import threading
import time

FORWARD, BLACKHOLE, REFUSE, RESET_RESPONSE = "forward", "blackhole", "refuse", "reset_response"


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0) instead of FIN: what a crashed peer or a middlebox dropping state looks like."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)  # wakes a pump blocked in recv() on it (close() alone would not)
    with contextlib.suppress(OSError):
        sock.close()


class TcpProxy:
    def __init__(self, upstream: tuple[str, int], *, host: str = "127.0.0.1"):
        self.upstream = upstream
        self.listener = socket.create_server((host, 0), backlog=256)
        self.host, self.port = self.listener.getsockname()[:2]
        self.mode = FORWARD
        self.latency = 0.0
        self.resets_left = 0  # in RESET_RESPONSE mode: how many answers to cut before forwarding again
        self.connections = 0
        self.resets = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def start(self) -> "TcpProxy":
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self.listener.close()
        self._reset_all()

    # Faults ------------------------------------------------------------------------------------------------
    def cut(self) -> None:
        self.mode = REFUSE
        self._reset_all()

    def blackhole(self) -> None:
        self.mode = BLACKHOLE

    def reset_responses(self, count: int = 1_000_000) -> None:
        self.resets_left = count
        self.mode = RESET_RESPONSE

    def restore(self) -> None:
        self.mode = FORWARD
        self.latency = 0.0

    def _reset_all(self) -> None:
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _reset(sock)

    # Pumping -----------------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            if self.mode == REFUSE:
                _reset(client)
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, *socks) -> None:
        with self._lock:
            self._open.update(socks)

    def _serve(self, client: socket.socket) -> None:
        self._track(client)
        if self.mode == BLACKHOLE:
            return  # held open, never answered, until cut()/stop() or the client gives up
        try:
            server = socket.create_connection(self.upstream, timeout=5)
            server.settimeout(None)
        except OSError:
            _reset(client)
            return
        self._track(server)
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
        self._pump(server, client, True)

    def _pump(self, source: socket.socket, dest: socket.socket, is_response: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    with contextlib.suppress(OSError):
                        dest.shutdown(socket.SHUT_WR)
                    return
                if self.mode == BLACKHOLE:
                    continue  # swallowed: the peer waits for an answer that never comes
                if self.latency:
                    time.sleep(self.latency)
                if is_response and self.mode == RESET_RESPONSE and self.resets_left > 0:
                    self.resets_left -= 1
                    self.resets += 1
                    dest.sendall(data[: max(1, len(data) // 2)])  # half an answer, then the connection dies
                    _reset(dest)
                    _reset(source)
                    return
                dest.sendall(data)
        except OSError:
            _reset(dest)
            _reset(source)
