from uuid import UUID

from flask import current_app, request
from flask.views import MethodView

from api.auth import authority, current_session_id, current_user
from api.db import db_session, now, public_base_url
from api.extensions import Blueprint, enforce_limit, limiter, remote_address
from api.resources.accounts.schemas import (
    AuthResultSchema,
    EmptySchema,
    ExportSchema,
    LoginSchema,
    MailedTokenSchema,
    PasswordChangeSchema,
    PasswordResetConfirmSchema,
    PasswordResetSchema,
    ProfileSchema,
    ProfileUpdateResultSchema,
    RefreshSchema,
    RegisterSchema,
    SignInListSchema,
    TokenPairSchema,
)
from api.schemas import WithExtra
from services.accounts import accounts, email_tokens, privacy, sessions
from services.accounts.login_limits import LoginLimiter, LoginLimitPolicy, account_key
from services.meetings import tags

blp = Blueprint("accounts", __name__, url_prefix="/v1", description="Accounts and profile")


def _user_agent() -> str | None:
    return request.headers.get("User-Agent")


def _login_limiter() -> LoginLimiter:
    config = current_app.config
    return LoginLimiter(
        limiter.storage,
        LoginLimitPolicy(
            per_account_address=int(config["LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS"]),
            window_s=int(config["LOGIN_WINDOW_SECONDS"]),
            slowdown_after=int(config["LOGIN_ACCOUNT_SLOWDOWN_AFTER"]),
            max_delay_s=int(config["LOGIN_ACCOUNT_MAX_DELAY_SECONDS"]),
            failures_per_address=int(config["LOGIN_FAILURES_PER_ADDRESS"]),
        ),
    )


@blp.route("/auth/register")
class Register(MethodView):
    decorators = [
        limiter.limit(lambda: current_app.config["REGISTRATIONS_PER_IP"], key_func=remote_address)
    ]

    @blp.arguments(RegisterSchema)
    @blp.response(201, AuthResultSchema)
    @blp.problems(409, 429)
    def post(self, data):
        """Create an account and sign in; a mail asks to verify the address."""
        return accounts.register_user(
            db_session(),
            authority(),
            now=now(),
            base_url=public_base_url(),
            user_agent=_user_agent(),
            **data,
        )


@blp.route("/auth/login")
class Login(MethodView):
    # Limits: services/accounts/login_limits.py, counted before the password is checked.
    @blp.arguments(LoginSchema)
    @blp.response(200, AuthResultSchema)
    @blp.problems(401, 429)
    def post(self, data):
        """Sign in; the same 401 whether the email is unknown or the password wrong."""
        return accounts.log_in(
            db_session(),
            authority(),
            now=now(),
            user_agent=_user_agent(),
            limiter=_login_limiter(),
            address=remote_address(),
            **data,
        )


@blp.route("/auth/refresh")
class Refresh(MethodView):
    decorators = [
        limiter.limit(lambda: current_app.config["REFRESHES_PER_IP"], key_func=remote_address)
    ]

    @blp.arguments(RefreshSchema)
    @blp.response(200, TokenPairSchema)
    @blp.problems(401, 429)
    def post(self, data):
        """Use up a refresh token for a new access token and refresh token. A refresh token
        presented a second time revokes its whole sign-in (401 refresh_token_reused)."""
        return sessions.refresh(
            db_session(), authority(), data["refresh_token"], now(), _user_agent()
        )


@blp.route("/auth/logout")
class Logout(MethodView):
    @blp.authenticated
    @blp.response(204)
    def post(self):
        """End this sign-in: its access and refresh tokens stop working."""
        sessions.log_out(db_session(), authority(), current_user(), current_session_id(), now())


@blp.route("/auth/logout-all")
class LogoutAll(MethodView):
    @blp.authenticated
    @blp.response(204)
    def post(self):
        """End every sign-in of mine, this one included."""
        sessions.log_out_everywhere(db_session(), authority(), current_user(), now())


@blp.route("/me/sessions")
class MySignIns(MethodView):
    @blp.authenticated
    @blp.response(200, SignInListSchema)
    def get(self):
        """My sign-ins (devices), oldest first; `current` marks this one."""
        current = current_session_id()
        return {
            "items": [
                WithExtra(s, current=s.id == current)
                for s in sessions.list_mine(db_session(), current_user())
            ]
        }


@blp.route("/me/sessions/<uuid:session_id>")
class MySignIn(MethodView):
    @blp.authenticated
    @blp.response(204)
    @blp.problems(404)
    def delete(self, session_id: UUID):
        """End one of my sign-ins: its tokens stop working at once."""
        sessions.revoke_mine(db_session(), authority(), current_user(), session_id, now())


@blp.route("/me/password")
class MyPassword(MethodView):
    @blp.authenticated
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    @blp.problems(403)
    def post(self, data):
        """Change my password; every other sign-in is revoked."""
        accounts.change_password(
            db_session(),
            authority(),
            current_user(),
            current_session_id=current_session_id(),
            now=now(),
            **data,
        )


@blp.route("/auth/verify-email")
class VerifyEmail(MethodView):
    decorators = [
        limiter.limit(lambda: current_app.config["TOKEN_CHECKS_PER_IP"], key_func=remote_address)
    ]

    @blp.arguments(MailedTokenSchema)
    @blp.response(204)
    @blp.problems(400, 429)
    def post(self, data):
        """Prove an email address with the token mailed to it (no sign-in needed)."""
        email_tokens.verify_email(db_session(), data["token"], now())


@blp.route("/me/verify-email/resend")
class ResendVerification(MethodView):
    @blp.authenticated
    @blp.response(202, EmptySchema)
    @blp.problems(429)
    def post(self):
        """Mail a new verification token to my address (limited)."""
        user = current_user()
        enforce_limit(current_app.config["VERIFICATION_MAILS_PER_ACCOUNT"], "resend", user.id.hex)
        accounts.resend_verification(db_session(), user, now(), public_base_url())
        return {}


@blp.route("/auth/password-reset")
class PasswordReset(MethodView):
    @blp.arguments(PasswordResetSchema)
    @blp.response(202, EmptySchema)
    @blp.problems(429)
    def post(self, data):
        """Mail a reset token if an account has this email; the same answer either way."""
        config = current_app.config
        enforce_limit(config["PASSWORD_RESETS_PER_IP"], "reset-address", remote_address())
        enforce_limit(
            config["PASSWORD_RESETS_PER_EMAIL"], "reset-email", account_key(data["email"])
        )
        email_tokens.request_password_reset(db_session(), data["email"], now(), public_base_url())
        return {}


@blp.route("/auth/password-reset/confirm")
class PasswordResetConfirm(MethodView):
    decorators = [
        limiter.limit(lambda: current_app.config["TOKEN_CHECKS_PER_IP"], key_func=remote_address)
    ]

    @blp.arguments(PasswordResetConfirmSchema)
    @blp.response(204)
    @blp.problems(400, 429)
    def post(self, data):
        """Set a new password with the mailed token; every sign-in is revoked."""
        email_tokens.confirm_password_reset(
            db_session(),
            authority(),
            data["token"],
            accounts.hash_password(data["new_password"]),
            now(),
        )


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
    @blp.problems(403, 409)
    def patch(self, changes):
        """Change my profile; answers coaching `hints` (they never block). A new `email`
        needs `current_password` and is unverified until confirmed from the mail."""
        session, user = db_session(), current_user()
        # Offers and seeks (and the focus) feed the meeting match index: staged first, so the
        # profile update's commit carries both.
        tags.stage_matching_profile(session, user, changes)
        result = accounts.update_profile(session, user, changes, now(), base_url=public_base_url())
        return WithExtra(result.user, hints=result.hints)

    @blp.authenticated
    @blp.response(204)
    def delete(self):
        """Delete my account: personal data is erased, event aggregates stay anonymous, every
        sign-in is revoked."""
        privacy.erase_user(db_session(), current_user(), now(), authority=authority())


@blp.route("/me/export")
class MyExport(MethodView):
    @blp.authenticated
    @blp.response(200, ExportSchema)
    def get(self):
        """Everything we hold about me: profile, registrations, check-ins, contacts with my
        notes, messages, follow-ups, sign-ins, invitations and mail sent to me."""
        return privacy.export_user_data(db_session(), current_user())
