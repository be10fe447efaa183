from flask import current_app
from flask.views import MethodView

from api.auth import current_access_token, current_user
from api.db import db_session, now
from api.extensions import Blueprint, limiter, login_account_key, remote_address
from api.resources.accounts.schemas import (
    AuthResultSchema,
    ExportSchema,
    LoginSchema,
    ProfileSchema,
    ProfileUpdateResultSchema,
    RegisterSchema,
)
from api.schemas import WithExtra
from services.accounts import accounts, privacy
from services.meetings import tags

blp = Blueprint("accounts", __name__, url_prefix="/v1", description="Accounts and profile")


def _failed_login(response) -> bool:
    return response.status_code == 401


def _auth_result(result: accounts.Authenticated) -> dict:
    return {"user": result.user, "access_token": result.access_token, "token_type": "Bearer"}


@blp.route("/auth/register")
class Register(MethodView):
    decorators = [
        limiter.limit(lambda: current_app.config["REGISTRATIONS_PER_IP"], key_func=remote_address)
    ]

    @blp.arguments(RegisterSchema)
    @blp.response(201, AuthResultSchema)
    @blp.problems(409, 429)
    def post(self, data):
        """Create an account and get an access token."""
        return _auth_result(accounts.register_user(db_session(), now=now(), **data))


@blp.route("/auth/login")
class Login(MethodView):
    # Only failures count, per account and per address.
    decorators = [
        limiter.limit(
            lambda: current_app.config["LOGIN_FAILURES_PER_ACCOUNT"],
            key_func=login_account_key,
            deduct_when=_failed_login,
        ),
        limiter.limit(
            lambda: current_app.config["LOGIN_FAILURES_PER_IP"],
            key_func=remote_address,
            deduct_when=_failed_login,
        ),
    ]

    @blp.arguments(LoginSchema)
    @blp.response(200, AuthResultSchema)
    @blp.problems(401, 429)
    def post(self, data):
        """Log in; the same 401 whether the email is unknown or the password wrong."""
        return _auth_result(accounts.log_in(db_session(), now=now(), **data))


@blp.route("/auth/logout")
class Logout(MethodView):
    @blp.authenticated
    @blp.response(204)
    def post(self):
        """Revoke the access token this request carries."""
        accounts.revoke_token(db_session(), current_access_token(), now())


@blp.route("/me")
class Me(MethodView):
    @blp.authenticated
    @blp.response(200, ProfileSchema)
    def get(self):
        """My profile."""
        return current_user()

    @blp.authenticated
    @blp.arguments(ProfileSchema(partial=True))
    @blp.response(200, ProfileUpdateResultSchema)
    def patch(self, changes):
        """Change my profile; answers coaching `hints` (they never block)."""
        session, user = db_session(), current_user()
        # Offers and seeks (and the focus) feed the meeting match index: staged first, so the
        # profile update's commit carries both.
        tags.stage_matching_profile(session, user, changes)
        result = accounts.update_profile(session, user, changes, now())
        return WithExtra(result.user, hints=result.hints)

    @blp.authenticated
    @blp.response(204)
    def delete(self):
        """Delete my account: personal data is erased, event aggregates stay anonymous."""
        privacy.erase_user(db_session(), current_user(), now())


@blp.route("/me/export")
class MyExport(MethodView):
    @blp.authenticated
    @blp.response(200, ExportSchema)
    def get(self):
        """Everything we hold about me: profile, registrations, check-ins, contacts with my
        notes, messages and follow-ups."""
        return privacy.export_user_data(db_session(), current_user())
