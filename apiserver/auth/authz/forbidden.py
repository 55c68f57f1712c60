"""The 403 a request gets when no authorizer allows it, worded exactly as kube-apiserver words it.

Re-implements `Forbidden` and `forbiddenMessage` of k8s.io/apiserver/pkg/endpoints/handlers/responsewriters:
`pods is forbidden: User "kubectl" cannot list resource "pods" in API group "" in the namespace "default"`,
`... at the cluster scope`, `forbidden: User "x" cannot get path "/metrics"`, then `: <reason>` when the
authorizers gave one. kubectl prints these after `Error from server (Forbidden): `.
"""
from __future__ import annotations

from apiserver.auth.authz.interface import Attributes
from apiserver.meta.errors import Forbidden, go_quote

# Upstream escapes what could read as HTML; quotes stay.
_HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_FLAGS = "#0+- "


def forbidden_message(attributes: Attributes) -> str:
    """`User "alice" cannot get resource "pods/log" in API group "" in the namespace "ns"` (HTML-escaped)."""
    user = go_quote(attributes.user.name)
    if not attributes.is_resource_request:
        message = f"User {user} cannot {attributes.verb} path {go_quote(attributes.path)}"
    else:
        resource = attributes.resource
        if attributes.subresource:
            resource = f"{resource}/{attributes.subresource}"
        message = (f"User {user} cannot {attributes.verb} resource {go_quote(resource)} "
                   f"in API group {go_quote(attributes.api_group)}")
        if attributes.namespace:
            message += f" in the namespace {go_quote(attributes.namespace)}"
        else:
            message += " at the cluster scope"
    return "".join(_HTML_ESCAPES.get(char, char) for char in message)


def forbidden_error(attributes: Attributes, reason: str) -> Forbidden:
    """The Forbidden error (403, reason Forbidden) for a request no authorizer allowed.

    The details name the request's group, resource (as `kind`) and name; a non-resource request gets empty
    details and a message starting `forbidden: `.
    """
    message = forbidden_message(attributes)
    if reason:
        message = f"{message}: {reason}"
    # Upstream passes the whole message to fmt.Errorf as its format string, so `%` sequences (from a decoded
    # path such as /a%25d) come out as Go's formatting errors.
    return Forbidden(attributes.resource, attributes.name, go_format_without_arguments(message),
                     group=attributes.api_group)


def go_format_without_arguments(text: str) -> str:
    """What Go's fmt.Sprintf(text) prints with no arguments: `%%` is `%`, `%d` is `%!d(MISSING)`."""
    output: list[str] = []
    position, end = 0, len(text)
    while position < end:
        percent = text.find("%", position)
        if percent < 0:
            output.append(text[position:])
            break
        output.append(text[position:percent])
        position = _format_directive(text, percent + 1, output)
    return "".join(output)


def _format_directive(text: str, position: int, output: list[str]) -> int:
    """Render the directive after a `%` at `position` as Go's doPrintf does with no arguments; return where
    the text continues. Any explicit argument index is bad, since there are no arguments."""
    end = len(text)
    while position < end and text[position] in _FLAGS:
        position += 1
    good, after_index, position = _argument_index(text, position)
    if position < end and text[position] == "*":
        output.append("%!(BADWIDTH)")
        position, after_index = position + 1, False
    else:
        position = _skip_number(text, position)
    if position + 1 < end and text[position] == ".":
        index_good, after_index, position = _argument_index(text, position + 1)
        good = good and index_good
        if position < end and text[position] == "*":
            output.append("%!(BADPREC)")
            position, after_index = position + 1, False
        else:
            position = _skip_number(text, position)
    if not after_index:
        index_good, after_index, position = _argument_index(text, position)
        good = good and index_good
    if position >= end:
        output.append("%!(NOVERB)")
        return end
    verb = text[position]
    output.append("%" if verb == "%" else f"%!{verb}({'MISSING' if good else 'BADINDEX'})")
    return position + 1


def _argument_index(text: str, position: int) -> tuple[bool, bool, int]:
    """Go's argNumber for `[n]` at `position`: (index usable, index parsed, position after it)."""
    if position >= len(text) or text[position] != "[":
        return True, False, position
    closing = text.find("]", position + 1)
    if len(text) - position < 3 or closing < 0:
        return False, False, position + 1
    digits = text[position + 1:closing]
    parsed = _skip_number(digits, 0) == len(digits) > 0
    return False, parsed, closing + 1


def _skip_number(text: str, position: int) -> int:
    """Go's parsenum: skip ASCII digits; a number growing past a million makes it give up at the end."""
    value = 0
    while position < len(text) and "0" <= text[position] <= "9":
        if value > 1_000_000:
            return len(text)
        value = value * 10 + int(text[position])
        position += 1
    return position
