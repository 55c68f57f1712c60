"""Link rewriting in proxied HTML, as upstream's proxy transport rewrites pages."""
from __future__ import annotations

import gzip
import zlib

import pytest

from apiserver.endpoints.proxy import rewrite_location
from apiserver.endpoints.proxy_html import html_body_rewriter

PREFIX = "/api/v1/namespaces/ns/services/web:80/proxy"
HTML = [(b"content-type", b"text/html; charset=utf-8")]


def _rewrite_url(url: str) -> str:
    return rewrite_location(url, "10.0.0.5:80", "api.example:6443", PREFIX)


def _rewrite(body: str, headers: list[tuple[bytes, bytes]] = HTML) -> str:
    rewriter = html_body_rewriter(headers, _rewrite_url)
    assert rewriter is not None
    return rewriter(body.encode()).decode()


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ('<a href="/docs/">d</a>', f'<a href="{PREFIX}/docs/">d</a>'),
        ("<IMG SRC=/logo.png alt='x'>", f'<img src="{PREFIX}/logo.png" alt="x">'),
        ('<form action="http://10.0.0.5:80/submit" method=post>', f'<form action="{PREFIX}/submit" method="post">'),
        ('<link href="style.css" rel="stylesheet" />', '<link href="style.css" rel="stylesheet"/>'),
        ('<a href="https://other.example/x">', '<a href="https://other.example/x">'),
        ('<p title="a&amp;b \'q\'">text &amp; more</p>', '<p title="a&amp;b &#39;q&#39;">text &amp; more</p>'),
        ("<input disabled src=/i.png>", f'<input disabled="" src="{PREFIX}/i.png">'),
        ('<script>var a = "<a href=/x>";</script>', '<script>var a = "<a href=/x>";</script>'),
        ('<!-- <a href="/c"> --><br>', '<!-- <a href="/c"> --><br>'),
        ('<video poster="/p.jpg" src="/v.mp4">', f'<video poster="{PREFIX}/p.jpg" src="{PREFIX}/v.mp4">'),
    ],
    ids=["anchor", "upper-case-unquoted", "form-to-backend-host", "relative-untouched", "other-host", "escaping",
         "valueless-attribute", "script-content", "comment", "two-attributes"],
)
def test_url_attributes_of_start_tags_are_rewritten(page: str, expected: str) -> None:
    assert _rewrite(page) == expected


def test_gzip_and_deflate_bodies_are_decoded_and_encoded_again() -> None:
    page = b'<a href="/x">x</a>'
    gzipped = html_body_rewriter([*HTML, (b"content-encoding", b"gzip")], _rewrite_url)
    assert gzipped is not None
    assert gzip.decompress(gzipped(gzip.compress(page))) == f'<a href="{PREFIX}/x">x</a>'.encode()
    deflated = html_body_rewriter([*HTML, (b"content-encoding", b"deflate")], _rewrite_url)
    assert deflated is not None
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = compressor.compress(page) + compressor.flush()
    assert zlib.decompress(deflated(raw), -zlib.MAX_WBITS) == f'<a href="{PREFIX}/x">x</a>'.encode()


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-type", b"application/json")],
        [*HTML, (b"location", b"/elsewhere")],
        [*HTML, (b"content-encoding", b"br")],
    ],
    ids=["not-html", "redirect", "unknown-encoding"],
)
def test_other_bodies_are_streamed_untouched(headers: list[tuple[bytes, bytes]]) -> None:
    assert html_body_rewriter(headers, _rewrite_url) is None
