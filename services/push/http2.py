"""A small HTTP/2 client for the push providers: one connection per origin, many streams.

APNs and FCM are HTTP/2 services that expect a sender to keep one connection open and to
multiplex requests over it. httpx speaks HTTP/2 too, but its connection pool spends about
2 ms of CPU per request under hundreds of concurrent streams (measured: bench/push_bench.py),
which alone caps a worker below the 1,000 pushes/s it must reach; this client drives the
same `h2` state machine httpx uses, directly: a stream costs a header block and a response.

- TLS with ALPN `h2` for https origins (the system's trust store, or `ssl_context`); prior
  knowledge (h2c) for http origins (the local test servers).
- Concurrent streams are bounded by the server's SETTINGS_MAX_CONCURRENT_STREAMS (and
  `max_streams`); request bodies respect the connection's and the stream's flow-control windows.
- A lost connection fails its open streams with ConnectionError and the next request opens a
  new one; after GOAWAY new requests go to a new connection. Timeouts reset the stream.
- Headers are HPACK-encoded without Huffman coding (allowed by RFC 7541, and cheaper here);
  `authorization` stays never-indexed, as h2 makes it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def status_code(self) -> int:
        return self.status

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


@dataclass
class _Stream:
    future: asyncio.Future
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)


class _Connection:
    def __init__(self, reader, writer, max_streams: int):
        self.reader, self.writer = reader, writer
        self.conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(
                client_side=True,
                header_encoding="utf-8",
                # Our own headers are well-formed; a provider's answer is read, not relayed.
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
                validate_inbound_headers=False,
            )
        )
        self.conn.encoder.encode = functools.partial(self.conn.encoder.encode, huffman=False)
        self.conn.initiate_connection()
        self.conn.update_settings({h2.settings.SettingCodes.ENABLE_PUSH: 0})
        self.writer.write(self.conn.data_to_send())
        self._flush_scheduled = False
        self.streams: dict[int, _Stream] = {}
        self.max_streams = max_streams
        self.slots = asyncio.Condition()
        self.window = asyncio.Event()
        self.closed = False
        self.error: Exception | None = None
        self.task = asyncio.get_running_loop().create_task(self._read_loop())

    @property
    def capacity(self) -> int:
        return min(self.max_streams, self.conn.remote_settings.max_concurrent_streams)

    def _flush(self) -> None:
        """Write what h2 has queued, once per event-loop turn: the streams started in one turn
        leave in one system call."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._write)

    def _write(self) -> None:
        self._flush_scheduled = False
        data = self.conn.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    async def request(self, method, path, authority, scheme, headers, body, timeout) -> Response:
        async with self.slots:
            await self.slots.wait_for(lambda: self.closed or len(self.streams) < self.capacity)
            if self.closed:
                raise ConnectionError("connection closed")
            stream_id = self.conn.get_next_available_stream_id()
            stream = _Stream(asyncio.get_running_loop().create_future())
            self.streams[stream_id] = stream
        try:
            self.conn.send_headers(
                stream_id,
                [
                    (":method", method),
                    (":scheme", scheme),
                    (":authority", authority),
                    (":path", path),
                    *headers,
                ],
                end_stream=not body,
            )
            self._flush()
            if body:
                await self._send_body(stream_id, body)
            return await asyncio.wait_for(asyncio.shield(stream.future), timeout)
        except TimeoutError:
            if not self.closed and stream_id in self.streams:
                try:
                    self.conn.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
                    self._flush()
                except h2.exceptions.H2Error:
                    pass
            raise
        finally:
            self.streams.pop(stream_id, None)
            async with self.slots:
                self.slots.notify()

    async def _send_body(self, stream_id: int, body: bytes) -> None:
        view = memoryview(body)
        while view:
            if self.closed:
                raise ConnectionError("connection closed")
            window = self.conn.local_flow_control_window(stream_id)
            size = min(window, self.conn.max_outbound_frame_size, len(view))
            if size <= 0:
                self.window.clear()
                await self.window.wait()
                continue
            self.conn.send_data(stream_id, bytes(view[:size]), end_stream=size == len(view))
            view = view[size:]
            self._flush()

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError("the server closed the connection")
                for event in self.conn.receive_data(data):
                    self._handle(event)
                self._flush()
        except Exception as error:  # connection lost or protocol error: fail what is open
            self._close(error if isinstance(error, ConnectionError) else ConnectionError(error))

    def _handle(self, event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.headers = dict(event.headers)
                stream.status = int(stream.headers.get(":status", 0))
        elif isinstance(event, h2.events.DataReceived):
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.body.extend(event.data)
        elif isinstance(event, h2.events.StreamEnded):
            stream = self.streams.get(event.stream_id)
            if stream is not None and not stream.future.done():
                stream.future.set_result(
                    Response(stream.status, stream.headers, bytes(stream.body))
                )
        elif isinstance(event, h2.events.StreamReset):
            stream = self.streams.get(event.stream_id)
            if stream is not None and not stream.future.done():
                stream.future.set_exception(ConnectionError(f"stream reset: {event.error_code}"))
        elif isinstance(event, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
            self.window.set()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self._close(ConnectionError(f"GOAWAY {event.error_code}"))

    def _close(self, error: Exception) -> None:
        if self.closed:
            return
        self.closed, self.error = True, error
        for stream in self.streams.values():
            if not stream.future.done():
                stream.future.set_exception(error)
        self.window.set()
        self.writer.close()

        async def wake():
            async with self.slots:
                self.slots.notify_all()

        asyncio.get_running_loop().create_task(wake())

    async def aclose(self) -> None:
        if not self.closed:
            try:
                self.conn.close_connection()
                self._flush()
            except h2.exceptions.H2Error:
                pass
            self._close(ConnectionError("closed by the client"))
        self.task.cancel()


class H2Client:
    """`await client.post(url, headers, body)` over one HTTP/2 connection per origin."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        max_streams: int = 500,
        ssl_context: ssl.SSLContext | None = None,
    ):
        self.timeout, self.max_streams = timeout, max_streams
        self.ssl_context = ssl_context
        self._connections: dict[tuple[str, str, int], _Connection] = {}
        self._connecting: dict[tuple[str, str, int], asyncio.Lock] = {}
        self.connections_opened = 0

    async def _connection(self, scheme: str, host: str, port: int) -> _Connection:
        key = (scheme, host, port)
        current = self._connections.get(key)
        if current is not None and not current.closed:
            return current
        lock = self._connecting.setdefault(key, asyncio.Lock())
        async with lock:
            current = self._connections.get(key)
            if current is not None and not current.closed:
                return current
            context = None
            if scheme == "https":
                context = self.ssl_context or ssl.create_default_context()
                context.set_alpn_protocols(["h2"])
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=context, limit=2**20), self.timeout
            )
            if context is not None:
                chosen = writer.get_extra_info("ssl_object").selected_alpn_protocol()
                if chosen != "h2":
                    writer.close()
                    raise ConnectionError(f"{host} did not agree to HTTP/2 (ALPN {chosen!r})")
            connection = _Connection(reader, writer, self.max_streams)
            self._connections[key] = connection
            self.connections_opened += 1
            return connection

    async def post(self, url: str, headers: list[tuple[str, str]], body: bytes) -> Response:
        parts = urlsplit(url)
        scheme = parts.scheme
        port = parts.port or (443 if scheme == "https" else 80)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection = await self._connection(scheme, parts.hostname, port)
        authority = parts.netloc
        return await connection.request(
            "POST", path, authority, scheme, headers, body, self.timeout
        )

    async def aclose(self) -> None:
        for connection in list(self._connections.values()):
            await connection.aclose()
        self._connections.clear()
