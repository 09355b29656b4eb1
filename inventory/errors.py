"""Errors the inventory services raise; each carries a stable `code` and the input `field` it is about."""


class InventoryError(Exception):
    code = "inventory_error"
    field: str | None = None

    def __init__(self, detail: str, *, field: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if field is not None:
            self.field = field


class UnknownSku(InventoryError):
    """SKUs the caller cannot order. `not_sellable` (those that exist but are restricted to other channels) is for
    the operator's log only: answers to the channel say "unknown" for both, so it cannot probe the catalog."""

    code = "unknown_sku"
    field = "sku"

    def __init__(self, codes, *, not_sellable=()):
        self.codes = sorted(set(codes))
        self.not_sellable = sorted(set(not_sellable))
        super().__init__(f"Unknown SKU(s): {', '.join(self.codes)}.")

    def operator_note(self, channel) -> str:
        unknown = [code for code in self.codes if code not in self.not_sellable]
        parts = [f"may not sell: {', '.join(self.not_sellable)}"] if self.not_sellable else []
        parts += [f"unknown: {', '.join(unknown)}"] if unknown else []
        return f"channel {getattr(channel, 'code', channel)} was refused SKU(s) ({'; '.join(parts)})"


class InvalidSkuCode(InventoryError):
    code = "invalid"


class UnknownWarehouse(InventoryError):
    code = "unknown_warehouse"
    field = "warehouse"

    def __init__(self, code: str):
        self.warehouse_code = code
        super().__init__(f"Unknown warehouse: {code}.")


class InvalidQuantity(InventoryError):
    code = "invalid_quantity"


class InsufficientStock(InventoryError):
    code = "insufficient_stock"
    field = "quantity"

    def __init__(self, shortages: list[dict]):
        self.shortages = shortages
        parts = [f"{s['sku']} (requested {s['requested']}, available {s['available']})" for s in shortages]
        super().__init__(f"Not enough stock for: {', '.join(parts)}.")


class BelowReserved(InventoryError):
    code = "below_reserved"
    field = "on_hand"

    def __init__(self, *, sku: str, warehouse: str, on_hand: int, reserved: int, field: str = "on_hand"):
        self.reserved = reserved
        super().__init__(
            f"{field}: on hand for {sku} at {warehouse} would become {on_hand}, below the {reserved} unit(s) "
            "reserved for open orders; release or ship those first.",
            field=field,
        )
