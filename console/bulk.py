"""Bulk admin actions that first show a confirmation page (with the fields they need), then run a service per
row or per batch, report what was done and what was refused, and leave an admin history entry with the user."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from orders.actors import Actor
from orders.services import order_transition
from ordersync.api import ApiError

# The confirmation page lists this many of the selected rows by name.
SHOWN_ROWS = 50


class NoFields(forms.Form):
    pass


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


def confirmed_action(*, description, permission: str, form=NoFields, warning=""):
    """Wraps `run(model_admin, request, queryset, data) -> (done_message, refusals, changed_objects)` as an admin
    action that asks first. `permission` names the model admin's has_<permission>_permission method."""

    def decorate(run):
        def action(model_admin, request, queryset):
            confirming = request.POST.get("post") == "yes"
            form_ = form(request.POST if confirming else None)
            if confirming and form_.is_valid():
                done, refused, changed = run(model_admin, request, queryset, form_.cleaned_data)
                for obj in changed:
                    model_admin.log_change(request, obj, f"{description} ({request.user.get_username()})")
                model_admin.message_user(request, done, messages.SUCCESS)
                for refusal in refused:
                    model_admin.message_user(request, refusal, messages.WARNING)
                return None
            selected = list(queryset[: SHOWN_ROWS + 1])
            context = {
                **model_admin.admin_site.each_context(request),
                "title": description, "opts": model_admin.opts, "form": form_, "warning": warning,
                "action": run.__name__, "shown": selected[:SHOWN_ROWS], "more": len(selected) > SHOWN_ROWS,
                "count": queryset.count() if request.POST.get("select_across") == "1"
                else len(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)),
                "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/console/bulk_confirm.html", context,
                                    status=400 if confirming else 200)

        action.__name__ = run.__name__
        return admin.action(description=description, permissions=[permission])(action)

    return decorate


def _transition_each(request, queryset, name: str, payload: dict):
    actor = Actor.for_user(request.user)
    changed, refused = [], []
    for order in queryset.order_by("pk"):
        try:
            changed.append(order_transition(order_id=order.pk, name=name, actor=actor, payload=payload))
        except ApiError as exc:
            refused.append(f"{order.number}: {exc.detail}")
    return changed, refused


@confirmed_action(description=_("Cancel selected orders"), permission="cancel", form=ReasonForm,
                  warning=_("Cancelled orders give their stock back and tell every downstream system."))
def cancel_orders(model_admin, request, queryset, data):
    changed, refused = _transition_each(request, queryset, "cancel", {"reason": data["reason"]})
    return _("Cancelled %(n)d order(s).") % {"n": len(changed)}, refused, []


@confirmed_action(description=_("Release selected orders from hold"), permission="release")
def release_holds(model_admin, request, queryset, data):
    changed, refused = _transition_each(request, queryset, "release_hold", {})
    return _("Released %(n)d order(s) from hold.") % {"n": len(changed)}, refused, []
