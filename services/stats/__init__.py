"""What organizers see: attendance, arrivals, sessions and networking figures (`stats`), arrival
buckets on the event's local clock (`arrival_buckets`), and the arrivals chart (`charts`, which
takes plain data and imports nothing from `stats`).

May import `services.core`, `services.events` and `services.meetings.booking.meeting_counts`
(the meeting figures of the networking block).
"""

EXPORTS: dict[str, tuple[str, ...]] = {}
