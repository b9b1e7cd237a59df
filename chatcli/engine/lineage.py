"""Which recorded generation left what the KV cache holds (for replay records).

A reply's ``Evaluation`` names the generation whose context it reused; this is where the
engine keeps that name as the cache changes: a reply leaves its own id, a snapshot brings the
id saved with it, an opening restored from disk (``openings``) stands for its own piece
evaluated from an empty context, and a context shift marks the cache as moved (a shifted
context cannot be rebuilt bit for bit from the recorded pieces alone).
"""

from __future__ import annotations

import os


class KvLineage:
    """The origin of the KV cache's contents."""

    def __init__(self) -> None:
        self.origin: str | None = None
        """The id of the generation that left the cache as it is (None: unknown or empty)."""
        self.shifted = False
        """Whether turns were shifted out of the cache since that generation."""
        self.opening = 0
        """Tokens restored from a kept opening into an empty cache (0: none)."""

    def built_by(self, evaluation_id: str) -> None:
        """A generation just left the cache as it is."""
        self.origin, self.shifted, self.opening = evaluation_id, False, 0

    def restored(self, origin: str | None) -> None:
        """The cache was loaded from a snapshot saved after generation ``origin``."""
        self.origin, self.shifted, self.opening = origin, False, 0

    def opened(self, count: int) -> None:
        """The empty cache was loaded with a kept opening of ``count`` tokens."""
        self.origin, self.shifted, self.opening = None, False, count

    def shift(self) -> None:
        """Turns were removed from the cache and the rest moved down."""
        self.shifted, self.opening = True, 0

    def reset(self) -> None:
        """The cache was emptied (or filled by something not recorded)."""
        self.origin, self.shifted, self.opening = None, False, 0


def new_evaluation_id() -> str:
    """A fresh id for one generation."""
    return os.urandom(8).hex()  # secrets.token_hex, without importing secrets (~1.5 ms)
