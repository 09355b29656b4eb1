"""Argument checks every inventory service runs before it touches the database."""

from inventory.codes import sku_code_problem
from inventory.errors import InvalidQuantity, InvalidSkuCode, InventoryError
from inventory.models import MAX_UNITS


def check_quantity(value, *, field: str, allow_zero: bool = False, allow_negative: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantity(f"{field} must be a whole number, got {str(value)[:40]!r}.", field=field)
    if not -MAX_UNITS <= value <= MAX_UNITS:
        raise InvalidQuantity(f"{field} must be between {-MAX_UNITS} and {MAX_UNITS}.", field=field)
    if value < 0 and not allow_negative:
        raise InvalidQuantity(f"{field} must not be negative, got {value}.", field=field)
    if value == 0 and not allow_zero:
        raise InvalidQuantity(f"{field} must not be zero.", field=field)
    return value


def check_actor(actor: str) -> str:
    if not actor or not isinstance(actor, str):
        raise InventoryError("actor is required: say who changes stock (e.g. 'user:alice').", field="actor")
    return actor[:100]


def check_sku_code(code, *, field: str = "sku") -> str:
    """Refuses what cannot be a SKU code before it reaches a query (a NUL byte would make PostgreSQL fail)."""
    problem = sku_code_problem(code)
    if problem:
        raise InvalidSkuCode(f"{field}: {problem}", field=field)
    return code
