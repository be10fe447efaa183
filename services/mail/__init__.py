"""Mail: the outbox and its delivery.

Owns the `mail_outbox` table, the SMTP/file transports and the delivery step the worker runs.
Imports services.core only. Exports, for other domains:

- `enqueue(session, *, to, subject, body, kind, now, user_id=None, secret=None)`: write a
  mail in the caller's transaction (it leaves only if that transaction commits). A `secret`
  (a mailed token) is kept apart from the body, which names it `{{token}}`; it is erased once
  the mail has gone, so the stored copy (export) never holds a usable token.
- `mail_for_user(session, user_id, email)`, `erase_for_user(session, user_id, email)`:
  export and erasure.
"""

from services.mail.outbox import (
    TOKEN_PLACEHOLDER,
    enqueue,
    erase_for_user,
    mail_for_user,
)

__all__ = ["TOKEN_PLACEHOLDER", "enqueue", "erase_for_user", "mail_for_user"]
