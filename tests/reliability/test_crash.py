"""kill -9 of ``chatcli ask`` and of the app at 20 moments of a reply: nothing is lost.

Each case starts from a copy of one prepared home (a saved session with a KV snapshot),
starts a reply, watches the database (the question's row, the reply's row and its saved
length) and the snapshot folder (a temporary file being written) and sends SIGKILL when the
moment comes; the mid-stream moments also include a spread of timed kills. After each kill:
the question is saved, the database passes ``PRAGMA integrity_check``, the next ``ask -c``
works (and, as every start does, marks the reply left streaming as interrupted, its partial
text kept), and a half-written snapshot is never read.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from clitools import CHATCLI, DETERMINISTIC, chatcli, cli_env

from chatcli.assembly import open_sessions
from chatcli.engine.kvcache import SnapshotStore

pytestmark = pytest.mark.model

THREADS = ["--threads", "1"]
"""One thread: the tests share two busy cores (more threads than free cores collapse)."""
MATERIAL = "\n".join(
    f"Note {n}: the lighthouse keeper logged {n * 7} ships and {n * 3} storms that week."
    for n in range(1, 31)
)
"""Earlier history, so that a snapshot is big enough (a few MB) to be caught being written."""
POLL_S = 0.0005
GIVE_UP_S = 120.0


@dataclass
class Seen:
    """What a look at the database and the snapshot folder found."""

    question_saved: bool = False
    reply_status: str | None = None
    reply_text: str = ""
    reply_since: float | None = None
    """When the reply's row was first seen (for the timed kills)."""
    temporaries: bool = False
    """A snapshot is being written (its temporary file exists)."""
    new_index: bool = False
    """A snapshot the home did not hold has been indexed."""


@dataclass(frozen=True)
class Moment:
    """When to kill, as a test of what was seen."""

    name: str
    ready: Callable[[Seen], bool]


def _after(seconds: float) -> Callable[[Seen], bool]:
    return lambda seen: (
        seen.reply_since is not None and (time.monotonic() - seen.reply_since >= seconds)
    )


def _text_at_least(characters: int) -> Callable[[Seen], bool]:
    return lambda seen: len(seen.reply_text) >= characters


ASK_MOMENTS = [
    Moment("question saved", lambda seen: seen.question_saved),
    Moment("reply row saved", lambda seen: seen.reply_status == "streaming"),
    *(Moment(f"{n} characters saved", _text_at_least(n)) for n in (1, 20, 60, 120, 180)),
    *(Moment(f"{s} s into the reply", _after(s)) for s in (0.1, 0.25, 0.5, 0.8, 1.2)),
    Moment("final save done", lambda seen: seen.reply_status not in (None, "streaming")),
    Moment("snapshot being written", lambda seen: seen.temporaries),
    Moment("snapshot being written (again)", lambda seen: seen.temporaries),
    Moment("new snapshot indexed", lambda seen: seen.new_index),
]
TUI_MOMENTS = [
    Moment("question saved", lambda seen: seen.question_saved),
    Moment("reply row saved", lambda seen: seen.reply_status == "streaming"),
    Moment("40 characters saved", _text_at_least(40)),
    Moment("final save done", lambda seen: seen.reply_status not in (None, "streaming")),
]


class Watcher:
    """Looks at one home's database and snapshot folder for the reply to ``question``."""

    def __init__(self, home: Path, question: str) -> None:
        self.database = home / "data" / "chatcli.db"
        self.snapshots = home / "cache" / "kv"
        self.question = question
        self.seen = Seen()
        self._indexes = {entry.name for entry in self._snapshot_files()}
        self._connection = sqlite3.connect(self.database, isolation_level=None)

    def look(self) -> Seen:
        seen = self.seen
        names = [entry.name for entry in self._snapshot_files()]
        seen.temporaries = any(name.endswith(".tmp") for name in names)
        seen.new_index = any(n.endswith(".json") and n not in self._indexes for n in names)
        row = self._connection.execute(
            "SELECT a.status, a.content FROM messages q"
            " LEFT JOIN messages a ON a.parent_id = q.id AND a.role = 'assistant'"
            " WHERE q.role = 'user' AND q.content = ?",
            (self.question,),
        ).fetchone()
        seen.question_saved = row is not None
        if row is not None and row[0] is not None:
            seen.reply_status, seen.reply_text = row
            if seen.reply_since is None:
                seen.reply_since = time.monotonic()
        return seen

    def _snapshot_files(self) -> Iterator[os.DirEntry[str]]:
        for folder in os.scandir(self.snapshots):
            if folder.is_dir():
                yield from os.scandir(folder.path)

    def close(self) -> None:
        self._connection.close()


def _kill_when(moment: Moment, watcher: Watcher, pid: int, alive: Callable[[], bool]) -> Seen:
    """Send SIGKILL to ``pid`` as soon as ``moment`` is seen; what was seen just before."""
    deadline = time.monotonic() + GIVE_UP_S
    while alive() and time.monotonic() < deadline:
        if moment.ready(watcher.look()):
            os.kill(pid, signal.SIGKILL)
            return watcher.seen
        time.sleep(POLL_S)
    raise AssertionError(f"the moment '{moment.name}' never came: {watcher.seen}")


def _integrity(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.fixture(scope="module")
def prepared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with one saved session (a few hundred tokens) and its KV snapshot."""
    home = tmp_path_factory.mktemp("crash") / "home"
    ask = ["ask", "--session", "crash", *THREADS, "--max-tokens", "16", *DETERMINISTIC]
    result = chatcli(home, *ask, "Remember these notes.", stdin=MATERIAL)
    assert result.code == 0, result.stderr
    assert list((home / "cache" / "kv").glob("*/*.kv"))
    return home


def _check_after_kill(home: Path, question: str, seen: Seen) -> None:
    """The invariants that must hold whenever chatcli was killed."""
    assert _integrity(home / "data" / "chatcli.db") == "ok"
    assert seen.question_saved
    nxt = chatcli(home, "ask", "-c", *THREADS, "--max-tokens", "4", *DETERMINISTIC, "Go on.")
    assert nxt.code == 0, nxt.stderr
    assert nxt.stdout.strip() and "Traceback" not in nxt.stderr
    assert _integrity(home / "data" / "chatcli.db") == "ok"
    with open_sessions(path=home / "data" / "chatcli.db") as sessions:
        shown = sessions.history(sessions.require("crash"))
    texts = [m.content for m in shown]
    assert question in texts and texts[-2] == "Go on."
    if seen.reply_status is not None:
        reply = shown[texts.index(question) + 1]
        assert reply.role == "assistant"
        assert reply.content.startswith(seen.reply_text)  # the partial text is kept
        if seen.reply_status == "streaming":
            assert reply.status == "interrupted"
    leftovers = [p.name for p in (home / "cache" / "kv").glob("*/*.tmp")]
    assert not leftovers, "a killed write's temporary file outlived the next save"
    snapshots = [
        SnapshotStore(folder.parent, folder.name, 1 << 40) for folder in _key_folders(home)
    ]
    for store in snapshots:
        for snapshot in store.snapshots():
            assert store.read(snapshot) is not None  # an index never names a half-written state


def _key_folders(home: Path) -> list[Path]:
    return [path for path in (home / "cache" / "kv").iterdir() if path.is_dir()]


@pytest.mark.parametrize("moment", ASK_MOMENTS, ids=lambda m: m.name)
def test_ask_killed_at_any_moment_loses_nothing(
    prepared_home: Path, tmp_path: Path, moment: Moment
) -> None:
    home = tmp_path / "home"
    shutil.copytree(prepared_home, home)
    question = f"Write a long story about a dragon ({uuid.uuid4().hex[:6]})."
    watcher = Watcher(home, question)
    args = [*CHATCLI, "ask", "-c", *THREADS, "--max-tokens", "64", "--ignore-eos"]
    with subprocess.Popen(
        [*args, *DETERMINISTIC, question],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=cli_env(home),
    ) as process:
        try:
            seen = _kill_when(moment, watcher, process.pid, lambda: process.poll() is None)
        finally:
            process.kill()
            watcher.close()
    assert process.returncode == -signal.SIGKILL
    half_written = [path.name for path in (home / "cache" / "kv").glob("*/*.tmp")]
    print(f"killed at '{moment.name}'; half-written snapshot files: {half_written}")
    _check_after_kill(home, question, seen)


class Tmux:
    """One tmux server of our own (its own socket) running the app in one pane."""

    def __init__(self) -> None:
        self.name = f"chatcli-crash-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.name, *args], capture_output=True, text=True, check=False
        )

    def wait_for(self, what: str, ready: Callable[[str], bool]) -> None:
        deadline = time.monotonic() + GIVE_UP_S
        while time.monotonic() < deadline:
            screen = self.run("capture-pane", "-p", "-t", self.name).stdout
            if ready(screen):
                return
            time.sleep(0.1)  # a terminal has no event to wait on
        raise AssertionError(f"timed out waiting for {what}:\n{screen}")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    session = Tmux()
    try:
        yield session
    finally:
        session.run("kill-server")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.terminal
@pytest.mark.parametrize("moment", TUI_MOMENTS, ids=lambda m: m.name)
def test_the_app_killed_at_any_moment_loses_nothing(
    prepared_home: Path, tmp_path: Path, tmux: Tmux, moment: Moment
) -> None:
    home = tmp_path / "home"
    shutil.copytree(prepared_home, home)
    question = f"Write a long story about a dragon ({uuid.uuid4().hex[:6]})."
    settings = {"CHATCLI_HOME": str(home), "CHATCLI_THREADS": "1", "CHATCLI_MAX_TOKENS": "64"}
    env = " ".join(f"{key}={shlex.quote(value)}" for key, value in settings.items())
    command = f"exec env {env} {shlex.quote(sys.executable)} -m chatcli --session crash"
    started = tmux.run("new-session", "-d", "-s", tmux.name, "-x", "100", "-y", "30", command)
    assert started.returncode == 0, started.stderr
    pid = int(tmux.run("display-message", "-p", "-t", tmux.name, "#{pane_pid}").stdout)
    tmux.wait_for("the chat to open", lambda screen: "Quit" in screen and "ctx " in screen)
    tmux.run("send-keys", "-t", tmux.name, "-l", question)
    tmux.run("send-keys", "-t", tmux.name, "Enter")
    watcher = Watcher(home, question)
    try:
        seen = _kill_when(moment, watcher, pid, lambda: _pid_alive(pid))
    finally:
        watcher.close()
    while _pid_alive(pid):  # reaped by tmux once it is gone
        time.sleep(0.01)
    _check_after_kill(home, question, seen)
