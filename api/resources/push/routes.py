from uuid import UUID

from flask import current_app
from flask.views import MethodView

from api.auth import current_access_token, current_user
from api.db import db_session, now
from api.extensions import Blueprint
from api.resources.push.schemas import (
    DeviceCreateSchema,
    DeviceListSchema,
    DeviceSchema,
    NotificationArgsSchema,
    NotificationPageSchema,
    NotificationSettingsSchema,
)
from services.push import devices, feed

blp = Blueprint(
    "push",
    __name__,
    url_prefix="/v1",
    description="Push notifications: devices, notification settings, the notification feed",
)


@blp.route("/me/devices")
class Devices(MethodView):
    @blp.authenticated
    @blp.arguments(DeviceCreateSchema)
    @blp.response(201, DeviceSchema)
    @blp.alt_response(200, schema=DeviceSchema, description="The token was registered already")
    @blp.problems(422)
    @blp.doc(operationId="registerDevice")
    def post(self, data):
        """Register this device for pushes: an APNs or FCM token, or a Web Push subscription.

        A token (or endpoint) registered before, by anyone, moves to the caller: 200. A Web Push
        endpoint outside `WEBPUSH_ENDPOINT_ALLOWLIST` → 422 `push_endpoint_not_allowed`.
        Signing out the session that registered a device deletes it.
        """
        registered = devices.register_device(
            db_session(),
            current_user(),
            session_id=current_access_token().id,
            allowlist=current_app.extensions["wellspring.push_allowlist"],
            now=now(),
            **data,
        )
        return registered.device, (201 if registered.created else 200)

    @blp.authenticated
    @blp.response(200, DeviceListSchema)
    @blp.doc(operationId="listDevices")
    def get(self):
        """My registered devices, oldest first."""
        return {"items": devices.list_devices(db_session(), current_user())}


@blp.route("/me/devices/<uuid:device_id>")
class Device(MethodView):
    @blp.authenticated
    @blp.response(204)
    @blp.problems(404)
    @blp.doc(operationId="deleteDevice")
    def delete(self, device_id: UUID):
        """Stop pushing to one of my devices."""
        devices.delete_device(db_session(), current_user(), device_id)


@blp.route("/me/notification-settings")
class NotificationSettings(MethodView):
    @blp.authenticated
    @blp.response(200, NotificationSettingsSchema)
    @blp.doc(operationId="getNotificationSettings")
    def get(self):
        """What may be pushed to me: per category, and whether pushes may show message text."""
        return devices.settings_of(db_session(), current_user().id)

    @blp.authenticated
    @blp.arguments(NotificationSettingsSchema(partial=True))
    @blp.response(200, NotificationSettingsSchema)
    @blp.problems(422)
    @blp.doc(operationId="updateNotificationSettings")
    def patch(self, changes):
        """Change some of my notification settings; the others keep their values."""
        return devices.update_settings(db_session(), current_user(), changes, now())


@blp.route("/me/notifications")
class Notifications(MethodView):
    @blp.authenticated
    @blp.arguments(NotificationArgsSchema, location="query")
    @blp.response(200, NotificationPageSchema)
    @blp.problems(422)
    @blp.doc(operationId="listNotifications")
    def get(self, args):
        """What was pushed to me (or held for my quiet hours), newest first."""
        return feed.notifications_feed(db_session(), current_user(), **args)
