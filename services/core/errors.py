"""Domain errors with stable machine-readable reasons.

Each error belongs to one category (the direct subclasses of DomainError); the HTTP layer maps
categories to status codes, so no status code lives here.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    reason = "domain_error"
    title = "Request refused"

    def __init__(self, detail: str | None = None, **context: Any) -> None:
        self.detail = detail or self.title
        self.context = context
        super().__init__(self.detail)

    @property
    def retry_after(self) -> int | None:
        value = self.context.get("retry_after")
        return int(value) if value is not None else None


# Categories -------------------------------------------------------------------------------


class NotAuthenticated(DomainError):
    reason = "not_authenticated"
    title = "Authentication required"


class PermissionDenied(DomainError):
    reason = "forbidden"
    title = "Not allowed"


class NotFound(DomainError):
    reason = "not_found"
    title = "Not found"


class Conflict(DomainError):
    reason = "conflict"
    title = "Conflict with the current state"


class InvalidInput(DomainError):
    """Input that parses but breaks a domain rule; `errors` maps field names to messages."""

    reason = "invalid_input"
    title = "Invalid input"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: dict[str, list[str]] | None = None,
        **context: Any,
    ) -> None:
        super().__init__(detail, **context)
        self.errors = errors or {}


class RateLimited(DomainError):
    reason = "rate_limited"
    title = "Too many requests"


class PreconditionFailed(DomainError):
    reason = "precondition_failed"
    title = "The resource changed since you read it"


class PayloadTooLarge(DomainError):
    reason = "payload_too_large"
    title = "Too many items in one request"


class Unavailable(DomainError):
    reason = "unavailable"
    title = "Temporarily unavailable"


# Accounts ---------------------------------------------------------------------------------


class InvalidCredentials(NotAuthenticated):
    reason = "invalid_credentials"
    title = "Email or password is wrong"


class InvalidToken(NotAuthenticated):
    reason = "invalid_token"
    title = "Missing, invalid or revoked access token"


class EmailTaken(Conflict):
    reason = "email_taken"
    title = "An account with this email already exists"


class TooManyFailedLogins(RateLimited):
    reason = "too_many_failed_logins"
    title = "Too many failed logins; try again later"


# Events and check-in ----------------------------------------------------------------------


class NotEventStaff(PermissionDenied):
    reason = "not_event_staff"
    title = "Only the event's staff and organizers may do this"


class NotOrganizer(PermissionDenied):
    reason = "not_organizer"
    title = "Only the event's organizers may do this"


class UnknownBadge(NotFound):
    reason = "unknown_badge"
    title = "No badge with this code"


class RegistrationCancelled(Conflict):
    reason = "registration_cancelled"
    title = "This registration was cancelled"


class BadgeRevoked(Conflict):
    reason = "badge_revoked"
    title = "This badge was replaced by a newer one"


class WrongEvent(Conflict):
    reason = "wrong_event"
    title = "This badge belongs to another event"


class OutsideCheckInWindow(Conflict):
    reason = "outside_check_in_window"
    title = "Scan time is outside the check-in window"


class NotCheckedIn(Conflict):
    reason = "not_checked_in"
    title = "An exit needs an earlier entry"


class UndoWindowPassed(Conflict):
    reason = "undo_window_passed"
    title = "A scan can only be undone within 15 minutes by the staff member who made it"


class ScanIdReused(InvalidInput):
    reason = "client_scan_id_reused"
    title = "This client_scan_id was already used for a different scan"
