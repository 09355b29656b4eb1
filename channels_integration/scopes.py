"""API-key scopes, each with what it allows; docs/SECURITY.md has the table of who holds which.

Sales channels read availability; catalog and stock writes belong to the stock system (a warehouse/ERP principal,
`Channel.Kind.STOCK`) or to operators. Transition scopes (payments, logistics) let a provider move orders it is
responsible for.
"""

ORDERS_WRITE = "orders:write"
ORDERS_READ = "orders:read"
INVENTORY_READ = "inventory:read"
INVENTORY_WRITE = "inventory:write"
PAYMENTS = "payments"
LOGISTICS = "logistics"

SCOPES = {
    ORDERS_WRITE: "create orders (one or bulk); hold, release_hold, cancel",
    ORDERS_READ: "list orders, read one order and its history",
    INVENTORY_READ: "availability of the SKUs the channel may sell; the warehouse list; its own SKU mappings",
    INVENTORY_WRITE: "create and change SKUs, set or change stock (a stock system's scope, not a sales channel's)",
    PAYMENTS: "pay, refund (a payment provider)",
    LOGISTICS: "start_fulfilment, ship, deliver, mark_returned (a warehouse or carrier)",
}
ALL_SCOPES = tuple(SCOPES)
# Scopes a sales channel's key gets only with a recorded exception (api_key_create's stock_write_reason).
STOCK_SYSTEM_SCOPES = frozenset({INVENTORY_WRITE})
