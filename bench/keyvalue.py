"""The key-value workloads: create, update, get and list through ours and raw, repetitions interleaved.

Repetition r of each side writes its own keys (`root_of(side, r)`), so no side ever sees the other's data and
every repetition creates fresh keys. Repetition 0 is the dataset every read uses: 10 namespaces of
objects/10 pods each. Even repetitions run raw first, odd ones ours first, so drift (a growing database,
another process waking up) does not always land on the same side.
"""
from __future__ import annotations

import time

from bench.measure import CpuMeter, Result, Run, compare_latencies, compare_runs, drive
from bench.sides import Side
from bench.workload import NAMESPACES, PAGE_SIZE, Profile, object_key, pod_value, root_of


class KeyValueBench:
    """Creates, updates, gets and lists through both sides, repetitions interleaved to cancel drift."""

    def __init__(self, backend: str, profile: Profile, ours: Side, raw: Side, meter: CpuMeter) -> None:
        self.backend = backend
        self.profile = profile
        self.ours = ours
        self.raw = raw
        self.meter = meter
        self._revisions: dict[tuple[str, int], list[int]] = {}

    def _sides(self, rep: int) -> tuple[Side, Side]:
        return (self.raw, self.ours) if rep % 2 == 0 else (self.ours, self.raw)

    async def writes(self, workload: str, generation: int) -> list[Result]:
        """Generation 1 creates every object of each repetition; generation 2 updates each at its revision."""
        runs: dict[str, list[Run]] = {"ours": [], "raw": []}
        for rep in range(self.profile.write_reps):
            for side in self._sides(rep):
                runs[side.name].append(await self._write_rep(side, rep, generation))
        return [compare_runs(self.backend, workload, runs["ours"], runs["raw"])]

    async def _write_rep(self, side: Side, rep: int, generation: int) -> Run:
        count = self.profile.objects
        keys = [object_key(root_of(side.name, rep), index) for index in range(count)]
        values = [pod_value(index, generation) for index in range(count)]
        revisions = self._revisions.setdefault((side.name, rep), [0] * count)

        async def create(index: int) -> None:
            revisions[index] = await side.create(keys[index], values[index])

        async def update(index: int) -> None:
            revisions[index] = await side.update(keys[index], values[index], revisions[index])

        return await drive(create if generation == 1 else update, count, side.in_flight, self.meter)

    async def compact(self) -> None:
        for side in (self.raw, self.ours):
            started = time.perf_counter()
            await side.compact()
            print(f"[{self.backend}] compacted {side.name} in {time.perf_counter() - started:.2f} s", flush=True)

    async def gets(self, workload: str, count: int, concurrent: bool) -> list[Result]:
        runs: dict[str, list[Run]] = {"ours": [], "raw": []}
        for rep in range(self.profile.read_reps):
            for side in self._sides(rep):
                runs[side.name].append(await self._get_rep(side, count, side.in_flight if concurrent else 1))
        return [compare_runs(self.backend, workload, runs["ours"], runs["raw"])]

    async def _get_rep(self, side: Side, count: int, in_flight: int) -> Run:
        root, objects = root_of(side.name, 0), self.profile.objects
        # A fixed stride through the dataset: every read hits a different key, in no particular order.
        keys = [object_key(root, (index * 7919) % objects) for index in range(count)]

        async def get(index: int) -> None:
            if await side.get(keys[index]) is None:
                raise LookupError(f"{keys[index]} not found")

        return await drive(get, count, in_flight, self.meter)

    async def lists(self) -> list[Result]:
        small, large = self.profile.objects // NAMESPACES, self.profile.objects
        cases = (
            (f"list {small}", "ns0/", small, 0, self.profile.small_list_reps),
            (f"list {small} paged {PAGE_SIZE}", "ns0/", small, PAGE_SIZE, self.profile.small_list_reps),
            (f"list {large}", "", large, 0, self.profile.large_list_reps),
            (f"list {large} paged {PAGE_SIZE}", "", large, PAGE_SIZE, self.profile.large_list_reps),
        )
        return [await self._list_case(*case) for case in cases]

    async def _list_case(self, workload: str, suffix: str, expected: int, page_size: int, reps: int) -> Result:
        durations: dict[str, list[float]] = {"ours": [], "raw": []}
        wrong: list[str] = []
        for rep in range(reps):
            for side in self._sides(rep):
                started = time.perf_counter()
                count = await side.list_count(f"{root_of(side.name, 0)}/pods/{suffix}", page_size)
                durations[side.name].append(time.perf_counter() - started)
                if count != expected:
                    wrong.append(f"{side.name} listed {count} of {expected}")
        failures = "; ".join(sorted(set(wrong)))
        return compare_latencies(self.backend, workload, durations["ours"], durations["raw"], failures)
