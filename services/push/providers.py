"""The three push providers, spoken through their own protocols.

- APNs: HTTP/2 (multiplexed on one connection), token auth: an ES256 JWT made from the .p8 key
  with `kid` = key id and `iss` = team id, reused for 50 minutes (Apple refuses tokens older than
  an hour and tokens renewed more often than every 20 minutes).
- FCM HTTP v1: `POST /v1/projects/<project>/messages:send` with an OAuth2 access token that
  google-auth obtains from the service-account file's own `token_uri` (JWT bearer grant).
- Web Push (RFC 8030/8291/8292): the JSON payload encrypted with aes128gcm for the subscription's
  keys (pywebpush), a VAPID JWT for the endpoint's origin in `Authorization: vapid t=…, k=…`, `TTL`,
  and `Topic` for message pushes. Each endpoint is checked against the allowlist again before it
  is posted to, and redirects are never followed.

Every sender answers a `SendResult` whose `outcome` is one of SENT, GONE (the token/subscription is
dead: delete the device), RETRY (429, 5xx, timeouts, connection errors: try later, honouring
`retry_after`) or FAILED (a permanent refusal that is not about the token). The senders are
asyncio-based, keep their connections between batches and never raise for a provider answer.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import h2.exceptions
import httpx
import jwt
from google.auth import exceptions as google_exceptions
from google.auth import transport as google_transport
from google.oauth2 import service_account
from py_vapid import Vapid
from pywebpush import WebPusher

from services.push.allowlist import Allowlist, EndpointRefused
from services.push.http2 import H2Client

log = logging.getLogger("wellspring.push")

APNS = "apns"
FCM = "fcm"
WEBPUSH = "webpush"
PROVIDERS = (APNS, FCM, WEBPUSH)

SENT = "sent"
GONE = "gone"
RETRY = "retry"
FAILED = "failed"

APNS_TOKEN_MAX_AGE = 50 * 60  # seconds a provider token is reused
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
VAPID_LIFETIME = 12 * 3600  # seconds a VAPID JWT is valid (RFC 8292 allows up to 24 h)
PUSH_TTL = 24 * 3600  # seconds a provider keeps an undelivered push


@dataclass(frozen=True)
class Target:
    """Where a push goes: a device token, or a Web Push subscription."""

    provider: str
    token: str  # APNs/FCM token, or the Web Push endpoint
    p256dh: str | None = None
    auth: str | None = None


@dataclass(frozen=True)
class Push:
    """What is pushed, already decided (text chosen by `previews`, badge counted)."""

    type: str
    title: str
    body: str
    data: dict[str, str]
    badge: int | None = None
    collapse_key: str | None = None

    def web_json(self) -> bytes:
        return json.dumps(
            {"type": self.type, "title": self.title, "body": self.body, "data": self.data},
            separators=(",", ":"),
        ).encode()


@dataclass(frozen=True)
class SendResult:
    outcome: str
    status: int | None = None
    reason: str | None = None
    retry_after: float | None = None  # seconds, when the provider said


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


TRANSPORT_ERRORS = (httpx.HTTPError, OSError, TimeoutError, h2.exceptions.H2Error)


def _transport_failure(error: Exception) -> SendResult:
    timeout = isinstance(error, httpx.TimeoutException | TimeoutError)
    return SendResult(
        RETRY, None, f"{'timeout' if timeout else 'connection'}: {type(error).__name__}"
    )


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def topic_for(collapse_key: str) -> str:
    """A Web Push `Topic`: at most 32 URL-safe base64 characters, one per conversation."""
    digest = hashlib.sha256(collapse_key.encode()).digest()[:24]
    return base64.urlsafe_b64encode(digest).decode()


def _client(*, http2_only: bool, timeout: float, connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        http1=not http2_only,
        http2=True,
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        follow_redirects=False,
        trust_env=False,
    )


# APNs ------------------------------------------------------------------------------------


class APNsSender:
    provider = APNS

    def __init__(
        self,
        *,
        key_pem: bytes,
        key_id: str,
        team_id: str,
        topic: str,
        endpoint: str = "https://api.push.apple.com",
        timeout: float = 10.0,
        wall_clock: Callable[[], float] = time.time,
    ):
        self.key_pem, self.key_id, self.team_id, self.topic = key_pem, key_id, team_id, topic
        self.endpoint = endpoint.rstrip("/")
        self.wall_clock = wall_clock
        self.timeout = timeout
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()
        self._client: H2Client | None = None

    def provider_token(self, *, renew: bool = False) -> str:
        """The ES256 JWT, made again only once it is 50 minutes old (or `renew`)."""
        now = self.wall_clock()
        with self._lock:
            if renew or self._token is None or now - self._token[1] >= APNS_TOKEN_MAX_AGE:
                issued = int(now)
                token = jwt.encode(
                    {"iss": self.team_id, "iat": issued},
                    self.key_pem,
                    algorithm="ES256",
                    headers={"kid": self.key_id},
                )
                self._token = (token, issued)
            return self._token[0]

    def client(self) -> H2Client:
        if self._client is None:
            # HTTP/2 always: over https by ALPN, over http (a local test server) by prior
            # knowledge. One connection carries the concurrent streams.
            self._client = H2Client(timeout=self.timeout)
        return self._client

    def request(self, target: Target, push: Push) -> tuple[str, dict[str, str], bytes]:
        aps: dict[str, Any] = {
            "alert": {"title": push.title, "body": push.body},
            "sound": "default",
        }
        if push.badge is not None:
            aps["badge"] = push.badge
        if push.collapse_key:
            aps["thread-id"] = push.collapse_key
        body = json.dumps({"aps": aps, "type": push.type, "data": push.data}).encode()
        headers = {
            "authorization": f"bearer {self.provider_token()}",
            "apns-topic": self.topic,
            "apns-push-type": "alert",
            "apns-priority": "10",
            "apns-expiration": str(int(self.wall_clock()) + PUSH_TTL),
            "content-type": "application/json",
        }
        if push.collapse_key:
            headers["apns-collapse-id"] = push.collapse_key[:64]
        url = f"{self.endpoint}/3/device/{quote(target.token, safe='')}"
        return url, headers, body

    async def send(self, target: Target, push: Push) -> SendResult:
        for attempt in range(2):
            url, headers, body = self.request(target, push)
            try:
                response = await self.client().post(url, list(headers.items()), body)
            except TRANSPORT_ERRORS as error:
                return _transport_failure(error)
            if response.status_code == 200:
                return SendResult(SENT, 200)
            reason = _json_field(response, "reason")
            status = response.status_code
            if status == 403 and reason == "ExpiredProviderToken" and attempt == 0:
                self.provider_token(renew=True)
                continue
            return self.classify(status, reason, response.headers.get("retry-after"))
        return SendResult(FAILED, 403, "ExpiredProviderToken")

    @staticmethod
    def classify(status: int, reason: str | None, retry_after: str | None) -> SendResult:
        if status == 410 or (
            status == 400 and reason in ("BadDeviceToken", "DeviceTokenNotForTopic")
        ):
            return SendResult(GONE, status, reason)
        if _retryable(status):
            return SendResult(RETRY, status, reason, retry_after_seconds(retry_after))
        return SendResult(FAILED, status, reason)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _json_field(response, name: str) -> str | None:
    try:
        value = response.json().get(name)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


# FCM -------------------------------------------------------------------------------------


class _GoogleResponse(google_transport.Response):
    def __init__(self, response: httpx.Response):
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class HttpxGoogleRequest(google_transport.Request):
    """google-auth's transport interface over an httpx client (google-auth ships none)."""

    def __init__(self, client: httpx.Client):
        self.client = client

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        try:
            response = self.client.request(
                method, url, content=body, headers=headers, timeout=timeout or 30
            )
        except httpx.HTTPError as error:
            raise google_exceptions.TransportError(error) from error
        return _GoogleResponse(response)


class FCMSender:
    provider = FCM

    def __init__(
        self,
        *,
        credentials_info: dict[str, Any],
        project_id: str | None = None,
        endpoint: str = "https://fcm.googleapis.com",
        timeout: float = 10.0,
        connections: int = 64,
    ):
        # The service-account file's token_uri is used as it is (a test server's, or Google's).
        self.credentials = service_account.Credentials.from_service_account_info(
            credentials_info, scopes=[FCM_SCOPE]
        )
        self.project_id = project_id or credentials_info.get("project_id")
        if not self.project_id:
            raise ValueError("FCM_PROJECT_ID is not set and the credentials name no project_id")
        self.endpoint = endpoint.rstrip("/")
        self.timeout, self.connections = timeout, connections
        self._token_lock = threading.Lock()
        self._http = httpx.Client(timeout=timeout, trust_env=False)
        self._client: H2Client | None = None

    def access_token(self, *, renew: bool = False) -> str:
        """A valid OAuth2 access token, fetched again shortly before it expires."""
        with self._token_lock:
            if renew or not self.credentials.valid:
                self.credentials.refresh(HttpxGoogleRequest(self._http))
            return self.credentials.token

    def client(self) -> H2Client:
        if self._client is None:
            # FCM v1 is served over HTTP/2: one multiplexed connection, like APNs.
            self._client = H2Client(timeout=self.timeout)
        return self._client

    def message(self, target: Target, push: Push) -> dict[str, Any]:
        data = {"type": push.type, **push.data}
        if push.badge is not None:
            data["badge"] = str(push.badge)
        android: dict[str, Any] = {"priority": "HIGH", "ttl": f"{PUSH_TTL}s"}
        if push.collapse_key:
            android["collapse_key"] = push.collapse_key
            android["notification"] = {"tag": push.collapse_key}
        return {
            "message": {
                "token": target.token,
                "notification": {"title": push.title, "body": push.body},
                "data": data,
                "android": android,
            }
        }

    async def send(self, target: Target, push: Push) -> SendResult:
        url = f"{self.endpoint}/v1/projects/{quote(self.project_id, safe='')}/messages:send"
        body = json.dumps(self.message(target, push)).encode()
        for attempt in range(2):
            try:
                token = (
                    self.access_token()
                    if self.credentials.valid
                    else await asyncio.to_thread(self.access_token)
                )
            except google_exceptions.GoogleAuthError as error:
                return SendResult(RETRY, None, f"oauth: {error}"[:200])
            headers = [("authorization", f"Bearer {token}"), ("content-type", "application/json")]
            try:
                response = await self.client().post(url, headers, body)
            except TRANSPORT_ERRORS as error:
                return _transport_failure(error)
            if response.status_code == 200:
                return SendResult(SENT, 200)
            if response.status_code == 401 and attempt == 0:
                await asyncio.to_thread(self.access_token, renew=True)
                continue
            return self.classify(response)
        return SendResult(FAILED, 401, "UNAUTHENTICATED")

    @staticmethod
    def classify(response) -> SendResult:
        status = response.status_code
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        codes = [
            detail.get("errorCode")
            for detail in error.get("details") or []
            if isinstance(detail, dict) and detail.get("errorCode")
        ]
        reason = codes[0] if codes else error.get("status")
        if "UNREGISTERED" in codes or status == 404:
            return SendResult(GONE, status, reason or "UNREGISTERED")
        if "SENDER_ID_MISMATCH" in codes:
            return SendResult(GONE, status, "SENDER_ID_MISMATCH")
        if status == 400 and _about_the_token(error):
            return SendResult(GONE, status, reason or "INVALID_ARGUMENT")
        if _retryable(status):
            return SendResult(
                RETRY, status, reason, retry_after_seconds(response.headers.get("retry-after"))
            )
        return SendResult(FAILED, status, reason)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        # The token client is synchronous and loop-free: it stays for the next batch.


def _about_the_token(error: dict[str, Any]) -> bool:
    """A 400 INVALID_ARGUMENT that names the registration token (not the message shape)."""
    for detail in error.get("details") or []:
        for violation in (detail or {}).get("fieldViolations") or []:
            if "token" in str(violation.get("field", "")).lower():
                return True
    return "registration token" in str(error.get("message", "")).lower()


# Web Push --------------------------------------------------------------------------------


class WebPushSender:
    provider = WEBPUSH

    def __init__(
        self,
        *,
        vapid_private_key_file: str | Path,
        subject: str,
        allowlist: Allowlist,
        timeout: float = 10.0,
        connections: int = 64,
        wall_clock: Callable[[], float] = time.time,
    ):
        if not subject.startswith(("mailto:", "https:")):
            raise ValueError("VAPID_SUBJECT must be a mailto: or https: URL")
        self.vapid = Vapid.from_file(str(vapid_private_key_file))
        self.subject, self.allowlist = subject, allowlist
        self.timeout, self.connections, self.wall_clock = timeout, connections, wall_clock
        self._signatures: dict[str, tuple[str, float]] = {}
        self._client: httpx.AsyncClient | None = None

    def authorization(self, audience: str) -> str:
        """`vapid t=<JWT for the origin>, k=<public key>`, re-signed an hour before expiry."""
        now = self.wall_clock()
        cached = self._signatures.get(audience)
        if cached is None or cached[1] - now < 3600:
            expires = int(now) + VAPID_LIFETIME
            claims = {"aud": audience, "sub": self.subject, "exp": expires}
            cached = (self.vapid.sign(claims)["Authorization"], expires)
            self._signatures[audience] = cached
        return cached[0]

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = _client(
                http2_only=False, timeout=self.timeout, connections=self.connections
            )
        return self._client

    def request(self, target: Target, push: Push) -> tuple[str, dict[str, str], bytes]:
        parsed = self.allowlist.check(target.token)
        subscription = {
            "endpoint": target.token,
            "keys": {"p256dh": target.p256dh, "auth": target.auth},
        }
        body = WebPusher(subscription).encode(push.web_json(), "aes128gcm")["body"]
        headers = {
            "authorization": self.authorization(parsed.origin),
            "content-encoding": "aes128gcm",
            "content-type": "application/octet-stream",
            "ttl": str(PUSH_TTL),
            "urgency": "high" if push.type == "message_received" else "normal",
        }
        if push.collapse_key:
            headers["topic"] = topic_for(push.collapse_key)
        return target.token, headers, body

    async def send(self, target: Target, push: Push) -> SendResult:
        try:
            url, headers, body = self.request(target, push)
        except EndpointRefused as error:
            return SendResult(GONE, None, f"endpoint_not_allowed: {error}")
        except Exception as error:  # bad subscription keys: the subscription is unusable
            return SendResult(GONE, None, f"bad_subscription: {type(error).__name__}")
        try:
            response = await self.client().post(url, headers=headers, content=body)
        except httpx.HTTPError as error:
            return _transport_failure(error)
        status = response.status_code
        if 200 <= status < 300:
            return SendResult(SENT, status)
        if status in (404, 410):
            return SendResult(GONE, status, "subscription_gone")
        if _retryable(status):
            return SendResult(
                RETRY, status, None, retry_after_seconds(response.headers.get("retry-after"))
            )
        return SendResult(FAILED, status, response.text[:200] or None)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


# Configuration ---------------------------------------------------------------------------


@dataclass
class PushConfig:
    """The providers' settings (API.md names them); a provider missing any is not configured."""

    apns_key_file: str | None = None
    apns_key_id: str | None = None
    apns_team_id: str | None = None
    apns_topic: str | None = None
    apns_endpoint: str = "https://api.push.apple.com"
    fcm_credentials_file: str | None = None
    fcm_project_id: str | None = None
    fcm_endpoint: str = "https://fcm.googleapis.com"
    vapid_private_key_file: str | None = None
    vapid_subject: str | None = None
    webpush_allowlist: str | None = None
    timeout: float = 10.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PushConfig:
        def get(name: str, default: Any = None) -> Any:
            value = values.get(name)
            return default if value in (None, "") else value

        return cls(
            apns_key_file=get("APNS_KEY_FILE"),
            apns_key_id=get("APNS_KEY_ID"),
            apns_team_id=get("APNS_TEAM_ID"),
            apns_topic=get("APNS_TOPIC"),
            apns_endpoint=get("APNS_ENDPOINT", "https://api.push.apple.com"),
            fcm_credentials_file=get("FCM_CREDENTIALS_FILE"),
            fcm_project_id=get("FCM_PROJECT_ID"),
            fcm_endpoint=get("FCM_ENDPOINT", "https://fcm.googleapis.com"),
            vapid_private_key_file=get("VAPID_PRIVATE_KEY_FILE"),
            vapid_subject=get("VAPID_SUBJECT"),
            webpush_allowlist=get("WEBPUSH_ENDPOINT_ALLOWLIST"),
            timeout=float(get("PUSH_TIMEOUT", 10.0)),
        )

    def allowlist(self) -> Allowlist:
        return Allowlist.parse(self.webpush_allowlist)

    def missing(self, provider: str) -> list[str]:
        needed = {
            APNS: {
                "APNS_KEY_FILE": self.apns_key_file,
                "APNS_KEY_ID": self.apns_key_id,
                "APNS_TEAM_ID": self.apns_team_id,
                "APNS_TOPIC": self.apns_topic,
            },
            FCM: {"FCM_CREDENTIALS_FILE": self.fcm_credentials_file},
            WEBPUSH: {
                "VAPID_PRIVATE_KEY_FILE": self.vapid_private_key_file,
                "VAPID_SUBJECT": self.vapid_subject,
            },
        }[provider]
        return [name for name, value in needed.items() if not value]

    def senders(self) -> dict[str, APNsSender | FCMSender | WebPushSender]:
        """A sender per configured provider; one log line for each provider left out."""
        senders: dict[str, APNsSender | FCMSender | WebPushSender] = {}
        for provider in PROVIDERS:
            missing = self.missing(provider)
            if missing:
                log.info(
                    "push: %s not configured (%s unset); its devices are skipped",
                    provider,
                    ", ".join(missing),
                )
                continue
            if provider == APNS:
                senders[APNS] = APNsSender(
                    key_pem=Path(self.apns_key_file).read_bytes(),
                    key_id=self.apns_key_id,
                    team_id=self.apns_team_id,
                    topic=self.apns_topic,
                    endpoint=self.apns_endpoint,
                    timeout=self.timeout,
                )
            elif provider == FCM:
                senders[FCM] = FCMSender(
                    credentials_info=json.loads(Path(self.fcm_credentials_file).read_text()),
                    project_id=self.fcm_project_id,
                    endpoint=self.fcm_endpoint,
                    timeout=self.timeout,
                )
            else:
                senders[WEBPUSH] = WebPushSender(
                    vapid_private_key_file=self.vapid_private_key_file,
                    subject=self.vapid_subject,
                    allowlist=self.allowlist(),
                    timeout=self.timeout,
                )
        return senders
