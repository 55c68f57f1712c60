"""POST of a new object, as kube-apiserver's createHandler: 201 with the stored object (also for dryRun=All).

Order as upstream: negotiate the answer (406), pick the body's decoder (415), read the body (413), validate the
CreateOptions (422), decode and default (400), record managedFields, wipe system metadata, match the namespace
(400), mutating admission, then the store (which validates, runs validating admission and writes).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from apiserver.admission.interface import Operation
from apiserver.endpoints.answers import send_object
from apiserver.endpoints.bodies import apply_type_schema, decode_object, ensure_namespace, write_options
from apiserver.endpoints.managed import FieldManager
from apiserver.http.negotiation import negotiate_input, negotiate_output
from apiserver.meta.objects import JSONDict
from apiserver.registry.context import RequestContext

if TYPE_CHECKING:
    from apiserver.endpoints.resources import ResourceRequest

# rest.WipeObjectMetaSystemFields: what a client may not choose for a new object.
_SYSTEM_FIELDS = ("creationTimestamp", "uid", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")


async def handle(resource: ResourceRequest) -> None:
    request = resource.request
    output = negotiate_output(request, available=resource.serializers)
    media = negotiate_input(request, resource.serializers)
    body = await request.body()
    options = write_options(request, "CreateOptions")
    obj = decode_object(resource, body, media)
    warnings = apply_type_schema(resource, body, media, obj, options.field_validation)
    resource.spec.strategy.default(obj)
    obj = FieldManager(resource, options.field_manager).track(None, obj)
    # rest.BeforeCreate wipes them; BindingREST never calls it, so a Binding's uid stays a precondition.
    wipe_system_fields(obj, keep_uid=bool(getattr(resource.store, "keeps_uid", False)))
    ensure_namespace(obj, resource.namespace, resource.spec)
    # createHandler: a subresource's name is the URL's (the parent's); a new object's comes from its body.
    name = resource.name or _name(obj)
    context = RequestContext(
        namespace=resource.namespace, dry_run=options.dry_run, field_manager=options.field_manager,
        now=resource.server.clock, warnings=warnings, user=request.user,
    )
    await resource.server.admission.admit(resource.attributes(Operation.CREATE, obj, dry_run=options.dry_run,
                                                               name=name))
    validate = resource.admission_hook(Operation.CREATE, dry_run=options.dry_run, name=name)
    stored = await resource.store.create(resource.namespace, obj, context, validate=validate)
    await send_object(resource, 201, stored, output, context.warnings)


def wipe_system_fields(obj: JSONDict, *, keep_uid: bool = False) -> None:
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        for field in _SYSTEM_FIELDS:
            if not (keep_uid and field == "uid"):
                metadata.pop(field, None)


def _name(obj: JSONDict) -> str:
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else ""
