"""The pure parts of proxy location and path handling, table-driven against upstream's behaviour."""
from __future__ import annotations

import pytest

from apiserver.endpoints.proxy import forwarded_request_headers, proxied_path, rewrite_location
from apiserver.endpoints.proxy_location import Location, is_proxyable, parse_ip, split_scheme_name_port

PREFIX = "/api/v1/namespaces/ns/pods/web/proxy"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("web", ("", "web", "")),
        ("web:8080", ("", "web", "8080")),
        ("web:http", ("", "web", "http")),
        ("https:web:443", ("https", "web", "443")),
        ("http:web:", ("http", "web", "")),
        ("ftp:web:21", None),
        (":8080", None),
        ("a:b:c:d", None),
    ],
)
def test_split_scheme_name_port(value: str, expected: tuple[str, str, str] | None) -> None:
    assert split_scheme_name_port(value) == expected


@pytest.mark.parametrize(
    ("address", "allow_loopback", "proxyable"),
    [
        ("10.1.2.3", False, True),
        ("192.0.2.2", False, True),
        ("2001:db8::1", False, True),
        ("010.001.002.003", False, True),
        ("127.0.0.1", False, False),
        ("127.0.0.1", True, True),
        ("::1", False, False),
        ("::1", True, True),
        ("::ffff:127.0.0.1", False, False),
        ("169.254.169.254", False, False),
        ("169.254.169.254", True, False),
        ("fe80::1", True, False),
        ("0.0.0.0", True, False),
        ("::", False, False),
        ("224.0.0.1", False, False),
        ("ff02::1", False, False),
        ("255.255.255.255", False, False),
        ("", False, False),
        ("not-an-ip", False, False),
    ],
)
def test_proxyable_addresses_are_gos_global_unicast(address: str, allow_loopback: bool, proxyable: bool) -> None:
    assert is_proxyable(parse_ip(address), allow_loopback=allow_loopback) is proxyable


@pytest.mark.parametrize(
    ("subpath", "trailing_slash", "expected"),
    [
        ("", False, ""),
        ("", True, "/"),
        ("a/b", False, "/a/b"),
        ("a/b", True, "/a/b/"),
        ("a/../b", False, "/b"),
        ("../../etc/passwd", False, "/etc/passwd"),
        ("a//b/./c", False, "/a/b/c"),
        ("/a", False, "/a"),
        ("..", True, "/"),
    ],
)
def test_proxied_path_keeps_the_trailing_slash(subpath: str, trailing_slash: bool, expected: str) -> None:
    assert proxied_path(subpath, trailing_slash) == expected


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/login", f"{PREFIX}/login"),
        ("/login/", f"{PREFIX}/login/"),
        ("/login?next=/x#top", f"{PREFIX}/login?next=/x#top"),
        ("http://10.0.0.5:8080/ui/", f"{PREFIX}/ui/"),
        ("https://api.example:6443/other", "https://api.example:6443" + PREFIX + "/other"),
        (f"{PREFIX}/already", f"{PREFIX}/already"),
        ("relative/page", "relative/page"),
        ("https://example.com/x", "https://example.com/x"),
    ],
    ids=["absolute-path", "trailing-slash", "query-and-fragment", "backend-host", "request-host", "already-prefixed",
         "relative", "other-host"],
)
def test_location_rewriting(location: str, expected: str) -> None:
    assert rewrite_location(location, "10.0.0.5:8080", "api.example:6443", PREFIX) == expected


def test_location_urls() -> None:
    assert Location("", "10.0.0.5", "80").url("/a%20b", "x=1") == "http://10.0.0.5:80/a%20b?x=1"
    assert Location("https", "fd00::5", "").url("", "") == "https://[fd00::5]"


def test_credentials_are_not_forwarded() -> None:
    headers = [(b"Authorization", b"Bearer x"), (b"Impersonate-User", b"bob"), (b"Impersonate-Extra-a", b"1"),
               (b"X-Forwarded-Uri", b"/spoofed"), (b"Accept", b"*/*")]
    assert forwarded_request_headers(headers, PREFIX, "/a") == [
        (b"Accept", b"*/*"), (b"x-forwarded-uri", f"{PREFIX}/a".encode()),
    ]
