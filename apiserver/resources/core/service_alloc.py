"""Cluster IP and node port allocation for Services (upstream's service/storage/alloc.go, gate
MultiCIDRServiceAllocator off).

`allocate_create` and `allocate_update` fill in ipFamilyPolicy and ipFamilies, take the cluster IPs and node
ports the service needs (explicit values honoured, or refused with upstream's messages), and return a
`Transaction`: `commit()` once the object is stored releases what the update gave up, `revert()` on any failure
gives back what was taken. Dry runs take nothing. Errors are ApiErrors: Invalid for a value that cannot be had,
InternalError ("failed to allocate a serviceIP: range is full") when a pool is exhausted.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from apiserver.meta.errors import InternalError, Invalid
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry.allocators.ipallocator import AllocationError, IPRange
from apiserver.registry.allocators.portallocator import PortAllocator, PortOperation
from apiserver.registry.allocators.rangestore import RangeNotReady
from apiserver.resources.core.service_defaults import (
    EXTERNAL_NAME,
    NONE,
    cluster_ips,
    needs_cluster_ip,
    needs_health_check_node_port,
    node_port,
    ports_of,
    should_allocate_node_ports,
    spec_of,
)
from apiserver.resources.core.service_validation import validate_cluster_ips_related_fields

MutableObject = dict[str, Any]
_SPEC = FieldPath("spec")
SINGLE_STACK, REQUIRE_DUAL_STACK = "SingleStack", "RequireDualStack"


def _family(ip: str) -> str:
    return "IPv6" if ":" in ip else "IPv4"


def _invalid(service: MutableObject, errors: FieldErrors) -> Invalid:
    name = str((service.get("metadata") or {}).get("name") or "")
    return Invalid("Service", name, [error.to_cause() for error in errors])


@dataclass
class Transaction:
    """What one request took and gave up (see the module docstring)."""

    ranges: dict[str, IPRange]
    ports: PortOperation
    taken_ips: list[str] = field(default_factory=list)
    released_ips: list[str] = field(default_factory=list)

    async def commit(self) -> None:
        if not self.ports.dry_run:
            for ip in self.released_ips:
                if ip not in self.taken_ips and (found := self.ranges.get(_family(ip))) is not None:
                    await found.release(ip)
        await self.ports.commit()
        self.taken_ips, self.released_ips = [], []

    async def revert(self) -> None:
        if not self.ports.dry_run:
            for ip in self.taken_ips:
                if (found := self.ranges.get(_family(ip))) is not None:
                    await found.release(ip)
        await self.ports.revert()
        self.taken_ips, self.released_ips = [], []


class ServiceAllocators:
    """The cluster IP ranges (primary first) and the node port range of one server."""

    def __init__(self, ranges: Sequence[IPRange], ports: PortAllocator) -> None:
        self.ranges = {ip_range.family: ip_range for ip_range in ranges}
        self.primary = ranges[0]
        self.node_ports = ports

    @property
    def default_family(self) -> str:
        return self.primary.family

    def _transaction(self, dry_run: bool) -> Transaction:
        return Transaction(self.ranges, PortOperation(self.node_ports, dry_run))

    async def allocate_create(self, service: MutableObject, *, dry_run: bool) -> Transaction:
        """beginCreate: families, cluster IPs, node ports; raises ApiError having given everything back."""
        self.init_ip_family_fields(service, None)
        txn = self._transaction(dry_run)
        try:
            if needs_cluster_ip(service) and cluster_ips(service)[:1] != [NONE]:
                await self._allocate_cluster_ips(service, txn, dry_run)
            await self._allocate_node_ports(service, txn)
            await self._health_check_node_port(service, None, txn)
        except BaseException:
            await txn.revert()
            raise
        return txn

    async def allocate_update(self, new: MutableObject, old: MutableObject, *, dry_run: bool) -> Transaction:
        """beginUpdate's allocation: what a type or family change takes and gives up."""
        self.init_ip_family_fields(new, old)
        txn = self._transaction(dry_run)
        try:
            await self._update_cluster_ips(new, old, txn, dry_run)
            if spec_of(old).get("type") in ("NodePort", "LoadBalancer") and \
                    spec_of(new).get("type") in (EXTERNAL_NAME, "ClusterIP"):
                for port in ports_of(spec_of(old)):
                    if node_port(port):
                        txn.ports.release_deferred(node_port(port))
            if spec_of(new).get("type") in ("NodePort", "LoadBalancer"):
                await self._update_node_ports(new, old, txn)
            await self._health_check_node_port(new, old, txn)
        except BaseException:
            await txn.revert()
            raise
        return txn

    async def release(self, service: MutableObject) -> None:
        """afterDelete: give back every cluster IP and node port the deleted service held."""
        txn = self._transaction(False)
        for ip in cluster_ips(service):
            if ip != NONE:
                txn.released_ips.append(ip)
        ports = {node_port(port) for port in ports_of(spec_of(service)) if node_port(port)}
        health = spec_of(service).get("healthCheckNodePort")
        if isinstance(health, int) and health:
            ports.add(health)
        for port in sorted(ports):
            txn.ports.release_deferred(port)
        await txn.commit()

    # --- ip families ---------------------------------------------------------------------------------------

    def init_ip_family_fields(self, service: MutableObject, old: MutableObject | None) -> None:
        """initIPFamilyFields: default ipFamilyPolicy and ipFamilies from the cluster and the given IPs."""
        if spec_of(service).get("type") == EXTERNAL_NAME:
            return
        spec = spec_of(service)
        if old is not None and _matching_prefer_dual_stack(service, old):
            return
        given = spec.get("ipFamilies")
        families: list[Any] = list(given) if isinstance(given, list) else []
        if spec.get("ipFamilyPolicy") is None:
            dual = len(cluster_ips(service)) == 2 or len(families) == 2
            spec["ipFamilyPolicy"] = REQUIRE_DUAL_STACK if dual else SINGLE_STACK
        errors = validate_cluster_ips_related_fields(service)
        if errors:
            raise _invalid(service, errors)
        errors = self._family_errors(service, old, families)
        if errors:
            raise _invalid(service, errors)
        spec["ipFamilies"] = families
        if cluster_ips(service)[:1] == [NONE] and not spec.get("selector"):
            if not families:
                families.append(self.default_family)
            if len(families) < 2 and spec["ipFamilyPolicy"] != SINGLE_STACK:
                families.append("IPv6" if families[0] == "IPv4" else "IPv4")
            return
        errors = []
        if spec["ipFamilyPolicy"] == REQUIRE_DUAL_STACK and len(self.ranges) < 2:
            errors.append(FieldError.invalid(_SPEC.child("ipFamilyPolicy"), REQUIRE_DUAL_STACK,
                                             "this cluster is not configured for dual-stack services"))
        for index, family in enumerate(families):
            if family not in self.ranges:
                errors.append(FieldError.invalid(_SPEC.child("ipFamilies").index(index), family,
                                                 "not configured on this cluster"))
        if errors:
            raise _invalid(service, errors)
        if not families:
            families.append(self.default_family)
        if spec["ipFamilyPolicy"] != SINGLE_STACK and len(families) == 1 and len(self.ranges) == 2:
            families.append("IPv6" if families[0] == "IPv4" else "IPv4")

    def _family_errors(self, service: MutableObject, old: MutableObject | None, families: list[Any]) -> FieldErrors:
        spec = spec_of(service)
        errors: FieldErrors = []
        policy = spec["ipFamilyPolicy"]
        if old is not None and policy == SINGLE_STACK:
            if cluster_ips(old) == cluster_ips(service) and len(cluster_ips(service)) > 1:
                spec["clusterIPs"] = cluster_ips(service)[:1]
            if spec_of(old).get("ipFamilies") == families and len(families) > 1:
                del families[1:]
        if policy == SINGLE_STACK:
            if len(cluster_ips(service)) == 2:
                errors.append(FieldError.invalid(_SPEC.child("ipFamilyPolicy"), policy, "must be 'RequireDualStack' or "
                                                 "'PreferDualStack' when multiple cluster IPs are specified"))
            if len(families) == 2:
                errors.append(FieldError.invalid(_SPEC.child("ipFamilyPolicy"), policy, "must be 'RequireDualStack' or "
                                                 "'PreferDualStack' when multiple IP families are specified"))
        for index, ip in enumerate(cluster_ips(service)):
            if ip == NONE:
                break
            if index >= len(families):
                if _family(ip) not in self.ranges:
                    errors.append(FieldError.invalid(_SPEC.child("clusterIPs").index(index), cluster_ips(service),
                                                     f"{_family(ip)} is not configured on this cluster"))
                else:
                    families.append(_family(ip))
        return errors

    # --- cluster IPs ---------------------------------------------------------------------------------------

    async def _allocate_cluster_ips(self, service: MutableObject, txn: Transaction, dry_run: bool) -> None:
        spec = spec_of(service)
        families = list(spec.get("ipFamilies") or [self.default_family])
        ips = cluster_ips(service)
        wanted = {family: (ips[index] if index < len(ips) else "") for index, family in enumerate(families)}
        allocated = await self._allocate_ips(service, wanted, txn, dry_run)
        spec["clusterIPs"] = [allocated[family] for family in families]
        spec["clusterIP"] = spec["clusterIPs"][0]

    async def _allocate_ips(self, service: MutableObject, wanted: dict[str, str], txn: Transaction,
                            dry_run: bool) -> dict[str, str]:
        allocated: dict[str, str] = {}
        for family, ip in wanted.items():
            ip_range = self.ranges[family]
            try:
                if not ip:
                    allocated[family] = await ip_range.allocate_next(dry_run=dry_run)
                else:
                    await ip_range.allocate(str(ipaddress.ip_address(ip)), dry_run=dry_run)
                    allocated[family] = ip
            except RangeNotReady as error:
                raise InternalError(f"failed to allocate a serviceIP: {error}") from None
            except AllocationError as error:
                if not ip:
                    raise InternalError(f"failed to allocate a serviceIP: {error}") from None
                message = f"failed to allocate IP {ip}: {error}"
                raise _invalid(service, [FieldError.invalid(_SPEC.child("clusterIPs"), cluster_ips(service),
                                                            message)]) from None
            if not dry_run:
                txn.taken_ips.append(allocated[family])
        return allocated

    async def _update_cluster_ips(self, new: MutableObject, old: MutableObject, txn: Transaction,
                                  dry_run: bool) -> None:
        """updateClusterIPs: type changes to and from ExternalName, dual-stack upgrades and downgrades."""
        if _matching_prefer_dual_stack(new, old):
            return
        new_type, old_type = spec_of(new).get("type"), spec_of(old).get("type")
        if old_type == EXTERNAL_NAME and new_type != EXTERNAL_NAME:
            if cluster_ips(new)[:1] != [NONE]:
                await self._allocate_cluster_ips(new, txn, dry_run)
            return
        if cluster_ips(old)[:1] == [NONE]:
            return
        if old_type != EXTERNAL_NAME and new_type == EXTERNAL_NAME:
            txn.released_ips.extend(cluster_ips(old))
            return
        old_families = spec_of(old).get("ipFamilies") or []
        new_families = spec_of(new).get("ipFamilies") or []
        if len(old_families) == 1 and len(new_families) == 2:
            ips = cluster_ips(new)
            secondary = ips[1] if len(ips) > 1 else ""
            allocated = await self._allocate_ips(new, {new_families[1]: secondary}, txn, dry_run)
            spec_of(new)["clusterIPs"] = [ips[0], allocated[new_families[1]]]
        elif len(old_families) == 2 and len(new_families) == 1 and len(cluster_ips(old)) > 1:
            txn.released_ips.append(cluster_ips(old)[1])

    # --- node ports ----------------------------------------------------------------------------------------

    async def _allocate_node_ports(self, service: MutableObject, txn: Transaction) -> None:
        # initNodePorts: one node port per service port number (TCP and UDP 53 share it).
        ports = ports_of(spec_of(service))
        by_port: dict[object, int] = {}
        for index, port in enumerate(ports):
            if not node_port(port) and not should_allocate_node_ports(service):
                continue
            path = _SPEC.child("ports").index(index).child("nodePort")
            shared = by_port.get(port.get("port"), 0)
            if shared and (not node_port(port) or node_port(port) == shared):
                port["nodePort"] = shared
                continue
            wanted = node_port(port) or (0 if shared else _requested(port.get("port"), ports[index:]))
            port["nodePort"] = await self._take_port(service, wanted, path, txn.ports)
            by_port.setdefault(port.get("port"), port["nodePort"])

    async def _update_node_ports(self, service: MutableObject, old: MutableObject, txn: Transaction) -> None:
        """updateNodePorts: new numbers are taken, numbers no port uses any more are released on commit."""
        held = {node_port(port) for port in ports_of(spec_of(old)) if node_port(port)}
        taken: set[int] = set()
        for index, port in enumerate(ports_of(spec_of(service))):
            if not node_port(port) and not should_allocate_node_ports(service):
                continue
            path = _SPEC.child("ports").index(index).child("nodePort")
            wanted = node_port(port)
            if wanted and (wanted in held or wanted in taken):
                continue
            port["nodePort"] = await self._take_port(service, wanted, path, txn.ports)
            taken.add(port["nodePort"])
        still = {node_port(port) for port in ports_of(spec_of(service))}
        for number in sorted(held - still):
            txn.ports.release_deferred(number)

    async def _take_port(self, service: MutableObject, wanted: int, path: FieldPath, operation: PortOperation,
                         prefix: str = "") -> int:
        try:
            if wanted:
                await operation.allocate(wanted)
                return wanted
            return await operation.allocate_next()
        except RangeNotReady as error:
            raise InternalError(f"failed to allocate a nodePort: {error}") from None
        except AllocationError as error:
            if not wanted:
                raise InternalError(f"failed to allocate a nodePort: {error}") from None
            raise _invalid(service, [FieldError.invalid(path, wanted, f"{prefix}{error}")]) from None

    async def _health_check_node_port(self, service: MutableObject, old: MutableObject | None,
                                      txn: Transaction) -> None:
        """allocHealthCheckNodePort / updateHealthCheckNodePort for LoadBalancer services with policy Local."""
        spec = spec_of(service)
        previous = spec_of(old).get("healthCheckNodePort") if old is not None else 0
        needed_before = old is not None and needs_health_check_node_port(old)
        if needs_health_check_node_port(service):
            wanted = spec.get("healthCheckNodePort") or 0
            if needed_before and wanted == previous:
                return
            prefix = f"failed to allocate requested HealthCheck NodePort {wanted}: "
            spec["healthCheckNodePort"] = await self._take_port(
                service, wanted, _SPEC.child("healthCheckNodePort"), txn.ports, prefix)
        elif needed_before and previous:
            txn.ports.release_deferred(previous)


def _requested(number: object, ports: list[MutableObject]) -> int:
    """findRequestedNodePort: a node port given for the same port number further on."""
    for port in ports:
        if port.get("port") == number and node_port(port):
            return node_port(port)
    return 0


def _matching_prefer_dual_stack(new: MutableObject, old: MutableObject) -> bool:
    """isMatchingPreferDualStackClusterIPFields: a PreferDualStack service the update does not touch."""
    spec, old_spec = spec_of(new), spec_of(old)
    if spec.get("type") == EXTERNAL_NAME or old_spec.get("type") == EXTERNAL_NAME:
        return False
    return (old_spec.get("ipFamilyPolicy") == "PreferDualStack" and spec.get("ipFamilyPolicy") == "PreferDualStack"
            and cluster_ips(new) == cluster_ips(old) and spec.get("ipFamilies") == old_spec.get("ipFamilies"))


__all__ = ["ServiceAllocators", "Transaction"]
