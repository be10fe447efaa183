from uuid import UUID

from flask.views import MethodView

from api.auth import current_user
from api.db import db_session, now
from api.extensions import Blueprint
from api.policy import throttle_policy
from api.resources.followups.schemas import (
    FollowUpCreateSchema,
    FollowUpListArgsSchema,
    FollowUpPageSchema,
    FollowUpPatchSchema,
    FollowUpSchema,
    PlanCreateSchema,
    PlanSchema,
)
from services.messaging import followups

blp = Blueprint(
    "followups",
    __name__,
    url_prefix="/v1",
    description="Scheduled follow-ups and cadence plans, checked against the throttling policy",
)


@blp.route("/contacts/<uuid:contact_id>/follow-ups")
class ContactFollowUps(MethodView):
    @blp.authenticated
    @blp.arguments(FollowUpCreateSchema)
    @blp.response(201, FollowUpSchema, location="/v1/follow-ups/{id}")
    @blp.problems(403, 404, 422)
    def post(self, data, contact_id: UUID):
        """Schedule a follow-up.

        The pair's schedule (already-scheduled items count as future sends) must pass
        `awaiting_reply` and `min_gap`; otherwise 422 with `reason` and `earliest_allowed_at`
        (null when only a reply could make room). The rolling caps are checked at delivery.
        """
        return followups.schedule_follow_up(
            db_session(), current_user(), contact_id, now=now(), policy=throttle_policy(), **data
        )


@blp.route("/contacts/<uuid:contact_id>/follow-up-plans")
class ContactPlans(MethodView):
    @blp.authenticated
    @blp.arguments(PlanCreateSchema)
    @blp.response(201, PlanSchema, location="/v1/follow-up-plans/{id}")
    @blp.problems(403, 404, 422)
    def post(self, data, contact_id: UUID):
        """Start a cadence plan; its items are scheduled to comply with the policy.

        A reply from the contact cancels the plan's remaining items.
        """
        return followups.create_plan(
            db_session(),
            current_user(),
            contact_id,
            cadence=data["cadence"],
            start_at=data.get("start_at"),
            bodies=data.get("bodies"),
            now=now(),
            policy=throttle_policy(),
        )


@blp.route("/follow-ups")
class FollowUps(MethodView):
    @blp.authenticated
    @blp.arguments(FollowUpListArgsSchema, location="query")
    @blp.response(200, FollowUpPageSchema)
    @blp.problems(404, 422)
    def get(self, args):
        """My follow-ups in send order (filter by status or contact)."""
        return followups.list_follow_ups(db_session(), current_user(), **args)


@blp.route("/follow-ups/<uuid:follow_up_id>")
class FollowUpItem(MethodView):
    @blp.authenticated
    @blp.response(200, FollowUpSchema)
    @blp.problems(404)
    def get(self, follow_up_id: UUID):
        """One of my follow-ups."""
        return followups.get_follow_up(db_session(), current_user(), follow_up_id)

    @blp.authenticated
    @blp.arguments(FollowUpPatchSchema)
    @blp.response(200, FollowUpSchema)
    @blp.problems(404, 409, 422)
    def patch(self, changes, follow_up_id: UUID):
        """Edit a scheduled follow-up; a new send_at is validated like a new follow-up."""
        return followups.update_follow_up(
            db_session(),
            current_user(),
            follow_up_id,
            changes,
            now=now(),
            policy=throttle_policy(),
        )

    @blp.authenticated
    @blp.response(204)
    @blp.problems(404, 409)
    def delete(self, follow_up_id: UUID):
        """Cancel a scheduled follow-up (it stays listed as cancelled)."""
        followups.cancel_follow_up(db_session(), current_user(), follow_up_id, now())


@blp.route("/follow-up-plans/<uuid:plan_id>")
class PlanItem(MethodView):
    @blp.authenticated
    @blp.response(200, PlanSchema)
    @blp.problems(404)
    def get(self, plan_id: UUID):
        """One of my plans with its follow-ups."""
        return followups.get_plan(db_session(), current_user(), plan_id)

    @blp.authenticated
    @blp.response(204)
    @blp.problems(404)
    def delete(self, plan_id: UUID):
        """Cancel a plan's remaining follow-ups."""
        followups.cancel_plan(db_session(), current_user(), plan_id, now())
