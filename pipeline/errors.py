"""Typed errors. The CLI turns each into one clear line and an exit code; nothing else prints."""

from __future__ import annotations

from pathlib import Path


class NetgardenError(Exception):
    """A problem the user can fix; its message is the one line the CLI shows."""

    exit_code = 1


class FormatError(NetgardenError):
    """A file is not what it claims to be (or not a format netgarden reads)."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = str(path)
        self.message = message

    def __reduce__(self) -> tuple[type[FormatError], tuple[str, str]]:
        # Raised again in the importing process when a reader runs ahead in its own
        # (connectors.workers.read_ahead): an exception crosses as its constructor's arguments.
        return type(self), (self.path, self.message)


class ConfigError(NetgardenError):
    """config.toml or overrides.toml cannot be read."""


class RulesError(NetgardenError):
    """A networks file has problems; `problems` lists every one of them."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        head = f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(head + "".join(f"\n  {p}" for p in problems))
        self.problems = problems


class UnknownPersonError(NetgardenError):
    """`log WHO` names no one, or several people."""


class SourceError(NetgardenError):
    """An account (or one of its mailboxes) could not be read: the service refused, failed or
    could not be reached. Connectors raise it in place of their client libraries' errors."""


class SignInError(SourceError):
    """The sign-in is missing, expired, revoked or refused: `netgarden auth` mends it."""


class CursorExpired(Exception):
    """A connector's saved position is no longer valid; the runner does a full read instead."""
