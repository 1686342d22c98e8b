"""One `netgarden run` at a time: a lock file in the home, held with flock(2).

The kernel lets go of a flock when the process that holds it ends, however it ends (`kill -9`,
the OOM killer, a power cut): a lock held by a dead process is no lock, and there is no stale
lock file to clean up. The file also says which process holds it and since when, for the line
that refuses a second run. Imports and syncs started by hand do not take this lock: they wait
for each other, and for a run's writes, at the store (SQLite's own locking).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from pipeline.errors import NetgardenError

LOCK_FILE = "run.lock"


class RunBusy(NetgardenError):
    """Another run holds the lock (exit 1)."""


@dataclass(frozen=True)
class Holder:
    """The process a lock file names."""

    pid: int
    since: str


class RunLock:
    """The run lock of a home; `acquire` it (waiting up to `wait` seconds), then use it as a
    context manager to let go."""

    def __init__(self, home: Path) -> None:
        self.path = home / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock, or raise RunBusy naming the running process once `wait` seconds
        have passed without it coming free."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise RunBusy(self._busy_line(wait)) from None
                time.sleep(min(0.2, max(deadline - time.monotonic(), 0.01)))
        note = json.dumps(
            {"pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        ).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, note, 0)
        self._fd = fd

    def holder(self) -> Holder | None:
        """Who holds the lock now (None: no one)."""
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return self._read() or Holder(0, "")
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def _read(self) -> Holder | None:
        try:
            note = json.loads(self.path.read_text(encoding="utf-8"))
            return Holder(int(note["pid"]), str(note["since"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _busy_line(self, waited: float) -> str:
        held = self._read()
        who = f"pid {held.pid}, started {held.since}" if held else "another process"
        after = f" after waiting {waited:g} s" if waited else ""
        return (
            f"another `netgarden run` is going ({who}){after}; "
            "it holds the run lock until it ends (--wait SECONDS waits for it)"
        )

    def release(self) -> None:
        """Let go (the file stays; it is no lock without a process holding it)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
