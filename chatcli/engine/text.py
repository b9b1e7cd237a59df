"""Turning sampled tokens into text: incremental UTF-8 decoding and stop strings."""

from __future__ import annotations

import codecs
from collections.abc import Callable


class PieceDecoder:
    """Decodes token pieces (raw bytes) to text one token at a time.

    A multi-byte UTF-8 character can be split across tokens; the incremental decoder holds
    the first bytes back until the character is complete, so no replacement characters
    appear mid-stream. Each step costs O(1), unlike re-detokenizing the whole reply.
    """

    def __init__(self, piece_of: Callable[[int], bytes]) -> None:
        self._piece_of = piece_of
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, token: int) -> str:
        """Text completed by this token ('' while a character is still incomplete)."""
        return self._decoder.decode(self._piece_of(token))

    def flush(self) -> str:
        """Whatever bytes are left at the end (shown as a replacement character)."""
        return self._decoder.decode(b"", final=True)


class StopScanner:
    """Finds stop strings in streamed text without ever emitting part of one.

    Text that could be the start of a stop string is held back until it either completes
    the stop string (the reply ends there) or turns out to be ordinary text.
    """

    def __init__(self, stops: tuple[str, ...]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Add text; return the part that is safe to show now ('' once stopped)."""
        if self.stopped:
            return ""
        if not self._stops:
            return text
        self._pending += text
        # Text from here on may still become a stop string; decide nothing about it yet.
        undecided = len(self._pending) - self._longest_stop_prefix_at_end()
        cut = self._earliest_stop()
        if 0 <= cut <= undecided:
            return self._stop_at(cut)
        safe, self._pending = self._pending[:undecided], self._pending[undecided:]
        return safe

    def flush(self) -> str:
        """At the end of the reply: release held-back text, up to a stop string if one is there."""
        if self.stopped:
            return ""
        cut = self._earliest_stop()
        if cut >= 0:
            return self._stop_at(cut)
        rest, self._pending = self._pending, ""
        return rest

    def _earliest_stop(self) -> int:
        found = [i for stop in self._stops if (i := self._pending.find(stop)) >= 0]
        return min(found, default=-1)

    def _stop_at(self, cut: int) -> str:
        self.stopped = True
        safe, self._pending = self._pending[:cut], ""
        return safe

    def _longest_stop_prefix_at_end(self) -> int:
        longest = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(self._pending)), longest, -1):
                if self._pending.endswith(stop[:size]):
                    longest = size
                    break
        return longest
