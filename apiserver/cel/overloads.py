"""Function declarations: overloads with their CEL signatures, Python implementations and costs.

A `Library` maps a function name to its overloads. The checker picks the overloads whose signatures accept the
argument types; at runtime, when more than one could apply (dyn arguments), the first whose parameter kinds
match the runtime values is called, and none matching is cel-go's `no such overload`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from apiserver.cel.types import CelType
from apiserver.cel.values import kind_of

CostFunction = Callable[[Sequence[Any], Any], int]
EstimateFunction = Callable[[Sequence[CelType]], int]
Library = dict[str, list["Overload"]]



@dataclass(frozen=True, slots=True)
class Overload:
    """One signature of a function. `params` starts with the receiver for member overloads."""

    id: str
    params: tuple[CelType, ...]
    result: CelType
    impl: Callable[..., Any]
    member: bool = False
    # Runtime cost from the argument values and the result, static estimate from the argument types (default 1);
    # set from `callcost` when the environment is built.
    cost: CostFunction | None = None
    estimate: EstimateFunction | None = None
    # Kinds each parameter accepts at runtime (None: anything).
    kinds: tuple[frozenset[str] | None, ...] = field(default=(), compare=False)

    def accepts(self, args: Sequence[Any]) -> bool:
        for accepted, value in zip(self.runtime_kinds(), args, strict=True):
            if accepted is not None and kind_of(value) not in accepted:
                return False
        return True

    def runtime_kinds(self) -> tuple[frozenset[str] | None, ...]:
        if self.kinds or not self.params:
            return self.kinds
        kinds = tuple(runtime_kinds_of(param) for param in self.params)
        object.__setattr__(self, "kinds", kinds)
        return kinds


def runtime_kinds_of(cel_type: CelType) -> frozenset[str] | None:
    kind = cel_type.kind
    if kind in ("dyn", "param", "error"):
        return None
    if kind == "opaque":
        return frozenset({"opaque:" + cel_type.name})
    if kind == "object":
        return frozenset({"map"})
    return frozenset({kind})


def overload(name: str, params: Sequence[CelType], result: CelType, impl: Callable[..., Any], *,
             member: bool = False, kinds: tuple[frozenset[str] | None, ...] = ()) -> Overload:
    """An overload; `kinds` overrides the runtime kinds accepted (when the implementation reports its own errors)."""
    return Overload(name, tuple(params), result, impl, member, kinds=kinds)


def add(library: Library, name: str, *overloads: Overload) -> None:
    library.setdefault(name, []).extend(overloads)
