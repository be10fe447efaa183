"""Marshmallow fields for the API's conventions (instants with `Z`, IANA zones, clock times)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from marshmallow import ValidationError, fields

from services.core.clock import in_supported_years
from services.core.timezones import is_valid_timezone


class Instant(fields.DateTime):
    """ISO 8601 with an offset on input; UTC with `Z` on output."""

    default_error_messages = {
        "invalid": "Not a valid ISO 8601 timestamp.",
        "naive": "Must include a UTC offset (for example 2026-05-04T09:00:00Z).",
        "years": "Must lie between the years 2000 and 2099.",
    }

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
        except ValueError as exc:
            raise self.make_error("invalid") from exc
        if parsed.tzinfo is None:
            raise self.make_error("naive")
        try:
            instant = parsed.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise self.make_error("years") from exc
        if not in_supported_years(instant):
            raise self.make_error("years")
        return instant


class TimeZoneName(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        name = super()._deserialize(value, attr, data, **kwargs)
        if not is_valid_timezone(name):
            raise ValidationError("Not an IANA time zone name (for example Europe/Berlin).")
        return name


_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ClockTime(fields.String):
    """A wall-clock time HH:MM."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _CLOCK_TIME.match(text):
            raise ValidationError("Must be a time HH:MM between 00:00 and 23:59.")
        return text
