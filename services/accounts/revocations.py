"""The set of revoked sign-ins that every process sees, checked on every authenticated request.

A revoked session id stays in the set until no access token naming it can still be valid
(the access-token lifetime after its revocation); the database row stays revoked for good,
so a refresh is refused there. Three stores:

- `FileRevocations` (default; `instance/revoked-sessions`): an append-only file of
  `<session id hex> <expiry epoch>` lines. Each process keeps the ids in memory and, per check,
  stats the file (about a microsecond): when it grew, it reads the new lines. Appends and the
  occasional compaction hold an flock. Every process on one machine sees a revocation as soon
  as the revoking request wrote it, before its answer. SQLite deployments are one machine by
  nature; `make serve` on PostgreSQL is too.
- `RedisRevocations` (`TOKEN_REVOCATION_URL=redis://…`): one key per revoked session with a TTL;
  a check is one EXISTS. For processes on several machines.
- `MemoryRevocations`: one process (tests).

A revocation is published *before* the transaction that marks the session row revoked commits:
if that commit then fails, the sign-in is lost (its next refresh sees the id here and is refused),
never the other way round, so a revoked sign-in cannot keep working.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

COMPACT_OVER_BYTES = 1 << 20


class RevocationSet(Protocol):
    def revoke(self, session_ids: Iterable[uuid.UUID], ttl_seconds: int) -> None:
        """Refuse tokens naming these sessions for at least `ttl_seconds` (machine time)."""

    def is_revoked(self, session_id: uuid.UUID) -> bool: ...


class MemoryRevocations:
    def __init__(self) -> None:
        self._ids: dict[uuid.UUID, float] = {}

    def revoke(self, session_ids: Iterable[uuid.UUID], ttl_seconds: int) -> None:
        for session_id in session_ids:
            self._ids[session_id] = time.time() + ttl_seconds

    def is_revoked(self, session_id: uuid.UUID) -> bool:
        return session_id in self._ids


class FileRevocations:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch(exist_ok=True)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._mutex = threading.Lock()
        self._ids: dict[uuid.UUID, float] = {}
        self._inode = -1
        self._offset = 0

    def _refresh(self) -> None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return
        if stat.st_ino == self._inode and stat.st_size == self._offset:
            return
        with self._mutex:
            if stat.st_ino != self._inode:
                self._ids, self._inode, self._offset = {}, stat.st_ino, 0
            with open(self.path, "rb") as file:
                file.seek(self._offset)
                chunk = file.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]  # a line being written waits
            for line in complete.splitlines():
                self._parse(line)
            self._offset += len(complete)

    def _parse(self, line: bytes) -> None:
        try:
            hex_id, expiry = line.split()
            self._ids[uuid.UUID(hex_id.decode())] = float(expiry)
        except ValueError:
            pass  # a torn line from a crash: skip it

    def revoke(self, session_ids: Iterable[uuid.UUID], ttl_seconds: int) -> None:
        expires_at = int(time.time()) + ttl_seconds + 1
        lines = "".join(f"{sid.hex} {expires_at}\n" for sid in session_ids)
        if not lines:
            return
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._compact_if_large()
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, lines.encode())
                finally:
                    os.close(fd)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        self._refresh()

    def _compact_if_large(self) -> None:
        """Holding the flock: rewrite the file without expired entries (a new inode, so
        every process reloads it whole)."""
        if os.path.getsize(self.path) < COMPACT_OVER_BYTES:
            return
        self._refresh()
        now = time.time()
        with self._mutex:
            live = {sid: exp for sid, exp in self._ids.items() if exp > now}
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(f"{sid.hex} {int(exp)}\n" for sid, exp in live.items()))
        os.replace(tmp, self.path)

    def is_revoked(self, session_id: uuid.UUID) -> bool:
        self._refresh()
        return session_id in self._ids


class RedisRevocations:
    PREFIX = "wellspring:revoked-session:"

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)

    def revoke(self, session_ids: Iterable[uuid.UUID], ttl_seconds: int) -> None:
        ttl = max(1, ttl_seconds + 1)
        with self._redis.pipeline() as pipe:
            for sid in session_ids:
                pipe.set(self.PREFIX + sid.hex, b"1", ex=ttl)
            pipe.execute()

    def is_revoked(self, session_id: uuid.UUID) -> bool:
        return bool(self._redis.exists(self.PREFIX + session_id.hex))


def revocation_set(url: str, default_path: Path) -> RevocationSet:
    """`memory://`, `redis://…`/`rediss://…`, `file:///path`, or empty for the default file."""
    if url.startswith("memory://"):
        return MemoryRevocations()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisRevocations(url)
    if url.startswith("file://"):
        return FileRevocations(url.removeprefix("file://"))
    return FileRevocations(Path(url) if url else default_path)
