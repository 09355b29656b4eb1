from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    """One bucket per API key (by its public prefix), so one noisy integration cannot starve the others.

    Counts live in the default cache: configure CACHE_URL with Redis when running several web processes.
    """

    scope = "api_key"

    def get_rate(self):
        return settings.ORDERS_API_THROTTLE_RATE

    def get_cache_key(self, request, view):
        api_key = getattr(request.user, "api_key", None)
        if api_key is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": api_key.prefix}
