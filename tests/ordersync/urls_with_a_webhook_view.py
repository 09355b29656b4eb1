"""The production URLconf plus a plain Django view on a webhook path, as channel webhook receivers are written
(they read request.body themselves to verify a signature): does the input guard cover a view it never saw?"""

import json

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from ordersync.middleware import raw_body
from ordersync.urls import *  # noqa: F403 (the error handlers come with it)
from ordersync.urls import urlpatterns as production_urlpatterns


@csrf_exempt
def webhook_view(request):
    return JsonResponse({"received": json.loads(request.body) if request.body else None})


@raw_body
@csrf_exempt
def signed_webhook_view(request):
    """Like the channel receivers: the raw bytes are kept whatever they hold, and judged after the signature."""
    return JsonResponse({"bytes": len(request.body)})


urlpatterns = [path("webhooks/probe/", webhook_view), path("webhooks/signed/", signed_webhook_view),
               *production_urlpatterns]
