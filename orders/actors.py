"""Who moves an order: an API key, an admin user, a channel adapter or the system itself."""

from dataclasses import dataclass, field

from channels_integration.scopes import LOGISTICS, ORDERS_READ, ORDERS_WRITE, PAYMENTS


@dataclass(frozen=True)
class Actor:
    kind: str  # one of OrderStatusChange.ActorKind
    label: str
    user: object = None
    scopes: frozenset = field(default_factory=frozenset)
    channel_id: int | None = None

    @classmethod
    def system(cls) -> "Actor":
        return cls(kind="system", label="system")

    @classmethod
    def for_api_key(cls, api_key) -> "Actor":
        return cls(kind="api_key", label=f"api:{api_key.prefix}", scopes=frozenset(api_key.scopes),
                   channel_id=api_key.channel_id)

    @classmethod
    def for_user(cls, user) -> "Actor":
        return cls(kind="user", label=f"user:{user.get_username()}", user=user)

    @classmethod
    def for_channel(cls, channel) -> "Actor":
        """A channel adapter (webhook processing) acting for its own orders. A store reports payments, refunds
        and fulfilments of its orders as well, so it holds those scopes too."""
        return cls(kind="channel", label=f"channel:{channel.code}",
                   scopes=frozenset({ORDERS_WRITE, ORDERS_READ, PAYMENTS, LOGISTICS}), channel_id=channel.pk)
