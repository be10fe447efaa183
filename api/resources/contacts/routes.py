from uuid import UUID

from flask import Response, request, stream_with_context
from flask.views import MethodView

from api.auth import current_user
from api.db import db_session, now
from api.extensions import Blueprint
from api.resources.contacts.schemas import (
    IF_MATCH,
    ContactListArgsSchema,
    ContactPageSchema,
    ContactPatchSchema,
    ContactScanSchema,
    ContactSchema,
)
from services.checkin.checkins import BadgeScan
from services.networking import contacts

blp = Blueprint(
    "contacts",
    __name__,
    url_prefix="/v1",
    description="Contact exchange by badge scan, notes, tags, vCard, remove and block",
)

VCARD = "text/vcard"
ETAG_HEADER = {"ETag": {"schema": {"type": "string"}}}


@blp.route("/contacts/scan")
class ContactScan(MethodView):
    @blp.authenticated
    @blp.arguments(ContactScanSchema)
    @blp.response(201, ContactSchema, headers=ETAG_HEADER, location="/v1/contacts/{id}")
    @blp.alt_response(200, schema=ContactSchema, description="Already connected")
    @blp.problems(403, 404, 409)
    def post(self, data):
        """Scan another attendee's badge at an event you both attend: you are connected."""
        note = data.pop("note", None)
        event_id = data.pop("event_id")
        result = contacts.exchange_by_scan(
            db_session(),
            scanner=current_user(),
            event_id=event_id,
            scan=BadgeScan(**data),
            note=note,
            now=now(),
        )
        return result.contact, (201 if result.created else 200), {"ETag": result.contact.etag}


@blp.route("/contacts")
class ContactList(MethodView):
    @blp.authenticated
    @blp.arguments(ContactListArgsSchema, location="query")
    @blp.response(200, ContactPageSchema)
    def get(self, args):
        """My contacts: newest first or `sort=strength`; filters event_id, tag, q, going_cold."""
        return contacts.list_contacts(db_session(), current_user(), now=now(), **args)


@blp.route("/contacts.vcf")
class AllContactsVcard(MethodView):
    @blp.authenticated
    @blp.response(200, content_type=VCARD, description="All my contacts as vCard 3.0")
    def get(self):
        """All my contacts as one vCard file (only what each person shares, plus my notes)."""
        cards = contacts.all_contacts_vcard(db_session(), current_user(), now())
        return Response(
            stream_with_context(cards),
            mimetype=VCARD,
            headers={"Content-Disposition": 'attachment; filename="contacts.vcf"'},
        )


@blp.route("/contacts/<uuid:contact_id>")
class ContactItem(MethodView):
    @blp.authenticated
    @blp.response(200, ContactSchema, headers=ETAG_HEADER)
    @blp.problems(404)
    def get(self, contact_id: UUID):
        """One of my contacts, with the other person's live, shared profile."""
        view = contacts.get_contact(db_session(), current_user(), contact_id, now())
        return view, 200, {"ETag": view.etag}

    @blp.authenticated
    @blp.doc(parameters=[IF_MATCH])
    @blp.arguments(ContactPatchSchema)
    @blp.response(200, ContactSchema, headers=ETAG_HEADER)
    @blp.problems(404, 412)
    def patch(self, changes, contact_id: UUID):
        """Edit my private note and tags; send If-Match with the ETag to avoid overwriting."""
        view = contacts.update_contact(
            db_session(),
            current_user(),
            contact_id,
            changes=changes,
            if_match=request.headers.get("If-Match"),
            now=now(),
        )
        return view, 200, {"ETag": view.etag}

    @blp.authenticated
    @blp.response(204)
    @blp.problems(404)
    def delete(self, contact_id: UUID):
        """Remove this contact from my list (their side stays)."""
        contacts.remove_contact(db_session(), current_user(), contact_id, now())


@blp.route("/contacts/<uuid:contact_id>/vcard")
class ContactVcard(MethodView):
    @blp.authenticated
    @blp.response(200, content_type=VCARD, description="The contact as vCard 3.0")
    @blp.problems(404)
    def get(self, contact_id: UUID):
        """One contact as a vCard (only what they share, plus my note)."""
        card = contacts.contact_vcard(db_session(), current_user(), contact_id, now())
        return Response(card, mimetype=VCARD)


@blp.route("/contacts/<uuid:contact_id>/block")
class ContactBlock(MethodView):
    @blp.authenticated
    @blp.response(204)
    @blp.problems(404)
    def post(self, contact_id: UUID):
        """Block: neither of you can message or re-connect; the other only ever sees `blocked`."""
        contacts.block_contact(db_session(), current_user(), contact_id, now())
