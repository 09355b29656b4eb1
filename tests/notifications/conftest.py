import pytest

from notifications.selectors import channel_settings_forget
from notifications.services import notification_endpoint_ensure
from sync.models import Delivery, Endpoint
from sync.services import delivery_attempt
from tests.factories import ChannelFactory
from tests.notifications.smtp import SMTPServer
from tests.orders.factories import stock_skus


@pytest.fixture(autouse=True)
def fresh_channel_settings():
    """Rolled-back test data fires no signals; never let one test see another's cached channel rules."""
    channel_settings_forget()
    yield
    channel_settings_forget()


@pytest.fixture
def smtp_server():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def skus(db):
    stock_skus("SKU-A", "SKU-B", quantity=1000)


@pytest.fixture
def shop(db, skus):
    return ChannelFactory(code="webshop", name="Demo Shop", currency="EUR")


@pytest.fixture
def email_endpoint(db):
    """The customer-email endpoint as seed_demo makes it, with a short schedule and timeouts for tests."""
    endpoint = notification_endpoint_ensure()
    Endpoint.objects.filter(pk=endpoint.pk).update(retry_schedule=[0, 0, 0], connect_timeout=1, read_timeout=2)
    endpoint.refresh_from_db()
    return endpoint


def deliver_pending(endpoint, *, rounds: int = 20) -> list[str]:
    """Runs the endpoint's due deliveries in this process, oldest first, as a worker would, until none is left
    that can go; returns every outcome."""
    outcomes = []
    for _ in range(rounds):
        ids = list(Delivery.objects.filter(endpoint=endpoint, state=Delivery.State.PENDING)
                   .order_by("stream", "sequence").values_list("pk", flat=True))
        ran = [delivery_attempt(delivery_id=pk) for pk in ids]
        outcomes += ran
        if not any(r in ("succeeded", "retry", "dead") for r in ran):
            return outcomes
    return outcomes
