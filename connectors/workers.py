"""Worker processes for parsing a large file on every core, which never outlive their parent.

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
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

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
