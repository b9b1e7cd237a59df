"""Files brought into a conversation: found (files, globs, directories), read as text, framed.

An attachment goes to the model framed with its path, before the message's own text, so the
model can tell several apart. Its text is what the model saw; the store keeps it once by the
sha256 of that text, however many messages use it.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatcli.errors import BadFileError, NotFoundError
from chatcli.store.records import MessageRecord

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

SNIFF_BYTES = 8192
"""Bytes read to tell a text file from a binary one (a NUL byte there means binary)."""

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class Attachment:
    """One file's text as the model gets it."""

    path: str
    """Where it came from, as the user named it (relative paths stay relative)."""
    text: str
    size: int
    """Bytes of the file on disk."""
    tokens: int | None = None
    """Tokens the framed text adds to a message (None until counted)."""

    @property
    def sha256(self) -> str:
        """Digest of the text (what the store keys it by)."""
        return text_digest(self.text)

    def framed(self) -> str:
        """The text as it goes to the model: inside a tag that names its path."""
        return f'<file path="{self.path}">\n{self.text.rstrip()}\n</file>'


def text_digest(text: str) -> str:
    """The sha256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def with_attachments(text: str, attachments: Sequence[Attachment]) -> str:
    """A user message's text as sent: each attachment framed, then the message itself."""
    parts = [attachment.framed() for attachment in attachments]
    if text.strip():
        parts.append(text)
    return "\n\n".join(parts)


@dataclass(frozen=True)
class Found:
    """The files that ``-f`` arguments name."""

    paths: list[Path]
    from_expansion: bool
    """Whether a glob or a directory contributed (the size limits apply only then)."""
    skipped_binary: int = 0
    """Files in a directory that were left out because they are not text."""

    def total_bytes(self) -> int:
        """The files' sizes together (a file gone since is counted as empty)."""
        return sum(_size(path) for path in self.paths)


def limit_problem(found: Found, max_files: int, max_mib: float) -> str | None:
    """What is over the limit when a glob or folder brought the files, or None."""
    count, size = len(found.paths), found.total_bytes()
    if not found.from_expansion or (count <= max_files and size <= max_mib * (1 << 20)):
        return None
    return (
        f"the files given expand to {count:,} files ({human_size(size)}), over the limit "
        f"({max_files:,} files, {max_mib:g} MiB)"
    )


def find_files(specs: Sequence[str]) -> Found:
    """The files that paths, globs and directories in ``specs`` name, each once, in order.

    A named file must exist (NotFoundError); a glob matching nothing is an error too. In a
    directory, hidden entries, what its ``.gitignore`` files exclude, and non-text files are
    left out.
    """
    seen: dict[Path, None] = {}
    expanded = False
    skipped = 0
    for spec in specs:
        if _GLOB_CHARACTERS & set(spec):
            import glob  # here, not at start-up: only patterns need it (~1.7 ms)

            matches = sorted(glob.glob(os.path.expanduser(spec), recursive=True))
            files = [Path(match) for match in matches if Path(match).is_file()]
            if not files:
                raise NotFoundError(f"no files match {spec}")
            expanded = True
        else:
            path = Path(spec).expanduser()
            if path.is_dir():
                files, binary = _directory_files(path)
                skipped += binary
                expanded = True
            elif path.exists():
                files = [path]
            else:
                raise NotFoundError(f"no such file: {spec}")
        seen.update(dict.fromkeys(files))
    return Found(list(seen), expanded, skipped)


def read_files(found: Found) -> list[Attachment]:
    """Every found file read as an attachment."""
    return [read_attachment(path) for path in found.paths]


def _directory_files(root: Path) -> tuple[list[Path], int]:
    """The text files under ``root`` (sorted), and how many non-text files were left out."""
    files, binary = [], 0
    for path in _walk(root, []):
        if looks_binary(path):
            binary += 1
        else:
            files.append(path)
    return files, binary


def _walk(folder: Path, ignores: list[tuple[Path, GitIgnoreSpec]]) -> Iterator[Path]:
    """Every visible, not git-ignored file under ``folder``, in sorted order."""
    ignore_file = folder / ".gitignore"
    if ignore_file.is_file():
        ignores = [*ignores, (folder, _read_ignores(ignore_file))]
    try:
        entries = sorted(folder.iterdir())
    except OSError as error:
        raise BadFileError(f"cannot read the folder {folder}: {error.strerror}") from None
    for entry in entries:
        if entry.name.startswith(".") or _ignored(entry, ignores):
            continue
        if entry.is_dir():
            yield from _walk(entry, ignores)
        elif entry.is_file():
            yield entry


def _read_ignores(path: Path) -> GitIgnoreSpec:
    from pathspec import GitIgnoreSpec  # imported when a folder is attached, not at start-up

    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return GitIgnoreSpec.from_lines(lines)


def _ignored(entry: Path, ignores: list[tuple[Path, GitIgnoreSpec]]) -> bool:
    """Whether a ``.gitignore`` above ``entry`` excludes it (a folder is matched with a '/')."""
    for base, spec in ignores:
        relative = entry.relative_to(base).as_posix()
        if spec.match_file(relative + "/" if entry.is_dir() else relative):
            return True
    return False


def looks_binary(path: Path) -> bool:
    """Whether the start of the file holds a NUL byte outside a UTF-16 text."""
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return False  # reading it properly will say what is wrong
    return b"\0" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def read_attachment(path: Path) -> Attachment:
    """The file's text, its encoding detected (UTF-8 with or without a BOM, UTF-16 with one).

    Anything else, a binary file, or a file that cannot be read is a BadFileError naming it.
    """
    try:
        if _is_device(path):  # /dev/zero would be read forever; a pipe (<(cmd)) is fine
            raise BadFileError(f"{path} is a device, not a file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"{path} disappeared before it could be read") from None
    except OSError as error:
        raise BadFileError(f"cannot read {path}: {error.strerror}") from None
    return Attachment(str(path), decode_text(data, path), len(data))


def _is_device(path: Path) -> bool:
    mode = path.stat().st_mode
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode)


def decode_text(data: bytes, path: Path) -> str:
    """``data`` as text; BadFileError naming ``path`` when it is binary or not UTF-8/16."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise BadFileError(f"{path} is not valid {encoding.upper()} text") from None
    if b"\0" in data[:SNIFF_BYTES]:
        raise BadFileError(f"{path} is a binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadFileError(
            f"{path} is not UTF-8 or UTF-16 text (byte {error.start:,}); convert it first,"
            " e.g. iconv -f latin1 -t utf-8"
        ) from None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def largest_attachments(attachments: Sequence[Attachment], shown: int = 3) -> str:
    """The biggest attachments by tokens, with their sizes, for an overflow message."""
    biggest = sorted(attachments, key=lambda a: a.tokens or 0, reverse=True)[:shown]
    listed = ", ".join(f"{a.path} {a.tokens or 0:,} tokens ({human_size(a.size)})" for a in biggest)
    return f"the largest attachments: {listed} (--truncate-input cuts them to fit)"


def human_size(size: int) -> str:
    """Bytes as B, KB or MB (powers of 1,024), for messages."""
    if size < 1024:
        return f"{size} B"
    if size < 1 << 20:
        return f"{size / 1024:,.1f} KB"
    return f"{size / (1 << 20):,.1f} MB"


def attachment_refs(attachments: Sequence[Attachment]) -> list[dict[str, object]]:
    """How a message record lists its attachments (the texts are kept apart, by digest)."""
    return [
        {"path": a.path, "sha256": a.sha256, "size": a.size, "tokens": a.tokens}
        for a in attachments
    ]


def attachments_from_refs(
    refs: Sequence[Mapping[str, Any]], texts: Mapping[str, str]
) -> list[Attachment]:
    """A record's attachments with their kept texts (a text that is not kept reads as empty)."""
    return [
        Attachment(
            str(ref["path"]), texts.get(str(ref["sha256"]), ""), int(ref["size"]), ref.get("tokens")
        )
        for ref in refs
    ]


def digests_of(records: Iterable[MessageRecord]) -> set[str]:
    """The digests of every attachment the records carry."""
    return {str(ref["sha256"]) for record in records for ref in record.attachments}


def sent_text(record: MessageRecord, texts: Mapping[str, str]) -> str:
    """A saved message's text as the model gets it: its attachments framed, then its text."""
    if not record.attachments:
        return record.content
    return with_attachments(record.content, attachments_from_refs(record.attachments, texts))


_REF_TYPES: dict[str, type | tuple[type, ...]] = {
    "path": str,
    "sha256": str,
    "size": int,
    "tokens": (int, type(None)),
}


def check_attachments(messages: Sequence[MessageRecord], texts: Any) -> dict[str, str]:
    """The attachment texts of an imported file, checked against the messages' references.

    Raises ValueError for a malformed reference, a text that is missing or does not match its
    digest, or a text no message uses.
    """
    if not isinstance(texts, dict) or not all(isinstance(t, str) for t in texts.values()):
        raise ValueError("'attachments' must map sha256 digests to texts")
    used: set[str] = set()
    for message in messages:
        for ref in message.attachments:
            if (
                not isinstance(ref, dict)
                or set(ref) != set(_REF_TYPES)
                or not all(
                    isinstance(ref[k], t) and not isinstance(ref[k], bool)
                    for k, t in _REF_TYPES.items()
                )
            ):
                raise ValueError(f"message {message.id}: a malformed attachment {ref!r:.80}")
            if ref["sha256"] not in texts:
                raise ValueError(f"message {message.id}: the text of {ref['path']} is missing")
            used.add(ref["sha256"])
    for digest, text in texts.items():
        if text_digest(text) != digest:
            raise ValueError(f"the attached text {digest[:12]} does not match its digest")
        if digest not in used:
            raise ValueError(f"the attached text {digest[:12]} is not used by any message")
    return dict(texts)
