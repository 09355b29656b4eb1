"""Channel-facing orders API. Views validate and translate; every write happens in orders.services."""

import re

from django.db.models import prefetch_related_objects
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from channels_integration.scopes import ORDERS_READ, ORDERS_WRITE
from orders.actors import Actor
from orders.api.fastpath import FastValidator, fast_or_none
from orders.api.pagination import OrderCursorPagination, id_from_text
from orders.api.serializers import (
    BulkInSerializer,
    BulkOutSerializer,
    ErrorSerializer,
    OrderInSerializer,
    OrderSerializer,
    StatusChangeSerializer,
    TransitionInSerializer,
)
from orders.errors import OrderNotFound
from orders.fsm import TRANSITIONS, Status
from orders.models import Order
from orders.selectors import order_for_channel, order_history, orders_for_channel
from orders.services import order_ingest, order_ingest_bulk, order_transition, transition_authorise
from orders.services.idempotency import idempotency_replay, idempotency_store, request_fingerprint
from ordersync.api import ApiError, first_message

IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
ERRORS = {code: OpenApiResponse(ErrorSerializer, description=text) for code, text in {
    400: "Invalid input (code: invalid, malformed_json, unknown_sku, ...)",
    401: "Missing, unknown or revoked API key",
    403: "The API key lacks a scope",
    404: "No such order for this channel (not_found), transition (unknown_transition) or cursor (invalid_cursor)",
    409: "Conflict (duplicate_external_id, insufficient_stock, invalid_transition, guard_failed, conflict)",
    413: "Body larger than the API accepts",
    429: "Too many requests for this API key",
}.items()}


def _errors(*codes):
    return {code: ERRORS[code] for code in codes}


ID_PARAMETER = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Order id")


def order_id(pk: str) -> int:
    parsed = id_from_text(pk)
    if parsed is None:
        raise OrderNotFound()
    return parsed


def error_body(exc: ApiError) -> dict:
    return {"code": exc.code, "detail": str(exc.detail), **exc.extra}


class OrderApiView(GenericAPIView):
    serializer_class = OrderSerializer

    @property
    def channel(self):
        return self.request.user.channel

    @property
    def actor(self) -> Actor:
        return Actor.for_api_key(self.request.user.api_key)


class OrderFilterSerializer(serializers.Serializer):
    # cursor and limit belong to the paginator; validated here so a bad value is a 400, not silently ignored.
    cursor = serializers.CharField(required=False, max_length=500, help_text="Opaque; from `next`/`previous`.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=OrderCursorPagination.max_page_size)
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    updated_since = serializers.DateTimeField(required=False)
    external_id = serializers.CharField(max_length=100, required=False)

    def validate(self, attrs):
        # A misspelt filter (?stauts=paid) would otherwise silently return every order.
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(f"Unknown query parameter(s): {', '.join(unknown)}.")
        return attrs


class OrderListCreateView(OrderApiView):
    required_scopes = {"GET": [ORDERS_READ], "POST": [ORDERS_WRITE]}
    pagination_class = OrderCursorPagination

    def get_queryset(self):
        return orders_for_channel(channel=self.channel)

    @extend_schema(
        operation_id="orders_list",
        parameters=[OrderFilterSerializer],
        responses={200: OrderSerializer(many=True), **_errors(400, 401, 403, 404, 429)},
    )
    def get(self, request):
        # A plain dict, not the QueryDict: DRF would treat `?updated_since=` as "not given" instead of invalid.
        filters = OrderFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        criteria = {k: v for k, v in filters.validated_data.items() if k not in ("cursor", "limit")}
        qs = orders_for_channel(channel=self.channel, **criteria)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(OrderSerializer(page, many=True).data)

    @extend_schema(
        operation_id="orders_create",
        request=OrderInSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                     description="Replays the stored answer when sent again with the same body.")],
        responses={201: OrderSerializer, 200: OrderSerializer, **_errors(400, 401, 403, 409, 413, 429)},
    )
    def post(self, request):
        key = request.headers.get("Idempotency-Key")
        if key is not None and not IDEMPOTENCY_KEY_RE.match(key):
            raise ApiError("Idempotency-Key: 1 to 255 printable ASCII characters.", code="invalid")
        prefix = request.user.api_key.prefix
        fingerprint = request_fingerprint(request.data) if key else ""
        if key:
            record = idempotency_replay(api_key_prefix=prefix, key=key, fingerprint=fingerprint)
            if record is not None:
                return Response(record.response_body, status=record.status_code,
                                headers={"Idempotent-Replayed": "true"})
        serializer = OrderInSerializer(data=request.data, context={"channel": self.channel})
        serializer.is_valid(raise_exception=True)
        result = order_ingest(channel=self.channel, data=serializer.validated_data, actor=self.actor)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        body = OrderSerializer(result.order, context={"lines": {result.order.pk: result.lines}}).data
        if key:
            idempotency_store(api_key_prefix=prefix, key=key, fingerprint=fingerprint, status_code=code, body=body)
        return Response(body, status=code)


class OrderBulkView(OrderApiView):
    required_scopes = [ORDERS_WRITE]

    @extend_schema(
        operation_id="orders_bulk_create",
        request=BulkInSerializer,
        responses={200: BulkOutSerializer, **_errors(400, 401, 403, 413, 429)},
        description="A result per order, in request order: {index, status, body}; status is what POST /orders/ "
        "would have answered for that order alone.",
    )
    def post(self, request):
        envelope = BulkInSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        results: list[dict | None] = []
        valid, positions = [], []
        # One serializer instance validates every item: building the fields once per request, not per order.
        validator = OrderInSerializer(context={"channel": self.channel})
        fast = FastValidator(validator)
        for index, item in enumerate(envelope.validated_data["orders"]):
            try:
                if not isinstance(item, dict):
                    raise serializers.ValidationError({"non_field_errors": ["Expected an object."]})
                # The fast path only accepts; anything it is unsure of gets the serializer (and its message).
                data = fast_or_none(fast, item)
                valid.append(data if data is not None else validator.run_validation(item))
            except serializers.ValidationError as exc:
                errors = exc.detail
                results.append({"index": index, "status": 400,
                                "body": {"code": "invalid", "detail": first_message(errors), "errors": errors}})
                continue
            results.append(None)
            positions.append(index)
        outcomes = order_ingest_bulk(channel=self.channel, items=valid, actor=self.actor)
        # Rendered from the objects ingest returned, as POST /orders/ does: the lines of new orders as written,
        # one query for the lines of all replayed ones.
        answered = [o.result for o in outcomes if o.result is not None]
        orders = list({result.order.pk: result.order for result in answered}.values())
        written = {result.order.pk: result.lines for result in answered if result.lines is not None}
        prefetch_related_objects([order for order in orders if order.pk not in written], "lines")
        bodies = {body["id"]: body for body in OrderSerializer(orders, many=True, context={"lines": written}).data}
        for outcome, index in zip(outcomes, positions, strict=True):
            if outcome.error is not None:
                results[index] = {"index": index, "status": outcome.error.status_code,
                                  "body": error_body(outcome.error)}
            else:
                results[index] = {"index": index, "status": 201 if outcome.result.created else 200,
                                  "body": bodies[outcome.result.order.pk]}
        return Response({"results": results})


class OrderDetailView(OrderApiView):
    required_scopes = [ORDERS_READ]

    @extend_schema(operation_id="orders_retrieve", parameters=[ID_PARAMETER],
                   responses={200: OrderSerializer, **_errors(401, 403, 404, 429)})
    def get(self, request, pk: str):
        order = order_for_channel(channel=self.channel, order_id=order_id(pk))
        if order is None:
            raise OrderNotFound()
        return Response(OrderSerializer(order).data)


class OrderHistoryView(OrderApiView):
    required_scopes = [ORDERS_READ]
    serializer_class = StatusChangeSerializer

    @extend_schema(operation_id="orders_history", parameters=[ID_PARAMETER],
                   responses={200: StatusChangeSerializer(many=True), **_errors(401, 403, 404, 429)})
    def get(self, request, pk: str):
        pk = order_id(pk)
        if not Order.objects.filter(channel=self.channel, pk=pk).exists():
            raise OrderNotFound()
        return Response(StatusChangeSerializer(order_history(order_id=pk), many=True).data)


# What an API key may ask for: system-only transitions are not offered.
OFFERED_TRANSITIONS = [name for name, spec in TRANSITIONS.items() if not spec.system_only]


def _transition_docs() -> str:
    rows = [f"`{spec.name}` ({spec.label}; scope `{spec.scope}`): body "
            + (", ".join(f"{f}{'' if f in spec.required else '?'}" for f in spec.inputs) or "{}")
            for spec in map(TRANSITIONS.get, OFFERED_TRANSITIONS)]
    return "Moves the order along one transition (`?` = optional field).\n\n" + "\n".join(f"- {r}" for r in rows)


class OrderTransitionView(OrderApiView):
    # The scope depends on the transition (payments, logistics, orders:write): checked before the body is read.
    required_scopes: list[str] = []

    @extend_schema(
        operation_id="orders_transition",
        request=TransitionInSerializer,
        parameters=[ID_PARAMETER,
                    OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=OFFERED_TRANSITIONS)],
        responses={200: OrderSerializer, **_errors(400, 401, 403, 404, 409, 429)},
        description=_transition_docs(),
    )
    def post(self, request, pk: str, name: str):
        pk = order_id(pk)
        transition_authorise(actor=self.actor, name=name)
        serializer = TransitionInSerializer(data=request.data, context={"transition": name})
        serializer.is_valid(raise_exception=True)
        order = order_transition(order_id=pk, name=name, actor=self.actor, payload=serializer.validated_data)
        order = order_for_channel(channel=self.channel, order_id=order.pk)
        return Response(OrderSerializer(order).data)
