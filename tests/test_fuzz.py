"""Damaged copies of real files, for every format: byte flips, truncations and splices, seeded.

For each copy: nothing raises past the reader (a file damaged where its format shows may be
refused with netgarden's format error, nothing else), nothing hangs, and what the reader
accounts for (records stored plus records quarantined) never falls below what an intact reading
of the untouched part of the file holds, less one record for each place the damage is (a
damaged boundary may cost the record on either side of it).
"""

from __future__ import annotations

import random
import re
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pytest

from connectors import connector_class
from connectors.base import ReadOptions
from connectors.mailbox import split_mbox
from pipeline.errors import FormatError
from pipeline.mail import MailPolicy
from pipeline.model import Contact, Contacts, Exchanges, Interaction, Problem, Record, Skipped
from tests.helpers import CORPUS, FIXTURES, ME, SAMPLE

OPTIONS = ReadOptions(mail=MailPolicy(me=frozenset({ME})))
#: Seconds one read of one damaged copy may take before it counts as a hang.
HANG = 20
COPIES = 4  # per file and kind of damage


@dataclass(frozen=True)
class Damage:
    """A damaged copy: its bytes, the byte ranges of the original it kept (in order), and how
    many places were damaged."""

    data: bytes
    kept: tuple[tuple[int, int], ...]
    places: int


def flipped(data: bytes, rng: random.Random) -> Damage:
    """About one byte in a thousand (at least one) set to a random value."""
    out = bytearray(data)
    spots = sorted({rng.randrange(len(data)) for _ in range(max(1, len(data) // 1000))})
    for spot in spots:
        out[spot] = rng.randrange(256)
    kept: list[tuple[int, int]] = []
    start = 0
    for spot in spots:
        kept.append((start, spot))
        start = spot + 1
    kept.append((start, len(data)))
    return Damage(bytes(out), tuple(kept), len(spots))


def truncated(data: bytes, rng: random.Random) -> Damage:
    cut = rng.randrange(1, len(data))
    return Damage(data[:cut], ((0, cut),), 1)


def spliced(data: bytes, rng: random.Random) -> Damage:
    """The start of the file up to one place, then its end from a later place."""
    first, second = sorted(rng.sample(range(1, len(data)), 2))
    return Damage(data[:first] + data[second:], ((0, first), (second, len(data))), 2)


KINDS: dict[str, Callable[[bytes, random.Random], Damage]] = {
    "flipped": flipped,
    "truncated": truncated,
    "spliced": spliced,
}


def _line_offsets(data: bytes) -> list[int]:
    return [0, *(m.end() for m in re.finditer(rb"\n", data))]


def units(records: list[Record]) -> int:
    """What a reading accounts for: people (stored or skipped on purpose), messages or
    meetings (one per key), and records quarantined (a line outside any card is not a card)."""
    people = sum(
        len(r.rows) if isinstance(r, Contacts) else 1
        for r in records
        if isinstance(r, Contact | Contacts)
    )
    keys: set[str] = set()
    for record in records:
        if isinstance(record, Interaction):
            keys.add(record.key)
        elif isinstance(record, Exchanges):
            keys.update(row[5] for row in record.rows)
    skipped = sum(r.count for r in records if isinstance(r, Skipped))
    problems = sum(
        1
        for r in records
        if isinstance(r, Problem) and "outside any card" not in r.reason and r.line != 0
    )
    return (people or len(keys)) + skipped + problems


def starts(fmt: str, path: Path, records: list[Record]) -> list[int]:
    """The byte offset where each unit of the intact file starts (sorted)."""
    data = path.read_bytes()
    if fmt == "vcard":
        return [m.start() for m in re.finditer(rb"(?im)^BEGIN:VCARD[ \t]*\r?$", data)]
    if fmt == "mbox":
        return [offset for offset, _, _ in split_mbox(path)]
    offsets = _line_offsets(data)
    lines = sorted(
        {
            r.line
            for r in records
            if isinstance(r, Contact | Problem | Skipped) and 0 < r.line <= len(offsets)
        }
    )
    return [offsets[line - 1] for line in lines]


def intact(fmt: str, path: Path, records: list[Record], damage: Damage) -> int:
    """How many units of the original lie wholly in the parts the damage kept."""
    if fmt in ("ics", "eml") or not records:
        return 0  # a meeting series or one message: robustness is checked, not a count
    begins = starts(fmt, path, records)
    if not begins:
        return 0
    ends = [*begins[1:], len(path.read_bytes())]
    return sum(
        1
        for begin, end in zip(begins, ends, strict=True)
        if any(a <= begin and end <= b for a, b in damage.kept)
    )


def sources() -> Iterator[tuple[str, Path]]:
    """(format, file): the real-world corpus where there is one, the bundled samples and the
    CSV fixtures (written like real exports) for the others."""
    if CORPUS.is_dir():
        for path in sorted((CORPUS / "vcard").rglob("*.vcf")):
            yield "vcard", path
        for path in sorted((CORPUS / "mail").rglob("*.eml"))[:20]:
            yield "eml", path
        for path in sorted((CORPUS / "mail").rglob("*.mbox")):
            yield "mbox", path
    yield "vcard", SAMPLE / "contacts.vcf"
    yield "mbox", SAMPLE / "mail.mbox"
    yield "ics", SAMPLE / "meetings.ics"
    yield "google_csv", SAMPLE / "google.csv"
    yield "linkedin", SAMPLE / "Connections.csv"
    yield "interactions", SAMPLE / "interactions.csv"
    for name, fmt in (
        ("outlook_desktop.csv", "outlook_csv"),
        ("outlook_com.csv", "outlook_csv"),
        ("thunderbird.csv", "thunderbird"),
        ("google_legacy.csv", "google_csv"),
    ):
        yield fmt, FIXTURES / "csv" / name


def _hang(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError(f"a read took more than {HANG} s")


def read(fmt: str, path: Path) -> list[Record]:
    """The records of a file, or TimeoutError when the read hangs."""
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.alarm(HANG)
    try:
        return list(connector_class(fmt)(path, OPTIONS).extract(None))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("kind", list(KINDS))
def test_damaged_copies_of_real_files(kind: str, tmp_path: Path) -> None:
    rng = random.Random(f"netgarden fuzz {kind}")
    checked = made = 0
    for fmt, path in sources():
        original = read(fmt, path)
        data = path.read_bytes()
        if len(data) < 3:
            continue
        for copy in range(COPIES):
            damage = KINDS[kind](data, rng)
            target = tmp_path / f"{copy}-{path.name}"
            target.write_bytes(damage.data)
            made += 1
            try:
                found = read(fmt, target)
            except FormatError:
                # Refusing a whole file is fair only when the damage hit where its format shows.
                assert damage.kept[0][1] < 4096, (path, kind, copy)
                continue
            floor = intact(fmt, path, original, damage) - damage.places
            assert units(found) >= floor, (path, kind, copy, units(found), floor)
            checked += 1
    # Nearly every damaged copy is read, not refused as a whole; with the corpus, a few
    # hundred copies over the three kinds (a clone without it damages only the bundled
    # samples and fixtures).
    assert checked >= 0.75 * made
    assert checked >= (100 if CORPUS.is_dir() else 30)
