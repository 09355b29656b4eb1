"""The load generator against a real recording server: what the benchmarks send is what they say they send.

Every POST of a benchmark must be a new order (a repeated id would be an idempotent replay, far cheaper than an
insert, and would inflate the measured rate), and prepared requests (a body with its own signature header) must
go out with their own headers, none twice."""

from collections import Counter

from bench.wrk import generator_ceiling, wrk_run


def test_templated_ids_are_unique_across_threads_and_connections(http_server):
    result = wrk_run(port=http_server.port, path="/orders", method="POST", seconds=1, connections=8, threads=2,
                     bodies=[{"external_id": "a-@ID@", "n": 1}, {"external_id": "b-@ID@", "n": 2}])

    ids = Counter(r.json()["external_id"] for r in http_server.requests)
    assert result.requests > 100 and result.non_2xx == 0
    assert len(http_server.requests) >= result.requests
    assert ids.most_common(1)[0][1] == 1, f"ids sent more than once: {ids.most_common(3)}"
    assert {r.headers["content-type"] for r in http_server.requests} == {"application/json"}


def test_prepared_requests_carry_their_own_headers_and_go_out_once(http_server):
    prepared = [(f'{{"n": {n}}}', {"X-Signature": f"sig-{n}"}) for n in range(50_000)]

    result = wrk_run(port=http_server.port, path="/hook", method="POST", seconds=1, connections=8, threads=2,
                     headers={"X-Topic": "orders/create"}, prepared=prepared)

    sent = [(r.json()["n"], r.headers["x-signature"], r.headers["x-topic"]) for r in http_server.requests]
    assert result.requests > 100 and len(sent) < len(prepared)
    assert all(signature == f"sig-{n}" and topic == "orders/create" for n, signature, topic in sent)
    assert len({n for n, _s, _t in sent}) == len(sent), "a prepared request went out twice"


def test_ceiling_counts_answers_and_refusals(http_server):
    http_server.respond(503, path="/down")

    ok = generator_ceiling(port=http_server.port, seconds=1, connections=4, path="/healthz")
    down = wrk_run(port=http_server.port, path="/down", seconds=1, connections=4)

    assert ok.requests > 100 and ok.non_2xx == 0 and ok.ok_per_second > 0
    assert down.requests > 100 and down.non_2xx == down.requests and down.ok_per_second == 0
