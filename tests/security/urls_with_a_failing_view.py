"""The production URLconf, its error handlers included, plus one view with a bug: how does a 500 look?"""

from django.urls import path

from ordersync.urls import *  # noqa: F403 (handler400/403/404/500 come with it)
from ordersync.urls import urlpatterns as production_urlpatterns


def failing_view(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("api/v1/boom/", failing_view), *production_urlpatterns]
