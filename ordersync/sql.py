"""Helpers for the few hot paths that write SQL by hand instead of through the ORM."""

from django.db import connection


def db_table(model) -> str:
    """The model's table name, quoted for the current database, for interpolation into raw SQL."""
    return connection.ops.quote_name(model._meta.db_table)
