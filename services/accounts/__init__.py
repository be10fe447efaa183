"""People: registration, login, passwords and the profile and what a contact exchange
shares of it (`accounts`), sign-ins with rotating refresh tokens (`sessions`), signed access
tokens (`tokens`) and the revocation set every process checks (`revocations`), mailed tokens
for email verification and password reset (`email_tokens`), failed-login limits
(`login_limits`), the intro coach's hints (`hints`), and export and erasure of everything held
about a person (`privacy`).

May import `services.core`, `services.messaging.follow_up_states` (erasure cancels what is
still scheduled toward the person), `services.mail.outbox` (mails in the caller's transaction;
export and erasure of mail) and `services.events.invitations` (export and erasure of the
invitations sent to the person's address),
`services.push.devices` (signing a session out deletes
the push devices it registered; `services.push.privacy` for export and erasure) and
`services.meetings.privacy` (export; erasure withdraws the person's meeting requests and
meetings).
"""

EXPORTS: dict[str, tuple[str, ...]] = {
    "accounts": ("shared_profile", "update_profile"),
    "hints": ("*",),
}
