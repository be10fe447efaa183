"""Who to meet, and 1:1 meetings at an event (issue 17, API.md "Recommendations and meetings").

Owns: what people offer and seek (the `offers`/`seeks` tags of a profile) and the per-event
match index built from them (`match_tags`), the per-registration `discoverable` opt-in,
recommendations, the event's meeting set-up (spots, slot length, meeting hours), meeting
requests with their throttle, booked meetings, the personal calendar feed, and the meeting
figures of the organizer stats.

May import: services.core, and from other domains only what they export:
services.events (get_event, live_registration, require_organizer, CANCELLED/REGISTERED),
services.accounts.hints (message_hints, Hint) and services.push.outbox (notify_meeting). It
reads the contacts and connections tables (the exclusions of recommendations and requests:
contacts, blocks, mutes) but never writes them.

Exports (the functions other domains and the API call):
- tags: normalize_tags, stage_matching_profile (a PATCH of /v1/me), set_discoverable
- setup: stage_meeting_setup (a PATCH of an event), add_spot, list_spots, slot_starts
- recommendations: recommend
- requests: request_meeting, list_requests, decline_request, cancel_request
- booking: accept_request, cancel_meeting, list_meetings, mark_held_by_scan (called by
  services.networking when two people exchange contacts by badge scan), meeting_counts (the
  stats)
- calendar: rotate_feed_token, calendar_for_token
- privacy: export_meeting_data and forget_person (the account export and erasure,
  services.accounts.privacy)
- notifications: queue_notification, the one place meeting pushes are queued (push outbox)

Lock order inside this package (after the networking order when called from a badge scan:
connection → contacts → meetings): a meeting request → the event (FOR SHARE) → the two
registrations in id order (pending counters) → meetings and their participant rows.
"""

EXPORTS: dict[str, tuple[str, ...]] = {
    "booking": ("mark_held_by_scan", "meeting_counts", "MeetingCounts"),
    "privacy": ("export_meeting_data", "forget_person"),
}
