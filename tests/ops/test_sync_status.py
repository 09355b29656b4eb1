import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from sync.models import Delivery
from tests.sync.factories import make_endpoint, publish

pytestmark = pytest.mark.django_db


def test_sync_status_json_gives_every_endpoint_with_backlog_dead_state_and_oldest_age():
    pay, _ = make_endpoint(url="http://127.0.0.1:9/pay", kind="payment")
    ship, _ = make_endpoint(url="http://127.0.0.1:9/ship", kind="logistics")
    ship.active = False
    ship.save(update_fields=["active"])
    for order_id in range(4):
        publish(order_id=order_id)
    Delivery.objects.filter(endpoint=pay, event__order_id=0).update(state="dead")
    Delivery.objects.filter(endpoint=pay, event__order_id=1).update(created_at=timezone.now() - timedelta(minutes=5))
    Delivery.objects.filter(endpoint=ship).update(state="succeeded")

    out = io.StringIO()
    call_command("sync_status", "--json", stdout=out)
    report = json.loads(out.getvalue())

    rows = {row["endpoint"]: row for row in report["endpoints"]}
    assert report["total_backlog"] == 3
    assert rows[pay.name]["backlog"] == 3 and rows[pay.name]["dead"] == 1 and rows[pay.name]["state"] == "closed"
    assert 300 <= rows[pay.name]["oldest_pending_seconds"] < 400
    assert rows[ship.name] == {"endpoint": ship.name, "kind": "logistics", "state": "disabled", "backlog": 0,
                               "dead": 0, "oldest_pending_seconds": None}
