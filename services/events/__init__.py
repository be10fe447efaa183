"""Events and who may do what at them: events, staff roles, sessions and registrations
(`events`), and badges: their codes, QR images, rotation and resolving a scanned badge
(`badges`).

May import `services.core` only.
"""

EXPORTS: dict[str, tuple[str, ...]] = {
    "events": ("*",),
    "badges": ("*",),
}
