"""An app's whole flow, through the generated Python client only (clients/check.sh runs it
against a live server): `python scenario.py BASE_URL`.

Every call goes through `wellspring_client`, generated from openapi/openapi.json by
openapi-python-client; nothing here speaks HTTP itself. Each step checks the answer's type,
so an answer that came back untyped or as the wrong model fails the run.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

from wellspring_client import AuthenticatedClient, Client
from wellspring_client.api.accounts import register_user
from wellspring_client.api.badges import get_badge_png
from wellspring_client.api.checkins import scan_badge
from wellspring_client.api.contacts import scan_contact, update_contact
from wellspring_client.api.events import create_event, register_for_event
from wellspring_client.api.messaging import send_message
from wellspring_client.api.stats import export_check_ins_csv, get_event_stats
from wellspring_client.api.sync import sync_scans
from wellspring_client.models import (
    AuthResult,
    CheckInResult,
    CheckInResultStatus,
    CheckInScan,
    Contact,
    ContactPatch,
    ContactScan,
    Event,
    EventStats,
    EventWithRole,
    MessageSend,
    MessageSendKind,
    Problem,
    QueuedScan,
    QueuedScanKind,
    Reason,
    Register,
    Registration,
    RegistrationStatus,
    SentMessage,
    SyncBatch,
    SyncResponse,
)
from wellspring_client.types import File, Unset

PASSWORD = "a long password"


def step(text: str) -> None:
    print(f"  - {text}", flush=True)


def expect(value, kind):
    assert isinstance(value, kind), f"expected {kind.__name__}, got {type(value).__name__}: {value}"
    return value


def sign_up(base_url: str, name: str) -> tuple[AuthenticatedClient, AuthResult]:
    email = f"{name.lower()}-{uuid.uuid4().hex[:10]}@example.com"
    answer = register_user.sync_detailed(
        client=Client(base_url=base_url),
        body=Register(email=email, password=PASSWORD, display_name=name),
    )
    assert answer.status_code == HTTPStatus.CREATED, answer.content
    auth = expect(answer.parsed, AuthResult)
    return AuthenticatedClient(base_url=base_url, token=auth.access_token), auth


def main(base_url: str) -> None:
    print(f"scenario through the generated Python client against {base_url}")
    organizer, _ = sign_up(base_url, "Olga")
    ana, _ = sign_up(base_url, "Ana")
    ben, _ = sign_up(base_url, "Ben")
    step("three people registered (registerUser)")

    now = datetime.now(UTC)
    event = expect(
        create_event.sync(
            client=organizer,
            body=Event(
                name="DemoConf",
                starts_at=now - timedelta(minutes=10),
                ends_at=now + timedelta(hours=8),
                timezone="Europe/Berlin",
            ),
        ),
        EventWithRole,
    )
    assert event.my_role == "organizer"
    step(f"event created (createEvent): {event.id}")

    ana_reg = expect(register_for_event.sync(event.id, client=ana), Registration)
    ben_reg = expect(register_for_event.sync(event.id, client=ben), Registration)
    assert ana_reg.status is RegistrationStatus.REGISTERED
    # badge_code and badge_url are in the badge owner's own answers only (else Unset).
    ana_badge, ben_badge = expect(ana_reg.badge_code, str), expect(ben_reg.badge_code, str)
    ana_badge_url = expect(ana_reg.badge_url, str)
    step(f"both registered (registerForEvent), badge {ana_badge[:6]}…")

    png = expect(get_badge_png.sync(ana_reg.id, client=ana), File)
    data = png.payload.read()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), data[:8]
    step(f"badge PNG as bytes (getBadgePng): {len(data)} bytes")

    scan = expect(
        scan_badge.sync(
            event.id,
            client=organizer,
            body=CheckInScan(badge=ana_badge_url, device_id="door-1"),
        ),
        CheckInResult,
    )
    assert scan.status is CheckInResultStatus.CHECKED_IN, scan.status
    again = expect(
        scan_badge.sync(event.id, client=organizer, body=CheckInScan(badge=ana_badge)),
        CheckInResult,
    )
    assert again.status is CheckInResultStatus.ALREADY_CHECKED_IN
    step("door scan (scanBadge): checked_in, then already_checked_in")

    contact = expect(
        scan_contact.sync(client=ana, body=ContactScan(badge=ben_badge, event_id=event.id)),
        Contact,
    )
    assert contact.display_name == "Ben" and contact.met_in_person
    step("contact scan (scanContact): Ana and Ben connected")

    edited = update_contact.sync_detailed(
        contact.id,
        client=ana,
        body=ContactPatch(note="Met at the coffee bar", tags=["design"]),
        if_match=contact.etag,
    )
    assert edited.status_code == HTTPStatus.OK, edited.content
    noted = expect(edited.parsed, Contact)
    assert noted.note == "Met at the coffee bar" and noted.etag != contact.etag
    stale = update_contact.sync_detailed(
        contact.id, client=ana, body=ContactPatch(note="overwrite?"), if_match=contact.etag
    )
    assert stale.status_code == HTTPStatus.PRECONDITION_FAILED
    problem = expect(stale.parsed, Problem)
    assert problem.reason is Reason.PRECONDITION_FAILED
    assert problem.current_etag == noted.etag
    step("note with If-Match from the typed etag (updateContact); a stale one → 412")

    first = send_message.sync_detailed(
        contact.id,
        client=ana,
        body=MessageSend(body="Great to meet you!", kind=MessageSendKind.THANK_YOU),
    )
    assert first.status_code == HTTPStatus.CREATED, first.content
    expect(first.parsed, SentMessage)
    throttled = send_message.sync_detailed(
        contact.id, client=ana, body=MessageSend(body="Did you see my message?")
    )
    assert throttled.status_code == HTTPStatus.TOO_MANY_REQUESTS, throttled.content
    refusal = expect(throttled.parsed, Problem)
    assert isinstance(refusal.reason, Reason), refusal.reason
    assert refusal.reason is Reason.MIN_GAP, refusal.reason
    assert not isinstance(refusal.retry_after, Unset) and refusal.retry_after > 0
    assert int(throttled.headers["Retry-After"]) == refusal.retry_after
    assert isinstance(refusal.next_allowed_at, datetime)
    step(
        f"a second message at once (sendMessage) → 429 {refusal.reason.value}, "
        f"Retry-After {refusal.retry_after} s"
    )

    batch = SyncBatch(
        scans=[
            QueuedScan(
                client_scan_id=str(uuid.uuid4()),
                kind=QueuedScanKind.CHECK_IN,
                event_id=event.id,
                badge=ben_badge,
                scanned_at=now - timedelta(minutes=5),
                device_id="door-2-offline",
            ),
            QueuedScan(
                client_scan_id=str(uuid.uuid4()),
                kind=QueuedScanKind.CHECK_IN,
                event_id=event.id,
                badge="not-a-real-badge-code-at-all",
            ),
        ]
    )
    synced = expect(sync_scans.sync(client=organizer, body=batch), SyncResponse)
    assert [r.status for r in synced.results] == ["checked_in", "unknown_badge"], synced
    assert synced.results[1].http_status == 404
    replayed = expect(sync_scans.sync(client=organizer, body=batch), SyncResponse)
    assert replayed.results[0].status == "duplicate"
    step("offline sync (syncScans): checked_in + unknown_badge; the replay → duplicate")

    stats = expect(get_event_stats.sync(event.id, client=organizer, bucket=15), EventStats)
    assert stats.registered == 2 and stats.checked_in == 2, stats
    step(f"stats (getEventStats): {stats.checked_in}/{stats.registered} checked in")

    csv = expect(export_check_ins_csv.sync(event.id, client=organizer), File)
    lines = csv.payload.read().decode("utf-8").splitlines()
    assert len(lines) == 3 and "," in lines[0], lines
    step(f"check-in CSV as bytes (exportCheckInsCsv): header + {len(lines) - 1} rows")
    print("scenario passed")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000")
