"""A stand-in for payment, warehouse, carrier and notification systems while running `make run` locally.

Demo endpoints point here, so a fresh install shows deliveries succeeding end to end: the worker signs and posts,
this view verifies the Standard Webhooks signature with the endpoint's secret and logs what arrived.
Only mounted when settings.ORDERSYNC_DEMO_RECEIVER is on (development).
"""

import json
import logging

from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from sync.models import Endpoint

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def demo_receiver(request, name: str):
    endpoint = Endpoint.objects.filter(name=name).first()
    if endpoint is None:
        raise Http404(f"No endpoint named {name!r}.")
    try:
        Webhook(endpoint.secret).verify(request.body, dict(request.headers.items()))
    except WebhookVerificationError as exc:
        return JsonResponse({"code": "bad_signature", "detail": f"Signature did not verify: {exc}."}, status=400)
    message = json.loads(request.body)
    logger.info(
        "demo receiver %s accepted %s webhook-id=%s sequence=%s",
        name, message["type"], request.headers["webhook-id"], message["data"].get("sequence"),
    )
    return HttpResponse(status=204)
