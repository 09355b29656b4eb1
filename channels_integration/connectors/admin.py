"""Inbound messages in admin: what the channel sent (body pretty-printed, headers), why it failed or was ignored,
and a re-process action that sends the same task again, recorded with the operator who asked."""

import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from channels_integration.connectors.inbound import REPROCESSABLE, inbound_reprocess
from channels_integration.models import InboundMessage, Reconciliation
from console.bulk import confirmed_action
from console.lists import CappedCountPaginator, indexed_values_filter
from ordersync.admin import ReadOnlyAdmin

# A message body can be 2 MB; the page shows this much of it.
SHOWN_BODY = 200_000


def pretty(raw: bytes | str | dict) -> str:
    if isinstance(raw, dict):
        return json.dumps(raw, indent=2, ensure_ascii=False, sort_keys=True)
    text = bytes(raw).decode("utf-8", errors="replace") if not isinstance(raw, str) else raw
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)[:SHOWN_BODY]
    except ValueError:
        return text[:SHOWN_BODY]


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "channel", "source", "topic", "external_id", "state", "short_error", "received_at",
                    "order_link")
    # Each filter, search and the default order (-id) walk an index (channels_integration migration 0004).
    list_filter = ("state", "channel", "source",
                   indexed_values_filter(model=InboundMessage, column="topic", lookup="topic", title=_("topic")))
    search_fields = ("=external_id", "=dedupe_key", "=event_id")
    list_select_related = ("channel", "order")
    paginator = CappedCountPaginator
    show_full_result_count = False
    actions = ["reprocess"]
    fields = ("channel", "source", "topic", "state", "error", "order_link", "external_id", "dedupe_key", "event_id",
              "triggered_at", "attempts", "received_at", "queued_at", "processed_at", "reprocessed_by",
              "reprocessed_at", "pretty_headers", "pretty_body")
    readonly_fields = fields

    def get_queryset(self, request):
        # The list never shows bodies; loading a 2 MB column per row would make the page crawl.
        qs = super().get_queryset(request)
        change_page = getattr(request.resolver_match, "url_name", "").endswith("_change")
        return qs if change_page else qs.defer("body", "headers")

    @admin.display(description="error / reason")
    def short_error(self, message):
        return (message.error[:120] + "…") if len(message.error) > 120 else message.error

    @admin.display(description="order")
    def order_link(self, message):
        if message.order_id is None:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[message.order_id]),
                           message.order.number)

    @admin.display(description="headers")
    def pretty_headers(self, message):
        return format_html("<pre>{}</pre>", pretty(message.headers))

    @admin.display(description="body")
    def pretty_body(self, message):
        return format_html('<pre style="max-height: 40em; overflow: auto">{}</pre>', pretty(message.body))

    def has_reprocess_permission(self, request):
        return request.user.has_perm("channels_integration.reprocess_inboundmessage")

    @confirmed_action(description=_("Re-process selected messages (failed, ignored or deferred)"),
                      permission="reprocess")
    def reprocess(self, request, queryset, data):
        # The message itself records who asked (reprocessed_by), so no admin log entry is added.
        ids = inbound_reprocess(message_ids=list(queryset.values_list("pk", flat=True)), user=request.user)
        skipped = queryset.count() - len(ids)
        refused = [_("%(n)d skipped: only %(states)s messages are re-processed.") % {
            "n": skipped, "states": ", ".join(REPROCESSABLE)}] if skipped else []
        return _("%(n)d message(s) queued for processing again.") % {"n": len(ids)}, refused, []


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    list_display = ("channel", "completed_until", "last_finished_at", "last_fetched", "last_ingested", "last_error")
    list_select_related = ("channel",)
