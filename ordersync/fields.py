"""Serializer fields that take JSON's types at their word, shared by every channel API.

DRF coerces by default: 5 becomes "5" for a text field, "2" and 2.0 become 2 for an integer, "no" and 0 become
False for a boolean. Each coercion is a place where two systems can read one body differently, and a client bug
that should be reported instead of guessed at.
"""

from rest_framework import serializers


class Text(serializers.CharField):
    """A JSON string and nothing else."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: "5", 5.0 and true are refused instead of being coerced."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false only: "no", 0 and "off" are refused instead of being read as false."""

    default_error_messages = {"not_a_boolean": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("not_a_boolean")
        return data
