import json

from django.core.management.base import BaseCommand, CommandError

from channels_integration.models import ApiKey
from channels_integration.services import KEY_PREFIX, api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key by its prefix (osk_…, from list_api_keys); it answers 401 from the next request on."

    def add_arguments(self, parser):
        parser.add_argument("prefix", help="the key's prefix, e.g. osk_1a2b3c4d (never the whole key)")

    def handle(self, *args, prefix, **options):
        prefix = prefix.strip()
        if "." in prefix:
            # Someone pasted the whole key: use only its public part and do not echo the secret back.
            prefix = prefix.split(".", 1)[0]
        api_key = ApiKey.objects.select_related("channel").filter(prefix=prefix).first()
        if api_key is None:
            hint = "" if prefix.startswith(KEY_PREFIX) else f" Prefixes start with {KEY_PREFIX!r}."
            raise CommandError(
                f"No API key with prefix {prefix!r}.{hint} "
                "Run `manage.py list_api_keys CHANNEL` to see a channel's keys."
            )
        already = api_key.revoked_at is not None
        api_key = api_key_revoke(api_key=api_key)
        self.stdout.write(json.dumps({
            "prefix": api_key.prefix,
            "channel": api_key.channel.code,
            "revoked_at": api_key.revoked_at.isoformat(),
            "already_revoked": already,
        }))
