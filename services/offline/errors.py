"""The sync's refusals, each with its stable `reason`."""

from __future__ import annotations

from services.core.errors import Conflict, InvalidInput


class SyncConflict(Conflict):
    """A pushed record changed on the server after the push's `last_pulled_at`: pull, then push
    again. Context: `conflicts`, a list of {table, id}."""

    reason = "sync_conflict"
    title = "Changed on the server since your last pull"


class SyncNotAllowed(InvalidInput):
    """The push holds a change the phone may not make offline. Context: `table`, `column`
    (null when the whole table or operation is refused), `id` when one record is concerned."""

    reason = "sync_not_allowed"
    title = "Not allowed through sync"
