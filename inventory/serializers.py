from rest_framework import serializers

from inventory.models import Sku, Warehouse
from ordersync.fields import StrictBooleanField, StrictIntegerField, Text


class SkuWriteSerializer(serializers.Serializer):
    name = Text(max_length=300)
    track_inventory = StrictBooleanField(default=True)
    safety_stock = StrictIntegerField(min_value=0, max_value=2**31 - 1, default=0)


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
    warehouse = Text(max_length=50)
    on_hand = StrictIntegerField(
        min_value=0, max_value=2**31 - 1, required=False, help_text="Absolute count (after a stock take)."
    )
    delta = StrictIntegerField(
        min_value=-(2**31), max_value=2**31 - 1, required=False, help_text="Change to on hand; not zero."
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
        allow_null=True, help_text="Available-to-sell of the SKU over all warehouses for the calling channel."
    )


class StockErrorSerializer(serializers.Serializer):
    """The API's one error shape, plus what the stock endpoints add (named apart from other apps' errors)."""

    code = serializers.CharField(help_text="invalid, unknown_sku, unknown_warehouse or below_reserved.")
    detail = serializers.CharField(help_text="Starts with the offending field.")
    field = serializers.CharField(required=False)
    codes = serializers.ListField(child=serializers.CharField(), required=False, help_text="Unknown SKU codes.")
