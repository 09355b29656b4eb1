"""A small runner for wrk (Debian's, /usr/bin/wrk): load comes from outside the Python process under test.

`wrk_run` loads one URL for a few seconds and returns what wrk measured (requests/second counting only 2xx/3xx
answers, latency percentiles, errors). Requests come from a Lua script built here, walking a list of entries (a
body and the headers of that one request): with `bodies`, JSON templates in which `@ID@` becomes an id unique
across threads, connections and runs, so POSTs never collide on idempotency keys; with `prepared`, exact bytes and
headers computed here (a signature over the body), each wrk thread taking its own slice so none is sent twice
while the list lasts. `generator_ceiling` is the same wrk against a trivial endpoint of the same server (no
database), so a reader can see the generator was not what limited a measurement.
"""

import json
import os
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

WRK = os.environ.get("WRK", "/usr/bin/wrk")
MARKER = "WRK-RESULT "

# setup() runs in wrk's main Lua state and gives each thread its number as a global of that thread's state (a
# chunk-level local of the same name would shadow it in request(), and every thread would count from the same id).
# request() walks this thread's slice of the entries; done() prints one JSON line this module parses.
LUA = """
local entries = dofile("%(data)s")
local common = %(headers)s
local method, path, run, step = "%(method)s", "%(path)s", "%(run)s", %(threads)d
local started, counter = 0, 0

function setup(thread)
  thread:set("thread_id", started)
  started = started + 1
end

function request()
  counter = counter + 1
  if #entries == 0 then
    return wrk.format(method, path, common)
  end
  local e = entries[((thread_id + (counter - 1) * step) %% #entries) + 1]
  local headers = {}
  for k, v in pairs(common) do headers[k] = v end
  for k, v in pairs(e[2]) do headers[k] = v end
  local n = 0
  local body = string.gsub(e[1], "@ID@", function()
    n = n + 1
    return run .. "-" .. thread_id .. "-" .. counter .. "-" .. n
  end)
  return wrk.format(method, path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "%(marker)s{\\"requests\\": %%.0f, \\"duration_us\\": %%.0f, \\"non_2xx\\": %%.0f, \\"connect\\": %%.0f, " ..
    "\\"read\\": %%.0f, \\"write\\": %%.0f, \\"timeout\\": %%.0f, \\"p50_us\\": %%.0f, \\"p90_us\\": %%.0f, " ..
    "\\"p99_us\\": %%.0f}\\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float

    @property
    def ok_per_second(self) -> float:
        """Answers with a 2xx/3xx status per second: a refused request is not throughput."""
        return (self.requests - self.non_2xx) / self.seconds

    def describe(self) -> str:
        return (f"{self.ok_per_second:.1f}/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
                f"non-2xx {self.non_2xx}, socket errors {self.socket_errors}")


def _lua_string(text: str) -> str:
    level = "=" * 4
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def _lua_table(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()) + "}"


def _lua_entries(entries: list[tuple[str, dict[str, str]]], chunk: int = 5000) -> str:
    """A Lua file returning the entries; dofile() reads it once per thread. Rows come in functions of `chunk`
    rows each, as LuaJIT allows a function at most 65,536 constants and every body and signature is one."""
    parts = ["local entries = {}"]
    for start in range(0, len(entries), chunk):
        rows = "\n".join(f"{{{_lua_string(body)}, {_lua_table(headers)}}},"
                         for body, headers in entries[start:start + chunk])
        parts.append(f"for _, e in ipairs((function() return {{\n{rows}\n}} end)()) do entries[#entries + 1] = e end")
    return "\n".join(parts) + "\nreturn entries\n"


def wrk_run(*, port: int, path: str, seconds: float, connections: int, method: str = "GET",
            headers: dict[str, str] | None = None, bodies: list[dict] | None = None,
            prepared: list[tuple[str, dict[str, str]]] | None = None,
            threads: int | None = None, timeout_s: int = 30) -> WrkResult:
    """`bodies`: JSON bodies sent in turn; the string "@ID@" anywhere in them becomes a unique id per use.
    `prepared`: (body, headers of that request) sent as they are, each once per run while the list lasts."""
    if bodies and prepared:
        raise ValueError("bodies or prepared, not both")
    headers = dict(headers or {})
    entries = prepared or [(json.dumps(body), {}) for body in bodies or []]
    if entries:
        headers.setdefault("Content-Type", "application/json")
    threads = threads or min(connections, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="wrk-") as tmp:
        data, script = Path(tmp, "entries.lua"), Path(tmp, "run.lua")
        data.write_text(_lua_entries(entries))
        script.write_text(LUA % {"data": data, "headers": _lua_table(headers), "method": method, "path": path,
                                 "run": uuid.uuid4().hex[:10], "threads": threads, "marker": MARKER})
        # wrk takes whole seconds only.
        completed = subprocess.run(
            [WRK, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout_s}s",
             "-s", str(script), f"http://127.0.0.1:{port}{path}"],
            capture_output=True, text=True, timeout=seconds + timeout_s + 30,
        )
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith(MARKER)), None)
    if completed.returncode or line is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    raw = json.loads(line[len(MARKER):])
    return WrkResult(
        requests=raw["requests"], seconds=raw["duration_us"] / 1e6, non_2xx=raw["non_2xx"],
        socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        p50_ms=raw["p50_us"] / 1000, p90_ms=raw["p90_us"] / 1000, p99_ms=raw["p99_us"] / 1000,
    )


def generator_ceiling(*, port: int, seconds: float, connections: int, path: str = "/healthz") -> WrkResult:
    """wrk against an endpoint that does no I/O, on the same server: what wrk plus the server can do at most."""
    return wrk_run(port=port, path=path, seconds=seconds, connections=connections)
