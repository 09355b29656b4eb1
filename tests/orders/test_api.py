"""The orders API as a channel sees it: auth, scopes, idempotency, isolation, listing, transitions."""

import pytest
from rest_framework.test import APIClient

from channels_integration.services import api_key_revoke
from orders.fsm import TRANSITIONS, Status
from orders.models import Order, OrderStatusChange
from tests.orders.conftest import ALL_ORDER_SCOPES
from tests.orders.factories import PATH_TO, make_order, order_body, payload_for

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def transition_url(order, name):
    return f"{ORDERS}{order.pk}/transitions/{name}/"


# --- authentication -------------------------------------------------------------------------------------------

def test_missing_auth_is_401(skus):
    response = APIClient().post(ORDERS, order_body(), format="json")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert not Order.objects.exists()


@pytest.mark.parametrize("header", ["Bearer osk_deadbeef.nope", "Bearer not-a-key", "Basic abc", "Bearer "])
def test_bad_credentials_are_401(skus, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(ORDERS)
    assert response.status_code == 401 and response.json()["code"] in ("authentication_failed", "not_authenticated")


def test_revoked_key_is_401(api):
    api_key_revoke(api_key=api.api_key)
    response = api.post(ORDERS, order_body(), format="json")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    assert "revoked" in response.json()["detail"]
    assert not Order.objects.exists()


def test_deactivated_channel_is_401(api, channel):
    channel.active = False
    channel.save()
    assert api.get(ORDERS).status_code == 401


# --- scopes ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "url", "scope"), [
    ("get", ORDERS, "orders:read"),
    ("post", ORDERS, "orders:write"),
    ("post", ORDERS + "bulk/", "orders:write"),
])
def test_endpoint_needs_its_scope(make_api_client, channel, skus, method, url, scope):
    others = [s for s in ALL_ORDER_SCOPES + ["inventory:read"] if s != scope]
    client = make_api_client(channel=channel, scopes=others)
    body = {"orders": [order_body()]} if "bulk" in url else order_body()
    response = getattr(client, method)(url, body, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert scope in response.json()["detail"]
    assert not Order.objects.exists()


def test_reading_one_order_and_its_history_needs_orders_read(make_api_client, channel, skus):
    order = make_order(channel)
    client = make_api_client(channel=channel, scopes=["orders:write"])
    assert client.get(f"{ORDERS}{order.pk}/").status_code == 403
    assert client.get(f"{ORDERS}{order.pk}/history/").status_code == 403


TRANSITION_CASES = [(name, spec.scope) for name, spec in TRANSITIONS.items()]


@pytest.mark.parametrize(("name", "scope"), TRANSITION_CASES, ids=[n for n, _ in TRANSITION_CASES])
def test_each_transition_needs_its_scope(make_api_client, channel, skus, name, scope):
    source = next(s for s, names in _sources().items() if name in names)
    order = make_order(channel, source)
    lacking = make_api_client(channel=channel, scopes=[s for s in ALL_ORDER_SCOPES if s != scope])
    response = lacking.post(transition_url(order, name), payload_for(name, order), format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert Order.objects.get(pk=order.pk).status == source
    if scope is None:
        return  # expire belongs to the system: no key can run it
    holder = make_api_client(channel=channel, scopes=[scope])
    response = holder.post(transition_url(order, name), payload_for(name, order), format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] != source
    change = OrderStatusChange.objects.filter(order=order).latest("id")
    assert change.actor == f"api:{holder.api_key.prefix}" and change.actor_kind == "api_key"


INVALID_BODIES = {"pay": {"amount": 25.5}, "ship": {"tracking_number": ""}, "cancel": {"reason": 7}}


@pytest.mark.parametrize(("name", "scope"), TRANSITION_CASES, ids=[n for n, _ in TRANSITION_CASES])
def test_the_scope_is_checked_before_the_body(make_api_client, channel, skus, name, scope):
    """Issue 13: a key without `payments` sending an invalid pay body got 400 (what the body lacks), not 403."""
    source = next(s for s, names in _sources().items() if name in names)
    order = make_order(channel, source)
    lacking = make_api_client(channel=channel, scopes=[s for s in ALL_ORDER_SCOPES if s != scope])
    for body in (INVALID_BODIES.get(name, {"reason": ["not", "text"]}), b"{not json"):
        if isinstance(body, bytes):
            response = lacking.generic("POST", transition_url(order, name), body, content_type="application/json")
        else:
            response = lacking.post(transition_url(order, name), body, format="json")
        assert response.status_code == 403 and response.json()["code"] == "permission_denied", response.json()
    assert Order.objects.get(pk=order.pk).status == source


def _sources():
    from orders.fsm import allowed_from

    return {state: allowed_from(Order, state) for state in PATH_TO}


# --- create, idempotency, isolation ---------------------------------------------------------------------------

def test_create_then_replay_returns_the_same_order(api):
    body = order_body(external_id="W-1")
    first = api.post(ORDERS, body, format="json")
    assert first.status_code == 201, first.json()
    data = first.json()
    assert (data["status"], data["total"], data["currency"]) == ("new", "25.50", "EUR")
    assert data["channel"] == api.channel.code
    assert data["lines"][0] == {**data["lines"][0], "sku": "SKU-A", "quantity": 2, "unit_price": "10.00",
                                "line_total": "20.00"}
    again = api.post(ORDERS, body, format="json")
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    changed = api.post(ORDERS, {**body, "customer_name": "Other"}, format="json")
    assert changed.status_code == 409 and changed.json()["code"] == "duplicate_external_id"
    assert Order.objects.count() == 1


def test_price_precision_follows_the_currency(api):
    lines = [{"sku": "SKU-A", "quantity": 3, "unit_price": "1.125"}]
    response = api.post(ORDERS, order_body(currency="KWD", lines=lines), format="json")
    assert response.status_code == 201 and response.json()["total"] == "3.375"
    lines = [{"sku": "SKU-A", "quantity": 3, "unit_price": "1500"}]
    response = api.post(ORDERS, order_body(currency="JPY", lines=lines), format="json")
    assert response.status_code == 201 and response.json()["total"] == "4500"


def test_idempotency_key_replays_the_stored_response(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "req-123"}
    first = api.post(ORDERS, order_body(external_id="K-1"), format="json", **headers)
    assert first.status_code == 201
    replay = api.post(ORDERS, order_body(external_id="K-1"), format="json", **headers)
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    reused = api.post(ORDERS, order_body(external_id="K-2"), format="json", **headers)
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_idempotency_keys_are_per_api_key(api, make_api_client, channel):
    other = make_api_client(channel=channel, scopes=ALL_ORDER_SCOPES)
    api.post(ORDERS, order_body(external_id="K-1"), format="json", HTTP_IDEMPOTENCY_KEY="same")
    response = other.post(ORDERS, order_body(external_id="K-2"), format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert response.status_code == 201 and response.json()["external_id"] == "K-2"


def test_bad_idempotency_key_is_400(api):
    response = api.post(ORDERS, order_body(), format="json", HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["detail"]


def test_another_channels_order_is_404_everywhere(api, make_api_client, skus):
    foreign = make_order(make_api_client(scopes=["orders:read"]).channel)
    for url in (f"{ORDERS}{foreign.pk}/", f"{ORDERS}{foreign.pk}/history/"):
        response = api.get(url)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    response = api.post(transition_url(foreign, "cancel"), {"reason": "mine now"}, format="json")
    assert response.status_code == 404
    assert Order.objects.get(pk=foreign.pk).status == Status.NEW
    assert api.get(ORDERS).json()["results"] == []
    assert api.get(ORDERS, {"external_id": foreign.external_id}).json()["results"] == []


# --- reading --------------------------------------------------------------------------------------------------

def test_list_filters_and_cursor_pagination(api, channel, django_assert_max_num_queries):
    made = [make_order(channel, Status.NEW) for _ in range(5)]
    paid = make_order(channel, Status.PAID)
    with django_assert_max_num_queries(6):
        page = api.get(ORDERS, {"limit": 2}).json()
    seen = [o["id"] for o in page["results"]]
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [o["id"] for o in page["results"]]
    assert seen == sorted([o.pk for o in made] + [paid.pk], reverse=True)
    assert [o["id"] for o in api.get(ORDERS, {"status": "paid"}).json()["results"]] == [paid.pk]
    assert [o["id"] for o in api.get(ORDERS, {"external_id": made[0].external_id}).json()["results"]] == [made[0].pk]
    since = Order.objects.get(pk=paid.pk).updated_at.isoformat()
    assert [o["id"] for o in api.get(ORDERS, {"updated_since": since}).json()["results"]] == [paid.pk]


def test_list_query_count_does_not_grow_with_orders(api, channel, django_assert_max_num_queries):
    for _ in range(30):
        make_order(channel)
    with django_assert_max_num_queries(6):
        response = api.get(ORDERS, {"limit": 30})
    assert len(response.json()["results"]) == 30


@pytest.mark.parametrize("query", [{"status": "lost"}, {"updated_since": "yesterday"}, {"cursor": "garbage"},
                                   {"external_id": "x" * 101}])
def test_bad_list_filters_are_4xx(api, query):
    response = api.get(ORDERS, query)
    assert 400 <= response.status_code < 500 and "code" in response.json()


def test_history_lists_every_change_with_actor_and_reason(api, channel, django_assert_max_num_queries):
    order = make_order(channel, Status.PAID)
    api.post(transition_url(order, "hold"), {"reason": "address check"}, format="json")
    with django_assert_max_num_queries(5):
        history = api.get(f"{ORDERS}{order.pk}/history/").json()
    assert [(h["from_status"], h["to_status"], h["transition"]) for h in history] == [
        ("", "new", "create"), ("new", "paid", "pay"), ("paid", "on_hold", "hold")
    ]
    assert history[-1]["actor"] == f"api:{api.api_key.prefix}" and history[-1]["reason"] == "address check"


# --- transitions over HTTP ------------------------------------------------------------------------------------

def test_full_lifecycle_over_http(api):
    order = api.post(ORDERS, order_body(), format="json").json()
    steps = [("pay", {"amount": "25.50", "currency": "EUR", "payment_reference": "ch_1"}, "paid"),
             ("start_fulfilment", {}, "fulfilling"),
             ("ship", {"tracking_number": "1Z999", "carrier": "UPS"}, "shipped"),
             ("deliver", {}, "delivered"),
             ("mark_returned", {"reason": "wrong size"}, "returned"),
             ("refund", {"reason": "returned"}, "refunded")]
    for name, body, status in steps:
        response = api.post(f"{ORDERS}{order['id']}/transitions/{name}/", body, format="json")
        assert response.status_code == 200, (name, response.json())
        assert response.json()["status"] == status
    assert response.json()["tracking_number"] == "1Z999"


def test_transition_not_allowed_is_409_listing_what_the_caller_could_run(api, channel, make_api_client):
    order = make_order(channel, Status.NEW)
    response = api.post(transition_url(order, "ship"), {"tracking_number": "T"}, format="json")
    assert response.status_code == 409
    # Never the system-only expire: the API refuses it to every key.
    assert response.json() == {**response.json(), "code": "invalid_transition", "status": "new",
                               "allowed": ["cancel", "hold", "pay"]}
    carrier = make_api_client(channel=channel, scopes=["logistics"])
    response = carrier.post(transition_url(order, "ship"), {"tracking_number": "T"}, format="json")
    assert response.status_code == 409 and response.json()["allowed"] == []
    assert "nothing" in response.json()["detail"]


def test_the_schema_offers_no_system_only_transition(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    operation = paths["/api/v1/orders/{id}/transitions/{name}/"]["post"]
    names = next(p for p in operation["parameters"] if p["name"] == "name")["schema"]["enum"]
    assert set(names) == set(TRANSITIONS) - {"expire"}
    assert "expire" not in operation["description"] and "Mark paid" in operation["description"]


@pytest.mark.parametrize(("name", "body", "field"), [
    ("ship", {}, "tracking_number"),
    ("pay", {"amount": "25.50"}, "currency"),
    ("cancel", {}, "reason"),
    ("pay", {"amount": "abc", "currency": "EUR"}, "amount"),
])
def test_transition_body_is_validated(api, channel, name, body, field):
    order = make_order(channel, Status.FULFILLING if name == "ship" else Status.NEW)
    response = api.post(transition_url(order, name), body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


def test_guard_failure_is_409_naming_the_guard(api, channel):
    order = make_order(channel, Status.NEW)
    response = api.post(transition_url(order, "pay"), {"amount": "1.00", "currency": "EUR"}, format="json")
    assert response.status_code == 409 and response.json()["guards"] == ["amount_matches_total"]


def test_unknown_transition_is_404(api, channel):
    response = api.post(transition_url(make_order(channel), "teleport"), {}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "unknown_transition"


def test_throttled_per_api_key(api, make_api_client, channel, settings):
    from django.core.cache import cache

    cache.clear()
    settings.API_THROTTLE_RATE = "3/min"
    assert [api.get(ORDERS).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert api.get(ORDERS).json()["code"] == "throttled"
    other = make_api_client(channel=channel, scopes=["orders:read"])
    assert other.get(ORDERS).status_code == 200
    cache.clear()
