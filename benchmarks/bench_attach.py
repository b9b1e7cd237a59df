"""Attachments: the cost of attaching a file next to the tokenizer alone, and the disk it takes.

1. A 1 MB text file (this repository's README, repeated): finding it, reading it with its
   encoding detected and counting its tokens exactly (``ask -f``'s work before the prompt is
   planned) ÷ the bare llama.cpp tokenizer on the same text. Goal ≤ 1.2.
2. The same file attached to 100 messages: how much the database grows ÷ the file's size.
   Goal < 1.1 for the text itself; the full-text index of it is reported beside it.

Run: ``python benchmarks/bench_attach.py [--runs 5] [--mib 1]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from chatcli.catalog import resolve_model
from chatcli.config import Settings
from chatcli.core.attachments import attachment_refs, find_files, read_files
from chatcli.core.chat import ChatCore
from chatcli.engine.llama import LlamaEngine, LlamaOptions
from chatcli.store.store import Store

README = Path(__file__).resolve().parent.parent / "README.md"


def sample_file(folder: Path, mib: float) -> Path:
    """A text file of about ``mib`` MiB made of real prose and tables."""
    text = README.read_text(encoding="utf-8")
    path = folder / "sample.md"
    path.write_text(text * max(1, int(mib * (1 << 20) / len(text.encode()))), encoding="utf-8")
    return path


def timed(work: Callable[[], object]) -> float:
    """Seconds ``work`` takes."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def attach_cost(
    core: ChatCore, engine: LlamaEngine, path: Path, runs: int
) -> list[tuple[float, float]]:
    """Print attaching ÷ bare tokenizing, alternated, median of ``runs`` pairs; return them."""
    text = path.read_text(encoding="utf-8").encode()

    def bare() -> None:
        engine.llama.tokenize(text, add_bos=False, special=False)

    def attach() -> None:
        core.count_attachments(read_files(find_files([str(path)])))

    pairs = [(timed(bare), timed(attach)) for _ in range(runs)]
    ratios = [ours / theirs for theirs, ours in pairs]
    print(
        f"attach {path.stat().st_size / (1 << 20):.2f} MiB: bare tokenizer "
        f"{statistics.median(t for t, _ in pairs):.3f} s, find + read + exact count "
        f"{statistics.median(o for _, o in pairs):.3f} s; ratio {statistics.median(ratios):.3f} "
        f"(spread {min(ratios):.3f}-{max(ratios):.3f}; goal <= 1.2)"
    )
    return pairs


def disk_growth(path: Path, folder: Path) -> tuple[float, float]:
    """Print how the database grows when one file is attached to 100 messages.

    Returns the growth and the text kept, each ÷ the file's size.
    """
    (attachment,) = read_files(find_files([str(path)]))
    database = folder / "growth.db"
    with Store.open(database) as store:
        session = store.create_session(model="bench")
    before = database.stat().st_size
    with Store.open(database) as store:  # closing folds the write-ahead log into the file
        refs = attachment_refs([attachment])
        for turn in range(100):
            store.add_message(
                session.id,
                parent_id=store.get_session(session.id).current_leaf,
                role="user",
                content=f"Question {turn} about the file.",
                attachments=refs,
                attachment_texts={attachment.sha256: attachment.text},
            )
        kept = store.attachments.stored_bytes()
    grown = database.stat().st_size - before
    size = path.stat().st_size
    print(
        f"100 messages with the same {size / (1 << 20):.2f} MiB file: database grew "
        f"{grown / (1 << 20):.2f} MiB = {grown / size:.2f}x the file (text kept once: "
        f"{kept / size:.2f}x before compression; on disk it is compressed, beside its "
        "full-text index and the message rows)"
    )
    return grown / size, kept / size


def measure(runs: int, mib: float) -> tuple[list[tuple[float, float]], tuple[float, float]]:
    """Both measurements on the default model's tokenizer: the pairs and the growth."""
    resolved = resolve_model("")
    engine = LlamaEngine(LlamaOptions(model_path=resolved.path, model_name=resolved.name))
    engine.load()
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "s.db") as store:
        path = sample_file(Path(folder), mib)
        pairs = attach_cost(ChatCore(engine, store, Settings()), engine, path, runs)
        growth = disk_growth(path, Path(folder))
    engine.close()
    return pairs, growth


def main() -> None:
    """Measure both, on the default model's tokenizer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mib", type=float, default=1.0)
    args = parser.parse_args()
    measure(args.runs, args.mib)


if __name__ == "__main__":
    main()
