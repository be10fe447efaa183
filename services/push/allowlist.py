"""Which Web Push endpoints may be registered (and later posted to): an SSRF guard.

A Web Push endpoint is a URL the client hands us, and the worker POSTs to it. So it is accepted
only when its *parsed* scheme, host and port equal those of an entry of the allowlist
(``WEBPUSH_ENDPOINT_ALLOWLIST``, comma-separated URL prefixes) and its path starts with the
entry's path. The string is never compared as text, so ``https://fcm.googleapis.com@evil/``
(userinfo), ``https://fcm.googleapis.com.evil/`` (a longer host) or ``https://evil/#@fcm…`` do
not pass. A URL with userinfo, a fragment, a backslash, whitespace or control characters, a
non-ASCII host or a ``.``/``..`` path segment is refused outright. An entry may start its host
with ``*.`` to allow every subdomain of a public push service (e.g. ``*.notify.windows.com``);
an IP-literal host that is private, loopback, link-local or otherwise not global is accepted
only when an entry names that very address (never through a wildcard). The worker does not
follow redirects, so an allowed endpoint cannot bounce a request elsewhere.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

# The push services of the browsers people use (Chrome/Chromium and Edge's FCM, Firefox,
# Safari, and the Windows Notification Service behind older Edge), https only.
DEFAULT_ALLOWLIST = (
    "https://fcm.googleapis.com/",
    "https://android.googleapis.com/",
    "https://updates.push.services.mozilla.com/",
    "https://web.push.apple.com/",
    "https://*.notify.windows.com/",
)

_DEFAULT_PORTS = {"https": 443, "http": 80}
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f\\]")
_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
MAX_ENDPOINT_LENGTH = 2000


class EndpointRefused(ValueError):
    """The URL is malformed or matches no allowlist entry (the message says which)."""


@dataclass(frozen=True)
class ParsedURL:
    scheme: str
    host: str  # lower-case name, or the compressed IP address (IPv6 without brackets)
    port: int
    path: str
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if self.ip is not None and self.ip.version == 6 else self.host
        default = _DEFAULT_PORTS[self.scheme] == self.port
        return f"{self.scheme}://{host}" + ("" if default else f":{self.port}")


def parse_url(url: str, *, wildcard: bool = False) -> ParsedURL:
    """Parse an http(s) URL strictly; raise EndpointRefused for anything ambiguous."""
    if not isinstance(url, str) or not url or len(url) > MAX_ENDPOINT_LENGTH:
        raise EndpointRefused("not a URL of acceptable length")
    if _FORBIDDEN.search(url):
        raise EndpointRefused("whitespace, control characters or backslashes")
    try:
        url.encode("ascii")
    except UnicodeEncodeError:
        raise EndpointRefused("non-ASCII characters (percent-encode them)") from None
    try:
        parts = urlsplit(url)
    except ValueError:
        raise EndpointRefused("unparsable URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise EndpointRefused("scheme must be https or http")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise EndpointRefused("userinfo is not allowed")
    if parts.fragment or url.endswith("#"):
        raise EndpointRefused("a fragment is not allowed")
    try:
        port = parts.port
    except ValueError:
        raise EndpointRefused("bad port") from None
    raw_host = parts.hostname
    if not raw_host:
        raise EndpointRefused("no host")
    ip = _ip_literal(parts.netloc, raw_host)
    if ip is not None:
        host = ip.compressed
    else:
        host = raw_host.rstrip(".").lower() if raw_host.endswith(".") else raw_host.lower()
        labels = host.split(".")
        if wildcard and labels[0] == "*":
            labels = labels[1:]
            if len(labels) < 2:
                raise EndpointRefused("a wildcard needs a domain of two labels or more")
        if not labels or not all(_HOST_LABEL.match(label) for label in labels):
            raise EndpointRefused("bad host name")
        if labels[-1].isdigit():
            # 2130706433, 0x7f.1, 127.1: spellings of addresses that are not plain names.
            raise EndpointRefused("numeric host that is not a plain IP address")
    path = parts.path or "/"
    for segment in path.split("/"):
        if unquote(segment) in (".", ".."):
            raise EndpointRefused("dot segments in the path")
    return ParsedURL(scheme, host, port or _DEFAULT_PORTS[scheme], path, ip)


def _ip_literal(netloc: str, host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if netloc.startswith("["):
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            raise EndpointRefused("bad IPv6 literal") from None
        if address.scope_id:
            raise EndpointRefused("scoped IPv6 addresses are not allowed")
        return address
    try:
        return ipaddress.IPv4Address(host)
    except ValueError:
        return None


@dataclass(frozen=True)
class Entry:
    scheme: str
    host: str  # without the "*." of a wildcard
    wildcard: bool
    port: int
    path: str
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None

    def matches(self, url: ParsedURL) -> bool:
        if (url.scheme, url.port) != (self.scheme, self.port):
            return False
        if self.wildcard:
            if url.ip is not None or not url.host.endswith("." + self.host):
                return False
        elif url.host != self.host:
            return False
        return url.path.startswith(self.path)


class Allowlist:
    """Parsed entries; `check(url)` answers the parsed URL or raises EndpointRefused."""

    def __init__(self, entries: list[Entry]):
        self.entries = entries

    @classmethod
    def parse(cls, spec: str | None) -> Allowlist:
        """Entries from the comma-separated setting; None or blank → the public defaults."""
        raw = [item.strip() for item in (spec or "").split(",") if item.strip()]
        entries = []
        for item in raw or DEFAULT_ALLOWLIST:
            try:
                parsed = parse_url(item, wildcard=True)
            except EndpointRefused as error:
                raise ValueError(f"WEBPUSH_ENDPOINT_ALLOWLIST entry {item!r}: {error}") from None
            wildcard = urlsplit(item).hostname.startswith("*.")
            host = parsed.host[2:] if wildcard else parsed.host
            entries.append(
                Entry(parsed.scheme, host, wildcard, parsed.port, parsed.path, parsed.ip)
            )
        return cls(entries)

    def check(self, url: str) -> ParsedURL:
        parsed = parse_url(url)
        if parsed.ip is not None and not parsed.ip.is_global:
            # Private, loopback, link-local, reserved …: only where an entry names it exactly.
            named = any(
                e.ip == parsed.ip and not e.wildcard and e.matches(parsed) for e in self.entries
            )
            if not named:
                raise EndpointRefused("a private or loopback address no entry names")
            return parsed
        if not any(entry.matches(parsed) for entry in self.entries):
            raise EndpointRefused("the endpoint's scheme, host and port match no allowed entry")
        return parsed

    def allows(self, url: str) -> bool:
        try:
            self.check(url)
        except EndpointRefused:
            return False
        return True
