"""What the development error page may show: Django hides settings named like secrets (the database PASSWORD);
this also hides the password inside any URL-shaped value — CELERY_BROKER_URL, CELERY_RESULT_BACKEND, cache and
mail URLs, and the same variables in the request environment that the development server exposes."""

import re

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@host — the password is everything between the first ':' after '//' and the last '@'.
URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<password>[^\s]*)(?P<tail>@[^@\s]*)")


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    def cleanse_setting(self, key, value):
        value = super().cleanse_setting(key, value)
        if isinstance(value, str):  # also true of a lazy string (a LazyObject passes for its class): render it
            return URL_PASSWORD.sub(lambda m: m["head"] + self.cleansed_substitute + m["tail"], str(value))
        return value
