"""Channel API-key authentication and scope checks, shared by every channel-facing endpoint."""

import hmac
import threading
from dataclasses import dataclass
from datetime import timedelta

from cachetools import TTLCache
from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from channels_integration.models import ApiKey, Channel
from channels_integration.services import hash_secret, split_key

# Recording last use on every request would turn each read into a write; once a minute is enough to audit.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Keys a web process has read, by prefix, with their channel: a busy integration is not a SELECT per request.
# The secret is still compared and revoked / active still checked on every request, against the cached row; a
# change made in another process is seen after API_KEY_CACHE_SECONDS at most, one made here at once (below).
# Unknown prefixes are never cached, so guessing keys cannot fill it.
_keys = TTLCache(maxsize=10_000, ttl=settings.API_KEY_CACHE_SECONDS)
_keys_lock = threading.Lock()  # gthread workers: TTLCache is not thread-safe


def _api_key_for(prefix: str) -> ApiKey | None:
    with _keys_lock:
        api_key = _keys.get(prefix)
    if api_key is None:
        api_key = ApiKey.objects.select_related("channel").filter(prefix=prefix).first()
        if api_key is not None:
            with _keys_lock:
                _keys[prefix] = api_key
    return api_key


@receiver([post_save, post_delete], sender=ApiKey, dispatch_uid="api_key_cache_key")
def _forget_key(sender, instance, **kwargs):
    with _keys_lock:
        _keys.pop(instance.prefix, None)


@receiver([post_save, post_delete], sender=Channel, dispatch_uid="api_key_cache_channel")
def _forget_channel_keys(sender, instance, **kwargs):
    # A channel changes rarely (deactivated, its policies edited): forgetting every key is simpler than a search.
    with _keys_lock:
        _keys.clear()


@dataclass(frozen=True)
class ApiPrincipal:
    """What `request.user` is for an API call: the channel acting through one of its keys."""

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False

    @property
    def channel(self) -> Channel:
        return self.api_key.channel

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.api_key.scopes)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def __str__(self) -> str:
        return f"api key {self.api_key.prefix} ({self.channel.code})"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme != self.keyword or not raw.strip():
            raise exceptions.AuthenticationFailed("Send the API key as 'Authorization: Bearer <key>'.")
        parts = split_key(raw.strip())
        if parts is None:
            raise exceptions.AuthenticationFailed("That is not an OrderSync API key (they start with 'osk_').")
        prefix, secret = parts
        api_key = _api_key_for(prefix)
        if api_key is None or not hmac.compare_digest(api_key.secret_hash, hash_secret(secret)):
            raise exceptions.AuthenticationFailed("Unknown API key; check it was copied whole.")
        if api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key was revoked; ask an operator for a new one.")
        if not api_key.channel.active:
            raise exceptions.AuthenticationFailed(f"Channel {api_key.channel.code} is deactivated.")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now  # the cached row too: this process writes it once per resolution
        return ApiPrincipal(api_key=api_key), api_key

    def authenticate_header(self, request):
        return self.keyword


class HasScopes(permissions.BasePermission):
    """Requires the scopes a view names in `required_scopes`: a list, or a dict keyed by HTTP method.

    A view that names none is refused, so forgetting to declare scopes fails closed.
    """

    def has_permission(self, request, view):
        principal = request.user
        if not isinstance(principal, ApiPrincipal):
            raise exceptions.NotAuthenticated("Send an API key as 'Authorization: Bearer <key>'.")
        required = getattr(view, "required_scopes", None)
        if isinstance(required, dict):
            required = required.get(request.method, [])
        if required is None:
            return False
        missing = sorted(set(required) - principal.scopes)
        if missing:
            raise exceptions.PermissionDenied(f"This API key lacks the scope(s): {', '.join(missing)}.")
        return True
