"""A phone's copy of its world, kept the way WatermelonDB keeps it (created/updated upsert,
deleted removes), to compare with what the server shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TABLES = ("profile", "events", "sessions", "registrations", "contacts", "messages", "follow_ups")
# Evaluated at each answer's own instant: equal between two answers only up to time's decay.
DERIVED = {"contacts": ("strength", "going_cold")}


@dataclass
class Mirror:
    tables: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {t: {} for t in TABLES}
    )
    last_pulled_at: int | None = None

    def apply(self, answer: dict[str, Any]) -> None:
        assert set(answer["changes"]) == set(TABLES), answer["changes"].keys()
        for table, change_set in answer["changes"].items():
            rows = self.tables[table]
            for row in change_set["created"] + change_set["updated"]:
                rows[row["id"]] = row
            for record_id in change_set["deleted"]:
                rows.pop(record_id, None)
        assert isinstance(answer["timestamp"], int) and answer["timestamp"] > 0
        self.last_pulled_at = answer["timestamp"]

    def comparable(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {
            table: {
                record_id: {k: v for k, v in row.items() if k not in DERIVED.get(table, ())}
                for record_id, row in rows.items()
            }
            for table, rows in self.tables.items()
        }


def server_view(answer: dict[str, Any]) -> Mirror:
    """A first pull's answer as a mirror: what the server shows right now."""
    mirror = Mirror()
    mirror.apply(answer)
    return mirror
