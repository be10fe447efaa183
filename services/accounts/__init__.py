"""People: registration, login and access tokens, the profile and what a contact exchange
shares of it (`accounts`), the intro coach's hints (`hints`), and export and erasure of
everything held about a person (`privacy`).

May import `services.core`, `services.messaging.follow_up_states` (erasure cancels what is
still scheduled toward the person), `services.push.devices` (signing a session out deletes
the push devices it registered; `services.push.privacy` for export and erasure) and
`services.meetings.erasure.forget_person` (erasure withdraws the person's meeting requests and
meetings).
"""

EXPORTS: dict[str, tuple[str, ...]] = {
    "accounts": ("shared_profile", "update_profile"),
    "hints": ("*",),
}
