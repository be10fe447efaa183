"""Mail: the outbox (`outbox`) and how a mail leaves (`transport`: SMTP or, on a laptop,
`.eml` files).

A mail is a row written in the transaction of the change that causes it; the delivery worker
sends it (api/worker.py runs `outbox.deliver_due_mail` as one of its steps), retrying with
back-off. Imports `services.core` only.

Exported to other domains (`outbox`): `enqueue(session, *, to, subject, body, kind, now,
user_id=None, secret=None)` writes a mail in the caller's transaction. A `secret` (a mailed
token) is kept apart from the body, which names it `TOKEN_PLACEHOLDER`, and erased once the
mail has gone, so the stored copy never holds a usable token. `mail_for_user` and
`erase_for_user`: export and erasure.
"""

EXPORTS: dict[str, tuple[str, ...]] = {
    "outbox": ("TOKEN_PLACEHOLDER", "enqueue", "mail_for_user", "erase_for_user"),
}
