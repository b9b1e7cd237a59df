"""KV snapshots on disk: resume a saved session without re-processing its history.

After a reply, the sequence state of the context (llama.cpp's ``llama_state_seq_*`` API: only
the KV cells, ~23 KB per token for the default model, not the ~100 MB logits buffer that
``Llama.save_state`` copies) is written in the background beside a small JSON index entry:
the token ids it holds and the prompt text they stand for. Snapshots are grouped by a key made
of everything that makes a state reusable (model file digest, context size, KV type, chat
template, llama-cpp-python version) and evicted least-recently-used beyond a size cap.

A snapshot that is missing, damaged or rejected by llama.cpp is ignored (debug log), never an
error: the prompt is then simply processed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatcli.paths import ensure_private_dir, write_private_file

log = logging.getLogger("chatcli.kvcache")

FORMAT = 1
ORPHAN_AGE_S = 600.0
"""A temporary file this old is a dead writer's, whoever wrote it (a write takes < 1 s)."""


@dataclass(frozen=True)
class Snapshot:
    """One saved state and what it stands for."""

    data_path: Path
    kv_tokens: list[int]
    """Token ids whose KV cells the state holds, in order."""
    text: str | None
    """Prompt text that ``memo_tokens`` encode exactly (None if unknown)."""
    memo_tokens: list[int]
    """Token ids of ``text`` as they were sampled (can differ from re-tokenizing the text)."""
    data_bytes: int
    crc32: int
    origin: str | None = None
    """The id of the generation that left this state (for replay records; None if unknown)."""


def snapshot_key(*parts: object) -> str:
    """A short key from everything that must match for a state to be reusable."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


class SnapshotStore:
    """Snapshots for one model configuration under ``folder/<key>/``."""

    def __init__(self, folder: Path, key: str, cap_bytes: int) -> None:
        self.root = folder
        self.folder = folder / key
        self.cap_bytes = cap_bytes
        self._writer: threading.Thread | None = None

    def snapshots(self) -> list[Snapshot]:
        """Every readable snapshot of this configuration."""
        found = []
        for index_file in sorted(self.folder.glob("*.json")):
            snapshot = _read_index(index_file)
            if snapshot is not None:
                found.append(snapshot)
        return found

    def best_for_text(self, text: str) -> Snapshot | None:
        """The snapshot whose text is the longest prefix of ``text``."""
        matches = [s for s in self.snapshots() if s.text is not None and text.startswith(s.text)]
        return max(matches, key=lambda s: len(s.memo_tokens), default=None)

    def best_for_tokens(self, tokens: list[int]) -> tuple[Snapshot, int] | None:
        """The snapshot sharing the longest token prefix with ``tokens``, and that length."""
        best: tuple[Snapshot, int] | None = None
        for snapshot in self.snapshots():
            shared = common_prefix(snapshot.kv_tokens, tokens)
            if shared and (best is None or shared > best[1]):
                best = (snapshot, shared)
        return best

    def read(self, snapshot: Snapshot) -> bytes | None:
        """The state bytes, or None if the file is missing or damaged."""
        try:
            data = snapshot.data_path.read_bytes()
        except OSError as error:
            log.debug("snapshot %s unreadable: %s", snapshot.data_path, error)
            return None
        if len(data) != snapshot.data_bytes or zlib.crc32(data) != snapshot.crc32:
            log.debug("snapshot %s is damaged; ignored", snapshot.data_path)
            return None
        try:
            os.utime(snapshot.data_path)  # most recently used: evicted last
        except OSError:
            log.debug("snapshot %s evicted while read", snapshot.data_path)
        return data

    def save_in_background(
        self,
        data: bytes,
        kv_tokens: list[int],
        text: str | None,
        memo_tokens: list[int],
        origin: str | None = None,
    ) -> None:
        """Write a snapshot without making the caller wait (one write at a time)."""
        self.wait()
        # Not a daemon (it would inherit that from the engine's thread): an exiting process
        # still finishes the write and removes the snapshot it supersedes.
        self._writer = threading.Thread(
            target=self._save,
            args=(data, kv_tokens, text, memo_tokens, origin),
            name="kv-snapshot",
            daemon=False,
        )
        self._writer.start()

    def wait(self) -> None:
        """Wait for the snapshot being written, if any."""
        if self._writer is not None:
            self._writer.join()
            self._writer = None

    def _save(
        self,
        data: bytes,
        kv_tokens: list[int],
        text: str | None,
        memo: list[int],
        origin: str | None,
    ) -> None:
        try:
            ensure_private_dir(self.root)  # states encode the conversation: keep them private
            self.folder.mkdir(mode=0o700, exist_ok=True)
            name = hashlib.sha256(json.dumps(kv_tokens).encode()).hexdigest()[:24]
            data_path = self.folder / f"{name}.kv"
            if len(data) > self.cap_bytes:
                log.debug("snapshot of %d bytes not saved: over the cap", len(data))
                return
            self.evict(room=len(data))  # make room first: the cache never holds more than the cap
            temporary = _temporary_suffix()  # whose it is: a dead writer's is deleted on eviction
            write_private_file(data_path, data, temporary_suffix=temporary)
            index = {
                "format": FORMAT,
                "kv_tokens": kv_tokens,
                "text": text,
                "memo_tokens": memo,
                "data_bytes": len(data),
                "crc32": zlib.crc32(data),
                "origin": origin,
            }
            write_private_file(
                data_path.with_suffix(".json"), json.dumps(index).encode(), temporary
            )
            self._drop_superseded(kv_tokens, keep=data_path)
            self.evict()
        except OSError as error:
            log.debug("snapshot not saved: %s", error)

    def _drop_superseded(self, kv_tokens: list[int], keep: Path) -> None:
        """A snapshot whose tokens begin a newer one is useless: the newer one covers it."""
        for snapshot in self.snapshots():
            older = snapshot.kv_tokens
            covered = len(older) <= len(kv_tokens) and kv_tokens[: len(older)] == older
            if covered and snapshot.data_path != keep:
                _remove(snapshot.data_path)

    def evict(self, room: int = 0) -> None:
        """Delete least-recently-used snapshots (of every configuration) beyond the cap.

        ``room``: bytes to keep free under the cap (for a snapshot about to be written).
        Temporary files left by a writer that died mid-write (kill -9, power loss) go first.
        Another process may delete files meanwhile: a file gone is simply not counted.
        """
        _remove_orphaned_temporaries(self.root)
        files = []
        for path in self.root.glob("*/*.kv"):
            try:
                status = path.stat()
            except OSError:
                continue
            files.append((status.st_mtime, status.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total + room <= self.cap_bytes:
                break
            total -= size
            _remove(path)


def _temporary_suffix() -> str:
    """The suffix of a file being written: it names the writing process."""
    return f".{os.getpid()}.tmp"


def _remove_orphaned_temporaries(root: Path) -> None:
    """Delete the temporary files of writers that are no longer running."""
    for path in root.glob("*/*.tmp"):
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            continue
        writer = path.name.rsplit(".", 2)[-2] if path.name.count(".") >= 2 else ""
        if age > ORPHAN_AGE_S or not (writer.isdigit() and _running(int(writer))):
            path.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists (where that can be asked without harm)."""
    if os.name == "nt":  # os.kill there would end it: rely on the age of its files
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process
    return True


def _read_index(index_file: Path) -> Snapshot | None:
    try:
        data: Any = json.loads(index_file.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            return None
        return Snapshot(
            data_path=index_file.with_suffix(".kv"),
            kv_tokens=[int(t) for t in data["kv_tokens"]],
            text=data["text"] if isinstance(data["text"], str) else None,
            memo_tokens=[int(t) for t in data["memo_tokens"]],
            data_bytes=int(data["data_bytes"]),
            crc32=int(data["crc32"]),
            origin=data["origin"] if isinstance(data.get("origin"), str) else None,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        log.debug("snapshot index %s ignored: %s", index_file, error)
        return None


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading token ids ``a`` and ``b`` share."""
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    return shared


def _remove(data_path: Path) -> None:
    for path in (data_path, data_path.with_suffix(".json")):
        path.unlink(missing_ok=True)
