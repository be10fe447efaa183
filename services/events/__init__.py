"""Events and who may do what at them: events, staff roles, sessions and registrations
(`events`), and badges: their codes, QR images, rotation and resolving a scanned badge
(`badges`).

Staff join by invitation (`invitations`): invite by email, accept/decline, roles, removal,
the last organizer.

May import `services.core`, `services.mail.outbox` (the invitation mail, written in the
inviting transaction) and `services.push.outbox` (the push to an invitee whose verified email
was invited).
"""

EXPORTS: dict[str, tuple[str, ...]] = {
    "events": ("*",),
    "badges": ("*",),
    # For services.accounts.privacy (export and erasure).
    "invitations": ("invitations_for_email", "erase_invitations_for"),
}
