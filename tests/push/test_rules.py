"""What notifies whom, and the respect rules, from the causing change to the provider servers.

Real database (SQLite or PostgreSQL), real API, the worker's real pass against the local APNs /
FCM / Web Push servers; time moves with the injected clock.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.core.models import Notification, PushDelivery, PushDevice
from services.messaging.messaging import lock_pair, write_message
from services.networking.contacts import Contact
from services.push import outbox
from services.push.delivery import PushWorker
from services.push.dispatch import HOURLY_CAP
from services.push.providers import PushConfig, topic_for
from tests.support import new_user
from tests.support.messaging_support import new_pair

APNS_TOKEN = "ab" * 32


def register_apns(person, token: str = APNS_TOKEN) -> dict:
    response = person.post(
        "/v1/me/devices", json={"provider": "apns", "token": token, "platform": "ios"}
    )
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def write(db, pair, sender, body: str, now: datetime):
    """A message through the real write path (its outbox row included), without the throttle:
    these tests are about pushes, not about how often people may write."""
    side = db.get(Contact, uuid.UUID(pair.contact_of(sender)))
    message = write_message(db, lock_pair(db, side), "other", body, now)
    db.commit()
    return message


def pushes_to(servers, token: str = APNS_TOKEN) -> list[dict]:
    return [r["payload"] for r in servers["apns"].received if r["token"] == token]


def notifications(db, person) -> list[Notification]:
    db.expire_all()
    return list(
        db.scalars(
            select(Notification)
            .where(Notification.user_id == uuid.UUID(person.id))
            .order_by(Notification.created_at, Notification.id)
        )
    )


@pytest.fixture
def pair(db, client, clock):
    return new_pair(db, client, clock.now())


def test_a_message_pushes_to_the_recipient_with_link_badge_and_collapse_id(
    db, pair, worker, providers, session_factory, clock
):
    register_apns(pair.b)
    worker.run_pass(session_factory, clock)
    providers["apns"].clear()
    assert pair.send(pair.a, "Lovely to meet you!").status_code == 201
    worker.run_pass(session_factory, clock)
    (got,) = providers["apns"].received
    payload = got["payload"]
    assert payload["type"] == "message_received"
    assert payload["aps"]["alert"]["title"] == pair.a.user["display_name"]
    assert payload["aps"]["alert"]["body"] == "Sent you a message"  # previews are off
    assert payload["aps"]["badge"] == 1
    assert payload["data"]["deep_link"] == f"wellspring://contacts/{pair.b_contact}"
    assert payload["data"]["contact_id"] == pair.b_contact
    connection_id = db.get(Contact, uuid.UUID(pair.b_contact)).connection_id
    assert got["headers"]["apns-collapse-id"] == connection_id.hex
    feed = pair.b.get("/v1/me/notifications").get_json()["items"]
    assert sorted(item["type"] for item in feed) == ["contact_exchanged", "message_received"]
    assert all(item["data"]["notification_id"] == item["id"] for item in feed)
    assert all(item["sent_at"] is not None for item in feed)


def test_message_text_only_with_previews_on(pair, worker, providers, session_factory, clock):
    register_apns(pair.b)
    pair.b.patch("/v1/me/notification-settings", json={"previews": True})
    pair.send(pair.a, "See you at the keynote?")
    worker.run_pass(session_factory, clock)
    bodies = [p["aps"]["alert"]["body"] for p in pushes_to(providers)]
    assert "See you at the keynote?" in bodies


def test_a_contact_scan_pushes_to_the_person_scanned(
    db, client, worker, providers, session_factory, clock
):
    a, b = new_user(client, display_name="Ada Scanner"), new_user(client)
    register_apns(b)
    from tests.support.messaging_support import connect

    pair = connect(db, a, b, clock.now())
    db.commit()
    worker.run_pass(session_factory, clock)
    (payload,) = pushes_to(providers)
    assert payload["type"] == "contact_exchanged"
    assert payload["data"]["deep_link"] == f"wellspring://contacts/{pair.b_contact}"
    assert "Ada Scanner" in payload["aps"]["alert"]["body"]
    assert [n.type for n in notifications(db, a)] == []  # the scanner is told nothing


def test_a_delivered_follow_up_pushes_like_a_message(
    db, pair, worker, providers, session_factory, clock, app
):
    register_apns(pair.b)
    worker.run_pass(session_factory, clock)
    providers["apns"].clear()
    when = clock.now() + timedelta(hours=2)
    created = pair.a.post(
        f"/v1/contacts/{pair.a_contact}/follow-ups",
        json={"send_at": when.isoformat().replace("+00:00", "Z"), "body": "Checking in"},
    )
    assert created.status_code == 201, created.get_json()
    from api.policy import throttle_policy
    from services.messaging.delivery import deliver_due_follow_ups

    clock.set(when)
    with app.app_context():
        policy = throttle_policy()
    assert deliver_due_follow_ups(session_factory, clock, policy).delivered == 1
    worker.run_pass(session_factory, clock)
    assert [p["type"] for p in pushes_to(providers)] == ["message_received"]


def test_a_rolled_back_message_queues_nothing(db, pair):
    side = db.get(Contact, uuid.UUID(pair.a_contact))
    before = len(notifications(db, pair.b))
    write_message(db, lock_pair(db, side), "other", "never mind", datetime.now(UTC))
    db.rollback()
    assert len(notifications(db, pair.b)) == before


@pytest.mark.parametrize("control", ["mute", "not-interested", "block"])
def test_no_push_from_a_sender_muted_marked_or_blocked_before_it_left(
    db, pair, worker, providers, session_factory, clock, control
):
    register_apns(pair.b)
    worker.run_pass(session_factory, clock)
    providers["apns"].clear()
    pair.send(pair.a, "Hello?")
    assert pair.b.post(f"/v1/contacts/{pair.b_contact}/{control}").status_code == 204
    worker.run_pass(session_factory, clock)
    assert providers["apns"].received == []
    (message,) = [n for n in notifications(db, pair.b) if n.type == "message_received"]
    assert (message.status, message.status_reason) == (
        "dropped",
        "blocked" if control == "block" else "muted",
    )


def test_a_category_turned_off_sends_nothing(db, client, worker, providers, session_factory, clock):
    a, b = new_user(client), new_user(client)
    register_apns(b)
    b.patch("/v1/me/notification-settings", json={"contacts": False})
    from tests.support.messaging_support import connect

    connect(db, a, b, clock.now())
    db.commit()
    worker.run_pass(session_factory, clock)
    assert providers["apns"].received == []
    assert b.get("/v1/me/notifications").get_json()["items"] == []


def test_quiet_hours_hold_pushes_and_collapse_them_at_the_end(
    db, pair, worker, providers, session_factory, clock
):
    register_apns(pair.b)
    worker.run_pass(session_factory, clock)
    providers["apns"].clear()
    night = clock.now().replace(hour=22, minute=0)  # b: UTC, quiet 21:00-08:00
    clock.set(night)
    for minutes, text in ((0, "one"), (20, "two"), (90, "three")):
        clock.set(night + timedelta(minutes=minutes))
        write(db, pair, pair.a, text, clock.now())
        worker.run_pass(session_factory, clock)
    assert providers["apns"].received == []
    feed = pair.b.get("/v1/me/notifications").get_json()["items"]
    assert [item["sent_at"] for item in feed[:3]] == [None, None, None]  # held, listed
    clock.set(night.replace(hour=7, minute=59) + timedelta(days=1))
    worker.run_pass(session_factory, clock)
    assert providers["apns"].received == []
    clock.set(night.replace(hour=8, minute=0) + timedelta(days=1))
    worker.run_pass(session_factory, clock)
    (payload,) = pushes_to(providers)
    assert payload["aps"]["alert"]["body"] == "3 new messages"
    assert payload["data"]["count"] == "3"
    assert payload["aps"]["badge"] == 3


def test_one_push_per_conversation_per_5_minutes_later_ones_collapse(
    db, pair, worker, providers, session_factory, clock
):
    register_apns(pair.b)
    worker.run_pass(session_factory, clock)
    providers["apns"].clear()
    start = clock.now()
    write(db, pair, pair.a, "first", start)
    worker.run_pass(session_factory, clock)
    assert len(pushes_to(providers)) == 1
    for minutes in (1, 2):
        clock.set(start + timedelta(minutes=minutes))
        write(db, pair, pair.a, f"more {minutes}", clock.now())
        worker.run_pass(session_factory, clock)
    assert len(pushes_to(providers)) == 1
    clock.set(start + timedelta(minutes=4, seconds=59))
    worker.run_pass(session_factory, clock)
    assert len(pushes_to(providers)) == 1
    clock.set(start + timedelta(minutes=5))
    worker.run_pass(session_factory, clock)
    second = pushes_to(providers)[1]
    assert second["aps"]["alert"]["body"] == "2 new messages"
    statuses = sorted(n.status for n in notifications(db, pair.b) if n.type == "message_received")
    assert statuses == ["collapsed", "sent", "sent"]


def test_at_most_20_pushes_an_hour_per_person(
    db, client, worker, providers, session_factory, clock
):
    me = new_user(client)
    register_apns(me)
    user_id = uuid.UUID(me.id)
    for _ in range(HOURLY_CAP + 1):
        outbox.notify(db, user_id=user_id, type=outbox.CONTACT_EXCHANGED, now=clock.now())
    db.commit()
    worker.run_pass(session_factory, clock)
    assert len(pushes_to(providers)) == HOURLY_CAP
    feed = me.get(f"/v1/me/notifications?limit={HOURLY_CAP + 5}").get_json()["items"]
    assert len(feed) == HOURLY_CAP + 1
    assert sum(1 for item in feed if item["sent_at"] is None) == 1  # capped: listed, not pushed
    clock.advance(timedelta(hours=1, seconds=1))
    outbox.notify(db, user_id=user_id, type=outbox.CONTACT_EXCHANGED, now=clock.now())
    db.commit()
    worker.run_pass(session_factory, clock)
    assert len(pushes_to(providers)) == HOURLY_CAP + 1


def test_a_message_read_before_its_push_is_decided_is_dropped(
    db, pair, worker, providers, session_factory, clock
):
    register_apns(pair.b)
    worker.run_pass(session_factory, clock)
    providers["apns"].clear()
    message = pair.send(pair.a, "Read me elsewhere").get_json()
    assert pair.b.post(f"/v1/messages/{message['id']}/read").status_code == 200
    worker.run_pass(session_factory, clock)
    assert providers["apns"].received == []
    (row,) = [n for n in notifications(db, pair.b) if n.type == "message_received"]
    assert (row.status, row.status_reason) == ("dropped", "read")


def test_a_message_read_after_deciding_but_before_sending_is_dropped(
    db, pair, worker, providers, session_factory, clock
):
    register_apns(pair.b)
    worker.run_pass(session_factory, clock)
    providers["apns"].clear()
    message = pair.send(pair.a, "Read me quickly").get_json()
    worker.dispatch(session_factory, clock)  # decided: a delivery is queued
    pair.b.post(f"/v1/messages/{message['id']}/read")
    report = worker.send(session_factory, clock)
    assert providers["apns"].received == []
    assert report.dropped == 1


# Provider answers in the worker ---------------------------------------------------------


def queue_one(db, client, clock, device_body: dict) -> tuple[object, uuid.UUID]:
    me = new_user(client)
    device = me.post("/v1/me/devices", json=device_body).get_json()
    outbox.notify(db, user_id=uuid.UUID(me.id), type=outbox.CONTACT_EXCHANGED, now=clock.now())
    db.commit()
    return me, uuid.UUID(device["id"])


def delivery_of(db, device_id) -> PushDelivery | None:
    db.expire_all()
    return db.scalar(select(PushDelivery).where(PushDelivery.device_id == device_id))


def device_for(providers, provider: str, mark: str) -> tuple[str, dict]:
    """A device registration body for `provider`, and the key its fake server knows it by."""
    if provider == "webpush":
        subscription = providers["webpush"].subscribe()
        body = {"provider": "webpush", "subscription": subscription, "platform": "web"}
        return providers["webpush"].sid(subscription), body
    key = mark * 32 if provider == "apns" else f"fcm-token-{mark}"
    platform = "android" if provider == "fcm" else "ios"
    return key, {"provider": provider, "token": key, "platform": platform}


@pytest.mark.parametrize(
    ("provider", "kind"),
    [
        ("apns", "unregistered"),
        ("apns", "bad_token"),
        ("fcm", "unregistered"),
        ("fcm", "bad_token"),
        ("webpush", "gone"),
        ("webpush", "not_found"),
    ],
)
def test_a_dead_token_deletes_the_device(
    db, client, worker, providers, session_factory, clock, provider, kind
):
    key, body = device_for(providers, provider, "cd")
    _, device_id = queue_one(db, client, clock, body)
    providers[provider].fail(key, kind)
    report = worker.run_pass(session_factory, clock)[1]
    assert report.gone == 1
    db.expire_all()
    assert db.get(PushDevice, device_id) is None


@pytest.mark.parametrize(
    ("provider", "kind"),
    [
        ("apns", "too_many"),
        ("fcm", "quota"),
        ("webpush", "too_many"),
        ("apns", "unavailable"),
        ("fcm", "internal"),
        ("webpush", "internal"),
    ],
)
def test_429_and_5xx_retry_with_backoff_honouring_retry_after(
    db, client, worker, providers, session_factory, clock, provider, kind
):
    key, body = device_for(providers, provider, "ef")
    _, device_id = queue_one(db, client, clock, body)
    providers[provider].fail(key, kind, retry_after="600")
    worker.run_pass(session_factory, clock)
    delivery = delivery_of(db, device_id)
    assert delivery.status == "queued" and delivery.attempts == 1
    assert delivery.next_attempt_at >= clock.now() + timedelta(seconds=600)
    clock.advance(timedelta(seconds=599))
    worker.run_pass(session_factory, clock)
    assert delivery_of(db, device_id).attempts == 1  # not before Retry-After
    clock.advance(timedelta(seconds=2))
    worker.run_pass(session_factory, clock)
    delivery = delivery_of(db, device_id)
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_retries_stop_after_24_hours_as_failed(
    db, client, worker, providers, session_factory, clock
):
    _, device_id = queue_one(
        db, client, clock, {"provider": "apns", "token": "ee" * 32, "platform": "ios"}
    )
    providers["apns"].fail("ee" * 32, "unavailable", times=1000)
    start = clock.now()
    delays = []
    while True:
        worker.run_pass(session_factory, clock)
        delivery = delivery_of(db, device_id)
        if delivery.status != "queued":
            break
        delays.append((delivery.next_attempt_at - clock.now()).total_seconds())
        clock.set(delivery.next_attempt_at)
        assert clock.now() - start < timedelta(hours=25)
    assert delivery.status == "failed"
    assert clock.now() - start <= timedelta(hours=24)
    assert delays[0] < delays[3] <= 3600  # exponential, capped at an hour
    assert "503" in delivery.last_error


def test_an_unconfigured_provider_is_skipped_with_one_log_line(
    db, client, providers, session_factory, clock, caplog
):
    only_fcm = {k: v for k, v in providers["env"].items() if k.startswith("FCM")}
    with caplog.at_level(logging.INFO, logger="wellspring.push"):
        pusher = PushWorker(PushConfig.from_mapping(only_fcm))
    try:
        lines = [r.getMessage() for r in caplog.records if "not configured" in r.getMessage()]
        assert len(lines) == 2 and any(line.startswith("push: apns") for line in lines)
        _, device_id = queue_one(
            db, client, clock, {"provider": "apns", "token": "aa" * 32, "platform": "ios"}
        )
        pusher.run_pass(session_factory, clock)
        assert providers["apns"].received == []
        assert delivery_of(db, device_id) is None
    finally:
        pusher.close()


def test_web_push_end_to_end_payload_topic_and_vapid(
    db, pair, worker, providers, session_factory, clock
):
    subscription = providers["webpush"].subscribe()
    pair.b.post(
        "/v1/me/devices",
        json={"provider": "webpush", "subscription": subscription, "platform": "web"},
    )
    worker.run_pass(session_factory, clock)  # the scan's push
    providers["webpush"].clear()
    pair.send(pair.a, "Hi from the web")
    worker.run_pass(session_factory, clock)
    (got,) = providers["webpush"].received
    assert set(got["payload"]) == {"type", "title", "body", "data"}
    assert got["payload"]["type"] == "message_received"
    assert got["payload"]["data"]["deep_link"] == f"wellspring://contacts/{pair.b_contact}"
    connection_id = db.get(Contact, uuid.UUID(pair.b_contact)).connection_id
    assert got["headers"]["topic"] == topic_for(connection_id.hex)
    assert got["headers"]["ttl"].isdigit()


def test_fcm_end_to_end(db, pair, worker, providers, session_factory, clock):
    pair.b.post(
        "/v1/me/devices", json={"provider": "fcm", "token": "fcm-token-b-1", "platform": "android"}
    )
    pair.send(pair.a, "Hi from Android")
    worker.run_pass(session_factory, clock)
    messages = [r["message"] for r in providers["fcm"].received]
    types = sorted(m["data"]["type"] for m in messages)
    assert types == ["contact_exchanged", "message_received"]
    (message,) = [m for m in messages if m["data"]["type"] == "message_received"]
    assert message["android"]["collapse_key"]
    assert message["data"]["deep_link"] == f"wellspring://contacts/{pair.b_contact}"
