"""Local stand-ins for APNs, FCM (with its OAuth token endpoint) and a Web Push service.

Real sockets on 127.0.0.1, real protocols, real checks; no mocked HTTP client:
- FakeAPNs: HTTP/2 (cleartext, prior knowledge) `POST /3/device/<token>`; verifies the ES256
  provider token with the test key (kid, iss, age < 1 h), `apns-topic`, `apns-push-type`,
  `apns-collapse-id` (≤ 64 bytes) and the payload (JSON with `aps`, ≤ 4 KB).
- FakeFCM: HTTP/2 (h2c) `POST /v1/projects/<id>/messages:send` (bearer issued by its token
  endpoint, the v1 message shape), and on another port an HTTP/1.1 `POST /token` (the
  service-account file's token_uri: a JWT-bearer grant whose RS256 assertion is checked with
  the account's public key).
- FakeWebPush: HTTP/1.1 `POST /push/<id>`; checks the VAPID `Authorization: vapid t=…, k=…`
  (ES256, `aud` = this origin, `exp` ≤ 24 h, `sub`) and `TTL`, decrypts the aes128gcm body with
  the subscription's private key and records the JSON.
Each answers success by default; `fail(token, …)` scripts the providers' error answers
(unregistered / bad token, 429 with Retry-After, 5xx) for the next request(s) to that token.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import os
import secrets
import threading
import time
import uuid
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

Answer = tuple[int, dict[str, str], bytes]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return (
        status,
        {"content-type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


class _Scripted:
    """Per-token queues of scripted answers, and everything accepted."""

    def __init__(self):
        self.lock = threading.Lock()
        self.scripts: dict[str, deque] = defaultdict(deque)
        self.received: list[dict[str, Any]] = []
        self.refused: list[tuple[int, str]] = []

    def fail(self, token: str, kind: str, *, times: int = 1, retry_after: str | None = None):
        with self.lock:
            for _ in range(times):
                self.scripts[token].append((kind, retry_after))

    def _scripted(self, token: str):
        with self.lock:
            queue = self.scripts.get(token)
            return queue.popleft() if queue else None

    def _accept(self, record: dict[str, Any]) -> None:
        with self.lock:
            self.received.append(record)

    def _refuse(self, status: int, reason: str) -> None:
        with self.lock:
            self.refused.append((status, reason))

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.refused.clear()
            self.scripts.clear()


# HTTP/2 ----------------------------------------------------------------------------------


class H2Server:
    """An asyncio HTTP/2 server (h2c prior knowledge) on its own thread."""

    def __init__(self, *, strict: bool = True):
        self.strict = strict  # False (the benchmark): h2 skips its inbound header hygiene
        self.port = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    def handle(self, headers: dict[str, str], body: bytes) -> Answer:  # pragma: no cover
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.close()

        self._thread = threading.Thread(target=run, name=type(self).__name__, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        def close():
            self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(close)
        self._thread.join(10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(
                client_side=False,
                header_encoding="utf-8",
                validate_inbound_headers=self.strict,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
            )
        )
        conn.encoder.encode = functools.partial(conn.encoder.encode, huffman=False)
        conn.initiate_connection()
        conn.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1000})
        writer.write(conn.data_to_send())
        streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        try:
            while True:
                data = await reader.read(65535)
                if not data:
                    break
                try:
                    events = conn.receive_data(data)
                except h2.exceptions.ProtocolError:
                    break
                for event in events:
                    if isinstance(event, h2.events.RequestReceived):
                        streams[event.stream_id] = (dict(event.headers), bytearray())
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id][1].extend(event.data)
                        conn.acknowledge_received_data(
                            event.flow_controlled_length, event.stream_id
                        )
                    elif isinstance(event, h2.events.StreamEnded):
                        headers, body = streams.pop(event.stream_id)
                        status, extra, payload = self.handle(headers, bytes(body))
                        response = [(":status", str(status)), *extra.items()]
                        response.append(("content-length", str(len(payload))))
                        conn.send_headers(event.stream_id, response, end_stream=not payload)
                        if payload:
                            conn.send_data(event.stream_id, payload, end_stream=True)
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        writer.write(conn.data_to_send())
                        return
                writer.write(conn.data_to_send())
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


class FakeAPNs(H2Server, _Scripted):
    """APNs provider API. `fail(token, kind)`: kind is one of "unregistered" (410),
    "bad_token" (400 BadDeviceToken), "too_many" (429), "internal" (500), "unavailable" (503),
    "expired_token" (403 ExpiredProviderToken)."""

    def __init__(
        self,
        *,
        strict: bool = True,
        topic: str = "org.wellspring.app",
        team_id: str = "TEAM123456",
        key_id: str = "KEY1234567",
    ):
        H2Server.__init__(self, strict=strict)
        _Scripted.__init__(self)
        self.topic, self.team_id, self.key_id = topic, team_id, key_id
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.key_pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.public_key = self.private_key.public_key()
        self.now = time.time
        self.provider_tokens: list[str] = []  # distinct JWTs seen, in order
        self._verified: dict[str, dict[str, Any]] = {}

    def write_key(self, path) -> str:
        with open(path, "wb") as file:
            file.write(self.key_pem)
        return str(path)

    def env(self, key_file: str) -> dict[str, str]:
        return {
            "APNS_KEY_FILE": key_file,
            "APNS_KEY_ID": self.key_id,
            "APNS_TEAM_ID": self.team_id,
            "APNS_TOPIC": self.topic,
            "APNS_ENDPOINT": self.url,
        }

    def _reason(self, status: int, reason: str, headers: dict[str, str] | None = None) -> Answer:
        self._refuse(status, reason)
        body: dict[str, Any] = {"reason": reason}
        if status == 410:
            body["timestamp"] = int(self.now() * 1000)
        return _json(status, body, headers)

    def _check_token(self, authorization: str) -> str | None:
        if not authorization.startswith("bearer "):
            return "MissingProviderToken"
        token = authorization[len("bearer ") :]
        claims = self._verified.get(token)
        if claims is None:
            try:
                header = jwt.get_unverified_header(token)
                claims = jwt.decode(
                    token,
                    self.public_key,
                    algorithms=["ES256"],
                    options={"require": ["iss", "iat"], "verify_iat": False},
                )
            except jwt.PyJWTError:
                return "InvalidProviderToken"
            if header.get("kid") != self.key_id or claims.get("iss") != self.team_id:
                return "InvalidProviderToken"
            self._verified[token] = claims
            self.provider_tokens.append(token)
        if self.now() - claims["iat"] > 3600:
            return "ExpiredProviderToken"
        return None

    def handle(self, headers: dict[str, str], body: bytes) -> Answer:
        if headers.get(":method") != "POST":
            return self._reason(405, "MethodNotAllowed")
        path = headers.get(":path", "")
        if not path.startswith("/3/device/"):
            return self._reason(404, "BadPath")
        token = path[len("/3/device/") :]
        problem = self._check_token(headers.get("authorization", ""))
        if problem:
            return self._reason(403, problem)
        if not headers.get("apns-topic"):
            return self._reason(400, "MissingTopic")
        if headers["apns-topic"] != self.topic:
            return self._reason(400, "TopicDisallowed")
        if headers.get("apns-push-type") not in ("alert", "background"):
            return self._reason(400, "InvalidPushType")
        collapse = headers.get("apns-collapse-id")
        if collapse is not None and len(collapse.encode()) > 64:
            return self._reason(400, "BadCollapseId")
        if len(body) > 4096:
            return self._reason(413, "PayloadTooLarge")
        try:
            payload = json.loads(body)
        except ValueError:
            return self._reason(400, "PayloadEmpty" if not body else "BadPayload")
        if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
            return self._reason(400, "BadPayload")
        if not token or any(c not in "0123456789abcdefABCDEF" for c in token):
            return self._reason(400, "BadDeviceToken")
        scripted = self._scripted(token)
        if scripted:
            kind, retry_after = scripted
            extra = {"retry-after": retry_after} if retry_after else {}
            status, reason = {
                "unregistered": (410, "Unregistered"),
                "bad_token": (400, "BadDeviceToken"),
                "too_many": (429, "TooManyRequests"),
                "internal": (500, "InternalServerError"),
                "unavailable": (503, "ServiceUnavailable"),
                "expired_token": (403, "ExpiredProviderToken"),
            }[kind]
            return self._reason(status, reason, extra)
        apns_id = str(uuid.uuid4()).upper()
        self._accept({"token": token, "headers": headers, "payload": payload, "apns_id": apns_id})
        return 200, {"apns-id": apns_id}, b""


# HTTP/1.1 --------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _respond(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload = self.server.app.handle(self.command, self.path, headers, body)
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_GET = do_PUT = do_DELETE = _respond


class _ThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # listen() backlog: many clients connect at once


class HTTPServer:
    """A threaded HTTP/1.1 (keep-alive) server delegating to `handle`."""

    def __init__(self):
        self._httpd: _ThreadingServer | None = None
        self.port = 0

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        raise NotImplementedError  # pragma: no cover

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._httpd = _ThreadingServer(("127.0.0.1", 0), _Handler)
        self._httpd.app = self
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _fcm_error(
    status: int, grpc: str, message: str, *, code: str | None = None, violations: list | None = None
) -> dict[str, Any]:
    details: list[dict[str, Any]] = []
    if code:
        details.append(
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}
        )
    if violations:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations}
        )
    return {"error": {"code": status, "message": message, "status": grpc, "details": details}}


class _TokenEndpoint(HTTPServer):
    """The OAuth2 token endpoint (HTTP/1.1, another host than FCM's, as Google's is)."""

    def __init__(self, fcm: FakeFCM):
        super().__init__()
        self.fcm = fcm

    def handle(self, method, path, headers, body) -> Answer:
        if method == "POST" and path == "/token":
            return self.fcm._token(body)
        return _json(404, {"error": "not_found"})


class FakeFCM(H2Server, _Scripted):
    """FCM HTTP v1 over HTTP/2, and its OAuth2 token endpoint (HTTP/1.1).

    `fail(token, kind)`: "unregistered" (404 UNREGISTERED), "bad_token" (400 INVALID_ARGUMENT on
    message.token), "sender_mismatch" (403),
    "quota" (429 QUOTA_EXCEEDED), "internal" (500), "unavailable" (503)."""

    def __init__(self, *, project_id: str = "wellspring-test", strict: bool = True):
        H2Server.__init__(self, strict=strict)
        _Scripted.__init__(self)
        self.token_endpoint = _TokenEndpoint(self)
        self.project_id = project_id
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.client_email = f"push@{project_id}.iam.gserviceaccount.com"
        self.access_tokens: dict[str, float] = {}  # token → expiry
        self.token_requests = 0
        self.token_lifetime = 3600
        self.now = time.time

    def credentials_info(self) -> dict[str, Any]:
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": "test-key-1",
            "private_key": pem,
            "client_email": self.client_email,
            "client_id": "1000000000",
            "token_uri": self.token_uri,
        }

    @property
    def token_uri(self) -> str:
        return f"{self.token_endpoint.url}/token"

    def start(self):
        self.token_endpoint.start()
        return H2Server.start(self)

    def stop(self) -> None:
        self.token_endpoint.stop()
        H2Server.stop(self)

    def write_credentials(self, path) -> str:
        with open(path, "w") as file:
            json.dump(self.credentials_info(), file)
        return str(path)

    def env(self, credentials_file: str) -> dict[str, str]:
        return {
            "FCM_CREDENTIALS_FILE": credentials_file,
            "FCM_PROJECT_ID": self.project_id,
            "FCM_ENDPOINT": self.url,
        }

    def handle(self, headers: dict[str, str], body: bytes) -> Answer:
        method, path = headers.get(":method"), headers.get(":path")
        prefix = f"/v1/projects/{self.project_id}/messages:send"
        if method != "POST" or path != prefix:
            return _json(404, _fcm_error(404, "NOT_FOUND", "no such method"))
        auth = headers.get("authorization", "")
        expiry = (
            self.access_tokens.get(auth[len("Bearer ") :]) if auth.startswith("Bearer ") else None
        )
        if expiry is None or expiry <= self.now():
            self._refuse(401, "UNAUTHENTICATED")
            return _json(401, _fcm_error(401, "UNAUTHENTICATED", "bad or expired credentials"))
        try:
            message = json.loads(body)["message"]
        except (ValueError, KeyError, TypeError):
            return self._bad("Invalid JSON payload received.", "message")
        problem = _v1_shape_problem(message)
        if problem:
            return self._bad(*problem)
        token = message["token"]
        scripted = self._scripted(token)
        if scripted:
            kind, retry_after = scripted
            extra = {"retry-after": retry_after} if retry_after else {}
            status, grpc, code, violations = {
                "unregistered": (404, "NOT_FOUND", "UNREGISTERED", None),
                "bad_token": (
                    400,
                    "INVALID_ARGUMENT",
                    "INVALID_ARGUMENT",
                    [{"field": "message.token", "description": "Invalid registration token"}],
                ),
                "sender_mismatch": (403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", None),
                "quota": (429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", None),
                "internal": (500, "INTERNAL", "INTERNAL", None),
                "unavailable": (503, "UNAVAILABLE", "UNAVAILABLE", None),
            }[kind]
            self._refuse(status, code)
            return _json(
                status, _fcm_error(status, grpc, kind, code=code, violations=violations), extra
            )
        name = f"projects/{self.project_id}/messages/{secrets.token_hex(8)}"
        self._accept({"token": token, "message": message, "name": name})
        return _json(200, {"name": name})

    def _bad(self, description: str, field: str) -> Answer:
        self._refuse(400, f"INVALID_ARGUMENT {field}")
        return _json(
            400,
            _fcm_error(
                400,
                "INVALID_ARGUMENT",
                description,
                code="INVALID_ARGUMENT",
                violations=[{"field": field, "description": description}],
            ),
        )

    def _token(self, body: bytes) -> Answer:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return _json(400, {"error": "unsupported_grant_type"})
        try:
            claims = jwt.decode(
                form.get("assertion", ""),
                self.private_key.public_key(),
                algorithms=["RS256"],
                # google-auth always names Google's token endpoint as the audience, whatever
                # token_uri it posts to; Google accepts its own, so the fake accepts both.
                audience=[self.token_uri, "https://oauth2.googleapis.com/token"],
                issuer=self.client_email,
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
        except jwt.PyJWTError as error:
            return _json(400, {"error": "invalid_grant", "error_description": str(error)})
        if "https://www.googleapis.com/auth/firebase.messaging" not in claims.get("scope", ""):
            return _json(400, {"error": "invalid_scope"})
        token = "ya29." + secrets.token_urlsafe(24)
        with self.lock:
            self.token_requests += 1
            self.access_tokens[token] = self.now() + self.token_lifetime
        return _json(
            200, {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}
        )


def _v1_shape_problem(message: Any) -> tuple[str, str] | None:
    """What FCM v1 would refuse in a message: (description, field) or None."""
    if not isinstance(message, dict):
        return "message must be an object", "message"
    allowed = {
        "name",
        "data",
        "notification",
        "android",
        "webpush",
        "apns",
        "fcm_options",
        "token",
        "topic",
        "condition",
    }
    unknown = set(message) - allowed
    if unknown:
        return f"Unknown name {sorted(unknown)[0]!r}", f"message.{sorted(unknown)[0]}"
    targets = [key for key in ("token", "topic", "condition") if key in message]
    if len(targets) != 1 or not isinstance(message.get("token"), str) or not message["token"]:
        return "exactly one target: a token", "message.token"
    data = message.get("data", {})
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        return "data values must be strings", "message.data"
    notification = message.get("notification", {})
    if not isinstance(notification, dict) or set(notification) - {"title", "body", "image"}:
        return "bad notification", "message.notification"
    if not all(isinstance(v, str) for v in notification.values()):
        return "notification fields must be strings", "message.notification"
    android = message.get("android", {})
    if not isinstance(android, dict):
        return "bad android config", "message.android"
    if "collapse_key" in android and not isinstance(android["collapse_key"], str):
        return "collapse_key must be a string", "message.android.collapse_key"
    if android.get("priority", "NORMAL") not in ("NORMAL", "HIGH"):
        return "bad priority", "message.android.priority"
    ttl = android.get("ttl", "0s")
    if not (isinstance(ttl, str) and ttl.endswith("s")):
        return "ttl must be a duration", "message.android.ttl"
    return None


class FakeWebPush(HTTPServer, _Scripted):
    """A push service: `subscribe()` makes a subscription whose keys it holds; posts to it are
    checked (VAPID, TTL, aes128gcm) and decrypted into `received`. `fail(sid, kind)`: "gone"
    (410), "not_found" (404), "too_many" (429), "internal" (500), "unavailable" (503)."""

    def __init__(self, *, vapid_public_key: str | None = None):
        HTTPServer.__init__(self)
        _Scripted.__init__(self)
        self.vapid_public_key = vapid_public_key  # b64url; when set, `k` must be it
        self.subscriptions: dict[str, tuple[ec.EllipticCurvePrivateKey, bytes]] = {}
        self.now = time.time
        self._verified: dict[str, dict[str, Any]] = {}

    def subscribe(self) -> dict[str, Any]:
        sid = secrets.token_urlsafe(12)
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self.subscriptions[sid] = (key, auth)
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.url}/push/{sid}",
            "keys": {"p256dh": b64url(public), "auth": b64url(auth)},
        }

    @staticmethod
    def sid(subscription: dict[str, Any]) -> str:
        return subscription["endpoint"].rsplit("/", 1)[1]

    def _refused(self, status: int, reason: str) -> Answer:
        self._refuse(status, reason)
        return _json(status, {"reason": reason})

    def _check_vapid(self, authorization: str) -> str | None:
        if not authorization.lower().startswith("vapid "):
            return "no vapid authorization"
        params = dict(
            part.strip().split("=", 1) for part in authorization[6:].split(",") if "=" in part
        )
        token, key = params.get("t"), params.get("k")
        if not token or not key:
            return "t and k are required"
        if self.vapid_public_key and key != self.vapid_public_key:
            return "unknown application server key"
        claims = self._verified.get(token)
        if claims is None:
            try:
                public = ec.EllipticCurvePublicKey.from_encoded_point(
                    ec.SECP256R1(), b64url_decode(key)
                )
                claims = jwt.decode(
                    token,
                    public,
                    algorithms=["ES256"],
                    audience=self.url,
                    options={"require": ["aud", "exp", "sub"]},
                )
            except (jwt.PyJWTError, ValueError) as error:
                return f"bad vapid token: {error}"
            if not str(claims["sub"]).startswith(("mailto:", "https:")):
                return "sub must be mailto: or https:"
            self._verified[token] = claims
        if not self.now() < claims["exp"] <= self.now() + 24 * 3600:
            return "exp must be within 24 h"
        return None

    def handle(self, method, path, headers, body) -> Answer:
        if method != "POST" or not path.startswith("/push/"):
            return self._refused(404, "no such subscription")
        sid = path[len("/push/") :]
        problem = self._check_vapid(headers.get("authorization", ""))
        if problem:
            return self._refused(401 if "token" in problem else 403, problem)
        if not (headers.get("ttl") or "").isdigit():
            return self._refused(400, "TTL header required")
        topic = headers.get("topic")
        if topic is not None and (len(topic) > 32 or any(c not in _URL_SAFE for c in topic)):
            return self._refused(400, "bad Topic")
        scripted = self._scripted(sid)
        if scripted:
            kind, retry_after = scripted
            status = {
                "gone": 410,
                "not_found": 404,
                "too_many": 429,
                "internal": 500,
                "unavailable": 503,
            }[kind]
            self._refuse(status, kind)
            return status, ({"retry-after": retry_after} if retry_after else {}), b""
        if sid not in self.subscriptions:
            return self._refused(410, "unsubscribed")
        if headers.get("content-encoding") != "aes128gcm":
            return self._refused(415, "content-encoding must be aes128gcm")
        key, auth = self.subscriptions[sid]
        try:
            plain = http_ece.decrypt(body, private_key=key, auth_secret=auth, version="aes128gcm")
            payload = json.loads(plain)
        except Exception as error:
            return self._refused(400, f"cannot decrypt: {type(error).__name__}")
        self._accept({"sid": sid, "headers": headers, "payload": payload})
        return 201, {"location": f"{self.url}/message/{secrets.token_hex(6)}"}, b""


_URL_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def vapid_key_pair(path) -> str:
    """Write a P-256 VAPID private key (PEM) to `path`; answer its public key (b64url)."""
    key = ec.generate_private_key(ec.SECP256R1())
    with open(path, "wb") as file:
        file.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
