"""Rewriting the links of proxied HTML pages, as upstream's proxy transport does (util/proxy/transport.go).

A `text/html` answer without a `Location` header is read whole (gunzipped or inflated when so encoded, left
alone under any other encoding), and the URL attributes of its start tags (`a href`, `img src`, `form action`
…) are passed through the same rewriting as `Location`, so links to the backend's own paths keep going through
the proxy. As upstream's tokenizer, every start tag is written back normalised (lower-case names, double-quoted
values with `&'<>"` and CR escaped) and everything else byte for byte. The content is assumed to be UTF-8.
"""
from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Sequence
from html.parser import HTMLParser

# transport.go atomsToAttrs: the attributes holding URLs, per element.
URL_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href"}), "applet": frozenset({"codebase"}), "area": frozenset({"href"}),
    "audio": frozenset({"src"}), "base": frozenset({"href"}), "blockquote": frozenset({"cite"}),
    "body": frozenset({"background"}), "button": frozenset({"formaction"}), "command": frozenset({"icon"}),
    "del": frozenset({"cite"}), "embed": frozenset({"src"}), "form": frozenset({"action"}),
    "frame": frozenset({"longdesc", "src"}), "head": frozenset({"profile"}), "html": frozenset({"manifest"}),
    "iframe": frozenset({"longdesc", "src"}), "img": frozenset({"longdesc", "src", "usemap"}),
    "input": frozenset({"src", "usemap", "formaction"}), "ins": frozenset({"cite"}), "link": frozenset({"href"}),
    "object": frozenset({"classid", "codebase", "data", "usemap"}), "q": frozenset({"cite"}),
    "script": frozenset({"src"}), "source": frozenset({"src"}), "video": frozenset({"poster", "src"}),
}
_GO_HTML_ESCAPES = (("&", "&amp;"), ("'", "&#39;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("\r", "&#13;"))

UrlRewriter = Callable[[str], str]


def html_body_rewriter(
    headers: Sequence[tuple[bytes, bytes]], rewrite_url: UrlRewriter,
) -> Callable[[bytes], bytes] | None:
    """The body rewriting for a response with these headers, or None when upstream leaves the body alone."""
    values = {name.lower(): value for name, value in headers}
    content_type = values.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
    if content_type != b"text/html" or values.get(b"location"):
        return None
    encoding = values.get(b"content-encoding", b"").strip().lower()
    if encoding == b"gzip":
        return lambda body: gzip.compress(_rewrite(gzip.decompress(body), rewrite_url))
    if encoding == b"deflate":
        return lambda body: _deflate(_rewrite(zlib.decompress(body, -zlib.MAX_WBITS), rewrite_url))
    if encoding == b"":
        return lambda body: _rewrite(body, rewrite_url)
    return None


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def _rewrite(body: bytes, rewrite_url: UrlRewriter) -> bytes:
    text = body.decode("utf-8", "surrogateescape")
    scanner = _StartTags()
    scanner.rawdata = text
    scanner.goahead(True)
    pieces: list[str] = []
    position = 0
    for start, end, tag, attributes, self_closing in scanner.tags:
        pieces += [text[position:start], _render(tag, attributes, self_closing, rewrite_url)]
        position = end
    pieces.append(text[position:])
    return "".join(pieces).encode("utf-8", "surrogateescape")


def _render(tag: str, attributes: list[tuple[str, str | None]], self_closing: bool, rewrite_url: UrlRewriter) -> str:
    urls = URL_ATTRIBUTES.get(tag, frozenset())
    rendered = [tag]
    for name, value in attributes:
        value = value or ""
        if name in urls:
            value = rewrite_url(value)
        rendered.append(f'{name}="{_escape(value)}"')
    return "<" + " ".join(rendered) + ("/>" if self_closing else ">")


def _escape(value: str) -> str:
    for raw, escaped in _GO_HTML_ESCAPES:
        value = value.replace(raw, escaped)
    return value


class _StartTags(HTMLParser):
    """Finds every start tag with its span in the document; the rest is never touched."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.tags: list[tuple[int, int, str, list[tuple[str, str | None]], bool]] = []
        self._pending: tuple[str, list[tuple[str, str | None]], bool] | None = None

    def parse_starttag(self, i: int) -> int:
        end: int = super().parse_starttag(i)
        if end >= 0 and self._pending is not None:
            self.tags.append((i, end, *self._pending))
        self._pending = None
        return end

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._pending = (tag, attrs, False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._pending = (tag, attrs, True)
