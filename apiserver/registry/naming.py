"""Generated names: `generateName` plus five random characters, as upstream's SimpleNameGenerator builds them."""
from __future__ import annotations

import random
from typing import Final, Protocol

# k8s.io/apimachinery/pkg/util/rand: no vowels (no words) and no confusable characters.
ALPHANUMS: Final = "bcdfghjklmnpqrstvwxz2456789"
RANDOM_LENGTH: Final = 5
MAX_NAME_LENGTH: Final = 63
MAX_GENERATED_NAME_LENGTH: Final = MAX_NAME_LENGTH - RANDOM_LENGTH


class NameGenerator(Protocol):
    """Turns a generateName prefix into a candidate name; called again after a collision."""

    def __call__(self, base: str) -> str: ...


class RandomNameGenerator:
    """The prefix (cut to 58 characters) and five random characters; pass a seeded Random for reproducible names."""

    def __init__(self, source: random.Random | None = None) -> None:
        self._random = source or random.SystemRandom()

    def __call__(self, base: str) -> str:
        suffix = "".join(self._random.choice(ALPHANUMS) for _ in range(RANDOM_LENGTH))
        return base[:MAX_GENERATED_NAME_LENGTH] + suffix
