from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from channels_integration.connectors.inbound import REPROCESSABLE, inbound_process, inbound_reprocess
from channels_integration.models import Channel, InboundMessage


class Command(BaseCommand):
    help = ("Process a channel's failed (or ignored, or deferred) inbound messages again, here and now, after the "
            "cause was fixed (a SKU added, a hold lifted). Prints what became of them.")

    def add_arguments(self, parser):
        parser.add_argument("--channel", required=True, help="channel code")
        parser.add_argument("--state", default=InboundMessage.State.FAILED, choices=list(REPROCESSABLE))
        parser.add_argument("--topic", default="", help="only messages of this topic, e.g. orders/create")

    def handle(self, *args, channel, state, topic, **options):
        found = Channel.objects.filter(code=channel).first()
        if found is None:
            known = ", ".join(Channel.objects.values_list("code", flat=True)) or "none yet; run create_channel"
            raise CommandError(f"No channel {channel!r}. Known channels: {known}.")
        messages = InboundMessage.objects.filter(channel=found, state=state)
        if topic:
            messages = messages.filter(topic=topic)
        ids = inbound_reprocess(message_ids=list(messages.order_by("pk").values_list("pk", flat=True)), send=False)
        outcomes: dict[str, int] = {}
        for pk in tqdm(ids, desc=f"re-processing {state} messages of {found.code}", unit="msg", file=self.stderr):
            outcome = inbound_process(message_id=pk)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        summary = ", ".join(f"{count} {name}" for name, count in sorted(outcomes.items())) or "nothing to do"
        self.stdout.write(f"{len(ids)} message(s) re-processed: {summary}")
