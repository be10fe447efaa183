"""Follow-ups and cadence plans: scheduling under the policy, quiet hours, delivery."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from api.policy import throttle_policy
from services.core.models import Connection, FollowUp, FollowUpPlan, Message, User
from services.messaging.delivery import deliver_due_follow_ups
from services.messaging.followups import delivery_time
from tests.support import assert_problem, new_user
from tests.support.messaging_support import Pair, new_pair, side

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def pair(anon, db, clock) -> Pair:
    return new_pair(db, anon.client, clock.now())


@pytest.fixture
def deliver(app, session_factory, clock):
    """One delivery pass inside the test's transaction, as the worker runs it."""

    def run(**kwargs):
        with app.app_context():
            policy = throttle_policy()
        return deliver_due_follow_ups(session_factory, clock, policy, **kwargs)

    return run


def schedule(pair: Pair, sender, send_at: str, body: str = "Following up", **extra):
    return sender.post(
        f"/v1/contacts/{pair.contact_of(sender)}/follow-ups",
        json={"send_at": send_at, "body": body, **extra},
    )


def plan(pair: Pair, sender, cadence: str, **extra):
    return sender.post(
        f"/v1/contacts/{pair.contact_of(sender)}/follow-up-plans",
        json={"cadence": cadence, **extra},
    )


def local(zone: ZoneInfo, *args) -> datetime:
    return datetime(*args, tzinfo=zone)


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def follow_up(db, follow_up_id: str) -> FollowUp:
    db.expire_all()
    return db.get(FollowUp, uuid.UUID(follow_up_id))


# Quiet hours ---------------------------------------------------------------------------------


def _person(zone: str, start: str = "21:00", end: str = "08:00") -> User:
    return User(timezone=zone, quiet_hours_start=start, quiet_hours_end=end)


@pytest.mark.parametrize(
    "zone, start, end, at, expected",
    [
        # (zone, quiet start, end, local send time, local delivery time)
        ("Europe/Berlin", "21:00", "08:00", (2026, 7, 1, 22, 30), (2026, 7, 2, 8, 0)),
        ("Europe/Berlin", "21:00", "08:00", (2026, 7, 1, 21, 0), (2026, 7, 2, 8, 0)),
        ("Europe/Berlin", "21:00", "08:00", (2026, 7, 1, 20, 59), (2026, 7, 1, 20, 59)),
        ("Europe/Berlin", "21:00", "08:00", (2026, 7, 2, 3, 15), (2026, 7, 2, 8, 0)),
        ("Europe/Berlin", "21:00", "08:00", (2026, 7, 2, 7, 59), (2026, 7, 2, 8, 0)),
        ("Europe/Berlin", "21:00", "08:00", (2026, 7, 2, 8, 0), (2026, 7, 2, 8, 0)),
        # DST ends in Berlin on 25 Oct 2026 (03:00 CEST → 02:00 CET): the night is an hour longer
        ("Europe/Berlin", "21:00", "08:00", (2026, 10, 24, 22, 30), (2026, 10, 25, 8, 0)),
        # DST starts in Berlin on 29 Mar 2026 (02:00 CET → 03:00 CEST): an hour shorter
        ("Europe/Berlin", "21:00", "08:00", (2026, 3, 28, 22, 30), (2026, 3, 29, 8, 0)),
        ("America/New_York", "21:00", "08:00", (2026, 10, 31, 22, 30), (2026, 11, 1, 8, 0)),
        ("America/New_York", "21:00", "08:00", (2026, 3, 7, 23, 45), (2026, 3, 8, 8, 0)),
        ("Asia/Kolkata", "22:00", "07:30", (2026, 7, 1, 23, 0), (2026, 7, 2, 7, 30)),
        # quiet hours that don't span midnight, and none at all
        ("UTC", "13:00", "14:00", (2026, 7, 1, 13, 30), (2026, 7, 1, 14, 0)),
        ("UTC", "13:00", "14:00", (2026, 7, 1, 14, 30), (2026, 7, 1, 14, 30)),
        ("UTC", "00:00", "00:00", (2026, 7, 1, 3, 0), (2026, 7, 1, 3, 0)),
    ],
)
def test_delivery_moves_to_the_end_of_quiet_hours_on_the_recipients_clock(
    zone, start, end, at, expected
):
    tz = ZoneInfo(zone)
    delivered = delivery_time(_person(zone, start, end), datetime(*at, tzinfo=tz))
    assert delivered.tzinfo is not None
    assert delivered.astimezone(tz).replace(tzinfo=None) == datetime(*expected)


def test_across_dst_the_utc_distance_to_8_oclock_changes():
    person = _person("Europe/Berlin")
    autumn = delivery_time(person, local(BERLIN, 2026, 10, 24, 22, 30))
    assert autumn == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert autumn - local(BERLIN, 2026, 10, 24, 22, 30) == timedelta(hours=10, minutes=30)
    spring = delivery_time(person, local(BERLIN, 2026, 3, 28, 22, 30))
    assert spring == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert spring - local(BERLIN, 2026, 3, 28, 22, 30) == timedelta(hours=8, minutes=30)


def test_an_end_of_quiet_hours_that_dst_skips_is_read_just_after_the_gap():
    person = _person("Europe/Berlin", "22:00", "02:30")  # 02:30 doesn't exist on 29 Mar 2026
    delivered = delivery_time(person, local(BERLIN, 2026, 3, 29, 1, 0))
    assert delivered.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 30)
    assert delivery_time(person, delivered) == delivered


# Scheduling -------------------------------------------------------------------------------------


def test_schedule_a_follow_up(pair, db):
    response = schedule(pair, pair.a, "2026-06-03T10:00:00+02:00", "How was the trip back?")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["send_at"] == body["deliver_at"] == "2026-06-03T08:00:00Z"
    assert body["status"] == "scheduled" and body["reason"] is None
    assert (body["contact_id"], body["recipient_id"]) == (pair.a_contact, pair.b.id)
    assert (body["kind"], body["plan_id"], body["message_id"], body["requeued"]) == (
        "other",
        None,
        None,
        False,
    )
    assert pair.a.get(f"/v1/follow-ups/{body['id']}").get_json() == body
    assert_problem(pair.b.get(f"/v1/follow-ups/{body['id']}"), 404)


def test_quiet_hours_in_the_recipients_zone_show_as_deliver_at(anon, db, clock):
    pair = new_pair(db, anon.client, clock.now(), timezone="America/New_York")
    body = schedule(pair, pair.a, iso(local(NEW_YORK, 2026, 6, 2, 22, 30))).get_json()
    assert body["send_at"] == iso(local(NEW_YORK, 2026, 6, 2, 22, 30))
    assert body["deliver_at"] == iso(local(NEW_YORK, 2026, 6, 3, 8, 0))


@pytest.mark.parametrize(
    "night",
    [
        (2026, 7, 14, 22, 30),  # summer time
        (2026, 10, 24, 22, 30),  # the night DST ends
        (2026, 3, 28, 22, 30),  # the night DST starts
    ],
    ids=["summer", "dst-ends", "dst-starts"],
)
def test_a_follow_up_due_at_2230_is_delivered_at_0800_recipient_time(
    anon, db, clock, deliver, night
):
    send_at = local(BERLIN, *night)
    clock.set(send_at - DAY)
    pair = new_pair(db, anon.client, clock.now(), timezone="Europe/Berlin")
    created = schedule(pair, pair.a, iso(send_at)).get_json()
    expected = local(BERLIN, *night[:3], 8, 0) + DAY
    expected = datetime.combine(expected.date(), expected.time(), tzinfo=BERLIN)
    assert created["deliver_at"] == iso(expected)

    clock.set(send_at)
    deliver()
    clock.set(expected - SECOND)
    deliver()
    assert follow_up(db, created["id"]).status == "scheduled"
    clock.set(expected)
    deliver()
    item = follow_up(db, created["id"])
    assert item.status == "sent"
    message = db.get(Message, item.message_id)
    assert message.sent_at == expected
    assert message.sent_at.astimezone(BERLIN).strftime("%H:%M") == "08:00"
    inbox = pair.b.get("/v1/inbox").get_json()["items"]
    assert [m["id"] for m in inbox] == [str(message.id)]


def test_a_follow_up_too_close_to_the_last_message_is_422_with_the_earliest_time(pair, clock):
    pair.send(pair.a, "Great to meet you")
    refused = schedule(pair, pair.a, "2026-06-03T09:00:00Z")
    problem = assert_problem(refused, 422, "min_gap")
    assert problem["earliest_allowed_at"] == "2026-06-04T09:00:00Z"
    assert schedule(pair, pair.a, "2026-06-04T08:59:59Z").status_code == 422
    assert schedule(pair, pair.a, problem["earliest_allowed_at"]).status_code == 201


def test_scheduled_items_count_as_future_sends(pair):
    assert schedule(pair, pair.a, "2026-06-02T10:00:00Z").status_code == 201
    too_soon = assert_problem(schedule(pair, pair.a, "2026-06-04T10:00:00Z"), 422, "min_gap")
    assert too_soon["earliest_allowed_at"] == "2026-06-05T10:00:00Z"
    assert schedule(pair, pair.a, "2026-06-05T10:00:00Z").status_code == 201
    # a new contact gets two unanswered messages; only a reply makes room for a third
    third = assert_problem(schedule(pair, pair.a, "2026-08-01T10:00:00Z"), 422, "awaiting_reply")
    assert third["earliest_allowed_at"] is None


def test_quiet_hours_count_in_the_earliest_time(anon, db, clock):
    pair = new_pair(db, anon.client, clock.now(), timezone="Europe/Berlin")
    clock.set(local(BERLIN, 2026, 6, 1, 23, 0))  # a writes late at night (manual: no quiet hours)
    assert pair.send(pair.a, "Great to meet you").status_code == 201
    problem = assert_problem(schedule(pair, pair.a, iso(local(BERLIN, 2026, 6, 3, 12))), 422)
    # 3 days after 23:00 is inside b's quiet hours: delivery can be at 08:00 the next morning
    assert problem["earliest_allowed_at"] == iso(local(BERLIN, 2026, 6, 5, 8, 0))
    ok = schedule(pair, pair.a, iso(local(BERLIN, 2026, 6, 4, 23, 30))).get_json()
    assert ok["deliver_at"] == iso(local(BERLIN, 2026, 6, 5, 8, 0))


@pytest.mark.parametrize(
    "send_at, field_message",
    [
        ("2026-06-01T08:54:59Z", "Must not be in the past."),
        ("2028-06-01T09:00:01Z", "Must be within two years from now."),
    ],
)
def test_send_at_must_be_reasonable(pair, send_at, field_message):
    problem = assert_problem(schedule(pair, pair.a, send_at), 422)
    assert problem["errors"] == {"send_at": [field_message]}


def test_a_send_at_a_little_in_the_past_means_now(pair):
    body = schedule(pair, pair.a, "2026-06-01T08:57:00Z").get_json()
    assert body["send_at"] == body["deliver_at"] == "2026-06-01T09:00:00Z"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"body": "x"}, "send_at"),
        ({"send_at": "2026-06-02T10:00:00", "body": "x"}, "send_at"),
        ({"send_at": "tomorrow", "body": "x"}, "send_at"),
        ({"send_at": "2026-06-02T10:00:00Z"}, "body"),
        ({"send_at": "2026-06-02T10:00:00Z", "body": "  "}, "body"),
        ({"send_at": "2026-06-02T10:00:00Z", "body": "x", "kind": "nag"}, "kind"),
    ],
)
def test_bad_follow_ups_are_422(pair, payload, field):
    response = pair.a.post(f"/v1/contacts/{pair.a_contact}/follow-ups", json=payload)
    assert field in assert_problem(response, 422)["errors"]


def test_follow_ups_to_someone_who_muted_you_or_blocked_are_refused(pair, db, clock):
    pair.b.post(f"/v1/contacts/{pair.b_contact}/mute")
    assert_problem(schedule(pair, pair.a, "2026-06-02T10:00:00Z"), 403, "recipient_unavailable")
    assert_problem(plan(pair, pair.a, "gentle"), 403, "recipient_unavailable")
    pair.b.post(f"/v1/contacts/{pair.b_contact}/unmute")
    db.get(Connection, side(db, pair.a_contact).connection_id).blocked_at = clock.now()
    db.flush()
    assert_problem(schedule(pair, pair.a, "2026-06-02T10:00:00Z"), 403, "blocked")


# Plans ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("cadence, offer_after", [("gentle", 14), ("standard", 7)])
def test_gentle_and_standard_plans(pair, cadence, offer_after):
    response = plan(pair, pair.a, cadence)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["cadence"], body["status"], body["contact_id"]) == (
        cadence,
        "active",
        pair.a_contact,
    )
    items = body["follow_ups"]
    assert [(i["kind"], i["send_at"]) for i in items] == [
        ("thank_you", "2026-06-01T09:00:00Z"),
        ("offer", (datetime(2026, 6, 1, 9, tzinfo=UTC) + offer_after * DAY).isoformat()[:19] + "Z"),
    ]
    assert all(i["plan_id"] == body["id"] and i["status"] == "scheduled" for i in items)
    assert all(i["body"] for i in items)
    assert pair.a.get(f"/v1/follow-up-plans/{body['id']}").get_json() == body
    assert_problem(pair.b.get(f"/v1/follow-up-plans/{body['id']}"), 404)


def test_a_plan_starts_when_the_schedule_allows_and_bodies_are_editable(pair, clock):
    pair.send(pair.a, "Hi! We met at the booth.")
    body = plan(
        pair, pair.a, "gentle", bodies=["Thanks again for the demo"]
    ).get_json()  # a new contact with one unanswered: thank_you, offer don't both fit
    assert body["reason"] == "awaiting_reply"
    pair.send(pair.b, "Hi!")  # b answered: a known contact, nothing unanswered
    clock.advance(2 * DAY)
    created = plan(pair, pair.a, "standard", bodies=["Thanks again for the demo"]).get_json()
    first, second = created["follow_ups"]
    assert first["body"] == "Thanks again for the demo"
    assert second["body"].startswith("I came across something")  # the default offer text
    assert created["follow_ups"][0]["send_at"] == "2026-06-03T09:00:00Z"


def test_a_plan_is_placed_after_what_is_already_scheduled(pair, clock):
    assert schedule(pair, pair.a, "2026-06-01T12:00:00Z").status_code == 201
    refused = plan(pair, pair.a, "standard")
    assert assert_problem(refused, 422, "awaiting_reply")["earliest_allowed_at"] is None
    pair.send(pair.b, "Hello!")  # a known contact now: up to three unanswered
    clock.advance(2 * DAY)  # out of the conversation
    created = plan(pair, pair.a, "standard").get_json()
    # the scheduled item goes out 1 June 12:00 (in the conversation); next: 3 days after it
    assert [i["send_at"] for i in created["follow_ups"]] == [
        "2026-06-04T12:00:00Z",
        "2026-06-11T12:00:00Z",
    ]
    assert created["start_at"] == "2026-06-04T12:00:00Z"


def test_a_plan_start_at_that_does_not_fit_is_422_with_the_earliest_start(pair):
    pair.send(pair.a, "Hi!")
    pair.send(pair.b, "Hello!")
    pair.send(pair.a, "Great, talk soon")
    problem = assert_problem(
        plan(pair, pair.a, "gentle", start_at="2026-06-03T09:00:00Z"), 422, "min_gap"
    )
    # in the conversation until 2 June 09:00, then 3 days after a's last message
    assert problem["earliest_allowed_at"] == "2026-06-04T09:00:00Z"
    ok = plan(pair, pair.a, "gentle", start_at="2026-06-01T20:00:00Z").get_json()
    assert [i["send_at"] for i in ok["follow_ups"]] == [
        "2026-06-01T20:00:00Z",
        "2026-06-15T20:00:00Z",
    ]


def test_keep_warm_needs_a_contact_who_wrote_and_ends_after_three_unanswered(pair, clock):
    problem = assert_problem(plan(pair, pair.a, "keep_warm"), 422, "contact_never_wrote")
    assert "cadence" in problem["errors"]
    pair.send(pair.b, "Hi, nice meeting you")
    created = plan(pair, pair.a, "keep_warm").get_json()
    assert [(i["kind"], i["send_at"]) for i in created["follow_ups"]] == [
        ("check_in", "2026-06-01T09:00:00Z"),
        ("check_in", "2026-08-30T09:00:00Z"),
        ("check_in", "2026-11-28T09:00:00Z"),
    ]


def test_keep_warm_with_one_unanswered_schedules_two(pair, clock):
    pair.send(pair.b, "Hi, nice meeting you")
    pair.send(pair.a, "Likewise!")
    clock.advance(2 * DAY)
    created = plan(pair, pair.a, "keep_warm").get_json()
    assert len(created["follow_ups"]) == 2
    assert created["follow_ups"][0]["send_at"] == "2026-06-04T09:00:00Z"  # 3 days after


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "cadence"),
        ({"cadence": "weekly"}, "cadence"),
        ({"cadence": "gentle", "bodies": ["a", "b", "c"]}, "bodies"),
        ({"cadence": "gentle", "bodies": [""]}, "bodies"),
        ({"cadence": "gentle", "bodies": [" \n"]}, "bodies"),
        ({"cadence": "gentle", "bodies": "Thanks"}, "bodies"),
        ({"cadence": "gentle", "start_at": "2020-01-01T00:00:00Z"}, "start_at"),
    ],
)
def test_bad_plans_are_422(pair, payload, field):
    response = pair.a.post(f"/v1/contacts/{pair.a_contact}/follow-up-plans", json=payload)
    assert field in assert_problem(response, 422)["errors"]


def test_cancelling_a_plan_cancels_what_is_left(pair, db, clock, deliver):
    created = plan(pair, pair.a, "standard").get_json()
    deliver()  # the thank_you goes out now
    assert pair.a.delete(f"/v1/follow-up-plans/{created['id']}").status_code == 204
    after = pair.a.get(f"/v1/follow-up-plans/{created['id']}").get_json()
    assert (after["status"], after["reason"]) == ("cancelled", "owner_cancelled")
    assert [(i["status"], i["reason"]) for i in after["follow_ups"]] == [
        ("sent", None),
        ("cancelled", "owner_cancelled"),
    ]
    assert pair.a.delete(f"/v1/follow-up-plans/{created['id']}").status_code == 204
    assert_problem(pair.b.delete(f"/v1/follow-up-plans/{created['id']}"), 404)


# Listing, editing, cancelling -----------------------------------------------------------------


def test_list_follow_ups_by_status_and_contact_in_pages(anon, db, clock):
    me = new_user(anon.client)
    pairs = [new_pair(db, anon.client, clock.now()) for _ in range(2)]
    from tests.support.messaging_support import connect

    mine = [connect(db, me, p.b, clock.now()) for p in pairs]
    ids = [
        schedule(p, me, f"2026-06-0{2 + i}T10:00:00Z").get_json()["id"] for i, p in enumerate(mine)
    ]
    ids.append(schedule(mine[0], me, "2026-06-06T10:00:00Z").get_json()["id"])
    me.delete(f"/v1/follow-ups/{ids[1]}")

    everything = me.get("/v1/follow-ups?limit=2").get_json()
    assert [f["id"] for f in everything["items"]] == ids[:2]
    rest = me.get(f"/v1/follow-ups?limit=2&cursor={everything['next_cursor']}").get_json()
    assert [f["id"] for f in rest["items"]] == ids[2:]
    assert rest["next_cursor"] is None
    scheduled = me.get("/v1/follow-ups?status=scheduled").get_json()["items"]
    assert [f["id"] for f in scheduled] == [ids[0], ids[2]]
    cancelled = me.get("/v1/follow-ups?status=cancelled").get_json()["items"]
    assert [(f["id"], f["reason"]) for f in cancelled] == [(ids[1], "owner_cancelled")]
    by_contact = me.get(f"/v1/follow-ups?contact_id={mine[1].a_contact}").get_json()["items"]
    assert [f["id"] for f in by_contact] == [ids[1]]
    assert_problem(me.get("/v1/follow-ups?status=lost"), 422)
    assert_problem(me.get(f"/v1/follow-ups?contact_id={pairs[0].a_contact}"), 404)
    assert pairs[0].a.get("/v1/follow-ups").get_json()["items"] == []


def test_patch_edits_and_revalidates_a_new_time(pair, db):
    first = schedule(pair, pair.a, "2026-06-02T10:00:00Z").get_json()
    second = schedule(pair, pair.a, "2026-06-05T10:00:00Z").get_json()
    edited = pair.a.patch(
        f"/v1/follow-ups/{second['id']}", json={"body": "Updated text", "kind": "offer"}
    )
    assert edited.status_code == 200
    assert (edited.get_json()["body"], edited.get_json()["kind"]) == ("Updated text", "offer")
    moved = pair.a.patch(f"/v1/follow-ups/{second['id']}", json={"send_at": "2026-06-03T10:00:00Z"})
    assert assert_problem(moved, 422, "min_gap")["earliest_allowed_at"] == "2026-06-05T10:00:00Z"
    assert follow_up(db, second["id"]).send_at == datetime(2026, 6, 5, 10, tzinfo=UTC)
    # the item itself doesn't count against its own new time
    later = pair.a.patch(f"/v1/follow-ups/{first['id']}", json={"send_at": "2026-06-08T10:00:00Z"})
    assert later.status_code == 200, later.get_json()
    assert later.get_json()["deliver_at"] == "2026-06-08T10:00:00Z"
    assert_problem(pair.b.patch(f"/v1/follow-ups/{first['id']}", json={"body": "x"}), 404)
    assert_problem(pair.a.patch(f"/v1/follow-ups/{first['id']}", json={"body": ""}), 422)


def test_sent_follow_ups_cannot_be_edited_or_cancelled(pair, deliver):
    created = schedule(pair, pair.a, "2026-06-01T09:00:00Z").get_json()
    deliver()
    assert_problem(
        pair.a.patch(f"/v1/follow-ups/{created['id']}", json={"body": "x"}),
        409,
        "follow_up_not_scheduled",
    )
    assert_problem(pair.a.delete(f"/v1/follow-ups/{created['id']}"), 409, "follow_up_not_scheduled")


def test_delete_cancels_and_is_repeatable(pair, db):
    created = schedule(pair, pair.a, "2026-06-02T10:00:00Z").get_json()
    assert_problem(pair.b.delete(f"/v1/follow-ups/{created['id']}"), 404)
    assert pair.a.delete(f"/v1/follow-ups/{created['id']}").status_code == 204
    assert pair.a.delete(f"/v1/follow-ups/{created['id']}").status_code == 204
    item = follow_up(db, created["id"])
    assert (item.status, item.status_reason) == ("cancelled", "owner_cancelled")
    assert_problem(pair.a.delete(f"/v1/follow-ups/{uuid.uuid4()}"), 404)


# Delivery -------------------------------------------------------------------------------------


def test_delivery_sends_due_follow_ups_as_messages(pair, db, clock, deliver):
    created = schedule(pair, pair.a, "2026-06-02T10:00:00Z", "Checking in", kind="check_in")
    created = created.get_json()
    clock.set(datetime(2026, 6, 2, 9, 59, 59, tzinfo=UTC))
    deliver()
    assert follow_up(db, created["id"]).status == "scheduled"
    clock.advance(SECOND)
    deliver()
    after = pair.a.get(f"/v1/follow-ups/{created['id']}").get_json()
    assert (after["status"], after["reason"]) == ("sent", None)
    message = db.get(Message, uuid.UUID(after["message_id"]))
    assert (message.kind, message.body, message.cold) == ("check_in", "Checking in", True)
    assert message.sent_at == clock.now()
    a_side = side(db, pair.a_contact)
    assert (a_side.sent_count, a_side.unanswered_streak) == (1, 1)
    deliver()  # nothing twice
    assert len(pair.b.get("/v1/inbox").get_json()["items"]) == 1


def test_delivery_rechecks_and_requeues_a_time_based_refusal_once(pair, db, clock, deliver):
    created = schedule(pair, pair.a, "2026-06-04T09:00:00Z").get_json()
    clock.set(datetime(2026, 6, 2, 9, tzinfo=UTC))
    assert pair.send(pair.a, "Sent by hand meanwhile").status_code == 201
    clock.set(datetime(2026, 6, 4, 9, tzinfo=UTC))
    deliver()
    item = follow_up(db, created["id"])
    assert (item.status, item.status_reason, item.requeued) == ("scheduled", "min_gap", True)
    assert item.deliver_at == datetime(2026, 6, 5, 9, tzinfo=UTC)
    clock.set(item.deliver_at)
    deliver()
    item = follow_up(db, created["id"])
    assert item.status == "sent"


def test_a_second_time_based_refusal_skips(pair, db, clock, deliver):
    pair.send(pair.b, "Hi!")  # a known contact: three unanswered allowed
    created = schedule(pair, pair.a, "2026-06-04T09:00:00Z").get_json()
    clock.set(datetime(2026, 6, 2, 9, tzinfo=UTC))
    assert pair.send(pair.a, "by hand").status_code == 201
    clock.set(datetime(2026, 6, 4, 9, tzinfo=UTC))
    deliver()  # min_gap: re-queued to 5 June 09:00
    clock.set(datetime(2026, 6, 5, 9, tzinfo=UTC))
    assert pair.send(pair.a, "by hand again").status_code == 201  # just before the worker
    deliver()
    item = follow_up(db, created["id"])
    assert (item.status, item.status_reason, item.requeued) == ("skipped", "min_gap", True)


def test_delivery_skips_when_only_a_reply_would_help_or_blocked(anon, db, clock, deliver):
    p1, p2 = new_pair(db, anon.client, clock.now()), new_pair(db, anon.client, clock.now())
    first = schedule(p1, p1.a, "2026-06-05T09:00:00Z").get_json()
    blocked = schedule(p2, p2.a, "2026-06-05T09:00:00Z").get_json()
    clock.set(datetime(2026, 6, 1, 10, tzinfo=UTC))
    p1.send(p1.a, "one")
    clock.set(datetime(2026, 6, 4, 10, tzinfo=UTC))
    p1.send(p1.a, "two")
    db.get(Connection, side(db, p2.a_contact).connection_id).blocked_at = clock.now()
    db.flush()
    clock.set(datetime(2026, 6, 5, 9, tzinfo=UTC))
    report = deliver()
    assert report.skipped >= 2
    assert (follow_up(db, first["id"]).status, follow_up(db, first["id"]).status_reason) == (
        "skipped",
        "awaiting_reply",
    )
    assert follow_up(db, blocked["id"]).status_reason == "blocked"


def test_delivery_cancels_items_of_a_plan_cancelled_meanwhile(pair, db, clock, deliver):
    created = plan(pair, pair.a, "gentle").get_json()
    # as if a reply's transaction had skipped an item a worker held: the plan is cancelled,
    # the item still scheduled
    db.get(FollowUpPlan, uuid.UUID(created["id"])).status = "cancelled"
    db.get(FollowUpPlan, uuid.UUID(created["id"])).status_reason = "contact_replied"
    db.flush()
    deliver()
    first = follow_up(db, created["follow_ups"][0]["id"])
    assert (first.status, first.status_reason, first.message_id) == (
        "cancelled",
        "contact_replied",
        None,
    )


def test_delivery_completes_a_plan_with_its_last_item(pair, db, clock, deliver):
    created = plan(pair, pair.a, "standard").get_json()
    deliver()
    clock.set(datetime(2026, 6, 8, 9, tzinfo=UTC))
    deliver()
    after = pair.a.get(f"/v1/follow-up-plans/{created['id']}").get_json()
    assert after["status"] == "completed"
    assert [i["status"] for i in after["follow_ups"]] == ["sent", "sent"]
    assert side(db, pair.a_contact).unanswered_streak == 2


def test_delivery_of_my_follow_up_cancels_the_recipients_plan_toward_me(pair, db, deliver):
    theirs = plan(pair, pair.b, "gentle").get_json()
    mine = schedule(pair, pair.a, "2026-06-01T09:00:00Z").get_json()
    # deliver mine first: a writes to b, which ends b's automated plan toward a
    db.get(FollowUp, uuid.UUID(theirs["follow_ups"][0]["id"])).deliver_at += SECOND
    db.flush()
    deliver()
    assert follow_up(db, mine["id"]).status == "sent"
    after = pair.b.get(f"/v1/follow-up-plans/{theirs['id']}").get_json()
    assert (after["status"], after["reason"]) == ("cancelled", "contact_replied")


def test_delivery_respects_quiet_hours_changed_after_scheduling(anon, db, clock, deliver):
    pair = new_pair(db, anon.client, clock.now(), timezone="Europe/Berlin")
    created = schedule(pair, pair.a, iso(local(BERLIN, 2026, 6, 2, 19, 0))).get_json()
    assert created["deliver_at"] == iso(local(BERLIN, 2026, 6, 2, 19, 0))
    pair.b.patch("/v1/me", json={"quiet_hours": {"start": "18:00", "end": "09:30"}})
    clock.set(local(BERLIN, 2026, 6, 2, 19, 0))
    report = deliver()
    assert report.deferred == 1
    item = follow_up(db, created["id"])
    assert (item.status, item.deliver_at) == ("scheduled", local(BERLIN, 2026, 6, 3, 9, 30))


def test_the_worker_command_runs_one_pass(app, pair, db, clock):
    created = schedule(pair, pair.a, "2026-06-01T09:00:00Z").get_json()
    result = app.test_cli_runner().invoke(args=["deliver-follow-ups", "--batch", "10"])
    assert result.exit_code == 0, result.output
    assert "delivered=1" in result.output
    assert follow_up(db, created["id"]).status == "sent"
    bad = app.test_cli_runner().invoke(args=["deliver-follow-ups", "--batch", "0"])
    assert bad.exit_code != 0


def test_a_failing_delivery_is_left_for_the_next_pass(pair, db, clock, deliver, monkeypatch):
    created = schedule(pair, pair.a, "2026-06-01T09:00:00Z").get_json()
    from services.messaging import delivery

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(delivery, "write_message", broken)
    report = deliver()
    assert report.failed == 1
    assert follow_up(db, created["id"]).status == "scheduled"
    monkeypatch.undo()
    assert deliver().delivered >= 1
    assert follow_up(db, created["id"]).status == "sent"
    assert db.scalar(
        select(Message.id).where(Message.id == follow_up(db, created["id"]).message_id)
    )


def test_delivery_cancels_follow_ups_to_a_removed_contact(pair, db, deliver):
    created = schedule(pair, pair.a, "2026-06-01T09:00:00Z").get_json()
    side(db, pair.a_contact).removed_at = datetime(2026, 6, 1, 9, tzinfo=UTC)
    db.flush()
    deliver()
    item = follow_up(db, created["id"])
    assert (item.status, item.status_reason, item.message_id) == (
        "cancelled",
        "contact_removed",
        None,
    )


def test_at_most_20_follow_ups_wait_for_one_contact(pair, clock):
    pair.send(pair.b, "Let's keep talking")  # inside the conversation anything fits
    for minute in range(20):
        response = schedule(pair, pair.a, f"2026-06-01T10:{minute:02d}:00Z")
        assert response.status_code == 201, response.get_json()
    assert_problem(schedule(pair, pair.a, "2026-06-01T11:00:00Z"), 422, "too_many_follow_ups")
    assert_problem(plan(pair, pair.a, "standard"), 422, "too_many_follow_ups")
