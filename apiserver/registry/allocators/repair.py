"""Repair of a stored range from the objects that use it (upstream's ipallocator and portallocator repair
controllers, gate MultiCIDRServiceAllocator off).

One pass: read the stored RangeAllocation (creating it when it is missing), then the values in use (read after
the snapshot, so anything allocated before it and stored since is seen), rebuild the bitmap from the values in
use and write it over the snapshot's revision (retrying from the start on a conflict). A value allocated in the
snapshot but used by nothing is a leak candidate: it stays allocated for `LEAK_PASSES` passes, because a
request may have allocated it and not yet stored its object, and is released after that.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from apiserver.registry.allocators.bitmap import AllocationBitmap
from apiserver.registry.allocators.rangestore import StoredRange

logger = logging.getLogger(__name__)

LEAK_PASSES = 3  # upstream's numRepairsBeforeLeakCleanup
MAX_ATTEMPTS = 10


@dataclass
class RepairReport:
    """What one pass found: values in use outside the range, values used twice, leaks released."""

    out_of_range: list[object] = field(default_factory=list)
    duplicates: list[object] = field(default_factory=list)
    released: list[int] = field(default_factory=list)


class RangeRepair:
    """Repairs one StoredRange. `in_use()` returns the values in use; `offset_of(value)` their offsets (None when
    outside the range)."""

    def __init__(self, stored: StoredRange, in_use: Callable[[], Awaitable[Iterable[object]]],
                 offset_of: Callable[[object], int | None], created: Callable[[], str] = lambda: "") -> None:
        self._stored = stored
        self._in_use = in_use
        self._offset_of = offset_of
        self._created = created
        self._leaks: dict[int, int] = {}

    async def run_once(self) -> RepairReport:
        """One pass; raises RuntimeError when writers kept racing it for MAX_ATTEMPTS attempts."""
        for _ in range(MAX_ATTEMPTS):
            snapshot = await self._stored.snapshot()
            old, revision = snapshot if snapshot is not None else (self._stored.empty(), 0)
            values = list(await self._in_use())
            rebuilt, report, leaks = self._rebuild(old, values)
            if await self._stored.replace(rebuilt, revision, created=self._created() if not revision else ""):
                self._leaks = leaks
                return report
        raise RuntimeError(f"unable to persist the repaired range {self._stored.key}: too many conflicts")

    def _rebuild(self, old: AllocationBitmap,
                 values: list[object]) -> tuple[AllocationBitmap, RepairReport, dict[int, int]]:
        rebuilt = self._stored.empty()
        report = RepairReport()
        for value in values:
            offset = self._offset_of(value)
            if offset is None:
                report.out_of_range.append(value)
            elif not rebuilt.allocate(offset):
                report.duplicates.append(value)
        leaks: dict[int, int] = {}
        for offset in old:
            if rebuilt.has(offset):
                continue
            seen = self._leaks.get(offset, 0) + 1
            if seen >= LEAK_PASSES:
                report.released.append(offset)
                continue
            leaks[offset] = seen
            rebuilt.allocate(offset)
        for value in report.out_of_range + report.duplicates:
            logger.warning("range_repair_conflict", extra={"range": self._stored.key, "value": str(value)})
        return rebuilt, report, leaks
