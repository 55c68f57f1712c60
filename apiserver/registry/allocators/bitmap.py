"""AllocationBitmap: a pool of `size` offsets, one bit each, with upstream's random scan and static band.

Offsets below `offset` form the band reserved for values asked for by name (KEP-3070, KEP-3668): the next free
value is picked at random in the upper band first and from the lower band only when the upper one is full.
The snapshot is the bitmap as a big-endian unsigned integer (bit i is offset i), as Go's `big.Int.Bytes()`.
"""
from __future__ import annotations

import random
from collections.abc import Iterator


class AllocationBitmap:
    """A bitmap pool over offsets `[0, size)`; `range_spec` names the range the snapshot belongs to."""

    def __init__(self, size: int, range_spec: str, *, offset: int = 0, rand: random.Random | None = None) -> None:
        self.size = max(0, size)
        self.range_spec = range_spec
        self.offset = offset if 0 < offset < self.size else 0
        self._bits = 0
        self._count = 0
        self._rand = rand or random.Random()

    def allocate(self, offset: int) -> bool:
        """Take `offset`; False when it is taken (or outside the pool)."""
        if not 0 <= offset < self.size or self.has(offset):
            return False
        self._bits |= 1 << offset
        self._count += 1
        return True

    def allocate_next(self) -> int | None:
        """Take a free offset (upper band first, at a random start); None when the pool is full."""
        if self._count >= self.size:
            return None
        for low, high in ((self.offset, self.size), (0, self.offset)):
            span = high - low
            if span <= 0:
                continue
            start = self._rand.randrange(span)
            for step in range(span):
                candidate = low + (start + step) % span
                if not self.has(candidate):
                    self.allocate(candidate)
                    return candidate
        return None

    def release(self, offset: int) -> None:
        """Give `offset` back; releasing a free or outside offset does nothing."""
        if 0 <= offset < self.size and self.has(offset):
            self._bits &= ~(1 << offset)
            self._count -= 1

    def has(self, offset: int) -> bool:
        return 0 <= offset < self.size and bool(self._bits >> offset & 1)

    def free(self) -> int:
        return self.size - self._count

    def used(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[int]:
        bits, index = self._bits, 0
        while bits:
            if bits & 1:
                yield index
            bits >>= 1
            index += 1

    def snapshot(self) -> tuple[str, bytes]:
        """(range_spec, data): the stored form of the pool."""
        return self.range_spec, self._bits.to_bytes((self._bits.bit_length() + 7) // 8, "big")

    def restore(self, range_spec: str, data: bytes) -> None:
        """Replace the pool's state with a snapshot; ValueError when it belongs to another range."""
        if range_spec != self.range_spec:
            raise ValueError(f"the provided range does not match the current range: {range_spec}")
        bits = int.from_bytes(data, "big") & ((1 << self.size) - 1)
        self._bits = bits
        self._count = bits.bit_count()
