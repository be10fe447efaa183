"""The push: a WatermelonDB changes object applied all or nothing, in one transaction.

What a phone may change offline: its notes and tags on contacts, `read_at` of messages it
received, the body, time or cancellation of its follow-ups (and deleting one = cancelling it),
its own profile fields. Everything goes through the owning domain's own function, with its
rules (a follow-up's new time is checked against the throttling policy), but none of them
commits: the push commits once at the end, or not at all.

Order of checks, for the whole push before anything is applied:
1. shape: unknown tables, `created` rows, `deleted` outside follow-ups → 422 sync_not_allowed;
2. the pushed rows are locked (follow-ups, contacts, messages, the user: the order the
   delivery worker and the editing paths use), then read as the pull would show them at
   `last_pulled_at`; a record that changes nothing is skipped (a replayed push is harmless);
3. a record that would change and was changed on the server after `last_pulled_at` (the change
   log has it at or past that pull's watermark) → 409 sync_conflict naming them all;
4. a changed column the phone may not change → 422 sync_not_allowed naming table and column;
5. apply; a follow-up the policy refuses → 422 with the policy's reason. Then commit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts import accounts
from services.core.db import retrying_transient_conflicts
from services.core.errors import InvalidInput
from services.core.models import Contact, FollowUp, Message, User
from services.core.timezones import is_valid_timezone
from services.messaging import followups, messaging
from services.networking import contacts as networking
from services.offline import tracking, world
from services.offline.errors import SyncConflict, SyncNotAllowed

PUSHABLE: dict[str, frozenset[str]] = {
    "contacts": frozenset({"note", "tags"}),
    "messages": frozenset({"read_at"}),
    "follow_ups": frozenset({"body", "send_at", "status"}),
    "profile": frozenset(
        {"display_name", "headline", "company", "title", "primary_focus", "timezone"}
    ),
}
DELETABLE = frozenset({"follow_ups"})
BOOKKEEPING = frozenset({"id", "_status", "_changed"})
MAX_MS = 253_402_300_800_000
CANCELLED = "cancelled"
MAX_NOTE_LENGTH = 5000  # as PATCH /v1/contacts/{id}
_PROFILE_LENGTHS = {
    "display_name": 120,
    "headline": 200,
    "company": 120,
    "title": 120,
    "primary_focus": 120,
}
_LOCKED = (("follow_ups", FollowUp), ("contacts", Contact), ("messages", Message))


def _not_allowed(table: str, column: str | None, detail: str, record_id: str | None = None):
    return SyncNotAllowed(detail, table=table, column=column, id=record_id)


def _same(table: str, column: str, pushed: Any, current: Any) -> bool:
    if table == "contacts" and column == "tags":
        return _tags(pushed, strict=False) == _tags(current, strict=False)
    if isinstance(current, bool) or isinstance(pushed, bool):
        return bool(pushed) == bool(current) and pushed is not None
    if pushed == "" and current is None:
        return True  # WatermelonDB keeps an empty string in a non-optional text column
    return pushed == current


def _tags(value: Any, *, strict: bool = True) -> list[str] | None:
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        parsed = None
    if isinstance(parsed, list) and all(isinstance(t, str) for t in parsed):
        return sorted({networking.normalize_tag(t) for t in parsed if t.strip()})
    if strict:
        raise InvalidInput(errors={"contacts.tags": ["A JSON string holding an array of strings."]})
    return None


def _is_ms(value: Any) -> bool:
    """Milliseconds since the epoch, years 1970 to 9999."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_MS


def _parse_id(table: str, raw: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise _not_allowed(table, "id", f"No such {table} record: {raw!r}", str(raw)) from None


def _shape(changes: Mapping[str, Any]) -> dict[str, dict[str, list]]:
    """The changes per table, refusing what can't be pushed at all."""
    tables: dict[str, dict[str, list]] = {}
    for table, change_set in changes.items():
        if table not in world.TABLES:
            raise _not_allowed(table, None, f"Unknown table {table!r}")
        if not isinstance(change_set, Mapping):
            raise InvalidInput(errors={table: ["An object with created, updated, deleted."]})
        created = change_set.get("created") or []
        updated = change_set.get("updated") or []
        deleted = change_set.get("deleted") or []
        if not all(isinstance(part, list) for part in (created, updated, deleted)):
            raise InvalidInput(errors={table: ["created, updated and deleted are lists."]})
        if created:
            raise _not_allowed(table, None, f"{table} can't be created offline")
        if deleted and table not in DELETABLE:
            raise _not_allowed(table, None, f"{table} can't be deleted offline")
        if updated and table not in PUSHABLE:
            raise _not_allowed(table, None, f"{table} can't be changed offline")
        if not all(isinstance(r, Mapping) and "id" in r for r in updated):
            raise InvalidInput(errors={table: ["Every updated record is an object with an id."]})
        if updated or deleted:
            tables[table] = {"updated": list(updated), "deleted": [str(i) for i in deleted]}
    return tables


def push_changes(
    session: Session,
    user: User,
    changes: Mapping[str, Any],
    *,
    last_pulled_at: int,
    now: datetime,
    policy: Any,  # the deployment's ThrottlePolicy, handed on to followups
) -> None:
    """Apply a WatermelonDB push for `user`, all or nothing; commits."""
    if isinstance(changes.get("changes"), Mapping) and "changes" not in world.TABLES:
        changes = changes["changes"]  # {changes, lastPulledAt} as WatermelonDB hands it over
    tables = _shape(changes)
    if not tables:
        return

    def transaction() -> None:
        try:
            _apply(session, user, tables, last_pulled_at=last_pulled_at, now=now, policy=policy)
        except BaseException:
            session.rollback()
            raise
        session.commit()

    retrying_transient_conflicts(session, transaction)


def _apply(
    session: Session,
    user: User,
    tables: dict[str, dict[str, list]],
    *,
    last_pulled_at: int,
    now: datetime,
    policy: Any,  # the deployment's ThrottlePolicy, handed on to followups
) -> None:
    ids: dict[str, list[uuid.UUID]] = {}
    for table, parts in tables.items():
        raw_ids = [r["id"] for r in parts["updated"]] + parts["deleted"]
        ids[table] = [_parse_id(table, raw) for raw in raw_ids]
    # Lock what will change, in the one order every path uses, so nothing changes it between
    # the conflict check and the commit.
    for table, model in _LOCKED:
        if ids.get(table):
            session.execute(
                select(model.id).where(model.id.in_(sorted(ids[table]))).with_for_update()
            ).all()
    if "profile" in ids:
        for record_id in ids["profile"]:
            if record_id != user.id:
                raise _not_allowed("profile", "id", "Only your own profile", str(record_id))
        session.execute(select(User.id).where(User.id == user.id).with_for_update()).all()

    connection = session.connection()
    viewer = world.Viewer(user.id, world.strength_day(tracking.from_ms(last_pulled_at)))
    current: dict[str, dict[str, dict]] = {
        table: {row["id"]: row for row in world.READERS[table](connection, viewer, set(found))}
        for table, found in ids.items()
    }

    # What each record would change.
    edits: list[tuple[str, str, dict[str, Any]]] = []  # (table, id, changed pushable columns)
    refused: list[tuple[str, str | None, str]] = []  # (table, column, id)
    cancels: list[str] = []
    for table, parts in tables.items():
        pushable = PUSHABLE.get(table, frozenset())
        for record in parts["updated"]:
            record_id = str(_parse_id(table, record["id"]))
            server = current[table].get(record_id)
            if server is None:
                edits.append((table, record_id, {"__missing__": True}))
                continue
            changed: dict[str, Any] = {}
            for column, value in record.items():
                if column in BOOKKEEPING:
                    continue
                if column not in server:  # not a column of the table: nothing to equal
                    refused.append((table, column, record_id))
                    continue
                if _same(table, column, value, server[column]):
                    continue
                if column in pushable:
                    changed[column] = value
                else:
                    refused.append((table, column, record_id))
            if changed or any(r[2] == record_id for r in refused):
                edits.append((table, record_id, changed))
        for raw in parts["deleted"]:
            record_id = str(_parse_id(table, raw))
            server = current[table].get(record_id)
            if server is None or server["status"] == CANCELLED:
                continue  # gone already, or cancelled: deleting again changes nothing
            cancels.append(record_id)

    # Changed on the server after the phone's pull?
    since = tracking.watermark_for(connection, last_pulled_at)
    touched = tracking.changed_rows(
        connection,
        [user.id],
        {t for t, _id, _c in edits} | ({"follow_ups"} if cancels else set()),
        since,
        row_ids=[uuid.UUID(i) for _t, i, _c in edits] + [uuid.UUID(i) for i in cancels],
    )
    conflicts = [
        {"table": t, "id": i}
        for t, i in [(t, i) for t, i, _c in edits] + [("follow_ups", i) for i in cancels]
        if uuid.UUID(i) in touched.get(t, set())
    ]
    if conflicts:
        raise SyncConflict(
            f"{len(conflicts)} record(s) changed on the server since your last pull; "
            "pull, then push again",
            conflicts=conflicts,
        )
    for table, record_id, changed in edits:
        if changed.get("__missing__"):
            raise _not_allowed(table, None, f"No such {table} record: {record_id}", record_id)
    if refused:
        table, column, record_id = refused[0]
        raise _not_allowed(table, column, f"{table}.{column} can't be changed offline", record_id)

    contact_edits = {
        uuid.UUID(record_id): _contact_edit(changed)
        for table, record_id, changed in edits
        if table == "contacts"
    }
    if contact_edits:
        networking.edit_contacts(session, user, contact_edits, now)
    for table, record_id, changed in edits:
        if table == "contacts":
            continue
        APPLY[table](
            session,
            user,
            uuid.UUID(record_id),
            changed,
            current[table][record_id],
            now=now,
            policy=policy,
        )
    for record_id in cancels:
        followups.cancel_follow_up(session, user, uuid.UUID(record_id), now, commit=False)
    session.flush()


def _contact_edit(changed: dict[str, Any]) -> dict[str, Any]:
    edit: dict[str, Any] = {}
    if "note" in changed:
        note = changed["note"]
        if note is not None and not isinstance(note, str):
            raise InvalidInput(errors={"contacts.note": ["A string or null."]})
        if note is not None and len(note) > MAX_NOTE_LENGTH:
            raise InvalidInput(errors={"contacts.note": [f"At most {MAX_NOTE_LENGTH} characters."]})
        edit["note"] = note or None
    if "tags" in changed:
        edit["tags"] = _tags(changed["tags"])
    return edit


def _apply_message(session, user, record_id, changed, server, *, now, policy) -> None:
    read_at = changed.get("read_at")
    if server["direction"] != "incoming":
        raise _not_allowed("messages", "read_at", "Only received messages", str(record_id))
    if not _is_ms(read_at):
        raise _not_allowed("messages", "read_at", "read_at can only be set", str(record_id))
    at = min(max(tracking.from_ms(read_at), tracking.from_ms(server["sent_at"])), now)
    messaging.mark_read(session, user, record_id, now, at=at, commit=False)


def _apply_follow_up(session, user, record_id, changed, server, *, now, policy) -> None:
    if "status" in changed:
        if changed["status"] != CANCELLED:
            raise _not_allowed(
                "follow_ups", "status", "status can only become cancelled", str(record_id)
            )
        followups.cancel_follow_up(session, user, record_id, now, commit=False)
        return
    edit: dict[str, Any] = {}
    if "body" in changed:
        if not isinstance(changed["body"], str):
            raise InvalidInput(errors={"follow_ups.body": ["A string."]})
        edit["body"] = changed["body"]
    if "send_at" in changed:
        if not _is_ms(changed["send_at"]):
            raise InvalidInput(errors={"follow_ups.send_at": ["Milliseconds since the epoch."]})
        edit["send_at"] = tracking.from_ms(changed["send_at"])
    followups.update_follow_up(session, user, record_id, edit, now=now, policy=policy, commit=False)


def _apply_profile(session, user, record_id, changed, server, *, now, policy) -> None:
    errors: dict[str, list[str]] = {}
    for name, value in changed.items():
        if name == "timezone":
            if not isinstance(value, str) or not is_valid_timezone(value):
                errors["profile.timezone"] = ["An IANA time zone name."]
        elif name == "display_name":
            if not isinstance(value, str) or not value.strip() or len(value) > 120:
                errors["profile.display_name"] = ["1 to 120 characters."]
        elif value is not None and (
            not isinstance(value, str) or len(value) > _PROFILE_LENGTHS[name]
        ):
            errors[f"profile.{name}"] = [f"At most {_PROFILE_LENGTHS[name]} characters."]
    if errors:
        raise InvalidInput(errors=errors)
    cleaned = {
        k: (v or None) if k not in ("display_name", "timezone") else v for k, v in changed.items()
    }
    accounts.update_profile(session, user, cleaned, now, commit=False)


APPLY = {
    "messages": _apply_message,
    "follow_ups": _apply_follow_up,
    "profile": _apply_profile,
}
