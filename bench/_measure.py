"""What the import benchmarks share: a measured run of a command, and their report sections.

- `run_measured` runs a command (the `netgarden import` a user runs) and times it while a
  thread samples the memory of its whole process tree every 100 ms from /proc (a sampler
  that reads more often steals CPU from the import it measures). Memory is the proportional
  set size, so pages a forked worker shares with its parent count once.
- `write_section` rewrites one benchmark's section of docs/PERFORMANCE.md, the text between
  `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`, and leaves the rest of the file
  as it is.
"""

from __future__ import annotations

import os
import platform
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLE_SECONDS = 0.1


def _memory(pid: int) -> int:
    """Proportional set size (shared pages split between the processes that share them), else
    resident size: a forked worker shares most of its pages with its parent, and summing RSS
    would count those twice."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _children(pid: int) -> list[int]:
    """Child process ids from /proc/PID/task/*/children (cheap), else a scan of /proc."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            found.extend(int(child) for child in text.split())
        return found
    except OSError:
        pass
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry))
    return found


def tree_memory_mb(root: int) -> float:
    """Memory of a process and all its descendants, in MB (Linux /proc)."""
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _memory(pid)
        stack.extend(_children(pid))
    return total / 1e6


@dataclass(frozen=True)
class Run:
    """One measured run of a command."""

    seconds: float
    peak_mb: float
    returncode: int
    output: str  # standard output (with standard error when merged)
    errors: str  # standard error, empty when merged into the output


def run_measured(command: Sequence[str], merge_stderr: bool = False) -> Run:
    """Run `command` to its end: wall time, peak memory of its process tree, what it printed."""
    start = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        text=True,
    )
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_memory_mb(process.pid))
            time.sleep(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, errors = process.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    return Run(elapsed, peak, process.returncode, output, errors or "")


def machine() -> str:
    """The machine a report names: architecture, cores, Python version."""
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def read_section(path: Path, name: str) -> str | None:
    """The text of section `name` of `path` (without its markers), None when it has none."""
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    start, end = _markers(name)
    _, found, rest = text.partition(start + "\n")
    if not found or end not in rest:
        return None
    return rest.partition(end)[0]


def write_section(path: Path, name: str, body: str, title: str = "# Performance") -> None:
    """Replace section `name` of `path` with `body`, keeping the rest of the file.

    A file without that section gets it at its end; a missing file is created with `title`.
    """
    start, end = _markers(name)
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else f"{title}\n"
    head, found, rest = text.partition(start)
    if found and end in rest:
        text = head + block + rest.partition(end)[2]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
