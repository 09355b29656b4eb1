"""Channel-facing SKU mapping API (scope `inventory`): how the calling channel knows each of our SKUs.

GET /api/v1/sku-mappings/ lists the key's channel's mappings; GET / PUT /api/v1/sku-mappings/{sku}/ reads or sets
one. Views validate and call the service; they never write models.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from channels_integration.connectors.payload import MAX_CHANNEL_ID
from channels_integration.models import SkuMapping
from channels_integration.scopes import INVENTORY
from channels_integration.services import SKU_MAPPING_IDS, sku_mapping_upsert
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


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


INVALID = OpenApiResponse(ErrorSerializer, description="Invalid input (code: invalid); `detail` names the field")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No mapping for that SKU (code: not_found)")


class MappingPagination(CursorPagination):
    ordering = "sku_code"
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ApiError("cursor: not a cursor this API issued; use the `next` link as given.",
                           code="invalid_cursor", status_code=404) from exc


class SkuMappingListView(GenericAPIView):
    required_scopes = [INVENTORY]
    serializer_class = SkuMappingSerializer
    pagination_class = MappingPagination

    def get_queryset(self):
        return SkuMapping.objects.filter(channel=self.request.user.channel)

    @extend_schema(operation_id="sku_mappings_list", responses={200: SkuMappingSerializer(many=True)})
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SkuMappingSerializer(page, many=True).data)


class SkuMappingDetailView(GenericAPIView):
    required_scopes = [INVENTORY]
    serializer_class = SkuMappingSerializer

    @extend_schema(operation_id="sku_mapping_retrieve", parameters=[SKU_PARAMETER],
                   responses={200: SkuMappingSerializer, 404: NOT_FOUND})
    def get(self, request, sku: str):
        mapping = SkuMapping.objects.filter(channel=request.user.channel, sku_code=sku).first()
        if mapping is None:
            raise ApiError(f"No SKU mapping for {sku!r} on this channel.", code="not_found", status_code=404)
        return Response(SkuMappingSerializer(mapping).data)

    @extend_schema(operation_id="sku_mapping_set", parameters=[SKU_PARAMETER], request=SkuMappingSerializer,
                   responses={200: SkuMappingSerializer, 201: SkuMappingSerializer, 400: INVALID})
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
