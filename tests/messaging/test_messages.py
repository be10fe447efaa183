"""Messages through the API: sending under the policy, counters, conversation, inbox, controls."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from api.policy import EXTENSION as THROTTLE_POLICY
from services.core.models import Connection, FollowUp, FollowUpPlan, Message
from services.messaging.throttle import ThrottlePolicy
from tests.support import assert_problem, new_user
from tests.support.messaging_support import Pair, connect, new_pair, side

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@pytest.fixture
def pair(anon, db, clock) -> Pair:
    return new_pair(db, anon.client, clock.now())


def _message_count(db, pair: Pair) -> int:
    contact = side(db, pair.a_contact)
    return db.scalar(
        select(func.count())
        .select_from(Message)
        .where(Message.connection_id == contact.connection_id)
    )


def test_send_answers_the_message_and_keeps_both_sides_counters(pair, db, clock):
    response = pair.send(pair.a, "  Thank you for the chat about Rust!  ", "thank_you")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["body"] == "Thank you for the chat about Rust!"
    assert body["kind"] == "thank_you"
    assert body["direction"] == "outgoing"
    assert body["contact_id"] == pair.a_contact
    assert body["sender_id"] == pair.a.id and body["recipient_id"] == pair.b.id
    assert body["sent_at"] == "2026-06-01T09:00:00Z" and body["read_at"] is None
    assert body["hints"] == []

    mine, theirs = side(db, pair.a_contact), side(db, pair.b_contact)
    assert (mine.sent_count, mine.unanswered_streak, mine.last_sent_at) == (1, 1, clock.now())
    assert mine.last_interaction_at == clock.now()
    assert (mine.received_count, mine.other_ever_wrote) == (0, False)
    assert (theirs.received_count, theirs.other_ever_wrote) == (1, True)
    assert theirs.last_received_at == clock.now() == theirs.last_interaction_at
    assert (theirs.unanswered_streak, theirs.replies_received) == (0, 0)
    assert db.get(Message, uuid.UUID(body["id"])).cold is True


def test_a_reply_resets_the_streak_and_counts_as_a_reply(pair, db, clock):
    assert pair.send(pair.a, "Hi", "ask").status_code == 201
    clock.advance(timedelta(hours=5))
    reply = pair.send(pair.b, "Hi back", "offer")
    assert reply.status_code == 201
    assert db.get(Message, uuid.UUID(reply.get_json()["id"])).cold is False  # a wrote first

    a_side, b_side = side(db, pair.a_contact), side(db, pair.b_contact)
    assert (a_side.unanswered_streak, a_side.replies_received, a_side.received_count) == (0, 1, 1)
    assert (a_side.other_ever_wrote, a_side.last_received_at) == (True, clock.now())
    assert (a_side.asks_sent, a_side.asks_in_a_row, a_side.offers_sent) == (1, 1, 0)
    assert (b_side.sent_count, b_side.unanswered_streak, b_side.offers_sent) == (1, 1, 1)
    assert b_side.replies_received == 0  # b had nothing unanswered


def test_asks_in_a_row_counts_asks_and_an_offer_resets_it(pair, db, clock):
    pair.send(pair.b, "Great to meet you")  # b wrote: a is in a conversation with b
    for kind, expected in [("ask", 1), ("ask", 2), ("check_in", 2), ("offer", 0), ("ask", 1)]:
        assert pair.send(pair.a, "x", kind).status_code == 201
        assert side(db, pair.a_contact).asks_in_a_row == expected
    a_side = side(db, pair.a_contact)
    assert (a_side.asks_sent, a_side.offers_sent, a_side.sent_count) == (3, 1, 5)


def test_awaiting_reply_is_a_409_without_retry_time(pair, clock):
    assert pair.send(pair.a, "one").status_code == 201
    clock.advance(3 * DAY)
    assert pair.send(pair.a, "two").status_code == 201
    clock.advance(300 * DAY)
    refused = pair.send(pair.a, "three")
    problem = assert_problem(refused, 409, "awaiting_reply")
    assert problem["next_allowed_at"] is None
    assert "Retry-After" not in refused.headers
    # a reply unlocks it
    assert pair.send(pair.b, "Sorry, busy year!").status_code == 201
    assert pair.send(pair.a, "three").status_code == 201


def test_min_gap_is_a_429_with_retry_after_allowed_exactly_on_time(pair, db, clock):
    assert pair.send(pair.a, "one").status_code == 201
    clock.advance(3 * DAY - SECOND)
    refused = pair.send(pair.a, "two")
    problem = assert_problem(refused, 429, "min_gap")
    assert problem["next_allowed_at"] == "2026-06-04T09:00:00Z"
    assert refused.headers["Retry-After"] == "1"
    assert _message_count(db, pair) == 1
    clock.advance(SECOND)
    assert pair.send(pair.a, "two").status_code == 201


def test_muted_and_not_interested_look_the_same_to_the_sender(pair, anon):
    answers = {}
    for control in ("mute", "not-interested"):
        assert pair.b.post(f"/v1/contacts/{pair.b_contact}/{control}").status_code == 204
        assert pair.b.post(f"/v1/contacts/{pair.b_contact}/{control}").status_code == 204
        refused = pair.send(pair.a, "hello?")
        problem = assert_problem(refused, 403, "recipient_unavailable")
        problem.pop("request_id")
        answers[control] = problem
        allowance = pair.a.get(f"/v1/contacts/{pair.a_contact}/allowance").get_json()
        assert (allowance["can_send_now"], allowance["reason"]) == (False, "recipient_unavailable")
        assert pair.b.post(f"/v1/contacts/{pair.b_contact}/unmute").status_code == 204
    assert answers["mute"] == answers["not-interested"]
    assert pair.send(pair.a, "hello again").status_code == 201
    # b can still write to a: the controls act on messages *from* a
    assert pair.b.post(f"/v1/contacts/{pair.b_contact}/mute").status_code == 204
    assert pair.send(pair.b, "I can still write").status_code == 201


def test_controls_are_only_for_your_own_contacts(pair, anon):
    stranger = new_user(anon.client)
    for control in ("mute", "unmute", "not-interested"):
        assert_problem(stranger.post(f"/v1/contacts/{pair.b_contact}/{control}"), 404)
        assert_problem(pair.a.post(f"/v1/contacts/{pair.b_contact}/{control}"), 404)


def test_a_blocked_connection_refuses_both_ways(pair, db, clock):
    connection = db.get(Connection, side(db, pair.a_contact).connection_id)
    connection.blocked_at = clock.now()
    connection.blocked_by_id = uuid.UUID(pair.b.id)
    db.flush()
    assert_problem(pair.send(pair.a, "hi"), 403, "blocked")
    assert_problem(pair.send(pair.b, "hi"), 403, "blocked")
    allowance = pair.a.get(f"/v1/contacts/{pair.a_contact}/allowance").get_json()
    assert (allowance["can_send_now"], allowance["reason"]) == (False, "blocked")


def test_removed_contacts_cannot_be_messaged_either_way(pair, db, clock):
    b_side = side(db, pair.b_contact)
    b_side.removed_at = clock.now()
    db.flush()
    assert_problem(pair.send(pair.b, "hi"), 404)  # b's own side is gone
    assert_problem(pair.send(pair.a, "hi"), 403, "recipient_unavailable")


def test_someone_elses_contact_is_a_404(pair, anon):
    stranger = new_user(anon.client)
    assert_problem(
        stranger.post(f"/v1/contacts/{pair.a_contact}/messages", json={"body": "x"}), 404
    )
    assert_problem(pair.b.post(f"/v1/contacts/{pair.a_contact}/messages", json={"body": "x"}), 404)
    assert_problem(pair.b.get(f"/v1/contacts/{pair.a_contact}/messages"), 404)
    assert_problem(pair.b.get(f"/v1/contacts/{pair.a_contact}/allowance"), 404)
    assert_problem(pair.a.get(f"/v1/contacts/{uuid.uuid4()}/allowance"), 404)


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "body"),
        ({"body": ""}, "body"),
        ({"body": "   \n "}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"body": "x", "kind": "spam"}, "kind"),
        ({"body": 5}, "body"),
    ],
)
def test_bad_messages_are_422_and_store_nothing(pair, db, payload, field):
    response = pair.a.post(f"/v1/contacts/{pair.a_contact}/messages", json=payload)
    assert field in assert_problem(response, 422)["errors"]
    assert _message_count(db, pair) == 0
    assert side(db, pair.a_contact).sent_count == 0


def test_in_a_conversation_double_texting_is_fine_up_to_a_burst(pair, clock):
    assert pair.send(pair.b, "Nice meeting you!").status_code == 201
    clock.advance(timedelta(minutes=1))
    for _ in range(10):
        assert pair.send(pair.a, "and another thing").status_code == 201
    refused = pair.send(pair.a, "one more")
    problem = assert_problem(refused, 429, "conversation_burst")
    assert problem["next_allowed_at"] == "2026-06-01T09:11:00Z"
    assert refused.headers["Retry-After"] == "600"
    clock.advance(timedelta(minutes=10))
    assert pair.send(pair.a, "one more").status_code == 201
    # the conversation ends 24 h after b's message: 11 unanswered, only a reply helps now
    clock.set(clock.now().replace(hour=9, minute=0) + DAY)
    assert_problem(pair.send(pair.a, "hello?"), 409, "awaiting_reply")


@pytest.fixture
def small_caps(app, monkeypatch):
    policy = ThrottlePolicy(daily_cold_cap=2, recipient_cold_cap=2)
    monkeypatch.setitem(app.extensions, THROTTLE_POLICY, policy)
    return policy


def test_daily_cap_counts_cold_messages_across_contacts(anon, db, clock, small_caps):
    sender = new_user(anon.client)
    pairs = [connect(db, sender, new_user(anon.client), clock.now()) for _ in range(4)]
    pairs[3].send(pairs[3].b, "I wrote first")  # not a new contact: not cold, not capped
    assert pairs[0].send(sender, "cold 1").status_code == 201
    clock.advance(timedelta(hours=1))
    assert pairs[1].send(sender, "cold 2").status_code == 201
    allowance = sender.get(f"/v1/contacts/{pairs[2].a_contact}/allowance").get_json()
    assert allowance == {
        "can_send_now": False,
        "reason": "daily_cap",
        "next_allowed_at": "2026-06-02T09:00:00Z",
        "unanswered_streak": 0,
        "daily_remaining": 0,
        "new_contact": True,
        "in_conversation": False,
    }
    refused = pairs[2].send(sender, "cold 3")
    assert assert_problem(refused, 429, "daily_cap")["next_allowed_at"] == "2026-06-02T09:00:00Z"
    assert pairs[3].send(sender, "warm").status_code == 201
    clock.set(clock.now() + DAY - timedelta(hours=1) - SECOND)
    assert_problem(pairs[2].send(sender, "cold 3"), 429, "daily_cap")
    clock.advance(SECOND)
    assert pairs[2].send(sender, "cold 3").status_code == 201


def test_recipient_busy_counts_cold_messages_from_everyone(anon, db, clock, small_caps):
    speaker = new_user(anon.client)
    pairs = [connect(db, new_user(anon.client), speaker, clock.now()) for _ in range(3)]
    assert pairs[0].send(pairs[0].a, "loved the talk").status_code == 201
    assert pairs[1].send(pairs[1].a, "loved the talk").status_code == 201
    refused = pairs[2].send(pairs[2].a, "loved the talk")
    assert assert_problem(refused, 429, "recipient_busy")["next_allowed_at"] == (
        "2026-06-02T09:00:00Z"
    )
    allowance = pairs[2].a.get(f"/v1/contacts/{pairs[2].a_contact}/allowance").get_json()
    assert (allowance["reason"], allowance["daily_remaining"]) == ("recipient_busy", 2)
    clock.advance(DAY)
    assert pairs[2].send(pairs[2].a, "loved the talk").status_code == 201


def test_allowance_tells_before_trying(pair, clock):
    path = f"/v1/contacts/{pair.a_contact}/allowance"
    assert pair.a.get(path).get_json() == {
        "can_send_now": True,
        "reason": None,
        "next_allowed_at": None,
        "unanswered_streak": 0,
        "daily_remaining": 30,
        "new_contact": True,
        "in_conversation": False,
    }
    pair.send(pair.a, "hi")
    after = pair.a.get(path).get_json()
    assert (after["can_send_now"], after["reason"]) == (False, "min_gap")
    assert (after["next_allowed_at"], after["unanswered_streak"]) == ("2026-06-04T09:00:00Z", 1)
    assert after["daily_remaining"] == 29
    pair.send(pair.b, "hello")
    assert pair.a.get(path).get_json()["in_conversation"] is True
    assert pair.a.get(path).get_json()["can_send_now"] is True


def test_conversation_lists_both_directions_newest_first_in_pages(pair, clock):
    sent = []
    for index in range(5):
        sender = pair.a if index % 2 == 0 else pair.b
        response = pair.send(sender, f"message {index}")
        assert response.status_code == 201, response.get_json()
        sent.append(response.get_json()["id"])
        clock.advance(timedelta(minutes=1))
    first = pair.a.get(f"/v1/contacts/{pair.a_contact}/messages?limit=3").get_json()
    assert [m["id"] for m in first["items"]] == sent[::-1][:3]
    assert [m["direction"] for m in first["items"]] == ["outgoing", "incoming", "outgoing"]
    assert {m["contact_id"] for m in first["items"]} == {pair.a_contact}
    second = pair.a.get(
        f"/v1/contacts/{pair.a_contact}/messages?limit=3&cursor={first['next_cursor']}"
    ).get_json()
    assert [m["id"] for m in second["items"]] == sent[::-1][3:]
    assert second["next_cursor"] is None
    theirs = pair.b.get(f"/v1/contacts/{pair.b_contact}/messages").get_json()["items"]
    assert [m["direction"] for m in theirs][:2] == ["incoming", "outgoing"]
    assert_problem(pair.a.get(f"/v1/contacts/{pair.a_contact}/messages?cursor=nonsense"), 422)


def test_inbox_unread_and_marking_read(anon, db, clock):
    me = new_user(anon.client)
    pairs = [connect(db, new_user(anon.client), me, clock.now()) for _ in range(3)]
    ids = []
    for p in pairs:
        ids.append(p.send(p.a, "hello from " + p.a.id).get_json()["id"])
        clock.advance(timedelta(minutes=1))
    mine = me.get("/v1/inbox").get_json()
    assert [m["id"] for m in mine["items"]] == ids[::-1]
    assert [m["contact_id"] for m in mine["items"]] == [p.b_contact for p in pairs][::-1]
    assert all(m["direction"] == "incoming" for m in mine["items"])

    read = me.post(f"/v1/messages/{ids[0]}/read")
    assert read.status_code == 200
    assert read.get_json()["read_at"] == "2026-06-01T09:03:00Z"
    clock.advance(timedelta(minutes=5))
    again = me.post(f"/v1/messages/{ids[0]}/read").get_json()
    assert again["read_at"] == "2026-06-01T09:03:00Z"  # the first read time is kept
    assert [m["id"] for m in me.get("/v1/inbox?unread=true").get_json()["items"]] == ids[:0:-1]
    assert [m["id"] for m in me.get("/v1/inbox?unread=false").get_json()["items"]] == ids[:1]

    # only the recipient may mark it read
    assert_problem(pairs[0].a.post(f"/v1/messages/{ids[0]}/read"), 404)
    assert_problem(new_user(anon.client).post(f"/v1/messages/{ids[1]}/read"), 404)
    assert_problem(me.post(f"/v1/messages/{uuid.uuid4()}/read"), 404)

    one = me.post("/v1/inbox/read", json={"contact_id": pairs[1].b_contact})
    assert one.get_json() == {"marked": 1}
    assert me.post("/v1/inbox/read", json={}).get_json() == {"marked": 1}
    assert me.get("/v1/inbox?unread=true").get_json()["items"] == []
    assert_problem(me.post("/v1/inbox/read", json={"contact_id": pairs[1].a_contact}), 404)


def test_inbox_pages(anon, db, clock):
    me = new_user(anon.client)
    p = connect(db, me, new_user(anon.client), clock.now())
    p.send(p.a, "start")
    for index in range(5):
        p.send(p.b, f"reply {index}")
    seen, cursor = [], None
    while True:
        url = "/v1/inbox?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = me.get(url).get_json()
        seen += [m["body"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"reply {i}" for i in range(5)]


def test_hints_on_a_cold_hiring_ask_and_a_past_tense_intro(pair, clock):
    hints = pair.send(pair.a, "I was laid off last month. Are you hiring?", "ask").get_json()
    assert [h["code"] for h in hints["hints"]] == ["cold_hiring_ask", "intro_lead_with_present"]
    assert all(h["message"] for h in hints["hints"])
    # once they have written, asking about roles is no longer cold
    pair.send(pair.b, "Good to meet you!")
    warm = pair.send(pair.a, "Is your team hiring, by the way?", "ask").get_json()
    assert warm["hints"] == []
    ordinary = pair.send(pair.a, "I was at your talk; thanks for the slides.").get_json()
    assert ordinary["hints"] == []


def test_hint_on_a_run_of_asks_without_offers(pair):
    pair.send(pair.b, "Good to meet you!")
    codes = [
        [h["code"] for h in pair.send(pair.a, "Could you…", "ask").get_json()["hints"]]
        for _ in range(3)
    ]
    assert codes == [[], [], ["asks_without_offers"]]
    assert pair.send(pair.a, "Here is the article I promised", "offer").get_json()["hints"] == []
    assert pair.send(pair.a, "Could you…", "ask").get_json()["hints"] == []


def test_profile_hints_still_come_with_profile_patch(anon):
    me = new_user(anon.client)
    hints = me.patch("/v1/me", json={"headline": "Laid off from Acme"}).get_json()["hints"]
    assert [h["code"] for h in hints] == ["intro_lead_with_present"]


def test_a_reply_cancels_the_plan_toward_the_replier_not_single_follow_ups(pair, db, clock):
    assert pair.send(pair.a, "Great to meet you").status_code == 201
    assert pair.send(pair.b, "Likewise!").status_code == 201
    plan = pair.a.post(f"/v1/contacts/{pair.a_contact}/follow-up-plans", json={"cadence": "gentle"})
    assert plan.status_code == 201, plan.get_json()
    single = pair.a.post(
        f"/v1/contacts/{pair.a_contact}/follow-ups",
        json={"send_at": "2026-06-25T10:00:00Z", "body": "Checking in"},
    )
    assert single.status_code == 201, single.get_json()
    single = single.get_json()
    clock.advance(timedelta(hours=2))
    assert pair.send(pair.b, "Also, thanks for the book tip!").status_code == 201

    db.expire_all()
    plan_row = db.get(FollowUpPlan, uuid.UUID(plan.get_json()["id"]))
    assert (plan_row.status, plan_row.status_reason) == ("cancelled", "contact_replied")
    items = db.scalars(select(FollowUp).where(FollowUp.plan_id == plan_row.id)).all()
    assert {(i.status, i.status_reason) for i in items} == {("cancelled", "contact_replied")}
    assert db.get(FollowUp, uuid.UUID(single["id"])).status == "scheduled"


def test_muting_cancels_the_muted_persons_pending_follow_ups_to_me(pair, db):
    single = pair.a.post(
        f"/v1/contacts/{pair.a_contact}/follow-ups",
        json={"send_at": "2026-06-02T10:00:00Z", "body": "Checking in"},
    ).get_json()
    mine = pair.b.post(
        f"/v1/contacts/{pair.b_contact}/follow-ups",
        json={"send_at": "2026-06-02T10:00:00Z", "body": "My own follow-up to a"},
    ).get_json()
    assert pair.b.post(f"/v1/contacts/{pair.b_contact}/not-interested").status_code == 204
    db.expire_all()
    cancelled = db.get(FollowUp, uuid.UUID(single["id"]))
    assert (cancelled.status, cancelled.status_reason) == ("cancelled", "recipient_unavailable")
    assert db.get(FollowUp, uuid.UUID(mine["id"])).status == "scheduled"
    after = pair.a.get(f"/v1/follow-ups/{single['id']}").get_json()
    assert (after["status"], after["reason"]) == ("cancelled", "recipient_unavailable")


def test_a_decision_costs_the_same_queries_whatever_the_history(anon, db, clock, engine):
    """Counters and bounded window reads: no scan of message history."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    def chat_then_count_one_send(rounds: int) -> int:
        p = new_pair(db, anon.client, clock.now())
        for _ in range(rounds):
            assert p.send(p.a, "question").status_code == 201
            assert p.send(p.b, "answer").status_code == 201
            clock.advance(timedelta(minutes=2))
        clock.advance(2 * DAY)  # out of the conversation, nothing unanswered
        event.listen(engine, "before_cursor_execute", record)
        try:
            assert p.send(p.a, "hello again").status_code == 201
        finally:
            event.remove(engine, "before_cursor_execute", record)
        count = len(statements)
        statements.clear()
        return count

    assert chat_then_count_one_send(1) == chat_then_count_one_send(60)


def test_blocking_through_the_contacts_api_stops_messages_and_follow_ups(pair, db):
    pending = pair.a.post(
        f"/v1/contacts/{pair.a_contact}/follow-ups",
        json={"send_at": "2026-06-02T10:00:00Z", "body": "Checking in"},
    ).get_json()
    assert pair.b.post(f"/v1/contacts/{pair.b_contact}/block").status_code in (200, 204)
    assert_problem(pair.send(pair.a, "hello?"), 403, "blocked")
    assert_problem(pair.send(pair.b, "hello?"), 404)  # the blocker's side is removed
    after = pair.a.get(f"/v1/follow-ups/{pending['id']}").get_json()
    assert (after["status"], after["reason"]) == ("cancelled", "blocked")


def test_a_deleted_account_is_unavailable_without_saying_why(pair):
    assert pair.b.delete("/v1/me").status_code == 204
    assert_problem(pair.send(pair.a, "hello?"), 403, "recipient_unavailable")
    allowance = pair.a.get(f"/v1/contacts/{pair.a_contact}/allowance").get_json()
    assert (allowance["can_send_now"], allowance["reason"]) == (False, "recipient_unavailable")


def test_a_retried_send_with_an_idempotency_key_replays_instead_of_throttling(pair, db):
    headers = {"Idempotency-Key": "send-1"}
    first = pair.a.post(
        f"/v1/contacts/{pair.a_contact}/messages", json={"body": "Hi"}, headers=headers
    )
    again = pair.a.post(
        f"/v1/contacts/{pair.a_contact}/messages", json={"body": "Hi"}, headers=headers
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert _message_count(db, pair) == 1
    assert side(db, pair.a_contact).sent_count == 1
