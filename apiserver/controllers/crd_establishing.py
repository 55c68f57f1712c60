"""The CRD establishing controller: reports a CRD `Established` once its names are accepted and it is served.

The shape of apiextensions-apiserver's EstablishingController (pkg/controller/establish): a CRD whose
`NamesAccepted` condition is True and whose `Established` condition is not becomes a key; `reconcile` sets
`Established` True, reason `InitialNamesAccepted`, message `the initial names have been accepted`. Upstream's
controller runs after the CR handler has started serving the names (it is queued from there); here it waits
until the server's CRD serving (`is_serving(name)`) has the CRD in the catalog, so a client that waits for
Established can use the resource at once. Runs as the loopback identity, like the naming controller.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Final

from apiserver.controllers.base import RequeueAfter
from apiserver.controllers.crd_controller import CRDController
from apiserver.meta.objects import Clock, utc_now
from apiserver.resources.apiextensions.crd_conditions import (
    ESTABLISHED,
    NAMES_ACCEPTED,
    condition,
    is_condition_true,
    set_condition,
)

JSONDict = dict[str, Any]
SERVING_POLL_SECONDS: Final = 0.05
# A CRD the server cannot serve (its resource is a built-in's) is still reported Established after this long.
SERVING_WAIT_POLLS: Final = 200


def needs_establishing(crd: JSONDict) -> bool:
    return is_condition_true(crd, NAMES_ACCEPTED) and not is_condition_true(crd, ESTABLISHED)


class CRDEstablishingController(CRDController):
    name = "crd-establishing-controller"

    def __init__(self, is_serving: Callable[[str], bool] | None = None, clock: Clock = utc_now) -> None:
        super().__init__(clock)
        self._is_serving = is_serving
        self._polls: dict[str, int] = {}

    def wants(self, crd: JSONDict) -> bool:
        return needs_establishing(crd)

    async def reconcile(self, key: str) -> None:
        assert self._crds is not None
        crd = self._crds.get(key)
        if crd is None or not needs_establishing(crd):
            return
        if self._is_serving is not None and not self._is_serving(key):
            polls = self._polls[key] = self._polls.get(key, 0) + 1
            if polls < SERVING_WAIT_POLLS:
                raise RequeueAfter(SERVING_POLL_SECONDS)
        self._polls.pop(key, None)
        updated = copy.deepcopy(crd)
        set_condition(updated, condition(ESTABLISHED, "True", "InitialNamesAccepted",
                                         "the initial names have been accepted"), self._clock())
        await self.write_status(updated)
