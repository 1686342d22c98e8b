"""Worker processes for parsing a large file on every core, or for reading a file while the
importing process stores what was read, which never outlive their parent.

A pool's workers block on a pipe waiting for work; if the importing process is killed
(`kill -9`, `kill -TERM`, the machine's OOM killer), nothing would tell them to stop, and they
would hold the archive and the store open for minutes. Each worker asks the kernel to kill it
when its parent dies (Linux's PR_SET_PDEATHSIG) and, where that is not available, watches its
parent itself.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from pipeline.model import Checkpoint, Exchanges, Record

if TYPE_CHECKING:
    from connectors.base import FileConnector

#: prctl(2) option: the signal a process receives when its parent dies.
_PR_SET_PDEATHSIG = 1


def pool(
    workers: int, executor: type[ProcessPoolExecutor] = ProcessPoolExecutor
) -> ProcessPoolExecutor:
    """A pool of `workers` processes that die with this one.

    fork on Linux: workers start at once and never touch the caller's open store (a forked pool
    worker ends with os._exit, so it never finalizes the inherited SQLite connection). Elsewhere
    spawn, the platform's safe default.
    """
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return executor(
        workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )


def _die_with_parent(parent: int) -> None:
    # A forked worker inherits the CLI's handler, which turns SIGTERM into an exception meant
    # for the main process only.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops the pool
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    # The parent may have died before prctl took effect, and other systems have no prctl.
    threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


#: Records other than packed exchanges pickled together in one chunk of a message.
_AHEAD_CHUNK = 1000
#: How often the importing process looks whether a silent reading process is still alive.
_AHEAD_PATIENCE = 1.0


def read_ahead(connector: FileConnector, cursor: str | None, batch: int) -> Iterator[Record]:
    """`connector.extract(cursor)` read in a process of its own, while this one stores.

    An import of a large file is a reader and a writer taking turns on one core: the reader
    (pure Python) and SQLite's inserts each cost about as much. Here the file is read in a
    forked process that dies with this one (`pool`'s kind) and sends its records back in
    order, in messages of `batch` records (an exchange of a packed record counting as one):
    it reads the next message while this process stores the last. What the reader found along
    the way (`notes`, `found_me`) and its progress come back to `connector`; what it raises is
    raised here, as it would be without the second process. Worth it only for a reader whose
    records cross between processes cheaply (packed exchanges, `FileConnector.read_ahead`);
    without fork (not Linux) the file is read here."""
    if not sys.platform.startswith("linux"):
        yield from connector.extract(cursor)
        return
    context = multiprocessing.get_context("fork")
    incoming, outgoing = context.Pipe(duplex=False)
    reader = context.Process(
        target=_read,
        args=(connector, cursor, batch, outgoing, os.getpid()),
        name="netgarden-reader",
    )
    reader.start()
    outgoing.close()
    try:
        while True:
            message = pickle.loads(_received(incoming, reader, connector))
            kind = message[0]
            if kind == "records":
                _, chunks, (done, read) = message
                for _ in range(chunks):
                    yield from pickle.loads(_received(incoming, reader, connector))
                if read:
                    connector._report(done, read)
            elif kind == "end":
                _, notes, found_me = message
                connector.notes[:] = notes
                connector.found_me[:] = found_me
                return
            else:
                _, error, text = message
                raise error from ReaderTraceback(text)
    finally:
        if reader.is_alive():
            reader.kill()
        reader.join()
        incoming.close()


def _received(incoming: Any, reader: Any, connector: FileConnector) -> bytes:
    """The next message of the reading process; RuntimeError if it died without sending one."""
    while not incoming.poll(_AHEAD_PATIENCE):
        if not reader.is_alive() and not incoming.poll(0):
            break
    try:
        return incoming.recv_bytes()  # type: ignore[no-any-return]
    except EOFError:
        reader.join()
        raise RuntimeError(
            f"the process reading {connector.path} ended without finishing "
            f"(exit code {reader.exitcode})"
        ) from None


def _read(
    connector: FileConnector, cursor: str | None, size: int, outgoing: Any, parent: int
) -> None:
    """The reading process of `read_ahead`.

    A message of `size` records is sent whole once it is complete, as a header and chunks
    pickled as the records came (a packed record alone, others by the thousand): while the
    importing process stores one message, the next waits here as bytes, a fifth of the
    records' size in memory. Everything is sent from this one thread: a sending thread would
    wait for the reading one to let go of the interpreter after every write to the pipe."""
    _die_with_parent(parent)
    progress = [0, 0]

    def noted(done: int, read: int) -> None:
        progress[:] = done, read

    def send(message: tuple[object, ...]) -> None:
        outgoing.send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))

    chunks: list[bytes] = []
    pending: list[Record] = []

    def pack() -> None:
        if pending:
            chunks.append(pickle.dumps(pending, pickle.HIGHEST_PROTOCOL))
            pending.clear()

    def flush() -> None:
        pack()
        send(("records", len(chunks), tuple(progress)))
        for chunk in chunks:
            outgoing.send_bytes(chunk)
        chunks.clear()

    connector.progress = noted
    weight = 0
    try:
        for record in connector.extract(cursor):
            pending.append(record)
            if isinstance(record, Exchanges):
                weight += len(record.rows)
                pack()
            else:
                weight += 1
                if len(pending) >= _AHEAD_CHUNK:
                    pack()
            if weight >= size or isinstance(record, Checkpoint):
                flush()
                weight = 0
        flush()
        send(("end", connector.notes, connector.found_me))
    except Exception as exc:  # raised in the importing process instead
        send(("error", _portable(exc), "".join(traceback.format_exception(exc))))
    outgoing.close()


class ReaderTraceback(Exception):
    """Where in the reading process of `read_ahead` an error was raised: the cause of the
    error raised again in the importing process (what `-v` shows of an internal error)."""


def _portable(exc: Exception) -> Exception:
    """`exc` if it crosses between processes whole, else a RuntimeError saying what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
