"""Talking after the event: messages and the inbox (`messaging`), the anti-pestering policy as
pure functions (`throttle`), scheduled follow-ups and cadence plans (`followups`), their states
(`follow_up_states`) and the delivery worker (`delivery`).

May import `services.core`, `services.networking.contacts` (whose side a message belongs to),
`services.accounts.hints` and `services.push.outbox` (a message queues its push).
"""

EXPORTS: dict[str, tuple[str, ...]] = {
    "follow_up_states": ("CANCELLED", "PLAN_ACTIVE", "SCHEDULED", "cancel_all_toward"),
    # The offline push applies these without committing (commit=False), all in one transaction.
    "messaging": ("mark_read",),
    # Push notifications hold in quiet hours computed the same way as follow-ups.
    "followups": ("update_follow_up", "cancel_follow_up", "delivery_time"),
}
