import pytest
from django.contrib.auth.models import User

from compliance.models import ComplianceRule
from compliance.services import rule_save
from orders.actors import Actor
from orders.services import order_ingest
from tests.factories import ChannelFactory
from tests.orders.factories import order_body, service_data, stock_skus


def ingest(channel, **overrides):
    """An order through order_ingest as a channel sends it (GB destination, SKU-A x2 + SKU-B x1, 25.50 EUR)."""
    return order_ingest(channel=channel, data=service_data(order_body(**overrides)),
                        actor=Actor.for_channel(channel)).order


@pytest.fixture
def skus(db):
    stock_skus("SKU-A", "SKU-B", "WINE-1", quantity=100)


@pytest.fixture
def channel(db):
    return ChannelFactory(currency="EUR")


@pytest.fixture
def officer(db):
    """A superuser: may edit rules and release or cancel held orders."""
    return User.objects.create_superuser("officer", password="pw")


@pytest.fixture
def make_rule(officer):
    def make(kind, **params):
        return rule_save(rule=ComplianceRule(name=params.pop("name", kind), kind=kind, **params), user=officer)

    return make
