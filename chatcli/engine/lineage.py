"""Which recorded generation left what the KV cache holds (for replay records).

A reply's ``Evaluation`` names the generation whose context it reused; this is where the
engine keeps that name as the cache changes: a reply leaves its own id, a snapshot brings the
id saved with it, and a context shift marks the cache as moved (a shifted context cannot be
rebuilt bit for bit from the recorded pieces alone).
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

    def built_by(self, evaluation_id: str) -> None:
        """A generation just left the cache as it is."""
        self.origin, self.shifted = evaluation_id, False

    def restored(self, origin: str | None) -> None:
        """The cache was loaded from a snapshot saved after generation ``origin``."""
        self.origin, self.shifted = origin, False

    def shift(self) -> None:
        """Turns were removed from the cache and the rest moved down."""
        self.shifted = True

    def reset(self) -> None:
        """The cache was emptied (or filled by something not recorded)."""
        self.origin, self.shifted = None, False


def new_evaluation_id() -> str:
    """A fresh id for one generation."""
    return os.urandom(8).hex()  # secrets.token_hex, without importing secrets (~1.5 ms)
