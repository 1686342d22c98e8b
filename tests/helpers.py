"""Helpers the tests share (fixtures live in conftest.py): where things are, running the CLI,
building messages, and reading what a command wrote."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from click.testing import CliRunner, Result

from pipeline.cli import main
from pipeline.model import Contacts, Exchanges, Record

REPO = Path(__file__).resolve().parent.parent
#: The real-world files of ../shared/corpus: tests reach them through the `corpus` fixture.
CORPUS = REPO.parent / "shared" / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE = REPO / "data" / "sample"
#: The bundled sample files `make demo` imports.
DEMO_FILES = (
    "contacts.vcf",
    "Connections.csv",
    "google.csv",
    "interactions.csv",
    "mail.mbox",
    "meetings.ics",
)
#: The user's address in the fakes' accounts and the mail tests.
ME = "me@example.com"


def run(*args: str) -> Result:
    """`netgarden ARGS` as a user runs it (in the home the `home` fixture made); never a
    traceback."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def rows(path: Path) -> list[dict[str, str]]:
    """A CSV file netgarden wrote, as dicts by column name."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def message(
    *,
    sender: str = "Ann Lee <ann@example.com>",
    to: str = ME,
    date: str = "Mon, 04 Mar 2024 12:20:34 +0100",
    mid: str = "<m1@example.com>",
    labels: str = "",
    extra: str = "",
    body: str = "Hello\n",
    separator: str = "From 1790123456789012345@xxx Mon Mar 04 11:20:34 +0000 2024",
) -> str:
    """One mbox message (its separator line first), with a subject and a body never stored."""
    lines = [separator]
    if labels:
        lines.append(f"X-Gmail-Labels: {labels}")
    lines += [
        "Received: from mx.example.com by mx.google.com;",
        "        Mon, 04 Mar 2024 03:20:35 -0800 (PST)",
    ]
    if date:
        lines.append(f"Date: {date}")
    lines += [f"From: {sender}", f"To: {to}"]
    if mid:
        lines.append(f"Message-ID: {mid}")
    lines.append("Subject: private subject")
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n\n" + body + "\n"


def unpacked(records: Iterable[Record]) -> list[Record]:
    """Records with packed ones (`Exchanges`, `Contacts`) as the Interactions and Contacts they
    stand for."""
    out: list[Record] = []
    for record in records:
        if isinstance(record, Exchanges):
            out.extend(record.interactions())
        elif isinstance(record, Contacts):
            out.extend(record.contacts())
        else:
            out.append(record)
    return out


class Sleeper:
    """Records the waits a client asks for instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
