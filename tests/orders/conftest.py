import pytest

from tests.factories import ChannelFactory
from tests.orders.factories import stock_skus

ALL_ORDER_SCOPES = ["orders:write", "orders:read", "payments", "logistics"]


@pytest.fixture
def skus(db):
    stock_skus("SKU-A", "SKU-B", quantity=100)


@pytest.fixture
def channel(db):
    return ChannelFactory(currency="EUR")


@pytest.fixture
def api(make_api_client, channel, skus):
    """A client of `channel` holding every order scope, with SKU-A and SKU-B in stock."""
    return make_api_client(channel=channel, scopes=ALL_ORDER_SCOPES)
