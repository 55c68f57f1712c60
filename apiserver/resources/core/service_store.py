"""The Service store: the generic store plus cluster IP and node port allocation (upstream's service REST
storage with its BeginCreate, BeginUpdate and AfterDelete decorators).

Strategies are stateless and their hooks synchronous, while allocation is a compare-and-swap on storage, so it
cannot live in the strategy: `ServiceStore` wraps the generic store's create, update (PUT and PATCH alike) and
delete paths, and `ServiceRegistry` builds that store for `services` and the generic one for everything else.
Order as upstream: defaults, keep allocated values, sync clusterIP/clusterIPs, allocate, then the generic path
(strategy, validation, admission, write); the transaction is committed after the write and reverted on any error.
"""
from __future__ import annotations

from typing import Any

from apiserver.meta.objects import JSONDict
from apiserver.registry.context import DeleteOptions, RequestContext, StoredObject
from apiserver.registry.spec import ResourceSpec
from apiserver.registry.store import AdmissionHook, ResourceStore
from apiserver.registry.stores import AnyStore, Registry
from apiserver.resources.core.service_alloc import ServiceAllocators, Transaction
from apiserver.resources.core.service_defaults import default_service, normalize_cluster_ips, patch_allocated_values
from apiserver.storage.interface import KeyValue, Storage


def is_services(spec: ResourceSpec) -> bool:
    return spec.group == "" and spec.plural == "services"


class ServiceStore(ResourceStore):
    """A ResourceStore for core/v1 services that allocates through `allocators` (see the module docstring)."""

    def __init__(self, allocators: ServiceAllocators, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allocators = allocators

    async def _create(self, namespace: str, obj: JSONDict, ctx: RequestContext, validate: AdmissionHook | None,
                      *, generated: bool) -> StoredObject:
        default_service(obj)
        normalize_cluster_ips(obj, None)
        txn = await self.allocators.allocate_create(obj, dry_run=ctx.dry_run)
        return await _finish(txn, super()._create(namespace, obj, ctx, validate, generated=generated))

    def _cached_guess(self, key: str, ctx: RequestContext) -> KeyValue | None:
        return None  # IP and port allocation follow the old object: always storage's current one

    async def _try_update(self, key: str, kv: KeyValue, new: JSONDict, ctx: RequestContext, subresource: str,
                          validate: AdmissionHook | None, *, current: bool = True) -> StoredObject | None:
        if subresource:
            return await super()._try_update(key, kv, new, ctx, subresource, validate)
        old = (await self._io.decode(kv)).copy()
        default_service(new)
        patch_allocated_values(new, old)
        normalize_cluster_ips(new, old)
        txn = await self.allocators.allocate_update(new, old, dry_run=ctx.dry_run)
        return await _finish(txn, super()._try_update(key, kv, new, ctx, subresource, validate))

    async def _delete_during_update(self, key: str, kv: KeyValue, new: JSONDict,
                                    dry_run: bool) -> StoredObject | None:
        answer = await super()._delete_during_update(key, kv, new, dry_run)
        if answer is not None and not dry_run:
            await self.allocators.release((await self._io.decode(kv)).copy())
        return answer

    async def delete(self, namespace: str, name: str, options: DeleteOptions, ctx: RequestContext, *,
                     validate: AdmissionHook | None = None) -> tuple[StoredObject, bool]:
        answer, deleted = await super().delete(namespace, name, options, ctx, validate=validate)
        if deleted and not (options.dry_run or ctx.dry_run) and not answer.is_status:
            await self.allocators.release(answer.copy())
        return answer, deleted


async def _finish(txn: Transaction, write: Any) -> Any:
    """Await the generic write; commit the allocation when it stored something, revert it otherwise."""
    try:
        result = await write
    except BaseException:
        await txn.revert()
        raise
    if result is None:
        await txn.revert()
    else:
        await txn.commit()
    return result


class ServiceRegistry(Registry):
    """A Registry whose `services` store allocates cluster IPs and node ports from `allocators`.

    `allocators` is built on the same storage as the registry (the ranges live beside the objects).
    """

    def __init__(self, catalog: Any, storage: Storage, *, allocators: ServiceAllocators, **options: Any) -> None:
        self.service_allocators = allocators
        super().__init__(catalog, storage, **options)

    def _build(self, spec: ResourceSpec) -> AnyStore:
        if spec.virtual or not is_services(spec):
            return super()._build(spec)
        slot = self._slot(spec.storage_path)
        return ServiceStore(self.service_allocators, spec, self._storage, slot.cache, prefix=self._prefix,
                            request_progress=slot.view.want_progress, names=self._names,
                            consistent_timeout=self._consistent_timeout, fresh_timeout=self._fresh_timeout)
