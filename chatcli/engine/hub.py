"""Downloading model files from a Hugging Face style hub (``huggingface_hub``, imported lazily).

A download goes to ``<name>.part`` beside its final name, resumes from there when it was cut
short (an HTTP Range request), is checked against the expected sha256 (the catalog's, else
the hub's own LFS digest) and only then renamed: nothing half-written or unverified is ever
under the final name. ``HF_ENDPOINT``, ``HF_HUB_OFFLINE`` and ``HF_TOKEN`` are honoured.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatcli import paths
from chatcli.errors import ModelError, RemoteError

DEFAULT_ENDPOINT = "https://huggingface.co"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TRUE = {"1", "on", "yes", "true"}


@dataclass(frozen=True)
class HubFile:
    """One file in a hub repository, at a revision (None = the default branch)."""

    repo: str
    filename: str
    revision: str | None = None


@dataclass(frozen=True)
class Downloaded:
    """A verified file on disk."""

    path: Path
    sha256: str
    size: int
    commit: str | None
    """The commit the hub resolved the revision to."""
    verified_against: str
    """Where the expected digest came from: 'catalog', 'hub' or 'none'."""


def endpoint() -> str:
    """The hub's base URL (``HF_ENDPOINT``, else huggingface.co)."""
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def offline() -> bool:
    """Whether the user asked huggingface_hub to stay offline (``HF_HUB_OFFLINE=1``)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


ProgressListener = Callable[[int, "int | None"], None]
"""Told (bytes so far, total bytes if known) as a download goes."""


def download(
    wanted: HubFile,
    destination: Path,
    expected_sha256: str | None = None,
    *,
    progress: bool = True,
    listener: ProgressListener | None = None,
) -> Downloaded:
    """Fetch ``wanted`` to ``destination``, resuming a partial download, verified by sha256.

    ``progress`` draws it on stderr; ``listener`` is told about it (a chat app's status bar).

    Raises RemoteError (offline, unreachable, refused, not found, server error) or
    ModelError (the bytes do not match the expected digest; the partial file is removed).
    """
    where = f"{wanted.repo}/{wanted.filename}"
    if offline():
        raise RemoteError(f"offline (HF_HUB_OFFLINE is set): cannot download {where}")
    _quiet_hub_library()
    metadata = _metadata(wanted)
    expected, source = _expected_digest(expected_sha256, metadata.etag)
    paths.ensure_private_dir(destination.parent)
    partial = destination.with_name(destination.name + ".part")
    _fetch(metadata, partial, wanted, Progress.factory(wanted.filename, progress, listener))
    digest = _sha256(partial)
    if expected and digest != expected:
        partial.unlink(missing_ok=True)
        raise ModelError(
            f"checksum mismatch for {where}: expected sha256 {expected} ({source}), "
            f"got {digest}; the download was deleted"
        )
    partial.chmod(0o600)
    partial.replace(destination)
    return Downloaded(destination, digest, destination.stat().st_size, metadata.commit_hash, source)


def _quiet_hub_library() -> None:
    """Set huggingface_hub up before its first import (it reads the environment then).

    chatcli works locally: unless the user says otherwise, huggingface_hub sends no telemetry
    (which also keeps it from fetching its agent registry from the hub). Its retries after a
    cut connection are multi-line warnings; the progress line says enough.
    """
    if not os.environ.get("HF_HUB_DISABLE_TELEMETRY"):  # unset or empty
        os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)


def _expected_digest(catalog: str | None, etag: str | None) -> tuple[str | None, str]:
    if catalog:
        return catalog.lower(), "catalog"
    if etag and _SHA256.match(etag.lower()):  # an LFS file's etag is its sha256
        return etag.lower(), "hub"
    return None, "none"


def _metadata(wanted: HubFile) -> Any:
    """The hub's HEAD answer for the file: etag, size, commit and where to GET it."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(wanted.repo, wanted.filename, revision=wanted.revision, endpoint=endpoint())
    try:
        return get_hf_file_metadata(
            url, endpoint=endpoint(), library_name="chatcli", library_version=_version()
        )
    except Exception as error:
        raise _explain(error, wanted) from None


def _fetch(metadata: Any, partial: Path, wanted: HubFile, bar: Any) -> None:
    """Append the missing bytes to ``partial`` (a Range request when some are there)."""
    from urllib.parse import urlsplit

    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

    have = partial.stat().st_size if partial.exists() else 0
    if metadata.size is not None and have > metadata.size:
        partial.unlink()  # longer than the file: a different file's leftovers
        have = 0
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    same_host = urlsplit(metadata.location).netloc == urlsplit(endpoint()).netloc
    try:
        with os.fdopen(descriptor, "ab") as handle:
            http_get(
                metadata.location,
                handle,
                resume_size=have,
                # The token goes to the hub only, not to a storage host it redirects to.
                headers=build_hf_headers(
                    token=None if same_host else False,
                    library_name="chatcli",
                    library_version=_version(),
                ),
                expected_size=metadata.size,
                displayed_filename=wanted.filename,
                tqdm_class=bar,
            )
    except Exception as error:
        raise _explain(error, wanted) from None


def _explain(error: Exception, wanted: HubFile) -> Exception:
    """One line saying why the hub did not give the file (huggingface_hub's errors)."""
    from huggingface_hub import errors

    where = f"{wanted.repo}/{wanted.filename}"
    at = f" at revision {wanted.revision}" if wanted.revision else ""
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, errors.OfflineModeIsEnabled):
        return RemoteError(f"offline (HF_HUB_OFFLINE is set): cannot download {where}")
    if isinstance(error, errors.GatedRepoError) or status in (401, 403):
        return RemoteError(
            f"the hub refused {where} ({status}): the repository is gated or private; "
            "accept its licence on the hub and set HF_TOKEN"
        )
    if isinstance(error, errors.RepositoryNotFoundError):
        return RemoteError(f"no repository {wanted.repo} on {endpoint()}")
    if isinstance(error, errors.RevisionNotFoundError):
        return RemoteError(f"{wanted.repo} has no revision {wanted.revision}")
    if isinstance(error, errors.RemoteEntryNotFoundError) or status == 404:
        return RemoteError(f"{wanted.repo} has no file {wanted.filename}{at} (404)")
    if isinstance(error, errors.HfHubHTTPError):
        return RemoteError(f"the hub failed for {where}: HTTP {status}")
    if isinstance(error, errors.FileMetadataError):
        return RemoteError(f"{endpoint()} does not answer like a model hub ({where})")
    if _network_error(error) == "connect":
        return RemoteError(
            f"offline: cannot reach {endpoint()} to download {where} ({type(error).__name__})"
        )
    if _network_error(error) == "transfer":
        return RemoteError(
            f"the download of {where} was cut off ({type(error).__name__}); "
            "what arrived is kept: run the same command again to resume"
        )
    if isinstance(error, OSError):
        return RemoteError(f"download of {where} failed: {error}".splitlines()[0])
    return error


def _network_error(error: Exception) -> str:
    """'connect' (refused, no route, DNS), 'transfer' (cut or stalled) or '' (httpx's errors)."""
    names = {cls.__name__ for cls in type(error).__mro__}
    if names & {"ConnectError", "ConnectTimeout", "ProxyError"}:
        return "connect"
    if names & {"TransportError", "TimeoutException"}:
        return "transfer"
    return ""


def _version() -> str:
    import chatcli

    return str(chatcli.__version__)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class Progress:
    """A download's progress on stderr, in the shape huggingface_hub's ``tqdm_class`` takes.

    On a terminal one line is redrawn (at most five times a second); elsewhere (a log, a
    pipe) one line is written at every tenth of the file.
    """

    def __init__(
        self,
        label: str,
        enabled: bool,
        total: int | None,
        initial: int = 0,
        listener: ProgressListener | None = None,
    ) -> None:
        self.label = label
        self.enabled = enabled
        self.listener = listener
        self.total = total
        self.done = initial
        self.started = time.monotonic()
        self.first = initial
        self.terminal = sys.stderr.isatty()
        self.last_draw = 0.0
        self.last_tenth = -1 if not total else initial * 10 // total
        if enabled and initial and total:
            self._line(f"{label}: resuming at {_mb(initial)} of {_mb(total)}")

    @classmethod
    def factory(cls, label: str, enabled: bool, listener: ProgressListener | None = None) -> Any:
        """A callable huggingface_hub can build a bar with (it passes total, initial...)."""

        def build(total: int | None = None, initial: int = 0, **_ignored: object) -> Progress:
            return cls(label, enabled, total, initial, listener)

        return build

    def update(self, count: int) -> None:
        """Count ``count`` more bytes (negative when a resume had to start over)."""
        self.done += count
        if self.listener is not None:
            self.listener(self.done, self.total)
        if not self.enabled:
            return
        if self.terminal:
            now = time.monotonic()
            if now - self.last_draw >= 0.2:
                self.last_draw = now
                print(f"\rchatcli: {self._text()}", end="", file=sys.stderr, flush=True)
        elif self.total:
            tenth = self.done * 10 // self.total
            if tenth > self.last_tenth:
                self.last_tenth = tenth
                self._line(self._text())

    def _text(self) -> str:
        seconds = max(time.monotonic() - self.started, 1e-6)
        rate = (self.done - self.first) / seconds
        share = f"{100 * self.done // self.total:3d}% " if self.total else ""
        size = f"{_mb(self.done)} of {_mb(self.total)}" if self.total else _mb(self.done)
        return f"{self.label} {share}{size} at {_mb(int(rate))}/s"

    def _line(self, text: str) -> None:
        print(f"chatcli: {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """End the redrawn line."""
        if self.enabled and self.terminal:
            print(f"\rchatcli: {self._text()}", file=sys.stderr, flush=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _mb(count: int | None) -> str:
    return f"{(count or 0) / 1e6:,.1f} MB"
