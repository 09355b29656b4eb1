from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory.codes import SKU_CODE_MAX_LENGTH, SKU_CODE_SCHEMA_PATTERN, sku_code_problem
from inventory.models import MAX_UNITS, Sku, Warehouse
from ordersync.fields import StrictBooleanField, StrictIntegerField, Text

SKU_CODE_SCHEMA = {"type": "string", "pattern": SKU_CODE_SCHEMA_PATTERN, "maxLength": SKU_CODE_MAX_LENGTH,
                   "example": "TSHIRT-BLK-M"}


@extend_schema_field(SKU_CODE_SCHEMA)
class SkuCodeField(serializers.Field):
    """A SKU code as inventory.codes defines it; the same field wherever an API takes one."""

    def to_internal_value(self, data):
        problem = sku_code_problem(data)
        if problem:
            raise serializers.ValidationError(problem[0].upper() + problem[1:])
        return data

    def to_representation(self, value):
        return value


class SkuWriteSerializer(serializers.Serializer):
    name = Text(max_length=300)
    track_inventory = StrictBooleanField(default=True)
    safety_stock = StrictIntegerField(min_value=0, max_value=MAX_UNITS, default=0)


class SkuSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sku
        fields = ["code", "name", "track_inventory", "safety_stock"]


class WarehouseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Warehouse
        fields = ["code", "name", "priority", "country", "active"]


class AvailabilitySerializer(serializers.Serializer):
    sku = serializers.CharField()
    available = serializers.IntegerField(
        allow_null=True, help_text="Units this channel may sell; null for SKUs that are not stock-tracked."
    )
    track_inventory = serializers.BooleanField()


class AvailabilityListSerializer(serializers.Serializer):
    results = AvailabilitySerializer(many=True)


class StockChangeSerializer(serializers.Serializer):
    warehouse = serializers.SlugField(max_length=50)
    on_hand = StrictIntegerField(
        min_value=0, max_value=MAX_UNITS, required=False, help_text="Absolute count (after a stock take)."
    )
    delta = StrictIntegerField(
        min_value=-MAX_UNITS, max_value=MAX_UNITS, required=False,
        help_text=f"Change to on hand; not zero. On hand may not end above {MAX_UNITS}.",
    )
    reason = Text(max_length=200)

    def validate_delta(self, value):
        if value == 0:
            raise serializers.ValidationError("must not be zero.")
        return value

    def validate(self, attrs):
        if ("on_hand" in attrs) == ("delta" in attrs):
            raise serializers.ValidationError({"on_hand": "Send exactly one of on_hand or delta."})
        return attrs


class StockLevelSerializer(serializers.Serializer):
    sku = serializers.CharField()
    warehouse = serializers.CharField()
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField(
        allow_null=True, help_text="Available-to-sell of the SKU over all warehouses, before any channel's buffer or "
        "cap; null when not stock-tracked.",
    )


class StockErrorSerializer(serializers.Serializer):
    """The API's one error shape, plus what the stock endpoints add (named apart from other apps' errors)."""

    code = serializers.CharField(
        help_text="invalid, invalid_quantity, unknown_sku, unknown_warehouse or below_reserved."
    )
    detail = serializers.CharField(help_text="Starts with the offending field.")
    field = serializers.CharField(required=False)
    codes = serializers.ListField(child=serializers.CharField(), required=False, help_text="Unknown SKU codes.")
