"""The errors of the patch algorithms, with the messages of k8s.io/apimachinery/pkg/util/mergepatch and the status
codes kube-apiserver gives them.

kube-apiserver's interpretStrategicMergePatchError sorts them into three groups: the malformed-directive errors
become 400 BadRequest with the error's text; "lists of lists" and "patch content doesn't match retainKeys" become
the generic 422 whose message leaves the reason out; every other error (a missing merge key, an unknown `$patch`
value, mismatched list element types) is not an API status at all, so the client sees a 500 with no reason and
the error's text as message. `kubectl patch` therefore prints `Error from server: map: map[image:nginx] does not
contain declared merge key: name`.
"""
from __future__ import annotations

from typing import Any

from apiserver.meta.errors import ApiError, BadRequest, Invalid, StatusDetails
from apiserver.meta.patch_values import format_s, format_v, go_type_name

REJECTED_MESSAGE = "the server rejected our request due to an error in our request"
"""NewGenericServerResponse's text for a 422: the underlying error is dropped from the response."""


class PatchError(ApiError):
    """An error upstream's patch code returns as a plain Go error: a 500 with an empty reason and its text."""


class MergeConflict(PatchError):
    """A three-way patch without overwrite changes a field that was also changed from original to current."""

    def __init__(self, patch_yaml: str, changed_yaml: str) -> None:
        super().__init__(
            f"patch:\n{patch_yaml}\nconflicts with changes made from original to current:\n{changed_yaml}\n"
        )


def rejected() -> Invalid:
    """The generic 422 (reason Invalid, empty details) kube-apiserver answers for a patch that cannot apply."""
    return Invalid.from_message(REJECTED_MESSAGE, details=StatusDetails())


def bad_json_document() -> BadRequest:
    return BadRequest("invalid JSON document")


def bad_primitive_list() -> BadRequest:
    return BadRequest("invalid patch format of primitive list")


def bad_retain_keys() -> BadRequest:
    return BadRequest("invalid patch format of retainKeys")


def bad_set_element_order() -> BadRequest:
    return BadRequest("invalid patch format of setElementOrder list")


def unsupported_format() -> BadRequest:
    """What a strategic merge patch of an unstructured object (a custom resource) fails with."""
    return BadRequest("strategic merge patch format is not supported")


def no_list_of_lists() -> Invalid:
    return rejected()


def no_merge_key(element: dict[str, Any], merge_key: str) -> PatchError:
    return PatchError(f"map: {format_v(element)} does not contain declared merge key: {merge_key}")


def bad_arg_type(expected: str, actual: Any) -> PatchError:
    """mergepatch.ErrBadArgType; `expected` is the Go type name the code asserted, e.g. `[]interface {}`."""
    return PatchError(f"expected a {expected}, but received a {go_type_name(actual)}")


def bad_patch_type(directive: Any, element: dict[str, Any]) -> PatchError:
    return PatchError(f"unknown patch type: {format_s(directive)} in map: {format_v(element)}")


MAP_TYPE = "map[string]interface {}"
LIST_TYPE = "[]interface {}"
