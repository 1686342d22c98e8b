"""The connector contract as tests (in the manner of vdirsyncer's `StorageTests`): what every
connector must do, stated once. Each connector's test module inherits it:

    class TestContract(FileContract):
        format = "vcard"

or, for an account, `ConnectorContract` with the fixtures `fresh`, `damaged` and `unreadable`
(see their docstrings). The rules are those of `connectors/base.py`:
- a full read ends with a Checkpoint;
- reading again from that checkpoint yields no new record;
- a source that is not of the format (a file of another kind, an account that refuses) fails
  before the first record, with netgarden's own error;
- a record that cannot be read becomes a `Problem` saying where it was, not an exception, and
  the records around it are still read;
- a file connector's `sniff` says no to every other format's sample, and yes to its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest

from connectors import connector_class, detect
from connectors.base import Connector, FileConnector, ReadOptions
from pipeline.errors import FormatError, NetgardenError
from pipeline.mail import MailPolicy
from pipeline.model import Checkpoint, Problem, Record, Skipped
from tests.helpers import FIXTURES, ME, message

Make = Callable[[], Connector]
OPTIONS = ReadOptions(mail=MailPolicy(me=frozenset({ME})))


def data(records: list[Record]) -> list[Record]:
    """What a read found, without its checkpoints and skip counts."""
    return [r for r in records if not isinstance(r, Checkpoint | Skipped)]


class ConnectorContract:
    """The rules every connector keeps. Subclasses provide three fixtures, each a function that
    makes a fresh connector (the same source every call):

    - `fresh`: a readable source with at least one record;
    - `damaged`: a source in which one record cannot be read, among records that can;
    - `unreadable`: a source that is not of the connector's format, or cannot be read at all.
    """

    #: The error an unreadable source raises.
    refusal: ClassVar[type[NetgardenError]] = FormatError
    #: A source of one record (a saved message): its damaged sample holds nothing else.
    single_record: ClassVar[bool] = False

    def located(self, problem: Problem) -> bool:
        """Whether a Problem says where its record was: a file connector gives the line."""
        return bool(problem.file) and problem.line >= 1 and bool(problem.raw)

    def test_a_full_read_ends_with_a_checkpoint(self, fresh: Make) -> None:
        records = list(fresh().extract(None))
        assert data(records), "the sample holds records"
        assert isinstance(records[-1], Checkpoint)

    def test_reading_again_from_the_checkpoint_yields_nothing_new(self, fresh: Make) -> None:
        first = list(fresh().extract(None))
        assert isinstance(first[-1], Checkpoint)
        again = list(fresh().extract(first[-1].cursor))
        assert isinstance(again[-1], Checkpoint)
        assert data(again) == []

    def test_a_source_not_of_the_format_fails_before_the_first_record(
        self, unreadable: Make
    ) -> None:
        read: list[Record] = []
        with pytest.raises(self.refusal):
            for record in unreadable().extract(None):
                read.append(record)
        assert read == []

    def test_a_record_that_cannot_be_read_is_a_problem_not_an_exception(
        self, damaged: Make
    ) -> None:
        records = list(damaged().extract(None))
        problems = [r for r in records if isinstance(r, Problem)]
        assert problems, "the damaged record is reported"
        assert all(self.located(p) for p in problems), problems
        if not self.single_record:
            assert [r for r in data(records) if not isinstance(r, Problem)], "the others are read"
        assert isinstance(records[-1], Checkpoint)


# -- file formats --------------------------------------------------------------------------------

CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{name}\r\nEMAIL:{email}\r\nEND:VCARD\r\n"
CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//netgarden tests//EN\r\n{events}END:VCALENDAR\r\n"
)
EVENT = (
    "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART:2026030{day}T100000Z\r\n"
    f"ORGANIZER:mailto:{ME}\r\nATTENDEE;CN=Ann Lee:mailto:ann@example.com\r\nEND:VEVENT\r\n"
)
#: A message with no date anywhere: no Date, no Received, a separator whose date is no date.
NO_DATE = (
    "From ann@example.com  Mon Jan  1 00:00:00 1900\nFrom: Ann Lee <ann@example.com>\n"
    f"To: {ME}\nMessage-ID: <nodate@example.com>\nSubject: private\n\nbody\n\n"
)


def _csv(name: str, extra_row: str = "") -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        shutil.copyfile(FIXTURES / "csv" / name, path)
        if extra_row:
            text = path.read_text(encoding="utf-8-sig")
            path.write_text(text.rstrip("\r\n") + "\n" + extra_row + "\n", encoding="utf-8")
        return path

    return make


def _write(name: str, text: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_text(text, encoding="utf-8", newline="")
        return path

    return make


def _maildir(*messages: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        root = folder / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        for number, text in enumerate(messages):
            body = text.split("\n", 1)[1]  # a Maildir message has no mbox separator line
            (root / "cur" / f"17000000{number:02d}.M1P1.host:2,S").write_text(body)
        return root

    return make


TWO_MESSAGES = message() + message(mid="<m2@example.com>", sender="Bob <bob@example.com>")
#: A readable sample of every format, by registry name.
SAMPLES: dict[str, Callable[[Path], Path]] = {
    "vcard": _write(
        "contacts.vcf",
        CARD.format(name="Ann Lee", email="ann@example.com")
        + CARD.format(name="Bob Roe", email="bob@example.com"),
    ),
    "google_csv": _csv("google_current.csv"),
    "outlook_csv": _csv("outlook_com.csv"),
    "linkedin": _csv("linkedin_connections.csv"),
    "thunderbird": _csv("thunderbird.csv"),
    "interactions": _csv("interactions.csv"),
    "mbox": _write("archive.mbox", TWO_MESSAGES),
    "eml": _write("saved.eml", message().split("\n", 1)[1]),
    "maildir": _maildir(message(), message(mid="<m2@example.com>")),
    "ics": _write("meetings.ics", CALENDAR.format(events=EVENT.format(uid="a", day=2))),
}
_TOO_WIDE = ",".join(["x@example.com"] * 80)
#: A sample of every format in which one record cannot be read, among records that can.
DAMAGED: dict[str, Callable[[Path], Path]] = {
    # A card cut off at the end of the file.
    "vcard": _write(
        "contacts.vcf",
        CARD.format(name="Ann Lee", email="ann@example.com")
        + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Cut Short\r\nEMAIL:cut@exa",
    ),
    # A row with far more fields than the header.
    "google_csv": _csv("google_current.csv", _TOO_WIDE),
    "outlook_csv": _csv("outlook_com.csv", _TOO_WIDE),
    "linkedin": _csv("linkedin_connections.csv", _TOO_WIDE),
    "thunderbird": _csv("thunderbird.csv", _TOO_WIDE),
    "interactions": _csv("interactions.csv", "yesterday-ish,ann@example.com,outbound,email"),
    # A message with no date anywhere (no Date, no Received).
    "mbox": _write("archive.mbox", message() + NO_DATE),
    "eml": _write("saved.eml", NO_DATE.split("\n", 1)[1]),
    "maildir": _maildir(message(), NO_DATE),
    # An event cut off before its END:VEVENT.
    "ics": _write(
        "meetings.ics",
        CALENDAR.format(
            events=EVENT.format(uid="a", day=2)
            + "BEGIN:VEVENT\r\nUID:cut\r\nDTSTART:20260303T10:00:00Z\r\n"
        ),
    ),
}


class FileContract(ConnectorContract):
    """The contract for a file format of the registry: set `format` to its name."""

    format: ClassVar[str] = ""

    @property
    def connector(self) -> type[FileConnector]:
        return connector_class(self.format)

    def _maker(self, path: Path) -> Make:
        cls = self.connector
        return lambda: cls(path, OPTIONS)

    @pytest.fixture
    def fresh(self, tmp_path: Path) -> Make:
        return self._maker(SAMPLES[self.format](tmp_path))

    @pytest.fixture
    def damaged(self, tmp_path: Path) -> Make:
        return self._maker(DAMAGED[self.format](tmp_path))

    @pytest.fixture(params=[name for name in SAMPLES])
    def unreadable(self, request: pytest.FixtureRequest, tmp_path: Path) -> Make:
        if request.param == self.format:
            # Its own format's place: a file that is no export at all.
            return self._maker(_write("notes.txt", "Shopping: milk, eggs.\nCall mum.\n")(tmp_path))
        return self._maker(SAMPLES[request.param](tmp_path))

    def test_sniff_knows_its_own_sample(self, tmp_path: Path) -> None:
        path = SAMPLES[self.format](tmp_path)
        if path.is_dir():
            assert detect(path) is self.connector
        else:
            assert self.connector.sniff(path.read_bytes()[:16384], path)

    def test_sniff_says_no_to_the_other_formats(self, tmp_path: Path) -> None:
        accepted = []
        for other, make in SAMPLES.items():
            if other != self.format:
                path = make(tmp_path)
                head = b"" if path.is_dir() else path.read_bytes()[:16384]
                if self.connector.sniff(head, path):
                    accepted.append(other)
        assert accepted == []
