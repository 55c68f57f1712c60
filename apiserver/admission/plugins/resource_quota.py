"""ResourceQuota: a write that would take a namespace over one of its quotas is Forbidden; an admitted one is
charged to the quotas at once (upstream's plugin/pkg/admission/resourcequota, a validating plugin that runs last).

For each quota of the namespace whose `status.hard` limits something the object uses and whose scopes the
object is in: the object must state every compute resource the quota requires (`failed quota: q: must specify
...`), the quota must have usage for them (`status unknown for quota: ...`), and `used + requested` must stay
within `hard` (`exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`). Admitted usage is
written to each quota's `status.used` with the quota's resourceVersion as precondition; a conflict re-reads the
quotas from storage and checks again (up to 3 rounds). Dry-run requests are checked but charge nothing. The
quota controller recalculates usage from the objects, which is how usage goes down after deletes. Configured
`limitedResources` (quota/config.py) refuse objects whose limited usage or scopes no quota covers.
"""
from __future__ import annotations

import copy
from collections.abc import Awaitable, Sequence

from apiserver.admission.errors import forbidden
from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext, StatusWriter
from apiserver.admission.livelookup import LiveLookupCache
from apiserver.admission.quota import accounting
from apiserver.admission.quota.config import (
    LimitedResource,
    go_scope_requirements,
    limited_by_default,
    limited_resources,
)
from apiserver.admission.quota.evaluators import Evaluator, evaluator_for
from apiserver.admission.quota.resources import (
    ResourceList,
    add,
    exceeded,
    mask,
    pretty,
    remove_zeros,
    subtract_non_negative,
    to_strings,
)
from apiserver.meta.errors import ApiError, Conflict, NotFound
from apiserver.meta.objects import JSONDict

ATTEMPTS = 3
QUOTAS = ("", "v1", "resourcequotas")


class ResourceQuota:
    name = "ResourceQuota"

    configurable = True

    def __init__(self, context: PluginContext, configuration: JSONDict | None = None) -> None:
        self._context = context
        self._limited: tuple[LimitedResource, ...] = limited_resources(configuration)
        self._writer: StatusWriter | None = context if hasattr(context, "write_status") else None  # type: ignore[assignment]
        self._live_lookups = LiveLookupCache()

    def handles(self, operation: Operation) -> bool:
        return operation in (Operation.CREATE, Operation.UPDATE)

    async def validate(self, attributes: AdmissionAttributes) -> None:
        if attributes.subresource or not attributes.namespace or attributes.object is None:
            return
        if attributes.group == "" and attributes.resource == "namespaces":
            return
        evaluator = evaluator_for(attributes.group, attributes.resource)
        if not evaluator.handles(attributes.operation):
            return
        quotas = await self._quotas(attributes.namespace, live=False)
        for attempt in range(ATTEMPTS):
            charged = self._check(evaluator, attributes, quotas)
            if not charged or attributes.dry_run or self._writer is None:
                return
            try:
                for quota in charged:
                    await self._writer.write_status(*QUOTAS, quota)
                return
            except (Conflict, NotFound):
                if attempt == ATTEMPTS - 1:
                    raise
                quotas = await self._quotas(attributes.namespace, live=True)

    async def _quotas(self, namespace: str, *, live: bool) -> Sequence[JSONDict]:
        def read() -> Awaitable[Sequence[JSONDict]]:
            return self._context.live_objects(*QUOTAS).list(namespace)

        if live:  # after a conflict: what storage holds now
            self._live_lookups.forget(namespace)
            return await self._live_lookups.get(namespace, read)
        quotas = await self._context.objects(*QUOTAS).list(namespace)
        # The cache may not have a quota created a moment ago (upstream's live lookup, remembered for 30 s).
        return quotas or await self._live_lookups.get(namespace, read)

    def _check(self, evaluator: Evaluator, attributes: AdmissionAttributes,
               quotas: Sequence[JSONDict]) -> list[JSONDict]:
        """The quotas with their new usage; raises Forbidden when the object does not fit one of them."""
        obj = attributes.object
        assert obj is not None
        limited = tuple(entry for entry in self._limited
                        if (entry.api_group, entry.resource) == (attributes.group, attributes.resource))
        limited_names = limited_by_default(evaluator.usage(obj), limited) if limited else set()
        limited_scopes = [scope for entry in self._limited for scope in entry.match_scopes
                          if evaluator.matches_scope(scope, obj)]
        interesting: list[JSONDict] = []
        covered_names: set[str] = set()
        covered_scopes: set[str] = set()
        for quota in sorted(quotas, key=_quota_name):
            covered_scopes.update(str(selector.get("scopeName")) for selector in accounting.scope_selectors(quota)
                                  if evaluator.matches_scope(selector, obj))
            hard = accounting.hard_of(quota)
            if not accounting.matches(evaluator, quota, obj, hard):
                continue
            restricted = evaluator.matching_resources(sorted(hard))
            if problem := evaluator.constraints(restricted, obj):
                raise forbidden(attributes, f"failed quota: {_quota_name(quota)}: {problem}")
            used = accounting.used_of(quota)
            if any(name not in used for name in restricted):
                raise forbidden(attributes, f"status unknown for quota: {_quota_name(quota)}, resources: "
                                            f"{','.join(sorted(restricted))}")
            interesting.append(quota)
            covered_names.update(restricted)
        if not interesting and not limited_names and not limited_scopes:
            return []
        delta = remove_zeros(evaluator.usage(obj))
        if attributes.operation is Operation.UPDATE and attributes.old_object is not None:
            delta = remove_zeros(subtract_non_negative(delta, evaluator.usage(attributes.old_object)))
        if not delta:
            return []
        if uncovered := sorted(limited_names - covered_names):
            raise forbidden(attributes, f"insufficient quota to consume: {','.join(uncovered)}")
        if uncovered_scopes := [scope for scope in limited_scopes if scope.get("scopeName") not in covered_scopes]:
            raise ApiError(f"insufficient quota to match these scopes: {go_scope_requirements(uncovered_scopes)}")
        if not interesting:
            return []
        return [self._charge(attributes, quota, delta) for quota in interesting]

    def _charge(self, attributes: AdmissionAttributes, quota: JSONDict, delta: ResourceList) -> JSONDict:
        hard, used = accounting.hard_of(quota), accounting.used_of(quota)
        requested = mask(delta, hard)
        new_used = add(used, requested)
        over = exceeded(mask(new_used, requested), hard)
        if over:
            raise forbidden(attributes, f"exceeded quota: {_quota_name(quota)}, requested: "
                                        f"{pretty(mask(requested, over))}, used: {pretty(mask(used, over))}, "
                                        f"limited: {pretty(mask(hard, over))}")
        charged = copy.deepcopy(quota)
        charged.setdefault("status", {})["used"] = to_strings(new_used)
        return charged


def _quota_name(quota: JSONDict) -> str:
    return str((quota.get("metadata") or {}).get("name") or "")
