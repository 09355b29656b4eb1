from ordersync.settings.base import *  # noqa: F403
from ordersync.settings.base import env

DEBUG = env.bool("DEBUG", default=True)
SYNC_ALLOW_PRIVATE_ENDPOINTS = env.bool("SYNC_ALLOW_PRIVATE_ENDPOINTS", default=True)
ORDERSYNC_DEMO_RECEIVER = env.bool("ORDERSYNC_DEMO_RECEIVER", default=True)
# Serve static files straight from the apps while developing; production serves collected files.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
