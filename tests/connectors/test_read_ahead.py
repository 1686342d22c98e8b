"""A large file read in a process of its own while the importing one stores it
(connectors.workers.read_ahead): the same records, notes and errors as reading it in one
process, and no process left behind however the read ends."""

from __future__ import annotations

import multiprocessing
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.csvfiles import InteractionsCsvConnector
from connectors.workers import ReaderTraceback, read_ahead
from pipeline.errors import FormatError
from pipeline.model import Exchanges, Problem, Record
from tests.helpers import rows, run

pytestmark = pytest.mark.skipif(
    not Path("/proc/self").exists(), reason="the reading process is forked (Linux)"
)


def _log(path: Path, seed: int = 7, count: int = 12_000) -> Path:
    """An interactions CSV that exercises the reader: several packed records, rows out of date
    order (the reader reads the file again to count repeats), repeats, a bad date, a bad
    address, and a stray quote that swallows the lines after it (a note)."""
    rng = random.Random(seed)
    lines = ["date,email,direction,channel,name"]
    for i in range(count):
        day = f"2025-{rng.randint(1, 12):02}-{rng.randint(1, 28):02}"
        lines.append(f"{day},p{rng.randint(1, 400)}@example.com,outbound,call,P {i}")
    lines[5] = lines[4]  # the same exchange twice
    lines[100] = "2025-13-45,x@example.com,outbound,call,"
    lines[200] = "2025-01-02,not an address,inbound,email,"
    lines[300] = '2025-01-03,q@example.com,inbound,email,"Quote never closed'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("batch", [1, 4999, 100_000])
def test_a_reader_ahead_gives_what_one_process_reads(tmp_path: Path, batch: int) -> None:
    path = _log(tmp_path / "log.csv")
    alone = InteractionsCsvConnector(path)
    expected = list(alone.extract(None))
    ahead = InteractionsCsvConnector(path)
    found = list(read_ahead(ahead, None, batch))
    assert found == expected
    assert sum(isinstance(r, Exchanges) for r in found) >= 3
    reasons = [r.reason for r in found if isinstance(r, Problem)]
    assert [reason[:15] for reason in reasons] == [
        "unreadable date",
        "not an e-mail a",
        "a stray quote r",
    ]
    assert ahead.notes == alone.notes and any("stray quote" in n for n in ahead.notes)
    assert multiprocessing.active_children() == []


def test_a_read_stopped_early_leaves_no_process(tmp_path: Path) -> None:
    records = read_ahead(InteractionsCsvConnector(_log(tmp_path / "log.csv")), None, 1)
    next(records)
    assert len(multiprocessing.active_children()) == 1
    records.close()
    assert multiprocessing.active_children() == []


def test_what_the_reader_raises_is_raised_here(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("when,who\n2025-01-02,a@example.com\n", encoding="utf-8")
    with pytest.raises(FormatError) as alone:
        list(InteractionsCsvConnector(path).extract(None))
    with pytest.raises(FormatError) as ahead:
        list(read_ahead(InteractionsCsvConnector(path), None, 100))
    assert str(ahead.value) == str(alone.value) and ahead.value.path == str(path)
    assert multiprocessing.active_children() == []


class _Unpicklable(Exception):
    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")


class _Failing(InteractionsCsvConnector):
    """A reader that fails after its first records with an exception that cannot be pickled
    back (its constructor's arguments are not its `args`)."""

    def read_file(self) -> Iterator[Record]:
        yield from list(super().read_file())[:1]
        raise _Unpicklable("the disk", "went away")


class _Dying(InteractionsCsvConnector):
    """A reader whose process ends in the middle of the file (as the OOM killer ends it)."""

    def read_file(self) -> Iterator[Record]:
        yield from list(super().read_file())[:1]
        os._exit(3)


def test_an_error_that_cannot_cross_comes_as_its_text(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"^_Unpicklable: the disk: went away$") as raised:
        list(read_ahead(_Failing(_log(tmp_path / "log.csv")), None, 1))
    # Where the reading process raised it is the cause (what `-v` shows).
    cause = raised.value.__cause__
    assert isinstance(cause, ReaderTraceback) and "in read_file" in str(cause)
    assert multiprocessing.active_children() == []


def test_a_reader_that_dies_is_an_error_not_a_wait(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"ended without finishing \(exit code 3\)"):
        list(read_ahead(_Dying(_log(tmp_path / "log.csv")), None, 1))
    assert multiprocessing.active_children() == []


def test_an_import_read_ahead_stores_what_one_process_stores(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the CLI, a file read ahead (as every file of 8 MB or more is) and the same file
    read in one process give the same summary, the same errors and the same report."""
    import pipeline.runner

    path = _log(tmp_path / "log.csv", count=30_000)
    seen: dict[str, tuple[str, list[dict[str, str]], str]] = {}
    for how, threshold in (("alone", 1 << 62), ("ahead", 0)):
        monkeypatch.setenv("NETGARDEN_HOME", str(tmp_path / how))
        monkeypatch.setattr(pipeline.runner, "READ_AHEAD_BYTES", threshold)
        imported = run("import", str(path))
        assert imported.exit_code == 0, imported.output
        again = run("import", str(path))  # the reader ahead says so too: nothing to read
        assert "unchanged since its last import" in again.output
        run("report", "--as-of", "2026-01-01", "--out", str(tmp_path / how / "out"))
        errors = run("errors").output
        seen[how] = (imported.output, rows(tmp_path / how / "out" / "staleness.csv"), errors)
    assert seen["ahead"] == seen["alone"]
    summary, staleness, errors = seen["ahead"]
    assert "3 records could not be read" in summary and "stray quote" in summary
    assert len(staleness) == 400 and "2025-13-45" in errors  # p1@ to p400@
