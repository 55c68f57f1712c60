"""The live lookup of plugins whose cache shows nothing for a namespace (upstream's liveLookupCache).

LimitRanger and ResourceQuota read their objects from the watch cache; when it has none for a namespace they
read storage, since an object created a moment ago may not have reached the cache. The answer is remembered for
30 seconds per namespace (an LRU of 4096 upstream) so that writes in namespaces without such objects do not read
storage every time.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

from apiserver.meta.objects import JSONDict

LIVE_TTL_SECONDS = 30.0
MAX_NAMESPACES = 4096


class LiveLookupCache:
    def __init__(self, *, ttl: float = LIVE_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Sequence[JSONDict]]] = OrderedDict()

    async def get(self, namespace: str, read: Callable[[], Awaitable[Sequence[JSONDict]]]) -> Sequence[JSONDict]:
        """What `read()` answered for the namespace within the TTL, else its new answer (remembered)."""
        entry = self._entries.get(namespace)
        if entry is not None and entry[0] > self._clock():
            self._entries.move_to_end(namespace)
            return entry[1]
        items = await read()
        self._entries[namespace] = (self._clock() + self._ttl, items)
        self._entries.move_to_end(namespace)
        while len(self._entries) > MAX_NAMESPACES:
            self._entries.popitem(last=False)
        return items

    def forget(self, namespace: str) -> None:
        self._entries.pop(namespace, None)
