"""How instants are written in answers and error contexts."""

from __future__ import annotations

from datetime import UTC, datetime


def to_iso(value: datetime | None) -> str | None:
    """Render an instant the way every error context carries it (UTC, `Z`)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
