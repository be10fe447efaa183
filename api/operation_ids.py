"""Every operation's `operationId`: the function name a generated client gives it.

Published names are part of the contract: add, never rename (the compatibility test fails on a
changed one). A new endpoint gets its entry here, keyed "METHOD /path" exactly as the spec writes
the path, with a camelCase verbNoun name (`listContacts`, `scanBadge`); a view may instead set
`@blp.doc(operationId=...)`, which wins over this map. tests/contract/test_spec_quality.py
fails, naming the line to add, for an operation that has neither.
"""

from __future__ import annotations

OPERATION_IDS: dict[str, str] = {
    # health
    "GET /v1/health": "getHealth",
    "GET /v1/ready": "getReadiness",
    # accounts
    "POST /v1/auth/register": "registerUser",
    "POST /v1/auth/login": "loginUser",
    "POST /v1/auth/logout": "logoutUser",
    "GET /v1/me": "getMe",
    "PATCH /v1/me": "updateMe",
    "DELETE /v1/me": "deleteMe",
    "GET /v1/me/export": "exportMe",
    # accounts lifecycle (v1.1)
    "POST /v1/auth/refresh": "refreshTokens",
    "POST /v1/auth/logout-all": "logoutAllSessions",
    "GET /v1/me/sessions": "listMySessions",
    "DELETE /v1/me/sessions/{session_id}": "revokeMySession",
    "POST /v1/me/password": "changeMyPassword",
    "POST /v1/auth/verify-email": "verifyEmail",
    "POST /v1/me/verify-email/resend": "resendVerificationEmail",
    "POST /v1/auth/password-reset": "requestPasswordReset",
    "POST /v1/auth/password-reset/confirm": "confirmPasswordReset",
    "PATCH /v1/events/{event_id}/staff/{user_id}": "updateStaffMember",
    "DELETE /v1/events/{event_id}/staff/{user_id}": "removeStaffMember",
    "DELETE /v1/events/{event_id}/invitations/{invitation_id}": "revokeStaffInvitation",
    "GET /v1/me/invitations": "listMyInvitations",
    "POST /v1/invitations/{invitation_id}/accept": "acceptInvitation",
    "POST /v1/invitations/{invitation_id}/decline": "declineInvitation",
    "POST /v1/invitations/accept": "acceptInvitationWithToken",
    # events, staff, sessions, registrations, badges
    "POST /v1/events": "createEvent",
    "GET /v1/events/{event_id}": "getEvent",
    "PATCH /v1/events/{event_id}": "updateEvent",
    "GET /v1/events/{event_id}/staff": "listStaff",
    "POST /v1/events/{event_id}/staff": "addStaff",
    "GET /v1/events/{event_id}/sessions": "listSessions",
    "POST /v1/events/{event_id}/sessions": "createSession",
    "GET /v1/events/{event_id}/registrations": "listRegistrations",
    "POST /v1/events/{event_id}/registrations": "registerForEvent",
    "GET /v1/registrations/{registration_id}": "getRegistration",
    "DELETE /v1/registrations/{registration_id}": "cancelRegistration",
    "GET /v1/registrations/{registration_id}/badge.png": "getBadgePng",
    "GET /v1/registrations/{registration_id}/badge.svg": "getBadgeSvg",
    "POST /v1/registrations/{registration_id}/badge/rotate": "rotateBadge",
    # check-in
    "POST /v1/events/{event_id}/check-ins": "scanBadge",
    "GET /v1/events/{event_id}/check-ins": "listCheckIns",
    "DELETE /v1/check-ins/{check_in_id}": "undoCheckIn",
    # contacts
    "POST /v1/contacts/scan": "scanContact",
    "GET /v1/contacts": "listContacts",
    "GET /v1/contacts.vcf": "exportContactsVcard",
    "GET /v1/contacts/{contact_id}": "getContact",
    "PATCH /v1/contacts/{contact_id}": "updateContact",
    "DELETE /v1/contacts/{contact_id}": "removeContact",
    "GET /v1/contacts/{contact_id}/vcard": "getContactVcard",
    "POST /v1/contacts/{contact_id}/block": "blockContact",
    "POST /v1/contacts/{contact_id}/mute": "muteContact",
    "POST /v1/contacts/{contact_id}/unmute": "unmuteContact",
    "POST /v1/contacts/{contact_id}/not-interested": "markContactNotInterested",
    # offline sync
    "POST /v1/sync/scans": "syncScans",
    # messages, follow-ups
    "POST /v1/contacts/{contact_id}/messages": "sendMessage",
    "GET /v1/contacts/{contact_id}/messages": "listMessages",
    "GET /v1/contacts/{contact_id}/allowance": "getAllowance",
    "GET /v1/inbox": "listInbox",
    "POST /v1/inbox/read": "markInboxRead",
    "POST /v1/messages/{message_id}/read": "markMessageRead",
    "POST /v1/contacts/{contact_id}/follow-ups": "scheduleFollowUp",
    "POST /v1/contacts/{contact_id}/follow-up-plans": "createFollowUpPlan",
    "GET /v1/follow-ups": "listFollowUps",
    "GET /v1/follow-ups/{follow_up_id}": "getFollowUp",
    "PATCH /v1/follow-ups/{follow_up_id}": "updateFollowUp",
    "DELETE /v1/follow-ups/{follow_up_id}": "cancelFollowUp",
    "GET /v1/follow-up-plans/{plan_id}": "getFollowUpPlan",
    "DELETE /v1/follow-up-plans/{plan_id}": "cancelFollowUpPlan",
    # stats
    "GET /v1/events/{event_id}/stats": "getEventStats",
    "GET /v1/events/{event_id}/check-ins.csv": "exportCheckInsCsv",
    "GET /v1/events/{event_id}/stats/arrivals.png": "getArrivalsChart",
}
