"""The Grafana dashboard in docs/ only queries metrics that /metrics serves."""

import json
import re
from pathlib import Path

from ordersync.metrics import REQUEST_LATENCY, DatabaseCollector

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "ordersync.json"
SUFFIXES = ("_bucket", "_count", "_sum")


def test_every_dashboard_query_uses_a_served_metric(db):
    served = {family.name for family in DatabaseCollector().collect()} | {REQUEST_LATENCY._name}
    used = set()
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel["targets"]:
            used |= {name for name in re.findall(r"ordersync_[a-z_]+", target["expr"])}
    assert used
    for name in used:
        base = next((name.removesuffix(s) for s in SUFFIXES if name.endswith(s) and name.removesuffix(s) in served),
                    name)
        assert base in served, f"{name} is not served by /metrics"
