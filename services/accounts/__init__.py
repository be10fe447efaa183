"""People: registration, login and access tokens, the profile and what a contact exchange
shares of it (`accounts`), the intro coach's hints (`hints`), and export and erasure of
everything held about a person (`privacy`).

May import `services.core`, and `services.messaging.follow_up_states` (erasure cancels what is
still scheduled toward the person).
"""

EXPORTS: dict[str, tuple[str, ...]] = {
    "accounts": ("shared_profile", "update_profile"),
    "hints": ("*",),
}
