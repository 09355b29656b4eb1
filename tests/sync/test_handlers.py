"""Handler endpoints: deliveries that run a registered function in the worker instead of a signed POST."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from sync.handlers import HandlerResult, handler
from sync.models import Attempt, Delivery, Endpoint, OperatorAlert
from sync.services import delivery_attempt, endpoint_create
from tests.sync.factories import publish

pytestmark = pytest.mark.django_db

calls: list[dict] = []
script: list = []


@handler("tests.recording")
def recording_handler(*, event, endpoint, delivery, attempt):
    calls.append({"event": event.pk, "topic": event.topic, "options": endpoint.handler_options, "attempt": attempt,
                  "delivery": delivery.pk})
    step = script.pop(0) if script else HandlerResult(ok=True, detail="done")
    if isinstance(step, Exception):
        raise step
    return step


@pytest.fixture(autouse=True)
def reset():
    calls.clear()
    script.clear()


def make_handler_endpoint(**options):
    return endpoint_create(name="notify-local", kind="notification", handler="tests.recording",
                           handler_options={"medium": "email"}, topics=["order.*"], **options).endpoint


def test_a_handler_endpoint_runs_the_registered_function_and_records_the_attempt():
    endpoint = make_handler_endpoint()
    event = publish("order.paid", order_id=7)
    delivery = Delivery.objects.get(endpoint=endpoint)

    assert delivery_attempt(delivery_id=delivery.pk) == "succeeded"

    assert calls == [{"event": event.pk, "topic": "order.paid", "options": {"medium": "email"}, "attempt": 1,
                      "delivery": delivery.pk}]
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED and delivery.last_status_code is None
    attempt = Attempt.objects.get(delivery=delivery)
    assert attempt.response_body == "done" and attempt.error == ""


def test_a_raising_handler_is_a_failed_attempt_retried_on_the_schedule():
    endpoint = make_handler_endpoint(retry_schedule=[0, 0])
    publish("order.paid", order_id=7)
    delivery = Delivery.objects.get(endpoint=endpoint)
    script.extend([RuntimeError("smtp refused"), HandlerResult(ok=True)])

    assert delivery_attempt(delivery_id=delivery.pk) == "retry"
    assert Attempt.objects.get(delivery=delivery).error == "RuntimeError: smtp refused"
    assert delivery_attempt(delivery_id=delivery.pk) == "succeeded"
    assert [c["attempt"] for c in calls] == [1, 2]


def test_retry_after_from_a_handler_is_a_lower_bound_for_the_next_attempt():
    endpoint = make_handler_endpoint(retry_schedule=[0, 0])
    publish("order.paid", order_id=7)
    delivery = Delivery.objects.get(endpoint=endpoint)
    script.append(HandlerResult(ok=False, detail="channel API throttled", status_code=429, retry_after=120))

    assert delivery_attempt(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert (delivery.next_attempt_at - delivery.attempt_log.get().started_at).total_seconds() >= 119
    assert delivery.last_status_code == 429 and delivery.last_error == "channel API throttled"


def test_a_permanent_failure_goes_dead_at_once_with_an_alert_and_a_410_does_not_disable_the_endpoint():
    endpoint = make_handler_endpoint(retry_schedule=[0, 0, 0])
    publish("order.paid", order_id=7)
    delivery = Delivery.objects.get(endpoint=endpoint)
    script.append(HandlerResult(ok=False, detail="template error: unknown tag", status_code=410, permanent=True))

    assert delivery_attempt(delivery_id=delivery.pk) == "dead"
    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert delivery.state == Delivery.State.DEAD and endpoint.active
    assert OperatorAlert.objects.get(delivery=delivery).kind == OperatorAlert.Kind.DELIVERY_DEAD


def test_a_handler_this_process_does_not_know_fails_the_attempt_with_its_name():
    endpoint = make_handler_endpoint(retry_schedule=[0, 0])
    Endpoint.objects.filter(pk=endpoint.pk).update(handler="tests.gone")
    publish("order.paid", order_id=7)
    delivery = Delivery.objects.get(endpoint=endpoint)

    assert delivery_attempt(delivery_id=delivery.pk) == "retry"
    assert "no handler 'tests.gone'" in Attempt.objects.get(delivery=delivery).error


@pytest.mark.parametrize(
    ("options", "field"),
    [({"handler": "tests.nope"}, "handler"), ({"handler": "tests.recording", "url": "http://127.0.0.1:9/x"}, "url")],
)
def test_endpoint_create_refuses_an_unknown_handler_or_both_a_url_and_a_handler(options, field):
    with pytest.raises(ValidationError) as info:
        endpoint_create(name="x", kind="notification", topics=["*"], **options)
    assert field in info.value.message_dict
    assert not Endpoint.objects.exists()


def test_the_database_refuses_an_endpoint_with_neither_url_nor_handler():
    with pytest.raises(IntegrityError):
        Endpoint.objects.create(name="neither", kind="payment", url="", handler="", secret="s", topics=["*"])
