"""The conversion webhook converter's checks of a ConversionReview answer, with upstream's error texts.

The client here is a stand-in that returns a given answer (the HTTPS call itself is tested live in
tests/e2e/test_crd_conversion_live.py and tests/webhookclient)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from apiserver.resources.apiextensions.crd_conversion import ConversionFailed, WebhookConverter
from apiserver.webhookclient import WebhookCallError

CRD = {"spec": {"conversion": {"strategy": "Webhook", "webhook": {
    "conversionReviewVersions": ["v2", "v1"], "clientConfig": {"url": "https://hook.example/convert"}}}}}
STORED = {"apiVersion": "example.com/v1", "kind": "Paint",
          "metadata": {"name": "p", "namespace": "ns", "uid": "u-1", "labels": {"a": "b"}, "resourceVersion": "7"},
          "spec": {"color": "red"}}
Answer = Callable[[Mapping[str, Any]], Any]


class AnsweringClient:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.bodies: list[Mapping[str, Any]] = []

    async def post_json(self, config: Any, body: Mapping[str, Any], **options: Any) -> Any:
        self.bodies.append(body)
        return self.answer(body)


def reply(*objects: Mapping[str, Any], uid: str | None = None, **result: Any) -> Answer:
    def answer(body: Mapping[str, Any]) -> Any:
        return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "response": {
            "uid": body["request"]["uid"] if uid is None else uid, "convertedObjects": list(objects),
            "result": result or {"status": "Success"}}}
    return answer


def converted(**changes: Any) -> dict[str, Any]:
    obj = {**STORED, "apiVersion": "example.com/v2", "spec": {"colour": "red"}}
    obj.update(changes)
    return obj


async def convert(answer: Answer) -> tuple[list[dict[str, Any]], AnsweringClient]:
    client = AnsweringClient(answer)
    result = await WebhookConverter(CRD, client).convert([STORED], "example.com/v2")  # type: ignore[arg-type]
    return result, client


async def test_the_review_is_sent_in_the_first_supported_version_and_metadata_restored() -> None:
    answer = converted(metadata={"name": "p", "namespace": "ns", "uid": "u-1", "labels": {"c": "d"},
                                 "resourceVersion": "999", "finalizers": ["x"]})
    [result], client = await convert(reply(answer))
    body = client.bodies[0]
    assert (body["apiVersion"], body["kind"], body["request"]["desiredAPIVersion"]) == (
        "apiextensions.k8s.io/v1", "ConversionReview", "example.com/v2")
    assert body["request"]["objects"] == [STORED]
    # Only labels and annotations are the webhook's: everything else in metadata is the original's.
    assert result["metadata"] == {"name": "p", "namespace": "ns", "uid": "u-1", "labels": {"c": "d"},
                                  "resourceVersion": "7"}
    assert result["spec"] == {"colour": "red"}


async def test_objects_in_the_desired_version_are_not_sent() -> None:
    client = AnsweringClient(reply())
    same = {**STORED, "apiVersion": "example.com/v2"}
    assert await WebhookConverter(CRD, client).convert([same], "example.com/v2") == [same]  # type: ignore[arg-type]
    assert client.bodies == []


@pytest.mark.parametrize(("answer", "message"), [
    (reply(status="Failure", message="nope"), "conversion webhook for example.com/v1, Kind=Paint failed: nope"),
    (reply(status="Failure"),
     "conversion webhook for example.com/v1, Kind=Paint failed: response.result.status was 'Failure', not 'Success'"),
    (reply(converted(), uid="other"),
     'conversion webhook for example.com/v1, Kind=Paint failed: expected response.uid="{uid}", got "other"'),
    (reply(), "conversion webhook for example.com/v1, Kind=Paint returned 0 objects, expected 1"),
    (reply(converted(apiVersion="example.com/v3")),
     "conversion webhook for example.com/v1, Kind=Paint returned invalid converted object at index 0: "
     "invalid groupVersion (expected example.com/v2, received example.com/v3)"),
    (reply(converted(kind="Ink")),
     "conversion webhook for example.com/v1, Kind=Paint returned invalid converted object at index 0: "
     "invalid kind (expected Paint, received Ink)"),
    (reply(converted(metadata={"name": "q", "namespace": "ns", "uid": "u-1"})),
     "conversion webhook for example.com/v1, Kind=Paint returned invalid converted object at index 0: "
     "must have the same name: p != q"),
    (reply(converted(metadata={"name": "p", "namespace": "ns", "uid": "u-1", "labels": {"bad key!": "x"}})),
     "conversion webhook for example.com/v1, Kind=Paint returned invalid metadata in object at index 0: "
     'metadata.labels: Invalid value: "bad key!": name part must consist of alphanumeric characters, \'-\', \'_\' '
     "or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
     "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
    (lambda body: {"apiVersion": "apiextensions.k8s.io/v1beta1", "kind": "ConversionReview"},
     "conversion webhook for example.com/v1, Kind=Paint failed: expected webhook response of "
     "apiextensions.k8s.io/v1, Kind=ConversionReview, got apiextensions.k8s.io/v1beta1, Kind=ConversionReview"),
])
async def test_bad_answers_are_upstreams_errors(answer: Answer, message: str) -> None:
    client = AnsweringClient(answer)
    with pytest.raises(ConversionFailed) as raised:
        await WebhookConverter(CRD, client).convert([STORED], "example.com/v2")  # type: ignore[arg-type]
    uid = client.bodies[0]["request"]["uid"]
    assert str(raised.value) == message.format(uid=uid)
    assert raised.value.to_status()["code"] == 500 and "reason" not in raised.value.to_status()


async def test_a_failed_call_names_the_kind() -> None:
    def fail(body: Mapping[str, Any]) -> Any:
        raise WebhookCallError('Post "https://hook.example/convert?timeout=30s": context deadline exceeded',
                               timeout=True)

    with pytest.raises(ConversionFailed) as raised:
        await convert(fail)
    assert str(raised.value) == ('conversion webhook for example.com/v1, Kind=Paint failed: Post '
                                 '"https://hook.example/convert?timeout=30s": context deadline exceeded')


async def test_no_supported_review_version() -> None:
    crd = {"spec": {"conversion": {"webhook": {"conversionReviewVersions": ["v9"], "clientConfig": {}}}}}
    with pytest.raises(ConversionFailed, match=r"^no supported conversion review versions$"):
        await WebhookConverter(crd, AnsweringClient(reply())).convert(  # type: ignore[arg-type]
            [STORED], "example.com/v2")
