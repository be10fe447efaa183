"""What we hold about a person (export) and erasing it (account deletion).

Erasure keeps the rows that event aggregates count (registrations, check-ins, connections)
but leaves nothing personal in them: the user row becomes "deleted user" with no email,
profile or password; their notes, tags, tokens, idempotency answers and scan receipts go; the
bodies of messages they sent and of their pending follow-ups are blanked; their push devices,
settings and notifications go, and so do the previews of their messages in others' outboxes.
Other people's contact entries read the profile live, so they show "deleted user" at once (and
one that froze their name at a block is set to it). Answers stored for other people's
Idempotency-Keys that show the person (an add-staff, a scan of their badge) are dropped.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from services.accounts.accounts import shared_profile
from services.accounts.sessions import TokenAuthority, active_sign_ins, lock_sign_ins
from services.core.db import retrying_transient_conflicts
from services.core.formatting import to_iso
from services.core.idempotency import forget_answers_mentioning
from services.core.models import (
    AccountToken,
    AuthSession,
    BadgeCode,
    CheckIn,
    Contact,
    ContactTag,
    Event,
    EventSession,
    FollowUp,
    FollowUpPlan,
    IdempotencyRecord,
    Message,
    Registration,
    ScanReceipt,
    User,
)
from services.events.invitations import erase_invitations_for, invitations_for_email
from services.mail.outbox import erase_for_user, mail_for_user
from services.meetings.privacy import export_meeting_data, forget_person
from services.messaging.follow_up_states import CANCELLED, PLAN_ACTIVE, SCHEDULED
from services.push import privacy as push_privacy

DELETED_NAME = "deleted user"
ERASED_BODY = ""


def _iso(value: datetime | None) -> str | None:
    return to_iso(value)


def export_user_data(session: Session, user: User) -> dict[str, Any]:
    """Everything we hold about `user`, as plain JSON-ready data."""
    registrations = session.execute(
        select(Registration, Event)
        .join(Event, Event.id == Registration.event_id)
        .where(Registration.user_id == user.id)
        .order_by(Registration.created_at)
    ).all()
    check_ins = session.execute(
        select(CheckIn, EventSession.title)
        .outerjoin(EventSession, EventSession.id == CheckIn.session_id)
        .join(Registration, Registration.id == CheckIn.registration_id)
        .where(Registration.user_id == user.id, CheckIn.undone_at.is_(None))
        .order_by(CheckIn.scanned_at)
    ).all()
    contacts = session.execute(
        select(Contact, User)
        .join(User, User.id == Contact.other_id)
        .where(Contact.owner_id == user.id, Contact.removed_at.is_(None))
        .order_by(Contact.created_at)
    ).all()
    messages = session.scalars(
        select(Message)
        .where(or_(Message.sender_id == user.id, Message.recipient_id == user.id))
        .order_by(Message.sent_at)
    ).all()
    follow_ups = session.scalars(
        select(FollowUp).where(FollowUp.owner_id == user.id).order_by(FollowUp.send_at)
    ).all()
    plans = session.scalars(
        select(FollowUpPlan)
        .where(FollowUpPlan.owner_id == user.id)
        .order_by(FollowUpPlan.created_at)
    ).all()
    return {
        "profile": {
            "id": str(user.id),
            "email": user.email,
            "display_name": user.display_name,
            "headline": user.headline,
            "company": user.company,
            "title": user.title,
            "primary_focus": user.primary_focus,
            "timezone": user.timezone,
            "offers": list(user.offers or []),
            "seeks": list(user.seeks or []),
            "quiet_hours": user.quiet_hours,
            "share": user.share,
            "created_at": _iso(user.created_at),
            "profile_updated_at": _iso(user.profile_updated_at),
        },
        "registrations": [
            {
                "id": str(r.id),
                "event_id": str(e.id),
                "event_name": e.name,
                "status": r.status,
                "badge_code": r.badge_code if r.status == "registered" else None,
                "discoverable": r.discoverable,
                "created_at": _iso(r.created_at),
                "cancelled_at": _iso(r.cancelled_at),
            }
            for r, e in registrations
        ],
        "check_ins": [
            {
                "id": str(c.id),
                "event_id": str(c.event_id),
                "registration_id": str(c.registration_id),
                "session_id": str(c.session_id) if c.session_id else None,
                "session_title": title,
                "direction": c.direction,
                "scanned_at": _iso(c.scanned_at),
                "received_at": _iso(c.received_at),
            }
            for c, title in check_ins
        ],
        "contacts": [
            {
                "id": str(c.id),
                "person": {
                    k: (str(v) if isinstance(v, uuid.UUID) else v)
                    for k, v in shared_profile(other, c.frozen_display_name).items()
                },
                "event_id": str(c.event_id) if c.event_id else None,
                "met_in_person": c.met_in_person,
                "met_at": _iso(c.met_at),
                "note": c.note,
                "tags": [t.tag for t in c.tags],
                "muted": c.muted_at is not None,
                "not_interested": c.not_interested_at is not None,
            }
            for c, other in contacts
        ],
        "messages": [
            {
                "id": str(m.id),
                "direction": "sent" if m.sender_id == user.id else "received",
                "sender_id": str(m.sender_id),
                "recipient_id": str(m.recipient_id),
                "kind": m.kind,
                "body": m.body,
                "sent_at": _iso(m.sent_at),
                "read_at": _iso(m.read_at),
            }
            for m in messages
        ],
        "follow_ups": [
            {
                "id": str(f.id),
                "contact_id": str(f.contact_id),
                "plan_id": str(f.plan_id) if f.plan_id else None,
                "kind": f.kind,
                "body": f.body,
                "send_at": _iso(f.send_at),
                "deliver_at": _iso(f.deliver_at),
                "status": f.status,
                "status_reason": f.status_reason,
            }
            for f in follow_ups
        ],
        "follow_up_plans": [
            {
                "id": str(p.id),
                "contact_id": str(p.contact_id),
                "cadence": p.cadence,
                "status": p.status,
                "start_at": _iso(p.start_at),
            }
            for p in plans
        ],
        "sessions": [
            {
                "id": str(s.id),
                "created_at": _iso(s.created_at),
                "last_used_at": _iso(s.last_used_at),
                "user_agent": s.user_agent,
            }
            for s in active_sign_ins(session, user.id)
        ],
        "invitations": invitations_for_email(session, user.email),
        "mail": mail_for_user(session, user.id, user.email),
        **push_privacy.export_push_data(session, user.id),
        **export_meeting_data(session, user.id),
    }


def erase_user(
    session: Session, user: User, now: datetime, *, authority: TokenAuthority | None = None
) -> None:
    """Delete the account: personal data goes, anonymous aggregates stay. Commits.

    Rows are locked in the order of services/core/db.py: follow-ups, then contacts, then the
    user row and its sign-ins, then plans, then registrations (erase used to take plans before
    contacts, the reverse of a send, and the two deadlocked). A deadlock or serialization
    failure anyway reruns it from the start.

    Every sign-in is revoked while the user's row is locked: a login locks the same row before
    it creates a sign-in, so it either finishes first (and its sign-in is revoked here) or sees
    the account erased (and gets none)."""
    user_id = user.id
    retrying_transient_conflicts(
        session, lambda: _erase(session, session.get(User, user_id), now, authority)
    )


def _erase(session: Session, user: User, now: datetime, authority: TokenAuthority | None) -> None:
    user_id, email = user.id, user.email
    registration_ids = list(
        session.scalars(select(Registration.id).where(Registration.user_id == user_id))
    )
    # 1. Follow-ups: a delivery worker locks a follow-up before the pair's contacts.
    session.execute(
        update(FollowUp)
        .where(FollowUp.owner_id == user_id, FollowUp.status == SCHEDULED)
        .values(status=CANCELLED, status_reason="account_deleted", updated_at=now)
    )
    session.execute(update(FollowUp).where(FollowUp.owner_id == user_id).values(body=ERASED_BODY))
    session.execute(
        update(FollowUp)
        .where(FollowUp.recipient_id == user_id, FollowUp.status == SCHEDULED)
        .values(status=CANCELLED, status_reason="recipient_deleted", updated_at=now)
    )
    # 2. Contacts: my sides, then the sides of people I blocked (they keep only my old name).
    session.execute(delete(ContactTag).where(ContactTag.owner_id == user_id))
    session.execute(
        update(Contact)
        .where(Contact.owner_id == user_id)
        .values(note=None, removed_at=now, updated_at=now)
    )
    session.execute(
        update(Contact)
        .where(Contact.other_id == user_id, Contact.frozen_display_name.is_not(None))
        .values(frozen_display_name=DELETED_NAME, updated_at=now)
    )
    # 3. The user row, then its sign-ins: revoked (published first) and deleted.
    session.get(User, user_id, with_for_update=True, populate_existing=True)
    sign_ins = lock_sign_ins(session, user_id)
    if authority is not None:
        authority.publish_revoked(s.id for s in sign_ins)
    session.execute(delete(AuthSession).where(AuthSession.user_id == user_id))
    session.execute(delete(AccountToken).where(AccountToken.user_id == user_id))
    erase_for_user(session, user_id, email)
    erase_invitations_for(session, user_id, email)
    # Meetings: requests withdrawn, booked meetings cancelled, tags and calendar link dropped.
    forget_person(session, user_id, now)
    # 3. The user row.
    user.email = f"deleted-{user_id.hex}@deleted.invalid"
    user.display_name = DELETED_NAME
    user.password_hash = "!"  # matches no password: argon2 refuses to verify it
    for name in ("headline", "company", "title", "primary_focus"):
        setattr(user, name, None)
    user.timezone = "UTC"
    user.share_email = user.share_company = user.share_title = user.share_headline = False
    user.deleted_at = now
    user.email_verified_at = None
    user.profile_updated_at = now
    session.flush()
    # 4. Plans.
    session.execute(
        update(FollowUpPlan)
        .where(FollowUpPlan.owner_id == user_id, FollowUpPlan.status == PLAN_ACTIVE)
        .values(status=CANCELLED, status_reason="account_deleted", updated_at=now)
    )
    # 5. Registrations and their badges.
    if registration_ids:
        session.execute(
            update(BadgeCode)
            .where(BadgeCode.revoked_at.is_(None), BadgeCode.registration_id.in_(registration_ids))
            .values(revoked_at=now)
        )
        session.execute(
            update(Registration)
            .where(Registration.id.in_(registration_ids))
            .values(badge_code="erased")
        )
    # Rows nobody else locks.
    session.execute(update(Message).where(Message.sender_id == user_id).values(body=ERASED_BODY))
    session.execute(delete(ScanReceipt).where(ScanReceipt.scanner_id == user_id))
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id))
    # Push: no more pushes to me, and nothing of mine (message previews) in others' outboxes.
    push_privacy.erase_push_data(session, user_id)
    # Other people's stored answers that show me (add-staff: my email and name; a scan of my
    # badge: my profile or name) go too: each names my id or one of my registrations.
    forget_answers_mentioning(
        session, [str(user_id), *(str(r) for r in registration_ids), *([email] if email else [])]
    )
    session.commit()
