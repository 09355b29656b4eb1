import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from sync.models import Endpoint
from sync.services import endpoint_create


def _seconds_list(value: str) -> list[float]:
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError as exc:
        raise CommandError(f"--retry-schedule must be comma-separated seconds, e.g. 0,5,300 ({exc})") from exc


class Command(BaseCommand):
    help = "Creates an outbound endpoint and prints it with its signing secret (shown only this once) as JSON."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--kind", required=True, choices=Endpoint.Kind.values)
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--url", help="where signed webhooks are POSTed")
        target.add_argument("--handler", help="a registered in-process handler instead of a URL (sync.handlers)")
        parser.add_argument("--topics", required=True, help='comma-separated, e.g. "order.paid,order.cancelled"')
        parser.add_argument("--rate-limit", type=float, default=None, help="requests per second")
        parser.add_argument("--max-concurrency", type=int, default=None,
                            help="deliveries in flight at once across all workers (default 16)")
        parser.add_argument("--connect-timeout", type=float, default=3.0)
        parser.add_argument("--read-timeout", type=float, default=10.0)
        parser.add_argument("--retry-schedule", default=None, help="seconds before each retry, e.g. 0,5,300")

    def handle(self, *args, **options):
        if Endpoint.objects.filter(name=options["name"]).exists():
            raise CommandError(f"an endpoint named {options['name']!r} already exists")
        try:
            created = endpoint_create(
                name=options["name"], kind=options["kind"], url=options["url"] or "",
                handler=options["handler"] or "",
                topics=options["topics"].split(","), rate_limit=options["rate_limit"],
                max_concurrency=options["max_concurrency"],
                connect_timeout=options["connect_timeout"], read_timeout=options["read_timeout"],
                retry_schedule=_seconds_list(options["retry_schedule"]) if options["retry_schedule"] else None,
            )
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            raise CommandError(problems) from exc
        endpoint = created.endpoint
        self.stdout.write(json.dumps({
            "id": endpoint.pk, "name": endpoint.name, "kind": endpoint.kind, "url": endpoint.url,
            "handler": endpoint.handler, "topics": endpoint.topics, "secret": created.secret,
        }, indent=2))
