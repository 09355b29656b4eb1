"""The production URLconf plus a plain Django view on a webhook path, as channel webhook receivers are written
(they read request.body themselves to verify a signature): does the input guard cover a view it never saw?"""

import json

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from ordersync.urls import *  # noqa: F403 (the error handlers come with it)
from ordersync.urls import urlpatterns as production_urlpatterns


@csrf_exempt
def webhook_view(request):
    return JsonResponse({"received": json.loads(request.body) if request.body else None})


urlpatterns = [path("webhooks/probe/", webhook_view), *production_urlpatterns]
