"""Channel-facing SKU mapping API (scope `inventory`): how the calling channel knows each of our SKUs.

GET /api/v1/sku-mappings/ lists the key's channel's mappings; GET / PUT /api/v1/sku-mappings/{sku}/ reads or sets
one. Views validate and call the service; they never write models.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_integration.connectors.payload import MAX_CHANNEL_ID
from channels_integration.models import SkuMapping
from channels_integration.scopes import INVENTORY_READ
from channels_integration.services import SKU_MAPPING_IDS, sku_mapping_upsert
from orders.api.pagination import OrderCursorPagination
from ordersync.api import ApiError

SKU_PARAMETER = OpenApiParameter("sku", OpenApiTypes.STR, OpenApiParameter.PATH, description="Our SKU code")


def _channel_id_field(help_text: str):
    return serializers.IntegerField(min_value=1, max_value=MAX_CHANNEL_ID, required=False, allow_null=True,
                                    help_text=help_text)


class SkuMappingSerializer(serializers.ModelSerializer):
    product_id = _channel_id_field("Shopify product / WooCommerce product id")
    variant_id = _channel_id_field("Shopify variant / WooCommerce variation id (empty for a simple product)")
    inventory_item_id = _channel_id_field("Shopify: the variant's inventory item id (required for Shopify)")
    location_id = _channel_id_field("Shopify: the location whose stock we set (required for Shopify)")

    class Meta:
        model = SkuMapping
        fields = ["sku_code", "product_id", "variant_id", "inventory_item_id", "location_id",
                  "last_pushed_available", "last_pushed_at", "updated_at"]
        read_only_fields = ["sku_code", "last_pushed_available", "last_pushed_at", "updated_at"]


class MappingErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


INVALID = OpenApiResponse(MappingErrorSerializer, description="Invalid input (code: invalid); `detail` names the field")
NOT_FOUND = OpenApiResponse(MappingErrorSerializer, description="No mapping for that SKU (code: not_found)")
AUTH = {401: OpenApiResponse(MappingErrorSerializer, description="Missing, unknown or revoked API key"),
        403: OpenApiResponse(MappingErrorSerializer, description="The API key lacks the inventory scope")}
BAD_CURSOR = OpenApiResponse(MappingErrorSerializer, description="Not a cursor this API issued (invalid_cursor)")


class MappingPagination(OrderCursorPagination):
    ordering = "sku_code"
    page_size = 100
    max_page_size = 500


class MappingListQuerySerializer(serializers.Serializer):
    # The paginator's own parameters, validated so a bad value is a 400 rather than silently ignored.
    cursor = serializers.CharField(required=False, max_length=500, help_text="Opaque; from `next`/`previous`.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MappingPagination.max_page_size)

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(f"Unknown query parameter(s): {', '.join(unknown)}.")
        return attrs


class SkuMappingListView(GenericAPIView):
    required_scopes = [INVENTORY_READ]
    serializer_class = SkuMappingSerializer
    pagination_class = MappingPagination

    def get_queryset(self):
        return SkuMapping.objects.filter(channel=self.request.user.channel)

    @extend_schema(operation_id="sku_mappings_list", parameters=[MappingListQuerySerializer],
                   responses={200: SkuMappingSerializer(many=True), 400: INVALID, 404: BAD_CURSOR, **AUTH})
    def get(self, request):
        MappingListQuerySerializer(data=request.query_params.dict()).is_valid(raise_exception=True)
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SkuMappingSerializer(page, many=True).data)


class SkuMappingDetailView(APIView):
    required_scopes = [INVENTORY_READ]

    @extend_schema(operation_id="sku_mapping_retrieve", parameters=[SKU_PARAMETER],
                   responses={200: SkuMappingSerializer, 404: NOT_FOUND, **AUTH})
    def get(self, request, sku: str):
        mapping = SkuMapping.objects.filter(channel=request.user.channel, sku_code=sku).first()
        if mapping is None:
            raise ApiError(f"No SKU mapping for {sku!r} on this channel.", code="not_found", status_code=404)
        return Response(SkuMappingSerializer(mapping).data)

    @extend_schema(operation_id="sku_mapping_set", parameters=[SKU_PARAMETER], request=SkuMappingSerializer,
                   responses={200: SkuMappingSerializer, 201: SkuMappingSerializer, 400: INVALID, **AUTH})
    def put(self, request, sku: str):
        serializer = SkuMappingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = {name: serializer.validated_data.get(name) for name in SKU_MAPPING_IDS}
        try:
            mapping, created = sku_mapping_upsert(channel=request.user.channel, sku_code=sku, **ids)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return Response(SkuMappingSerializer(mapping).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
