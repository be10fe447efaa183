"""The meetings domain's refusals, each with its stable `reason` (API.md)."""

from __future__ import annotations

from services.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
)


class NotRegistered(PermissionDenied):
    reason = "not_registered"
    title = "You are not registered for this event"


class NotDiscoverable(Conflict):
    reason = "not_discoverable"
    title = "Turn on `discoverable` for this registration to see and be seen"


class RegistrationNotLive(Conflict):
    reason = "registration_cancelled"
    title = "This registration was cancelled"


class InvalidTags(InvalidInput):
    reason = "invalid_tags"
    title = "Tags must be 2-40 characters, at most 10 of each kind"


class InvalidMeetingSetup(InvalidInput):
    reason = "invalid_meeting_setup"
    title = "The meeting hours or slot length are not valid"


class MeetingsBooked(Conflict):
    reason = "meetings_booked"
    title = "Booked meetings would no longer fit the new slot length or meeting hours"


class SpotNameTaken(Conflict):
    reason = "spot_name_taken"
    title = "The event already has a meeting spot with this name"


class InvalidSlot(InvalidInput):
    reason = "invalid_slot"
    title = "Not a meeting slot of this event"


class UnknownAttendee(NotFound):
    reason = "not_found"
    title = "No such attendee"


class RecipientUnavailable(PermissionDenied):
    """Declined before at this event, muted, not interested, blocked: one answer for all."""

    reason = "recipient_unavailable"
    title = "This person is not receiving meeting requests from you"


class RequestPending(Conflict):
    reason = "request_pending"
    title = "You already have a pending meeting request to this person at this event"


class RequestsCap(RateLimited):
    reason = "requests_cap"
    title = "You have as many pending meeting requests at this event as allowed"


class RecipientBusy(RateLimited):
    reason = "recipient_busy"
    title = "This person has many pending meeting requests; try again later"


class RequestNotPending(Conflict):
    reason = "request_not_pending"
    title = "This meeting request was already answered or cancelled"


class SlotTaken(Conflict):
    reason = "slot_taken"
    title = "One of you already has a meeting at this time"


class NoSpotFree(Conflict):
    reason = "no_spot_free"
    title = "Every meeting spot is taken at this time"


class MeetingHeld(Conflict):
    reason = "meeting_held"
    title = "This meeting already took place"


class UnknownFeed(NotFound):
    reason = "not_found"
    title = "No calendar feed with this token"
