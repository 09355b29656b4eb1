"""API-key scopes. Transition scopes (payments, logistics) let a provider move orders it is responsible for."""

ORDERS_WRITE = "orders:write"
ORDERS_READ = "orders:read"
INVENTORY = "inventory"
PAYMENTS = "payments"
LOGISTICS = "logistics"

ALL_SCOPES = (ORDERS_WRITE, ORDERS_READ, INVENTORY, PAYMENTS, LOGISTICS)
