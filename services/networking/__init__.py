"""Contact exchange by badge scan and each person's side of a connection: notes, tags, ETags,
search, vCards, relationship strength, mute/not-interested/block (`contacts`).

May import `services.core`, `services.events` (badges, registrations), `services.accounts`
(what a profile shares), `services.checkin.checkins` (the scan receipt both scan kinds share),
`services.messaging.follow_up_states` (blocking cancels scheduled follow-ups),
`services.push.outbox` (a new connection queues a push to the person scanned) and
`services.meetings.booking.mark_held_by_scan` (a scan at a booked meeting marks it held).
"""

EXPORTS: dict[str, tuple[str, ...]] = {
    "contacts": ("*",),
}
