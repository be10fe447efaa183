from marshmallow import Schema, fields, validate

from api.fields import Instant
from api.schemas import PageArgsSchema, page_of
from services.networking.contacts import MAX_TAGS, SORTS

NOTE_MAX = 5000


class ContactScanSchema(Schema):
    badge = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2048),
        metadata={"description": "The other attendee's badge_code, or the QR's full URL"},
    )
    event_id = fields.UUID(required=True)
    client_scan_id = fields.String(validate=validate.Length(min=1, max=100))
    scanned_at = Instant(metadata={"description": "When you met (phone time); default now"})
    note = fields.String(
        validate=validate.Length(max=NOTE_MAX),
        metadata={"description": "Your private note, on a new contact"},
    )


class ContactSchema(Schema):
    id = fields.UUID(attribute="contact.id", metadata={"description": "The contact_id"})
    user_id = fields.UUID(attribute="other.id", metadata={"description": "The other person"})
    display_name = fields.String(attribute="person.display_name")
    email = fields.String(
        attribute="person.email", allow_none=True, metadata={"description": "Only if they share it"}
    )
    company = fields.String(attribute="person.company", allow_none=True)
    title = fields.String(attribute="person.title", allow_none=True)
    headline = fields.String(attribute="person.headline", allow_none=True)
    met_in_person = fields.Boolean(attribute="contact.met_in_person")
    event_id = fields.UUID(attribute="contact.event_id", allow_none=True)
    met_at = Instant(attribute="contact.met_at")
    note = fields.String(
        attribute="contact.note",
        allow_none=True,
        metadata={"description": "Private: never shown to the other person"},
    )
    tags = fields.Function(
        lambda view: [t.tag for t in view.contact.tags],
        metadata={"type": "array", "items": {"type": "string"}},
    )
    strength = fields.Integer(
        metadata={
            "description": "Relationship strength 0-100: met in person, messages both ways, "
            "replies, halved by every 90 days of silence"
        }
    )
    muted = fields.Function(
        lambda view: view.contact.muted_at is not None,
        metadata={"type": "boolean", "description": "You muted messages from this person"},
    )
    not_interested = fields.Function(
        lambda view: view.contact.not_interested_at is not None,
        metadata={"type": "boolean", "description": "You marked this person not interested"},
    )
    created_at = Instant(attribute="contact.created_at")
    updated_at = Instant(attribute="contact.updated_at")
    etag = fields.String(
        dump_only=True,
        metadata={
            "description": "The same value as the ETag header: send it as If-Match when you "
            "edit (for clients that do not read response headers)"
        },
    )


ContactPageSchema = page_of(ContactSchema, "ContactPageSchema")


class ContactPatchSchema(Schema):
    note = fields.String(allow_none=True, validate=validate.Length(max=NOTE_MAX))
    tags = fields.List(
        fields.String(validate=validate.Length(min=1, max=50)),
        validate=validate.Length(max=MAX_TAGS),
    )


class ContactListArgsSchema(PageArgsSchema):
    event_id = fields.UUID()
    tag = fields.String(validate=validate.Length(min=1, max=50))
    q = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Search name, company, title (as shared) and your notes"},
    )
    going_cold = fields.Boolean(
        load_default=False,
        metadata={"description": "Only strong ties with no exchange for 60 days"},
    )
    sort = fields.String(load_default="recent", validate=validate.OneOf(SORTS))


IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag you read; a stale one answers 412 instead of overwriting",
}
