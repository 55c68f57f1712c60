"""Conversion webhooks of CustomResourceDefinitions (`spec.conversion.strategy: Webhook`).

As apiextensions-apiserver's webhook converter: objects not already in the desired version are sent in one
ConversionReview (the first of the CRD's `conversionReviewVersions` this server speaks), the answer is checked
(uid, count, group-version, kind, name, namespace, UID), and each converted object keeps the original's metadata
except labels and annotations, which the webhook may change (validated as on any write). Every failure is the
`conversion webhook for <group/version, Kind=kind> failed: ...` error upstream returns, a 500 with no reason.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

from apiserver.meta.errors import ApiError
from apiserver.meta.objects import JSONDict
from apiserver.meta.validation import FieldPath, aggregate_messages, validate_annotations, validate_labels
from apiserver.webhookclient import ClientConfig, WebhookCallError, WebhookClient

REVIEW_GROUP: Final = "apiextensions.k8s.io"
SUPPORTED_REVIEW_VERSIONS: Final = ("v1beta1", "v1")
# Upstream sets no timeout of its own for conversion calls beyond the client's default.
CONVERSION_TIMEOUT_SECONDS: Final = 30.0


class ConversionFailed(ApiError):
    """A conversion webhook failure: upstream answers with the bare error (code 500, no reason)."""


class WebhookConverter:
    """Converts a CRD's objects through its conversion webhook (see the module docstring)."""

    def __init__(self, crd: Mapping[str, Any], client: WebhookClient) -> None:
        conversion = (crd.get("spec") or {}).get("conversion") or {}
        webhook = conversion.get("webhook") or {}
        self._config = ClientConfig.from_dict(webhook.get("clientConfig") or {},
                                              timeout_seconds=CONVERSION_TIMEOUT_SECONDS)
        self._review_versions = tuple(str(version) for version in webhook.get("conversionReviewVersions") or ())
        self._client = client

    async def convert(self, objects: Sequence[JSONDict], api_version: str) -> list[JSONDict]:
        """`objects` in `api_version`, in order. Raises ConversionFailed."""
        pending = [index for index, obj in enumerate(objects)
                   if obj.get("apiVersion") != api_version and not _is_empty(obj)]
        # Objects already in the version pass through; empty ones only change apiVersion (upstream's nop case).
        result = [obj if obj.get("apiVersion") == api_version else {**obj, "apiVersion": api_version}
                  for obj in objects]
        if not pending:
            return result
        label = _gvk_label(objects[pending[0]])
        converted = await self._call([objects[index] for index in pending], api_version, label)
        group_version = api_version
        for position, (index, new) in enumerate(zip(pending, converted, strict=True)):
            original = objects[index]
            problem = _converted_problem(original, new, group_version)
            if problem:
                raise ConversionFailed(f"conversion webhook for {label} returned invalid converted object at "
                                       f"index {position}: {problem}")
            try:
                result[index] = _restore_metadata(original, new)
            except ValueError as error:
                raise ConversionFailed(f"conversion webhook for {label} returned invalid metadata in object at "
                                       f"index {position}: {error}") from None
        return result

    async def _call(self, objects: list[JSONDict], api_version: str, label: str) -> list[JSONDict]:
        review_version = next((version for version in self._review_versions
                               if version in SUPPORTED_REVIEW_VERSIONS), None)
        if review_version is None:
            raise ConversionFailed("no supported conversion review versions")
        uid = str(uuid.uuid4())
        review = {"kind": "ConversionReview", "apiVersion": f"{REVIEW_GROUP}/{review_version}",
                  "request": {"uid": uid, "desiredAPIVersion": api_version, "objects": list(objects)}}
        try:
            answer = await self._client.post_json(self._config, review)
        except WebhookCallError as error:
            raise ConversionFailed(f"conversion webhook for {label} failed: {error}") from None
        try:
            converted = _converted_objects(answer, uid, review_version)
        except ValueError as error:
            raise ConversionFailed(f"conversion webhook for {label} failed: {error}") from None
        if len(converted) != len(objects):
            raise ConversionFailed(f"conversion webhook for {label} returned {len(converted)} objects, "
                                   f"expected {len(objects)}")
        return converted


def _gvk_label(obj: Mapping[str, Any]) -> str:
    """Go's GroupVersionKind.String(): `group/version, Kind=Kind`."""
    return f"{obj.get('apiVersion', '')}, Kind={obj.get('kind', '')}"


def _is_empty(obj: Mapping[str, Any]) -> bool:
    # Upstream converts an object with nothing but apiVersion and kind without calling the webhook.
    return set(obj) == {"apiVersion", "kind"}


def _converted_objects(answer: Mapping[str, Any], uid: str, review_version: str) -> list[JSONDict]:
    if review_version == "v1":
        got = f"{answer.get('apiVersion', '')}, Kind={answer.get('kind', '')}"
        expected = f"{REVIEW_GROUP}/v1, Kind=ConversionReview"
        if got != expected:
            raise ValueError(f"expected webhook response of {expected}, got {_go_gvk(answer)}")
    response = answer.get("response")
    if not isinstance(response, Mapping):
        raise ValueError("no response provided")
    if review_version == "v1" and response.get("uid") != uid:
        raise ValueError(f'expected response.uid="{uid}", got "{response.get("uid") or ""}"')
    result = response.get("result") or {}
    if not isinstance(result, Mapping) or result.get("status") != "Success":
        message = result.get("message") if isinstance(result, Mapping) else ""
        if message:
            raise ValueError(str(message))
        status = result.get("status", "") if isinstance(result, Mapping) else ""
        raise ValueError(f"response.result.status was '{status}', not 'Success'")
    objects = response.get("convertedObjects") or []
    if not isinstance(objects, list) or not all(isinstance(obj, dict) for obj in objects):
        raise ValueError("convertedObjects must be a list of objects")
    return objects


def _go_gvk(obj: Mapping[str, Any]) -> str:
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    return f"{group}/{version}, Kind={obj.get('kind', '')}" if group else f"/{version}, Kind={obj.get('kind', '')}"


def _converted_problem(original: Mapping[str, Any], converted: Mapping[str, Any], api_version: str) -> str:
    if converted.get("apiVersion") != api_version:
        return f"invalid groupVersion (expected {api_version}, received {converted.get('apiVersion', '')})"
    if converted.get("kind") != original.get("kind"):
        return f"invalid kind (expected {original.get('kind', '')}, received {converted.get('kind', '')})"
    before = original.get("metadata") or {}
    answered = converted.get("metadata")
    after: Mapping[str, Any] = answered if isinstance(answered, Mapping) else {}
    for field, label in (("name", "name"), ("namespace", "namespace"), ("uid", "UID")):
        if (before.get(field) or "") != (after.get(field) or ""):
            return f"must have the same {label}: {before.get(field, '')} != {after.get(field, '')}"
    return ""


def _restore_metadata(original: Mapping[str, Any], converted: Mapping[str, Any]) -> JSONDict:
    """The converted object with the original's metadata, but the webhook's labels and annotations."""
    answered = converted.get("metadata")
    if answered is None:
        raise ValueError("missing metadata in converted object")
    if not isinstance(answered, Mapping):
        raise ValueError(f"invalid metadata of type {_go_type(answered)} in converted object")
    metadata: JSONDict = dict(original.get("metadata") or {})
    for field in ("labels", "annotations"):
        value = answered.get(field)
        if value is None:
            metadata.pop(field, None)
            continue
        if not isinstance(value, Mapping):
            raise ValueError(f"invalid metadata.{field} of type {_go_type(value)} in converted object")
        for key, item in value.items():
            if not isinstance(item, str):
                raise ValueError(f"metadata.{field}[{key}] must be a string, but is {_go_type(item)} in "
                                 "converted object")
        if dict(value) != (metadata.get(field) or {}):
            errors = (validate_labels(dict(value), FieldPath("metadata", "labels")) if field == "labels"
                      else validate_annotations(dict(value), FieldPath("metadata", "annotation")))
            if errors:
                raise ValueError(aggregate_messages(str(error) for error in errors))
        metadata[field] = dict(value)
    return {**converted, "metadata": metadata}


def _go_type(value: object) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "float64"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"
