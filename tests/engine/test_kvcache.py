"""The snapshot store on its own: index, damage detection, superseding, LRU eviction."""

from __future__ import annotations

import os
from pathlib import Path

from chatcli.engine.kvcache import SnapshotStore, snapshot_key


def store(tmp_path: Path, cap: int = 1 << 30, key: str = "k") -> SnapshotStore:
    return SnapshotStore(tmp_path / "kv", key, cap)


def save(
    snapshots: SnapshotStore, tokens: list[int], text: str | None = None, size: int = 100
) -> None:
    snapshots.save_in_background(bytes([len(tokens) % 256]) * size, tokens, text, tokens)
    snapshots.wait()


def test_saved_snapshot_is_found_by_text_and_read_back(tmp_path: Path) -> None:
    snapshots = store(tmp_path)
    save(snapshots, [1, 2, 3], text="<s>hello")
    found = snapshots.best_for_text("<s>hello and more")
    assert found is not None and found.kv_tokens == [1, 2, 3]
    assert snapshots.read(found) == bytes([3]) * 100
    assert snapshots.best_for_text("<s>bye") is None
    assert (tmp_path / "kv").stat().st_mode & 0o777 == 0o700


def test_best_token_match_is_the_longest_shared_prefix(tmp_path: Path) -> None:
    snapshots = store(tmp_path)
    save(snapshots, [1, 2, 3, 4])
    save(snapshots, [1, 9, 9])
    best = snapshots.best_for_tokens([1, 2, 3, 7, 7])
    assert best is not None and best[0].kv_tokens == [1, 2, 3, 4] and best[1] == 3


def test_newer_snapshot_supersedes_its_own_prefix(tmp_path: Path) -> None:
    snapshots = store(tmp_path)
    save(snapshots, [1, 2])
    save(snapshots, [5, 6])
    save(snapshots, [1, 2, 3])
    kept = sorted(s.kv_tokens for s in snapshots.snapshots())
    assert kept == [[1, 2, 3], [5, 6]]


def test_damaged_snapshot_is_ignored(tmp_path: Path) -> None:
    snapshots = store(tmp_path)
    save(snapshots, [1, 2, 3], text="abc")
    found = snapshots.snapshots()[0]
    found.data_path.write_bytes(b"\x00" * 100)  # same size, other bytes
    assert snapshots.read(found) is None
    found.data_path.with_suffix(".json").write_text("{not json")
    assert snapshots.snapshots() == []


def test_least_recently_used_snapshots_are_evicted_beyond_the_cap(tmp_path: Path) -> None:
    snapshots = store(tmp_path, cap=250)
    for first in (10, 20, 30):
        save(snapshots, [first], size=100)
        for snapshot in snapshots.snapshots():  # make the order of use explicit
            if snapshot.kv_tokens == [first]:
                os.utime(snapshot.data_path, (first, first))
    remaining = sorted(s.kv_tokens for s in snapshots.snapshots())
    assert remaining == [[20], [30]]


def test_key_changes_with_any_part() -> None:
    assert snapshot_key("sha", 4096, "f16") != snapshot_key("sha", 2048, "f16")
    assert snapshot_key("sha", 4096, "f16") == snapshot_key("sha", 4096, "f16")
