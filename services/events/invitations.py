"""Staff by invitation, and the staff list's changes (roles, removal, the last organizer).

An organizer invites an email address with a role. The answer is the invitation and nothing
else, the same whether or not an account has that address (no id, no name): inviting cannot
be used to find out who has an account. The invitee gets a mail with a token and sees the
invitation in the app once their email is verified; accepting (in the app, or with the token
while signed in) makes them staff. Only an accepted invitation grants anything.

Removing a member takes effect at their next request: a role is read from `event_staff` on
every staff request. Changes to an event's organizers lock the event's staff rows first, so
two organizers removing each other at once cannot leave the event with none.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core.errors import Conflict, InvalidInvitationToken, NotFound
from services.core.formatting import to_iso
from services.core.models import Event, EventStaff, StaffInvitation, User
from services.core.secret_tokens import digest, new_secret_token
from services.events.events import (
    ORGANIZER,
    LastOrganizer,
    get_event,
    require_organizer,
    require_staff,
)
from services.mail.outbox import TOKEN_PLACEHOLDER, enqueue
from services.push.outbox import notify_staff_invitation

PENDING, ACCEPTED, DECLINED, REVOKED = "pending", "accepted", "declined", "revoked"
INVITATION_TTL = timedelta(days=14)


class InvitationClosed(Conflict):
    reason = "invitation_closed"
    title = "This invitation was already answered, revoked or has expired"


@dataclass
class Joined:
    event_id: uuid.UUID
    role: str


def invite(
    session: Session,
    actor: User,
    event_id: uuid.UUID,
    *,
    email: str,
    role: str,
    now: datetime,
    base_url: str,
) -> StaffInvitation:
    """Invite `email` to the event's staff; an earlier pending invitation of the same address
    is replaced (its token stops working). Commits."""
    event = require_organizer(session, event_id, actor)
    email = email.strip().lower()
    for earlier in session.scalars(
        select(StaffInvitation)
        .where(
            StaffInvitation.event_id == event.id,
            StaffInvitation.email == email,
            StaffInvitation.status == PENDING,
        )
        .with_for_update()
    ):
        earlier.status, earlier.responded_at = REVOKED, now
    token = new_secret_token()
    invitation = StaffInvitation(
        event_id=event.id,
        email=email,
        role=role,
        status=PENDING,
        token_hash=digest(token),
        invited_by_id=actor.id,
        created_at=now,
        expires_at=now + INVITATION_TTL,
    )
    session.add(invitation)
    session.flush()
    enqueue(
        session,
        to=email,
        subject=f"You are invited to help run {event.name}",
        body=(
            f"Hello,\n\n{actor.display_name} invites you to join the {role}s of "
            f'"{event.name}" on Wellspring.\n\n'
            "Sign in to the Wellspring app with this address to see the invitation, or enter "
            "this code in the app while signed in:\n\n"
            f"token: {TOKEN_PLACEHOLDER}\n\n"
            "Open in the app: "
            f"{base_url.rstrip('/')}/invitations?event={event.id}#token={TOKEN_PLACEHOLDER}\n\n"
            f"The invitation is open for {INVITATION_TTL.days} days. If you do not know "
            "this event, ignore this mail.\n"
        ),
        kind="staff_invitation",
        now=now,
        secret=token,
    )
    # An account that has proven this address also hears of it on its phone; an unverified
    # one does not (the address may not be theirs). Queued in this transaction, like the mail.
    invitee_id = session.scalar(
        select(User.id).where(
            User.email == email, User.email_verified_at.is_not(None), User.deleted_at.is_(None)
        )
    )
    if invitee_id is not None:
        notify_staff_invitation(
            session,
            invitee_id=invitee_id,
            inviter_id=actor.id,
            event_id=event.id,
            event_name=event.name,
            now=now,
        )
    session.commit()
    return invitation


def pending(session: Session, actor: User, event_id: uuid.UUID) -> list[StaffInvitation]:
    """The event's pending invitations: organizers see them (they hold emails), staff an
    empty list."""
    _event, role = require_staff(session, event_id, actor)
    if role != ORGANIZER:
        return []
    return list(
        session.scalars(
            select(StaffInvitation)
            .where(StaffInvitation.event_id == event_id, StaffInvitation.status == PENDING)
            .order_by(StaffInvitation.created_at, StaffInvitation.id)
        )
    )


def _locked_staff(session: Session, event_id: uuid.UUID) -> list[EventStaff]:
    return list(
        session.scalars(
            select(EventStaff)
            .where(EventStaff.event_id == event_id)
            .order_by(EventStaff.id)
            .with_for_update()
        )
    )


def _member(staff: list[EventStaff], user_id: uuid.UUID) -> EventStaff:
    for member in staff:
        if member.user_id == user_id:
            return member
    raise NotFound("No such member of this event's staff")


def _check_organizers_left(staff: list[EventStaff], leaving: EventStaff) -> None:
    others = [m for m in staff if m.role == ORGANIZER and m.id != leaving.id]
    if leaving.role == ORGANIZER and not others:
        raise LastOrganizer()


def change_role(
    session: Session, actor: User, event_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> EventStaff:
    require_organizer(session, event_id, actor)
    staff = _locked_staff(session, event_id)
    member = _member(staff, user_id)
    if role != ORGANIZER:
        _check_organizers_left(staff, member)
    member.role = role
    session.commit()
    return member


def remove_member(session: Session, actor: User, event_id: uuid.UUID, user_id: uuid.UUID) -> None:
    require_organizer(session, event_id, actor)
    staff = _locked_staff(session, event_id)
    member = _member(staff, user_id)
    _check_organizers_left(staff, member)
    session.delete(member)
    session.commit()


def revoke_invitation(
    session: Session, actor: User, event_id: uuid.UUID, invitation_id: uuid.UUID, now: datetime
) -> None:
    require_organizer(session, event_id, actor)
    invitation = session.scalar(
        select(StaffInvitation)
        .where(StaffInvitation.id == invitation_id, StaffInvitation.event_id == event_id)
        .with_for_update()
    )
    if invitation is None or invitation.status != PENDING:
        raise NotFound("No such pending invitation")
    invitation.status, invitation.responded_at = REVOKED, now
    session.commit()


def my_invitations(session: Session, user: User, now: datetime) -> list[dict]:
    """Pending invitations for my email, once it is verified (an unverified address proves
    nothing: anyone could have registered it)."""
    if user.email_verified_at is None:
        return []
    rows = session.execute(
        select(StaffInvitation, Event.name)
        .join(Event, Event.id == StaffInvitation.event_id)
        .where(
            StaffInvitation.email == user.email,
            StaffInvitation.status == PENDING,
            StaffInvitation.expires_at > now,
        )
        .order_by(StaffInvitation.created_at, StaffInvitation.id)
    ).all()
    return [
        {
            "id": i.id,
            "event_id": i.event_id,
            "event_name": name,
            "role": i.role,
            "status": i.status,
            "created_at": i.created_at,
        }
        for i, name in rows
    ]


def _open_invitation_for(
    session: Session, user: User, invitation_id: uuid.UUID, now: datetime
) -> StaffInvitation:
    invitation = session.scalar(
        select(StaffInvitation).where(StaffInvitation.id == invitation_id).with_for_update()
    )
    # Someone else's invitation is a 404, as if it did not exist.
    if invitation is None or user.email_verified_at is None or invitation.email != user.email:
        raise NotFound("No such invitation")
    if invitation.status != PENDING or invitation.expires_at <= now:
        raise InvitationClosed()
    return invitation


def _join(session: Session, user: User, invitation: StaffInvitation, now: datetime) -> Joined:
    invitation.status, invitation.responded_at = ACCEPTED, now
    invitation.accepted_user_id = user.id
    member = session.scalar(
        select(EventStaff)
        .where(EventStaff.event_id == invitation.event_id, EventStaff.user_id == user.id)
        .with_for_update()
    )
    if member is None:
        session.add(
            EventStaff(
                event_id=invitation.event_id, user_id=user.id, role=invitation.role, created_at=now
            )
        )
    elif member.role != ORGANIZER:  # an invitation never demotes an organizer
        member.role = invitation.role
    try:
        session.commit()
    except IntegrityError:  # joined by a twin request meanwhile
        session.rollback()
    role = session.scalar(
        select(EventStaff.role).where(
            EventStaff.event_id == invitation.event_id, EventStaff.user_id == user.id
        )
    )
    return Joined(invitation.event_id, role or invitation.role)


def accept(session: Session, user: User, invitation_id: uuid.UUID, now: datetime) -> Joined:
    return _join(session, user, _open_invitation_for(session, user, invitation_id, now), now)


def decline(session: Session, user: User, invitation_id: uuid.UUID, now: datetime) -> None:
    invitation = _open_invitation_for(session, user, invitation_id, now)
    invitation.status, invitation.responded_at = DECLINED, now
    session.commit()


def accept_with_token(session: Session, user: User, token: str, now: datetime) -> Joined:
    """The mailed token proves the mailbox; the signed-in account joins, whatever its email."""
    invitation = session.scalar(
        select(StaffInvitation).where(StaffInvitation.token_hash == digest(token)).with_for_update()
    )
    if invitation is None or invitation.status != PENDING or invitation.expires_at <= now:
        session.rollback()
        raise InvalidInvitationToken()
    get_event(session, invitation.event_id)
    return _join(session, user, invitation, now)


def invitations_for_email(session: Session, email: str) -> list[dict]:
    """Export: the invitations sent to this address, with their events' names."""
    rows = session.execute(
        select(StaffInvitation, Event.name)
        .join(Event, Event.id == StaffInvitation.event_id)
        .where(StaffInvitation.email == email)
        .order_by(StaffInvitation.created_at, StaffInvitation.id)
    ).all()
    return [
        {
            "id": str(i.id),
            "event_id": str(i.event_id),
            "event_name": name,
            "role": i.role,
            "status": i.status,
            "created_at": to_iso(i.created_at),
            "responded_at": to_iso(i.responded_at),
        }
        for i, name in rows
    ]


def erase_invitations_for(session: Session, user_id: uuid.UUID, email: str) -> None:
    """Erasure: invitations to this address or accepted by this account go."""
    session.execute(
        delete(StaffInvitation).where(
            or_(StaffInvitation.email == email, StaffInvitation.accepted_user_id == user_id)
        )
    )
