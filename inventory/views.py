"""Channel-facing stock API. Views validate and call services; they never write models.

Scopes: `inventory:read` for a channel's availability view (what it may sell, after its buffer and cap) and the
warehouse list; `inventory:write` for catalog and stock writes, the stock system's job (docs/SECURITY.md).
"""

import logging

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_integration.scopes import INVENTORY_READ, INVENTORY_WRITE
from inventory.codes import SKU_CODE_SCHEMA_PATTERN, sku_code_problem
from inventory.errors import InventoryError, UnknownSku
from inventory.models import Warehouse
from inventory.selectors import existing_sku_codes, sellable_availability
from inventory.serializers import (
    AvailabilityListSerializer,
    SkuSerializer,
    SkuWriteSerializer,
    StockChangeSerializer,
    StockErrorSerializer,
    StockLevelSerializer,
    WarehouseSerializer,
)
from inventory.services import sku_upsert, stock_adjust
from ordersync.api import ApiError

logger = logging.getLogger(__name__)

MAX_SKUS_PER_QUERY = 200
BAD_REQUEST = OpenApiResponse(StockErrorSerializer, description="Invalid input; `detail` names the field.")


def _sku_path(name: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.PATH, pattern=SKU_CODE_SCHEMA_PATTERN,
                            description="SKU code")


def _actor(request) -> str:
    return f"api:{request.user.api_key.prefix}"


def _as_api_error(exc: InventoryError) -> ApiError:
    detail, extra = exc.detail, {}
    if exc.field:
        extra["field"] = exc.field
        detail = detail if detail.startswith(exc.field) else f"{exc.field}: {detail}"
    if hasattr(exc, "codes"):
        extra["codes"] = exc.codes
    return ApiError(detail, code=exc.code, status_code=status.HTTP_400_BAD_REQUEST, extra=extra)


class SkuDetailView(APIView):
    required_scopes = [INVENTORY_WRITE]

    @extend_schema(
        operation_id="sku_upsert",
        parameters=[_sku_path("code")],
        request=SkuWriteSerializer,
        responses={200: SkuSerializer, 201: SkuSerializer, 400: BAD_REQUEST},
        summary="Create or update a SKU (scope inventory:write)",
    )
    def put(self, request, code: str):
        serializer = SkuWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            sku, created = sku_upsert(code=code, actor=_actor(request), **serializer.validated_data)
        except InventoryError as exc:
            raise _as_api_error(exc) from exc
        return Response(SkuSerializer(sku).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class WarehouseListView(APIView):
    required_scopes = [INVENTORY_READ]

    @extend_schema(operation_id="warehouse_list", responses={200: WarehouseSerializer(many=True)})
    def get(self, request):
        return Response(WarehouseSerializer(Warehouse.objects.order_by("priority", "code"), many=True).data)


class StockView(APIView):
    required_scopes = [INVENTORY_READ]

    @extend_schema(
        operation_id="stock_available",
        parameters=[
            OpenApiParameter(
                "sku", OpenApiTypes.STR, many=True, required=True, explode=True, pattern=SKU_CODE_SCHEMA_PATTERN,
                description=f"SKU code; repeat for several (at most {MAX_SKUS_PER_QUERY}).",
            )
        ],
        responses={200: AvailabilityListSerializer, 400: BAD_REQUEST},
        summary="Available-to-sell per SKU for the calling channel (scope inventory:read)",
    )
    def get(self, request):
        codes = list(dict.fromkeys(c for c in request.query_params.getlist("sku") if c))
        if not codes:
            raise ApiError("sku: give at least one ?sku=<code>.", code="invalid", extra={"field": "sku"})
        if len(codes) > MAX_SKUS_PER_QUERY:
            raise ApiError(f"sku: at most {MAX_SKUS_PER_QUERY} SKUs per request.", code="invalid",
                           extra={"field": "sku"})
        for position, code in enumerate(codes, start=1):
            problem = sku_code_problem(code)
            if problem:
                raise ApiError(f"sku: value {position} is {problem}", code="invalid", extra={"field": "sku"})
        channel = request.user.channel
        available = sellable_availability(sku_codes=codes, channel=channel)
        unknown = [c for c in codes if c not in available]
        if unknown:
            refusal = UnknownSku(unknown, not_sellable=existing_sku_codes(sku_codes=unknown))
            logger.info("stock query: %s", refusal.operator_note(channel))
            raise ApiError(f"sku: unknown SKU(s): {', '.join(unknown)}.", code="unknown_sku",
                           extra={"field": "sku", "codes": unknown})
        results = [
            {"sku": code, "available": available[code], "track_inventory": available[code] is not None}
            for code in codes
        ]
        return Response({"results": results})


class StockDetailView(APIView):
    required_scopes = [INVENTORY_WRITE]

    @extend_schema(
        operation_id="stock_set",
        parameters=[_sku_path("sku")],
        request=StockChangeSerializer,
        responses={200: StockLevelSerializer, 400: BAD_REQUEST},
        summary="Set (on_hand) or change (delta) the stock of a SKU in one warehouse (scope inventory:write)",
    )
    def put(self, request, sku: str):
        serializer = StockChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            level = stock_adjust(
                sku_code=sku, warehouse_code=data["warehouse"], actor=_actor(request), reason=data["reason"],
                on_hand=data.get("on_hand"), delta=data.get("delta"),
            )
        except InventoryError as exc:
            raise _as_api_error(exc) from exc
        return Response(
            StockLevelSerializer(
                {
                    "sku": sku,
                    "warehouse": data["warehouse"],
                    "on_hand": level.on_hand,
                    "reserved": level.reserved,
                    "available": sellable_availability(sku_codes=[sku])[sku],
                }
            ).data
        )
