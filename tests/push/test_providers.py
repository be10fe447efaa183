"""The provider senders against local servers that speak APNs, FCM v1 and Web Push."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from services.push.allowlist import Allowlist
from services.push.providers import (
    APNS_TOKEN_MAX_AGE,
    FAILED,
    GONE,
    RETRY,
    SENT,
    APNsSender,
    FCMSender,
    Push,
    Target,
    WebPushSender,
    retry_after_seconds,
    topic_for,
)
from tests.support.push_servers import FakeAPNs, FakeFCM, FakeWebPush, vapid_key_pair

PUSH = Push(
    type="message_received",
    title="Ada Lovelace",
    body="See you at the keynote?",
    data={"notification_id": "n-1", "contact_id": "c-1", "deep_link": "wellspring://contacts/c-1"},
    badge=3,
    collapse_key="conversation-1",
)
TOKEN = "a1" * 32


@pytest.fixture(scope="module")
def apns_server():
    server = FakeAPNs().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fcm_server():
    server = FakeFCM().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def webpush_server():
    server = FakeWebPush().start()
    yield server
    server.stop()


class WallClock:
    def __init__(self, start: float = 1_800_000_000.0):
        self.value = start

    def __call__(self) -> float:
        return self.value


def run(sender, *sends):
    async def go():
        try:
            return await asyncio.gather(*sends)
        finally:
            await sender.aclose()

    return asyncio.run(go())


# APNs ------------------------------------------------------------------------------------


@pytest.fixture
def apns(apns_server, tmp_path):
    apns_server.clear()
    apns_server.now = WallClock()
    env = apns_server.env(apns_server.write_key(tmp_path / "AuthKey.p8"))
    return APNsSender(
        key_pem=(tmp_path / "AuthKey.p8").read_bytes(),
        key_id=env["APNS_KEY_ID"],
        team_id=env["APNS_TEAM_ID"],
        topic=env["APNS_TOPIC"],
        endpoint=env["APNS_ENDPOINT"],
        wall_clock=apns_server.now,
    )


def test_apns_push_carries_topic_type_collapse_id_badge_and_a_verified_token(apns, apns_server):
    (result,) = run(apns, apns.send(Target("apns", TOKEN), PUSH))
    assert result.outcome == SENT
    (got,) = apns_server.received
    assert got["token"] == TOKEN
    assert got["headers"]["apns-topic"] == "org.wellspring.app"
    assert got["headers"]["apns-push-type"] == "alert"
    assert got["headers"]["apns-collapse-id"] == "conversation-1"
    assert got["payload"]["aps"]["badge"] == 3
    assert got["payload"]["aps"]["alert"] == {"title": PUSH.title, "body": PUSH.body}
    assert got["payload"]["data"]["deep_link"] == "wellspring://contacts/c-1"


def test_apns_sends_concurrently_on_one_http2_connection(apns, apns_server):
    before = apns_server.connections
    targets = [Target("apns", f"{i:064x}") for i in range(60)]
    results = run(apns, *(apns.send(t, PUSH) for t in targets))
    assert {r.outcome for r in results} == {SENT}
    assert len(apns_server.received) == 60
    assert apns_server.connections - before == 1


def test_apns_provider_token_is_reused_for_50_minutes_then_renewed(apns, apns_server):
    clock = apns_server.now

    async def three_sends():
        try:
            await apns.send(Target("apns", TOKEN), PUSH)
            clock.value += APNS_TOKEN_MAX_AGE - 1
            await apns.send(Target("apns", TOKEN), PUSH)
            clock.value += 1
            await apns.send(Target("apns", TOKEN), PUSH)
        finally:
            await apns.aclose()

    asyncio.run(three_sends())
    tokens = [r["headers"]["authorization"] for r in apns_server.received]
    assert tokens[0] == tokens[1] != tokens[2]


def test_apns_expired_provider_token_is_renewed_and_the_push_resent(apns, apns_server):
    apns_server.fail(TOKEN, "expired_token")
    (result,) = run(apns, apns.send(Target("apns", TOKEN), PUSH))
    assert result.outcome == SENT
    assert apns_server.refused == [(403, "ExpiredProviderToken")]


def test_apns_refuses_a_token_signed_with_another_key(apns_server, tmp_path):
    other = FakeAPNs()  # a different key pair
    sender = APNsSender(
        key_pem=other.key_pem,
        key_id=apns_server.key_id,
        team_id=apns_server.team_id,
        topic=apns_server.topic,
        endpoint=apns_server.url,
    )
    apns_server.clear()
    (result,) = run(sender, sender.send(Target("apns", TOKEN), PUSH))
    assert (result.outcome, result.status, result.reason) == (FAILED, 403, "InvalidProviderToken")


@pytest.mark.parametrize(
    ("kind", "outcome", "status", "retry_after"),
    [
        ("unregistered", GONE, 410, None),
        ("bad_token", GONE, 400, None),
        ("too_many", RETRY, 429, 30.0),
        ("internal", RETRY, 500, None),
        ("unavailable", RETRY, 503, 30.0),
    ],
)
def test_apns_answers(apns, apns_server, kind, outcome, status, retry_after):
    apns_server.fail(TOKEN, kind, retry_after="30" if retry_after else None)
    (result,) = run(apns, apns.send(Target("apns", TOKEN), PUSH))
    assert (result.outcome, result.status, result.retry_after) == (outcome, status, retry_after)


# FCM -------------------------------------------------------------------------------------


@pytest.fixture
def fcm(fcm_server):
    fcm_server.clear()
    return FCMSender(
        credentials_info=fcm_server.credentials_info(),
        project_id=fcm_server.project_id,
        endpoint=fcm_server.url,
    )


def test_fcm_v1_message_with_an_oauth_token_from_the_files_token_uri(fcm, fcm_server):
    before = fcm_server.token_requests
    results = run(fcm, *(fcm.send(Target("fcm", f"tok-{i}"), PUSH) for i in range(20)))
    assert {r.outcome for r in results} == {SENT}
    assert fcm_server.token_requests - before == 1  # one access token for all twenty
    message = fcm_server.received[0]["message"]
    assert message["notification"] == {"title": PUSH.title, "body": PUSH.body}
    assert message["android"]["collapse_key"] == "conversation-1"
    assert message["data"]["deep_link"] == "wellspring://contacts/c-1"
    assert message["data"]["badge"] == "3"
    assert all(isinstance(v, str) for v in message["data"].values())


def test_fcm_access_token_refused_is_fetched_again(fcm, fcm_server):
    run(fcm, fcm.send(Target("fcm", "tok-a"), PUSH))
    fcm_server.access_tokens.clear()  # the server forgets (revokes) every token
    (result,) = run(fcm, fcm.send(Target("fcm", "tok-b"), PUSH))
    assert result.outcome == SENT
    assert (401, "UNAUTHENTICATED") in fcm_server.refused


@pytest.mark.parametrize(
    ("kind", "outcome", "status", "retry_after"),
    [
        ("unregistered", GONE, 404, None),
        ("bad_token", GONE, 400, None),
        ("sender_mismatch", GONE, 403, None),
        ("quota", RETRY, 429, 12.0),
        ("internal", RETRY, 500, None),
        ("unavailable", RETRY, 503, None),
    ],
)
def test_fcm_answers(fcm, fcm_server, kind, outcome, status, retry_after):
    fcm_server.fail("tok-x", kind, retry_after="12" if retry_after else None)
    (result,) = run(fcm, fcm.send(Target("fcm", "tok-x"), PUSH))
    assert (result.outcome, result.status, result.retry_after) == (outcome, status, retry_after)


def test_fcm_bad_message_shape_is_a_failure_not_a_dead_token(fcm, fcm_server):
    bad = Push("message_received", "t", "b", {"n": 1}, None, None)  # a non-string data value
    (result,) = run(fcm, fcm.send(Target("fcm", "tok-y"), bad))
    assert (result.outcome, result.status) == (FAILED, 400)


# Web Push --------------------------------------------------------------------------------


@pytest.fixture
def vapid(tmp_path, webpush_server):
    webpush_server.clear()
    public = vapid_key_pair(tmp_path / "vapid.pem")
    webpush_server.vapid_public_key = public
    return tmp_path / "vapid.pem"


@pytest.fixture
def webpush(vapid, webpush_server):
    return WebPushSender(
        vapid_private_key_file=vapid,
        subject="mailto:push@wellspring.example",
        allowlist=Allowlist.parse(f"{webpush_server.url}/push/"),
    )


def subscription_target(subscription) -> Target:
    keys = subscription["keys"]
    return Target("webpush", subscription["endpoint"], keys["p256dh"], keys["auth"])


def test_web_push_is_vapid_signed_and_decrypts_to_the_payload(webpush, webpush_server):
    subscription = webpush_server.subscribe()
    (result,) = run(webpush, webpush.send(subscription_target(subscription), PUSH))
    assert result.outcome == SENT
    (got,) = webpush_server.received
    assert got["payload"] == {
        "type": "message_received",
        "title": PUSH.title,
        "body": PUSH.body,
        "data": PUSH.data,
    }
    assert got["headers"]["ttl"] == "86400"
    assert got["headers"]["topic"] == topic_for("conversation-1")
    assert len(got["headers"]["topic"]) <= 32
    assert got["headers"]["authorization"].startswith("vapid t=")


def test_web_push_from_another_vapid_key_is_refused(webpush, webpush_server, tmp_path):
    webpush_server.vapid_public_key = vapid_key_pair(tmp_path / "other.pem")
    subscription = webpush_server.subscribe()
    (result,) = run(webpush, webpush.send(subscription_target(subscription), PUSH))
    assert (result.outcome, result.status) == (FAILED, 403)


@pytest.mark.parametrize(
    ("kind", "outcome", "status", "retry_after"),
    [
        ("gone", GONE, 410, None),
        ("not_found", GONE, 404, None),
        ("too_many", RETRY, 429, 5.0),
        ("internal", RETRY, 500, None),
        ("unavailable", RETRY, 503, 5.0),
    ],
)
def test_web_push_answers(webpush, webpush_server, kind, outcome, status, retry_after):
    subscription = webpush_server.subscribe()
    webpush_server.fail(
        webpush_server.sid(subscription), kind, retry_after="5" if retry_after else None
    )
    (result,) = run(webpush, webpush.send(subscription_target(subscription), PUSH))
    assert (result.outcome, result.status, result.retry_after) == (outcome, status, retry_after)


def test_web_push_never_posts_outside_the_allowlist(vapid, webpush_server):
    sender = WebPushSender(
        vapid_private_key_file=vapid,
        subject="mailto:push@wellspring.example",
        allowlist=Allowlist.parse(None),  # the public services only
    )
    subscription = webpush_server.subscribe()
    (result,) = run(sender, sender.send(subscription_target(subscription), PUSH))
    assert result.outcome == GONE
    assert webpush_server.received == []


# Timeouts and Retry-After ----------------------------------------------------------------


def test_a_provider_that_never_answers_is_a_retry():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    fake = FakeAPNs()
    sender = APNsSender(
        key_pem=fake.key_pem,
        key_id="K",
        team_id="T",
        topic="t",
        endpoint=f"http://127.0.0.1:{listener.getsockname()[1]}",
        timeout=0.3,
    )
    (result,) = run(sender, sender.send(Target("apns", TOKEN), PUSH))
    listener.close()
    assert result.outcome == RETRY
    assert result.reason.startswith("timeout")


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412420.0) == 60.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_backoff_doubles_with_jitter_is_capped_and_honours_retry_after():
    import random

    from services.push.delivery import backoff_seconds

    rng = random.Random(7)
    for attempts, ceiling in ((1, 30), (2, 60), (3, 120), (8, 3600), (20, 3600)):
        delays = [backoff_seconds(attempts, None, rng) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert len(set(delays)) > 100  # jittered, not synchronized
    assert backoff_seconds(1, 900.0, rng) == 900.0  # Retry-After wins when longer
    assert backoff_seconds(8, 5.0, rng) >= 1800  # and never shortens the back-off
