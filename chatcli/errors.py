"""The one error hierarchy. Each class carries the process exit code the CLI uses for it.

Exit codes (documented in the README):
    0   success
    1   any other chatcli error
    2   bad command-line usage (typer/click)
    3   configuration file or environment value is invalid
    4   model problem: missing file, not a GGUF, truncated, failed to load, checksum mismatch
    5   unknown name: role, session or catalog model
    6   the prompt does not fit in the model's context
    7   remote server or model hub error (offline, unreachable, 404, gated, 5xx)
    8   storage problem (database unreadable, locked, foreign, read-only, disk full)
    9   a file given to chatcli (import, attachment, export target) is unusable
    10  ``replay``: the replayed reply differs from the recorded one
    11  ``replay``: the reply cannot be replayed faithfully (the message says why)
    129 stopped by SIGHUP (the terminal went away) mid-reply; the partial reply is saved
    130 interrupted by Ctrl+C
    143 stopped by SIGTERM mid-reply; the partial reply is saved
"""

from __future__ import annotations


class ChatcliError(Exception):
    """Base of every failure shown to a user as one line on stderr."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(ChatcliError):
    """The command was given a value it cannot use (an empty session name, say)."""

    exit_code = 2


class ConfigError(ChatcliError):
    """A configuration file or CHATCLI_* environment value is invalid."""

    exit_code = 3


class ModelError(ChatcliError):
    """The model file is missing, is not a GGUF, is truncated, or failed to load."""

    exit_code = 4


class NotFoundError(ChatcliError):
    """A named thing (role, session, catalog model) does not exist."""

    exit_code = 5


class ContextOverflowError(ChatcliError):
    """The prompt (with room for the reply) does not fit in the model's context.

    The message says what does not fit; each front end adds how to change the context there
    (``--ctx`` on the command line, the settings dialog in the chat app).
    """

    exit_code = 6


class RemoteError(ChatcliError):
    """A remote OpenAI-compatible server failed or could not be reached."""

    exit_code = 7


class BadFileError(ChatcliError):
    """A file given to chatcli (an import) is not what it should be; nothing was written."""

    exit_code = 9


class StoreError(ChatcliError):
    """The session database could not be opened, read or written."""

    exit_code = 8


class NotReproducibleError(ChatcliError):
    """A recorded reply cannot be re-run faithfully (changed model, no seed, remote...)."""

    exit_code = 11


EXIT_REPLAY_DIFFERS = 10
"""``chatcli replay``: the reply came out different (not an error: the diff is the answer)."""

EXIT_INTERRUPTED = 130


def exit_code_for_signal(signum: int) -> int:
    """The shell's code for a process ended by signal ``signum`` (128 + its number)."""
    return 128 + signum
