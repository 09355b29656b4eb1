"""A small runner for wrk (Debian's, /usr/bin/wrk): load comes from outside the Python process under test.

`wrk_run` loads one URL for a few seconds and returns what wrk measured (requests/second counting only 2xx/3xx
answers, latency percentiles, errors). Bodies come from a Lua script built here: a list of JSON templates sent
in turn, `@ID@` in them replaced by an id unique across connections and runs, so POSTs never collide on
idempotency keys. `generator_ceiling` is the same wrk against a trivial endpoint of the same server (no database),
so a reader can see the generator was not what limited a measurement.
"""

import json
import os
import subprocess
import tempfile
import uuid
from dataclasses import dataclass

WRK = os.environ.get("WRK", "/usr/bin/wrk")
MARKER = "WRK-RESULT "

# setup() numbers each wrk thread; request() makes the body; done() prints one JSON line this module parses.
LUA = """
local templates = {%(templates)s}
local headers = %(headers)s
local method, path, run = "%(method)s", "%(path)s", "%(run)s"
local counter, thread_id, threads = 0, 0, 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function request()
  counter = counter + 1
  local body = nil
  if #templates > 0 then
    local n = 0
    body = string.gsub(templates[(counter %% #templates) + 1], "@ID@", function()
      n = n + 1
      return run .. "-" .. thread_id .. "-" .. counter .. "-" .. n
    end)
  end
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


def lua_script(*, method: str, path: str, headers: dict[str, str], templates: list[str]) -> str:
    header_table = "{" + ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()) + "}"
    return LUA % {"templates": ", ".join(_lua_string(t) for t in templates), "headers": header_table,
                  "method": method, "path": path, "run": uuid.uuid4().hex[:10], "marker": MARKER}


def wrk_run(*, port: int, path: str, seconds: float, connections: int, method: str = "GET",
            headers: dict[str, str] | None = None, bodies: list[dict] | None = None,
            threads: int | None = None, timeout_s: int = 30) -> WrkResult:
    """`bodies`: JSON bodies sent in turn; the string "@ID@" anywhere in them becomes a unique id per use."""
    headers = dict(headers or {})
    templates = [json.dumps(body) for body in bodies or []]
    if templates:
        headers.setdefault("Content-Type", "application/json")
    threads = threads or min(connections, os.cpu_count() or 1)
    # wrk takes whole seconds only.
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(method=method, path=path, headers=headers, templates=templates))
    try:
        completed = subprocess.run(
            [WRK, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout_s}s",
             "-s", script.name, f"http://127.0.0.1:{port}{path}"],
            capture_output=True, text=True, timeout=seconds + timeout_s + 30,
        )
    finally:
        os.unlink(script.name)
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
