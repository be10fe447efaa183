"""Devices, notification settings, the feed and signing out, through the API."""

from __future__ import annotations

import pytest

from tests.support import assert_problem, new_user

APNS_TOKEN = "0f" * 32


def test_register_list_and_delete_an_apns_device(client):
    me = new_user(client)
    created = me.post(
        "/v1/me/devices",
        json={"provider": "apns", "token": APNS_TOKEN, "platform": "ios", "app_version": "1.2"},
    )
    assert created.status_code == 201, created.get_json()
    device = created.get_json()
    assert {device["provider"], device["platform"]} == {"apns", "ios"}
    assert set(device) >= {"id", "provider", "platform", "created_at"}
    again = me.post(
        "/v1/me/devices", json={"provider": "apns", "token": APNS_TOKEN, "platform": "ios"}
    )
    assert again.status_code == 200
    assert again.get_json()["id"] == device["id"]
    assert [d["id"] for d in me.get("/v1/me/devices").get_json()["items"]] == [device["id"]]
    assert me.delete(f"/v1/me/devices/{device['id']}").status_code == 204
    assert me.get("/v1/me/devices").get_json()["items"] == []
    assert_problem(me.delete(f"/v1/me/devices/{device['id']}"), 404)


def test_a_token_registered_again_moves_to_the_new_account(client):
    first, second = new_user(client), new_user(client)
    body = {"provider": "fcm", "token": "fcm-token-shared-1", "platform": "android"}
    device = first.post("/v1/me/devices", json=body).get_json()
    moved = second.post("/v1/me/devices", json=body)
    assert moved.status_code == 200
    assert moved.get_json()["id"] == device["id"]
    assert first.get("/v1/me/devices").get_json()["items"] == []
    assert [d["id"] for d in second.get("/v1/me/devices").get_json()["items"]] == [device["id"]]
    assert_problem(first.delete(f"/v1/me/devices/{device['id']}"), 404)


def test_web_push_subscription_inside_the_allowlist(client, providers):
    me = new_user(client)
    subscription = providers["webpush"].subscribe()
    response = me.post(
        "/v1/me/devices",
        json={"provider": "webpush", "subscription": subscription, "platform": "web"},
    )
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://evil.example/push/abc",
        "https://fcm.googleapis.com@evil.example/fcm/send/x",
        "http://127.0.0.1:9/push/x",  # loopback, and not the listed port
        "https://169.254.169.254/latest/meta-data/iam",
        "http://fcm.googleapis.com/fcm/send/x",
    ],
)
def test_web_push_endpoint_outside_the_allowlist_is_422(client, endpoint):
    me = new_user(client)
    keys = {"p256dh": "B" + "A" * 86, "auth": "A" * 22}
    response = me.post(
        "/v1/me/devices",
        json={
            "provider": "webpush",
            "subscription": {"endpoint": endpoint, "keys": keys},
            "platform": "web",
        },
    )
    assert_problem(response, 422, "push_endpoint_not_allowed")
    assert me.get("/v1/me/devices").get_json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "apns", "platform": "ios"},  # no token
        {"provider": "apns", "token": APNS_TOKEN, "platform": "android"},  # wrong platform
        {"provider": "webpush", "token": "x" * 20, "platform": "web"},  # a token, no subscription
        {"provider": "carrier-pigeon", "token": "x" * 20, "platform": "ios"},
        {"provider": "fcm", "token": "x" * 20},
        {"provider": "webpush", "platform": "web", "subscription": {"endpoint": "https://x"}},
    ],
)
def test_bad_device_bodies_are_422(client, body):
    assert_problem(new_user(client).post("/v1/me/devices", json=body), 422)


def test_notification_settings_default_and_patch(client):
    me = new_user(client)
    defaults = me.get("/v1/me/notification-settings").get_json()
    assert defaults == {
        "messages": True,
        "contacts": True,
        "invitations": True,
        "meetings": True,
        "previews": False,
    }
    changed = me.patch("/v1/me/notification-settings", json={"previews": True, "contacts": False})
    assert changed.status_code == 200
    assert changed.get_json() == {**defaults, "previews": True, "contacts": False}
    assert me.get("/v1/me/notification-settings").get_json() == changed.get_json()
    assert_problem(me.patch("/v1/me/notification-settings", json={"previews": "maybe"}), 422)
    assert_problem(me.patch("/v1/me/notification-settings", json={"volume": 11}), 422)


def test_signing_out_deletes_the_devices_that_session_registered(client, anon):
    me = new_user(client)
    me.post("/v1/me/devices", json={"provider": "apns", "token": APNS_TOKEN, "platform": "ios"})
    login = anon.post("/v1/auth/login", json={"email": me.email, "password": me.password})
    other_session = type(me)(client, login.get_json()["access_token"], me.user, me.password)
    other_session.post(
        "/v1/me/devices", json={"provider": "fcm", "token": "fcm-other-session", "platform": "ios"}
    )
    assert len(me.get("/v1/me/devices").get_json()["items"]) == 2
    assert other_session.post("/v1/auth/logout").status_code == 204
    items = me.get("/v1/me/devices").get_json()["items"]
    assert [d["provider"] for d in items] == ["apns"]


def test_feed_is_empty_and_validates_its_arguments(client):
    me = new_user(client)
    assert me.get("/v1/me/notifications").get_json() == {"items": [], "next_cursor": None}
    assert_problem(me.get("/v1/me/notifications?limit=0"), 422)
    assert_problem(me.get("/v1/me/notifications?cursor=nonsense"), 422)


def test_export_lists_push_data_and_erasure_removes_it(client, db, clock):
    import uuid

    from sqlalchemy import select

    from services.core.models import Notification, PushDevice
    from tests.support.messaging_support import new_pair

    pair = new_pair(db, client, clock.now())
    pair.b.post("/v1/me/devices", json={"provider": "apns", "token": APNS_TOKEN, "platform": "ios"})
    assert pair.send(pair.a, "A private thought").status_code == 201
    exported = pair.b.get("/v1/me/export").get_json()
    assert [d["provider"] for d in exported["devices"]] == ["apns"]
    assert "token" not in exported["devices"][0]
    assert exported["notification_settings"]["previews"] is False
    assert {n["type"] for n in exported["notifications"]} == {
        "contact_exchanged",
        "message_received",
    }
    # The sender leaves: the text of their message queued as b's preview goes with them.
    assert pair.a.delete("/v1/me").status_code == 204
    db.expire_all()
    previews = db.scalars(
        select(Notification.preview).where(Notification.user_id == uuid.UUID(pair.b.id))
    ).all()
    assert "A private thought" not in previews
    # b leaves: no devices, no notifications.
    assert pair.b.delete("/v1/me").status_code == 204
    db.expire_all()
    b_id = uuid.UUID(pair.b.id)
    assert db.scalars(select(PushDevice).where(PushDevice.user_id == b_id)).all() == []
    assert db.scalars(select(Notification).where(Notification.user_id == b_id)).all() == []
