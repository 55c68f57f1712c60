"""Allocators of finite pools shared by every replica: Service cluster IPs and node ports.

Upstream's model with the MultiCIDRServiceAllocator gate off (pkg/registry/core/service/allocator, ipallocator,
portallocator): a bitmap per pool, persisted as a `RangeAllocation` object at `<prefix>/ranges/<name>` and
changed only by compare-and-swap on its revision, so replicas sharing the storage never hand out one value
twice. `bitmap` is the pure in-memory pool, `rangestore` its stored form, `ipallocator` and `portallocator`
give the values their meaning (addresses in a CIDR, ports in a range) and upstream's error texts.
"""
