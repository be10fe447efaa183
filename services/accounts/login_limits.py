"""Failed-login limits, counted before the password is checked.

Counters and a gate, kept in the rate-limit storage (`limits`: memory for one process,
Redis for several), keyed by a digest of the email (no address ever lands in a key or a log):

- per (account, address): every attempt is counted *before* the password is checked, by one
  atomic increment; the sixth within 15 minutes is refused (429) without checking, so 40
  parallel guesses check at most 5. A successful login clears that pair's count.
- per account, across addresses: failures are counted; past `slowdown_after` of them in the
  window, the account accepts one attempt per `delay` seconds, where the delay doubles with each
  further failure up to `max_delay_s` (one minute): it slows guessing, it never locks the owner
  out for a quarter of an hour. An address the account logged in from before (within 30 days)
  and with no failures of its own passes the gate, so the owner's usual phone or office is not
  slowed by someone else's guessing; a new address waits at most `max_delay_s`.

- per address, across accounts: at most 50 failures in 15 minutes (failures only: a venue's
  Wi-Fi is one address for hundreds of people).

The gate is also one atomic increment (the first attempt in a delay window gets through, the
others are told when to come back).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from limits.storage import Storage

from services.core.errors import TooManyFailedLogins

KNOWN_ADDRESS_S = 30 * 24 * 3600


@dataclass(frozen=True)
class LoginLimitPolicy:
    per_account_address: int = 5
    window_s: int = 15 * 60
    # Failures from one address across all accounts (a coarse bound against one machine trying
    # many accounts; failures only, since a venue's Wi-Fi is one address for hundreds).
    failures_per_address: int = 50
    slowdown_after: int = 10
    max_delay_s: int = 60

    def delay_s(self, failures: int) -> int:
        """Seconds between attempts on an account with `failures` recent failures (0: no gate)."""
        if failures < self.slowdown_after:
            return 0
        return min(2 ** (failures - self.slowdown_after), self.max_delay_s)


@dataclass(frozen=True)
class Attempt:
    account: str
    address: str

    @property
    def pair_key(self) -> str:
        return f"wellspring:login:pair:{self.account}:{self.address}"

    @property
    def failures_key(self) -> str:
        return f"wellspring:login:failures:{self.account}"

    @property
    def address_key(self) -> str:
        return f"wellspring:login:address-failures:{self.address}"

    @property
    def gate_key(self) -> str:
        return f"wellspring:login:gate:{self.account}"

    @property
    def known_key(self) -> str:
        return f"wellspring:login:known:{self.account}:{self.address}"


def account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class LoginLimiter:
    def __init__(self, storage: Storage, policy: LoginLimitPolicy | None = None) -> None:
        self.storage = storage
        self.policy = policy or LoginLimitPolicy()

    def _retry_after(self, key: str) -> int:
        return max(1, math.ceil(self.storage.get_expiry(key) - time.time()))

    def before_attempt(self, email: str, address: str) -> Attempt:
        """Count this attempt; TooManyFailedLogins (with retry_after) when it must not be tried."""
        attempt = Attempt(account_key(email), address)
        policy = self.policy
        if int(self.storage.get(attempt.address_key) or 0) >= policy.failures_per_address:
            raise TooManyFailedLogins(retry_after=self._retry_after(attempt.address_key))
        tried = self.storage.incr(attempt.pair_key, policy.window_s)
        if tried > policy.per_account_address:
            raise TooManyFailedLogins(retry_after=self._retry_after(attempt.pair_key))
        delay = policy.delay_s(int(self.storage.get(attempt.failures_key) or 0))
        gated = delay and not (tried == 1 and self.storage.get(attempt.known_key))
        if gated and self.storage.incr(attempt.gate_key, delay) > 1:
            self.storage.decr(attempt.pair_key)  # not tried: it does not count
            raise TooManyFailedLogins(
                "Too many failed logins on this account; slowing down",
                retry_after=self._retry_after(attempt.gate_key),
            )
        return attempt

    def failed(self, attempt: Attempt) -> None:
        self.storage.incr(attempt.failures_key, self.policy.window_s)
        self.storage.incr(attempt.address_key, self.policy.window_s)

    def succeeded(self, attempt: Attempt) -> None:
        self.storage.clear(attempt.pair_key)
        self.storage.clear(attempt.known_key)
        self.storage.incr(attempt.known_key, KNOWN_ADDRESS_S)
