import factory

from channels_integration.models import Channel
from channels_integration.services import api_key_create


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    kind = Channel.Kind.API
    currency = "EUR"


class ApiKeyFactory:
    """Keys are only ever made through the service, which is the one place that knows how to hash them."""

    @staticmethod
    def issue(*, channel: Channel | None = None, scopes: list[str] | None = None, **options):
        return api_key_create(channel=channel or ChannelFactory(), scopes=scopes or ["orders:read"], **options)


