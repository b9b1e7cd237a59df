"""Downloads from a hub (engine/hub.py) against a loopback server that answers like the hub."""

from __future__ import annotations

import hashlib
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_server import Hub, fake_hub, write_small_gguf

from chatcli.engine.gguf import inspect_gguf
from chatcli.engine.hub import HubFile, download
from chatcli.errors import ModelError, RemoteError

WANTED = HubFile("someone/tiny-GGUF", "tiny.gguf")


@pytest.fixture(scope="module")
def gguf_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_small_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf").read_bytes()


@pytest.fixture(scope="module")
def big_gguf_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Larger than huggingface_hub's 10 MiB write chunk, so a cut leaves bytes to resume from."""
    path = tmp_path_factory.mktemp("gguf") / "big.gguf"
    return write_small_gguf(path, elements=3_000_000).read_bytes()


@pytest.fixture
def hub(gguf_bytes: bytes, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    with fake_hub(gguf_bytes) as served:
        monkeypatch.setenv("HF_ENDPOINT", served.url)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        # Set here (and so restored after the test) rather than by chatcli in os.environ.
        monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        monkeypatch.delenv("HF_TOKEN", raising=False)
        yield served


def test_download_verifies_against_the_hubs_sha256_and_lands_private(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = tmp_path / "models" / "tiny.gguf"

    done = download(WANTED, destination)

    assert destination.read_bytes() == hub.body
    assert (done.sha256, done.size, done.verified_against) == (hub.sha256, len(hub.body), "hub")
    assert done.commit == "0123456789abcdef0123456789abcdef01234567"
    assert stat.S_IMODE(destination.stat().st_mode) == 0o600
    assert not destination.with_name("tiny.gguf.part").exists()
    assert inspect_gguf(destination).architecture == "llama"
    assert "tiny.gguf 100%" in capsys.readouterr().err
    assert hub.gets()[0][1] == "/someone/tiny-GGUF/resolve/main/tiny.gguf"


def test_download_asks_for_the_pinned_revision(hub: Hub, tmp_path: Path) -> None:
    download(HubFile("someone/tiny-GGUF", "tiny.gguf", "abc123"), tmp_path / "tiny.gguf")

    assert hub.gets()[0][1] == "/someone/tiny-GGUF/resolve/abc123/tiny.gguf"


def test_the_catalogs_sha256_is_checked_first(hub: Hub, tmp_path: Path) -> None:
    done = download(WANTED, tmp_path / "tiny.gguf", expected_sha256=hub.sha256.upper())

    assert done.verified_against == "catalog"


def test_a_mismatch_with_the_catalog_deletes_the_download(hub: Hub, tmp_path: Path) -> None:
    destination = tmp_path / "tiny.gguf"

    with pytest.raises(ModelError, match=r"checksum mismatch .* expected sha256 0{64} \(catalog\)"):
        download(WANTED, destination, expected_sha256="0" * 64)

    assert list(tmp_path.iterdir()) == []


def test_a_mismatch_with_the_hubs_etag_deletes_the_download(hub: Hub, tmp_path: Path) -> None:
    hub.etag = "f" * 64

    with pytest.raises(ModelError, match=r"\(hub\)"):
        download(WANTED, tmp_path / "tiny.gguf")

    assert list(tmp_path.iterdir()) == []


def test_a_partial_download_is_resumed_with_a_range_request(hub: Hub, tmp_path: Path) -> None:
    destination = tmp_path / "tiny.gguf"
    kept = 100_000
    destination.with_name("tiny.gguf.part").write_bytes(hub.body[:kept])

    download(WANTED, destination)

    assert [get[2] for get in hub.gets()] == [f"bytes={kept}-"]
    assert hashlib.sha256(destination.read_bytes()).hexdigest() == hub.sha256


def test_a_cut_connection_resumes_where_it_broke(
    hub: Hub, big_gguf_bytes: bytes, tmp_path: Path
) -> None:
    hub.body = big_gguf_bytes
    hub.cut_after, hub.cuts_left = 11_000_000, 1
    destination = tmp_path / "big.gguf"

    download(WANTED, destination, progress=False)

    ranges = [get[2] for get in hub.gets()]
    assert ranges[0] is None
    assert ranges[1] is not None
    resumed_at = int(ranges[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 11_000_000
    assert destination.read_bytes() == big_gguf_bytes


def test_a_leftover_longer_than_the_file_is_started_over(hub: Hub, tmp_path: Path) -> None:
    destination = tmp_path / "tiny.gguf"
    destination.with_name("tiny.gguf.part").write_bytes(b"x" * (len(hub.body) + 10))

    download(WANTED, destination)

    assert destination.read_bytes() == hub.body


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (404, "EntryNotFound", "has no file tiny.gguf (404)"),
        (404, "RepoNotFound", "no repository someone/tiny-GGUF"),
        (401, "GatedRepo", "gated or private; accept its licence on the hub and set HF_TOKEN"),
        (403, None, "refused someone/tiny-GGUF/tiny.gguf (403)"),
        (500, None, "the hub failed for someone/tiny-GGUF/tiny.gguf: HTTP 500"),
    ],
)
def test_hub_failures_are_one_remote_error(
    hub: Hub, tmp_path: Path, status: int, code: str | None, words: str
) -> None:
    hub.fail_status, hub.error_code = status, code

    with pytest.raises(RemoteError) as raised:
        download(WANTED, tmp_path / "tiny.gguf")

    assert words in raised.value.message
    assert "\n" not in raised.value.message
    assert not (tmp_path / "tiny.gguf").exists()


def test_offline_mode_says_so_without_asking_the_network(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    with pytest.raises(RemoteError, match=re.escape("offline (HF_HUB_OFFLINE is set)")):
        download(WANTED, tmp_path / "tiny.gguf")

    assert hub.file_requests() == []


def test_an_unreachable_hub_is_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: refused
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    with pytest.raises(RemoteError, match=re.escape("offline: cannot reach http://127.0.0.1:9")):
        download(WANTED, tmp_path / "tiny.gguf")


def test_the_token_goes_to_the_hub(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str | None] = []
    original = type(hub)  # keep mypy quiet about the handler; the header is read below
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    import hub_server

    record = hub_server._Handler._answer

    def spy(self: hub_server._Handler, send_body: bool) -> None:
        seen.append(self.headers.get("Authorization"))
        record(self, send_body)

    monkeypatch.setattr(hub_server._Handler, "_answer", spy)
    assert original is Hub

    download(WANTED, tmp_path / "tiny.gguf")

    assert seen and all(header == "Bearer hf_secret" for header in seen)
