"""Support's view of what was sent to whom, the message as the customer saw it, resend; per-channel rules."""

from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from console.lists import CappedCountPaginator, indexed_values_filter
from notifications import selectors, services
from notifications.events import EVENTS
from notifications.models import ChannelNotificationSettings, Notification, default_events
from ordersync.admin import ReadOnlyAdmin


class ChannelNotificationSettingsForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=[(topic, f"{spec.label} ({topic})") for topic, spec in EVENTS.items()],
        widget=forms.CheckboxSelectMultiple, required=False, initial=default_events,
        help_text="Order events that email the customer.",
    )

    class Meta:
        model = ChannelNotificationSettings
        fields = ("channel", "sender_name", "reply_to", "default_language", "events", "channel_notifies_customers",
                  "tracking_urls")

    def clean_tracking_urls(self):
        urls = self.cleaned_data["tracking_urls"] or {}
        if not isinstance(urls, dict):
            raise ValidationError('Give an object of carrier → URL, e.g. {"DHL": "https://…?id={tracking_number}"}.')
        for carrier, template in urls.items():
            if not isinstance(template, str) or "{tracking_number}" not in template:
                raise ValidationError(f"The URL for {carrier!r} must contain {{tracking_number}}.")
            try:
                example = template.format(tracking_number="X")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValidationError(f"The URL for {carrier!r} may use only {{tracking_number}} ({exc}).") from exc
            if urlsplit(example).scheme not in ("http", "https") or not urlsplit(example).netloc:
                raise ValidationError(f"The URL for {carrier!r} must be an http(s) address.")
        return urls


@admin.register(ChannelNotificationSettings)
class ChannelNotificationSettingsAdmin(admin.ModelAdmin):
    form = ChannelNotificationSettingsForm
    list_display = ("channel", "sender_name", "reply_to", "default_language", "channel_notifies_customers",
                    "updated_at")
    list_filter = ("channel_notifies_customers", "default_language")
    list_select_related = ("channel",)
    search_fields = ("channel__code", "channel__name", "sender_name")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "order_number", "topic", "medium", "recipient", "language", "state", "attempts",
                    "sent_at", "resend_of_id")
    # The log grows with every order event: filter choices come from indexes, counts stop at the cap.
    list_filter = ("state", "medium",
                   *(indexed_values_filter(model=Notification, column=column, lookup=column, title=title)
                     for column, title in (("topic", "topic"), ("language", "language"), ("channel_code", "channel"))))
    search_fields = ("order_number", "recipient", "provider_message_id")
    date_hierarchy = "created_at"
    paginator = CappedCountPaginator
    show_full_result_count = False
    actions = ("resend",)
    fieldsets = (
        (None, {"fields": ("order_number", "order_id", "channel_code", "topic", "event_id", "medium", "recipient",
                           "language", "state", "error", "attempts", "created_at", "sent_at", "provider_message_id",
                           "resend_of", "requested_by")}),
        ("Message as sent", {"fields": ("subject", "text_version", "html_preview", "html_source")}),
    )
    readonly_fields = ("text_version", "html_preview", "html_source")

    def get_queryset(self, request):
        listing = getattr(request.resolver_match, "url_name", "") == "notifications_notification_changelist"
        return selectors.notifications_for_admin(with_bodies=not listing)

    @admin.display(description="plain text")
    def text_version(self, obj):
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', obj.body_text) if obj.body_text else "—"

    @admin.display(description="HTML (as the customer sees it)")
    def html_preview(self, obj):
        # An empty sandbox: no scripts, no forms, no same-origin access to admin, whatever the template contains.
        if not obj.body_html:
            return "—"
        return format_html('<iframe sandbox="" srcdoc="{}" title="rendered email" '
                           'style="width: 680px; max-width: 100%; height: 760px; border: 1px solid #ccc"></iframe>',
                           obj.body_html)

    @admin.display(description="HTML source")
    def html_source(self, obj):
        if not obj.body_html:
            return "—"
        return format_html('<details><summary>show</summary><pre style="white-space: pre-wrap">{}</pre></details>',
                           obj.body_html)

    def has_resend_permission(self, request):
        return request.user.has_perm("notifications.resend_notification")

    @admin.action(description="Resend (records a new notification)", permissions=["resend"])
    def resend(self, request, queryset):
        sent, refused = 0, []
        for notification in queryset.order_by("pk"):
            try:
                services.notification_resend(notification_id=notification.pk, requested_by=request.user.get_username())
                sent += 1
            except ValidationError as exc:
                refused.append(" ".join(exc.messages))
        if sent:
            self.message_user(request, f"Queued {sent} resend(s); each is a new row in this log.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, f"Not resent: {reason}", messages.WARNING)
