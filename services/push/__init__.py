"""Push notifications: devices and notification settings (`devices`), the notification outbox
other domains write to (`outbox`), the respect rules that decide each notification
(`dispatch`), the worker step that sends them (`delivery`), the provider senders and their
configuration (`providers`), the Web Push endpoint allowlist (`allowlist`) and the in-app feed
(`feed`).

May import `services.core` and `services.messaging.followups.delivery_time` (quiet hours are
computed one way for follow-ups and pushes). Other domains call the `outbox` functions inside
their own transaction (message sent or follow-up delivered → `notify_message_received`; contact
scan → `notify_contact_exchanged`; staff invitation → `notify_staff_invitation`; meetings →
`notify_meeting`); accounts calls `devices.forget_session_devices` when a session signs out,
and `privacy` for the account export and erasure.
"""

EXPORTS: dict[str, tuple[str, ...]] = {
    "outbox": (
        "notify",
        "notify_message_received",
        "notify_contact_exchanged",
        "notify_staff_invitation",
        "notify_meeting",
        "MESSAGE_RECEIVED",
        "CONTACT_EXCHANGED",
        "STAFF_INVITATION",
        "MEETING_REQUEST",
        "MEETING_ACCEPTED",
        "MEETING_CANCELLED",
    ),
    "devices": ("forget_session_devices",),
    "privacy": ("export_push_data", "erase_push_data"),
}
