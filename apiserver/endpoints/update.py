"""PUT of a whole object (or of its `status`), as kube-apiserver's UpdateResource: 200, or 201 when it created.

Order as upstream: negotiate (406), decoder (415), body (413), UpdateOptions (422), decode and default (400),
namespace and name must match the URL (400), then the store records managedFields, runs mutating admission on
the merged object, validates, runs validating admission and writes with the body's resourceVersion as
precondition (409 when stale).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from apiserver.admission.interface import Operation
from apiserver.endpoints.answers import send_object
from apiserver.endpoints.bodies import apply_type_schema, check_name, decode_object, ensure_namespace, write_options
from apiserver.endpoints.managed import FieldManager
from apiserver.http.negotiation import negotiate_input, negotiate_output
from apiserver.meta.objects import JSONDict
from apiserver.registry.context import RequestContext
from apiserver.registry.store import AdmissionHook

if TYPE_CHECKING:
    from apiserver.endpoints.resources import ResourceRequest


async def handle(resource: ResourceRequest) -> None:
    request = resource.request
    output = negotiate_output(request, available=resource.serializers)
    media = negotiate_input(request, resource.serializers)
    body = await request.body()
    options = write_options(request, "UpdateOptions")
    obj = decode_object(resource, body, media)
    warnings = apply_type_schema(resource, body, media, obj, options.field_validation)
    resource.spec.strategy.default(obj)
    ensure_namespace(obj, resource.namespace, resource.spec)
    check_name(obj, resource.name)
    context = RequestContext(
        namespace=resource.namespace, dry_run=options.dry_run, field_manager=options.field_manager,
        now=resource.server.clock, warnings=warnings,
    )
    stored, created = await resource.store.update(
        resource.namespace, resource.name, obj, context, subresource=resource.subresource,
        validate=resource.admission_hook(Operation.UPDATE, dry_run=options.dry_run),
        mutate=_tracking(resource, FieldManager(resource, options.field_manager),
                         resource.admission_hook(Operation.UPDATE, dry_run=options.dry_run, mutate=True)),
    )
    await send_object(resource, 201 if created else 200, stored, output, context.warnings)


def _tracking(resource: ResourceRequest, manager: FieldManager, admit: AdmissionHook) -> AdmissionHook:
    """The store's mutate hook: record this write in managedFields, then run mutating admission (upstream's
    order: the field manager wraps the update before admission sees it)."""

    async def mutate(new: JSONDict, old: JSONDict | None) -> None:
        tracked = manager.track(old, new)
        new.clear()
        new.update(tracked)
        await admit(new, old)

    return mutate
