from django.core.management.base import BaseCommand
from tqdm import tqdm

from channels_integration.connectors.inbound import REPROCESSABLE, inbound_process, inbound_reprocess
from channels_integration.management.commands.create_channel import channel_by_code
from channels_integration.models import InboundMessage


class Command(BaseCommand):
    help = ("Process a channel's failed (or ignored, or deferred) inbound messages again, here and now, after the "
            "cause was fixed (a SKU added, a hold lifted). Prints what became of them.")

    def add_arguments(self, parser):
        parser.add_argument("--channel", required=True, help="channel code")
        parser.add_argument("--state", default=InboundMessage.State.FAILED, choices=list(REPROCESSABLE))
        parser.add_argument("--topic", default="", help="only messages of this topic, e.g. orders/create")

    def handle(self, *args, channel, state, topic, **options):
        found = channel_by_code(channel)
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
