"""Offline-first sync (WatermelonDB's protocol) and the door scanner kit.

Owns: the change log (`sync_changes`, written by database triggers that migration 0009 creates
on every table the sync reads) and the pull watermarks (`sync_watermarks`); the pull
(`pull.pull_changes`), the push (`push.push_changes`), the scanner kit
(`scanner_kit.scanner_kit`) and the log's housekeeping (`compaction.compact_change_log`, run by
the worker).

Imports: services.core (models, db, errors, clock, timezones) and, through the functions they
export, services.accounts (update_profile), services.events (require_staff),
services.networking (update_contact, strength_of, going_cold_of, strength_sql),
services.messaging (mark_read, update_follow_up, cancel_follow_up). The v1 scan upload
(`/v1/sync/scans`) stays in services.checkin.sync.

Other domains need do nothing for their writes to reach phones: the triggers see every
INSERT, UPDATE and DELETE on the tracked tables, whichever code path runs it.
"""

EXPORTS: dict[str, tuple[str, ...]] = {}
