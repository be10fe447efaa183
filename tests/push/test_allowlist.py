"""The Web Push endpoint allowlist: parsed scheme, host and port, never string prefixes."""

from __future__ import annotations

import pytest

from services.push.allowlist import Allowlist, EndpointRefused

DEFAULT = Allowlist.parse(None)
LOCAL = Allowlist.parse("http://127.0.0.1:8099/push/, https://push.example.com/")


@pytest.mark.parametrize(
    "url",
    [
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
        "https://web.push.apple.com/QGx",
        "https://wns2-par02p.notify.windows.com/w/?token=BQY",
        "https://FCM.googleapis.com:443/fcm/send/x",  # case and an explicit default port
        "https://fcm.googleapis.com./fcm/send/x",  # a trailing dot names the same host
    ],
)
def test_default_allows_the_public_browser_push_services(url):
    assert DEFAULT.allows(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://fcm.googleapis.com/fcm/send/x",  # http where https is listed
        "https://fcm.googleapis.com:8443/x",  # another port
        "https://fcm.googleapis.com@evil.example/x",  # userinfo: the host is evil.example
        "https://user:pw@fcm.googleapis.com/x",  # userinfo at all
        "https://evil.example/@fcm.googleapis.com/",
        "https://evil.example#@fcm.googleapis.com/",
        "https://evil.example\\@fcm.googleapis.com/",
        "https://fcm.googleapis.com.evil.example/x",  # a longer host
        "https://evilfcm.googleapis.com/x",  # not a subdomain of a listed (non-wildcard) host
        "https://notify.windows.com/x",  # the wildcard's own domain is not a subdomain
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://10.0.0.8/x",
        "https://169.254.169.254/latest/meta-data",
        "https://2130706433/x",  # 127.0.0.1 as a number
        "https://0x7f.1/x",
        "https://fcm.googleapis.com/fcm/../../admin",
        "https://fcm.googleapis.com/fcm/%2e%2e/admin",
        "https://fcm.googleapis.com/ x",
        "file:///etc/passwd",
        "gopher://fcm.googleapis.com/",
        "https://fcm.googleäpis.com/x",
        "https:///x",
        "https://[fe80::1%25eth0]/x",
        "",
        "https://fcm.googleapis.com:99999/x",
    ],
)
def test_default_refuses_everything_else(url):
    with pytest.raises(EndpointRefused):
        DEFAULT.check(url)


def test_a_loopback_address_passes_only_where_an_entry_names_it():
    assert LOCAL.allows("http://127.0.0.1:8099/push/abc")
    assert not LOCAL.allows("http://127.0.0.1:8098/push/abc")  # another port
    assert not LOCAL.allows("http://127.0.0.1:8099/admin")  # outside the entry's path
    assert not LOCAL.allows("http://localhost:8099/push/abc")  # a name is not the address
    assert not LOCAL.allows("http://127.0.0.2:8099/push/abc")
    assert LOCAL.allows("https://push.example.com/anything")
    assert not LOCAL.allows("https://fcm.googleapis.com/fcm/send/x")  # the defaults are replaced


def test_a_wildcard_never_admits_an_address():
    wild = Allowlist.parse("https://*.example.com/")
    assert wild.allows("https://a.b.example.com/x")
    assert not wild.allows("https://example.com/x")
    assert not wild.allows("https://10.0.0.1/x")


@pytest.mark.parametrize(
    "spec",
    ["https://*/", "ftp://push.example.com/", "https://u@push.example.com/", "https://*.com/"],
)
def test_bad_entries_are_refused_at_start(spec):
    with pytest.raises(ValueError):
        Allowlist.parse(spec)
