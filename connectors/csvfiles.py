"""CSV exports: Google Contacts, Outlook, LinkedIn, Thunderbird, and netgarden's interactions CSV.

Each format is recognized by its header row, wherever the header sits in the file's first lines
(LinkedIn writes a `Notes:` preamble before it). One reader handles encodings (BOM, UTF-8, else the
Windows code page Outlook writes), line numbers and malformed rows; each format only maps a row.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from array import array
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from datetime import UTC, date, datetime, time, tzinfo
from functools import partial
from itertools import islice
from pathlib import Path
from typing import ClassVar, TextIO

from connectors.base import FileConnector, Orphans
from connectors.keys import KeyMaker
from connectors.textcodec import bom_encoding, head_text
from pipeline.config import zone
from pipeline.errors import FormatError
from pipeline.model import (
    AHEAD,
    DIRECTIONS,
    EARLIEST,
    Contact,
    ExchangeRow,
    Exchanges,
    Handle,
    Interaction,
    Problem,
    Record,
    Skipped,
    implausible,
    plausible,
)
from pipeline.normalize import (
    display_name,
    email_in_text,
    join_name,
    normalize_email,
    normalize_url,
    phones_and_notes,
)

#: A data row's text as the file has it (made only for a Problem: most rows never need it).
Raw = Callable[[], str]
_UNDECODED = re.compile("[\udc80-\udcff]")
_UNDECODED_WIDE = re.compile("[\udc80-\udcff\ufffd]")
MULTI = " ::: "  # how Google joins several values in one cell
_HEADER_SCAN_ROWS = 12
_NUMBERED = re.compile(r"^(E-mail|Phone|Website|Organization) (\d+) - (Value|Name|Title)$")


def file_encoding(path: Path, codepage: str) -> str:
    """The encoding of a CSV file: its BOM, else UTF-8 if it all decodes, else `codepage`."""
    with path.open("rb") as handle:
        head = handle.read(2048)
        bom = bom_encoding(head)
        if bom:
            return bom
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return codepage
    return "utf-8"


def _rows_of(text: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text)))
    except csv.Error:
        return []


def _norm_header(header: list[str]) -> list[str]:
    return [h.strip().lstrip("\ufeff").strip() for h in header]


def head_rows(text: str) -> list[list[str]]:
    """The first rows of a file's head, cells trimmed: where a header row may be (LinkedIn
    writes a preamble before it)."""
    # Drop a possibly cut last line so that a half row does not look like a short header.
    if "\n" in text:
        text = text[: text.rfind("\n") + 1]
    return [_norm_header(row) for row in _rows_of(text)[:_HEADER_SCAN_ROWS]]


class CsvConnector(FileConnector):
    """Base of the CSV formats: reads rows as dicts keyed by header and maps each to records."""

    #: Columns that must all be present (case-insensitive) for a header to be this format.
    required: ClassVar[frozenset[str]] = frozenset()
    #: What marks text that could not be decoded, in the file being read.
    _undecoded: re.Pattern[str] = _UNDECODED
    sniff_first = False  # the reader says "no header row of ... found"

    @classmethod
    def matches(cls, header: list[str]) -> bool:
        """Whether a header row is this format's."""
        names = {h.lower() for h in header}
        return all(r.lower() in names for r in cls.required)

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        text = head_text(head, "cp1252")
        first = text.lstrip("\ufeff \t\r\n")[:64].lower()
        if not first or first.startswith(("begin:", "from ", "<", "{")):
            return False
        return any(cls.matches(cells) for cells in head_rows(text))

    def read_file(self) -> Iterator[Record]:
        encoding = file_encoding(self.path, self.options.windows_codepage)
        # Bytes neither UTF-8 nor the code page can read come through as lone surrogates
        # (surrogateescape; UTF-16 and UTF-32 have no bytes to keep: U+FFFD): they cost their
        # row, not the file.
        wide = encoding.startswith(("utf-16", "utf-32"))
        self._undecoded = _UNDECODED_WIDE if wide else _UNDECODED
        errors = "replace" if wide else "surrogateescape"
        with self.path.open("r", encoding=encoding, errors=errors, newline="") as stream:
            yield from self.read(stream)

    def read(self, stream: TextIO) -> Iterator[Record]:
        """Yield the records of every data row after this format's header row.

        A row that cannot be trusted is quarantined alone and the reader goes on: bytes that do
        not decode, more fields than the header, or a stray quote that swallowed the lines after
        it (the rows on those lines are then read again, each on its own)."""
        self._zone = zone(self.options.timezone)
        feed = _Lines(stream)
        reader = csv.reader(feed)
        header: list[str] | None = None
        keys = KeyMaker()
        file = str(self.path)
        undecoded = self._undecoded.search
        # The last row read, when it was read as data: a file that ends inside it is noted.
        tail: tuple[list[str], list[str], int] | None = None
        while True:
            feed.taken = []
            start = feed.number + 1
            last, tail = tail, None
            try:
                row = next(reader)
            except StopIteration:
                tail = last
                break
            except csv.Error as exc:
                lines = feed.taken
                if header is not None and len(lines) > 1:
                    # A quote that never closed ran on until csv's limit on a value (128 KB):
                    # its line is lost, not the thousands of rows after it.
                    ran_on = len(lines) - 1
                    yield Problem(
                        file,
                        start,
                        _clean(lines[0]),
                        f"a stray quote ran on over the {ran_on} lines after it ({exc})",
                    )
                    self.notes.append(
                        f"line {start}: a stray quote ran on over lines {start + 1}-"
                        f"{start + ran_on} (past the longest value a CSV field may hold); "
                        "that line is quarantined and the lines after it were read again on "
                        "their own"
                    )
                    feed.push_back(lines[1:])
                else:
                    yield Problem(file, start, _clean("".join(lines)), f"unreadable CSV row: {exc}")
                reader = csv.reader(feed)
                continue
            lines = feed.taken
            if header is None:
                cells = _norm_header(row)
                if self.matches(cells):
                    header = cells
                    width = len(header)
                    every_named = all(header)
                continue
            # Most rows are one line without a quote: the checks below cost them nothing.
            if (len(lines) > 1 or '"' in lines[0]) and _swallowed(row, lines, width):
                ran_on = len(lines) - 1
                yield Problem(
                    file,
                    start,
                    _clean(lines[0]),
                    "a stray quote: its quotes do not pair up"
                    + (f", and it ran on over the {ran_on} lines after it" if ran_on else ""),
                )
                if ran_on:
                    self.notes.append(
                        f"line {start}: a stray quote made one row of lines {start}-"
                        f"{start + ran_on}; that row is quarantined and the {ran_on} lines "
                        "after it were read again on their own"
                    )
                    feed.push_back(lines[1:])
                    reader = csv.reader(feed)
                continue
            if undecoded(lines[0] if len(lines) == 1 else "".join(lines)):
                yield Problem(
                    file,
                    start,
                    _clean("".join(lines)),
                    f"bytes that are neither UTF-8 nor {self.options.windows_codepage}",
                )
                continue
            if not "".join(row).strip():
                continue
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                yield Problem(
                    file,
                    start,
                    _raw(row),
                    f"row has {len(row)} fields, the header has {width}",
                )
                continue
            tail = (row, lines, start)
            if every_named and len(row) == width:
                values = dict(zip(header, map(str.strip, row), strict=True))
            else:
                values = {
                    name: (row[i].strip() if i < len(row) else "")
                    for i, name in enumerate(header)
                    if name
                }
            yield from self.records(values, start, partial(_raw, row), keys)
        if header is None:
            raise FormatError(self.path, f"no header row of {self.description} found")
        if tail is not None and _cut_short(tail[0], tail[1], width):
            self.notes.append(
                f"line {tail[2]}: the file ends in the middle of this row (cut short?); its "
                "last value may be incomplete"
            )

    def records(self, row: dict[str, str], line: int, raw: Raw, keys: KeyMaker) -> Iterable[Record]:
        """The records of one data row; `raw()` is its text, for a Problem."""
        raise NotImplementedError

    def _contact(
        self,
        keys: KeyMaker,
        line: int,
        *,
        formatted: str = "",
        given: str = "",
        family: str = "",
        structured: str = "",
        organization: str = "",
        title: str = "",
        emails: list[str],
        phones: list[str],
        urls: list[str] = (),  # type: ignore[assignment]
        labels: list[str] = (),  # type: ignore[assignment]
        notes: str = "",
        uid: str = "",
    ) -> Contact | Skipped:
        """Build a Contact from normalized parts (phones as written: a value that is no number
        becomes a note), or a Skipped when there is no one to name."""
        phones, phone_notes = phones_and_notes(phones, self.options.default_region)
        notes = "\n".join(n for n in (notes, *phone_notes) if n)
        name = display_name(
            formatted, structured or join_name(given, family), organization, emails, phones
        )
        if not name:
            return Skipped("row with no name, e-mail or phone", str(self.path), line)
        handles = (
            tuple(Handle("email", e) for e in emails)
            + tuple(Handle("phone", p) for p in phones)
            + tuple(Handle("url", u) for u in urls)
        )
        return Contact(
            source=self.name,
            source_id=keys.key(uid, emails, name, organization),
            name=name,
            given_name=given,
            family_name=family,
            organization=organization,
            title=title,
            handles=handles,
            labels=tuple(labels),
            notes=notes,
            file=str(self.path),
            line=line,
        )


class _Lines:
    """The physical lines of a text stream as csv.reader reads them, counting them, keeping
    those the current row took, and able to hand lines back to be read again."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.number = 0
        self.taken: list[str] = []
        self._back: deque[str] = deque()
        self._next: str | None = None

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._back:
            line = self._back.popleft()
        elif self._next is not None:
            line, self._next = self._next, None
        else:
            line = next(self.stream)
        self.number += 1
        self.taken.append(line)
        return line

    def push_back(self, lines: list[str]) -> None:
        self._back.extendleft(reversed(lines))
        self.number -= len(lines)

    def at_end(self) -> bool:
        """Whether every line has been read."""
        if self._back or self._next is not None:
            return False
        self._next = next(self.stream, None)
        return self._next is None


#: A field spanning lines is normal (an address, a note); a row that spans this many lines and
#: whose lines read as rows of their own is a stray quote's doing.
_ROWS_IN_A_FIELD = 2
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\udc80-\udcff]")


def _swallowed(row: list[str], lines: list[str], width: int) -> bool:
    """Whether a row is a stray quote's doing: its quotes do not pair up and it is not the
    header's width (a quote opened at a field's start ran on into the fields, or the lines,
    after it), or it spans lines that read as whole rows of the header's width."""
    odd = sum(line.count('"') for line in lines) % 2 == 1
    if odd and (len(row) != width or len(lines) > 1):
        return True
    if len(lines) == 1:
        return False
    if len(row) > width:
        return True
    rows = 0
    for line in lines[1:]:
        try:
            cells = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            continue
        if len(cells) >= max(2, width - 1):
            rows += 1
            if rows >= _ROWS_IN_A_FIELD:
                return True
    return False


def _cut_short(row: list[str], lines: list[str], width: int) -> bool:
    """Whether the file's last row looks cut mid-row: no line end after it and fewer fields
    than the header, or a quote left open."""
    last = lines[-1]
    open_quote = sum(line.count('"') for line in lines) % 2 == 1
    return open_quote or (not last.endswith(("\n", "\r")) and len(row) < width)


def _clean(text: str) -> str:
    """Raw text for the quarantine: undecodable bytes and control characters made visible."""
    return _CONTROL.sub("\ufffd", text.rstrip("\r\n"))


def _raw(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    return out.getvalue()


def _add(target: list[str], value: str | None) -> None:
    if value and value not in target:
        target.append(value)


def _split_multi(cell: str) -> list[str]:
    return [v.strip() for v in cell.split(MULTI) if v.strip()] if cell else []


def _numbered(row: dict[str, str], kind: str, field: str) -> list[str]:
    """Values of Google's numbered columns (`E-mail 1 - Value`, `E-mail 2 - Value`, ...)."""
    found: list[tuple[int, str]] = []
    for column, value in row.items():
        match = _NUMBERED.match(column)
        if match and match.group(1) == kind and match.group(3) == field and value:
            found.append((int(match.group(2)), value))
    return [v for _, v in sorted(found)]


class GoogleCsvConnector(CsvConnector):
    """Google Contacts CSV, in the current format (`Labels`) and the legacy one."""

    name = "google_csv"
    description = "a Google Contacts CSV export"

    @classmethod
    def matches(cls, header: list[str]) -> bool:
        names = set(header)
        return "E-mail 1 - Value" in names and ("Labels" in names or "Group Membership" in names)

    def records(self, row: dict[str, str], line: int, raw: Raw, keys: KeyMaker) -> Iterable[Record]:
        emails: list[str] = []
        for cell in _numbered(row, "E-mail", "Value"):
            for value in _split_multi(cell):
                _add(emails, normalize_email(value))
        phones = [v for cell in _numbered(row, "Phone", "Value") for v in _split_multi(cell)]
        urls: list[str] = []
        for cell in _numbered(row, "Website", "Value"):
            for value in _split_multi(cell):
                _add(urls, normalize_url(value))
        if "Labels" in row or "Organization Name" in row:
            given, family = row.get("First Name", ""), row.get("Last Name", "")
            structured = join_name(
                row.get("Name Prefix", ""),
                given,
                row.get("Middle Name", ""),
                family,
                row.get("Name Suffix", ""),
            )
            formatted = ""
            organization = row.get("Organization Name", "")
            title = row.get("Organization Title", "")
            label_cell = row.get("Labels", "")
        else:
            given, family = row.get("Given Name", ""), row.get("Family Name", "")
            structured = join_name(
                row.get("Name Prefix", ""),
                given,
                row.get("Additional Name", ""),
                family,
                row.get("Name Suffix", ""),
            )
            formatted = row.get("Name", "")
            organizations = _numbered(row, "Organization", "Name")
            titles = _numbered(row, "Organization", "Title")
            organization = organizations[0] if organizations else ""
            title = titles[0] if titles else ""
            label_cell = row.get("Group Membership", "")
        labels: list[str] = []
        for label in _split_multi(label_cell):
            # System groups are written "* myContacts", "* starred": keep the meaningful ones.
            label = label.removeprefix("* ").strip()
            if label and label.lower() != "mycontacts":
                _add(labels, label)
        yield self._contact(
            keys,
            line,
            formatted=formatted,
            given=given,
            family=family,
            structured=structured,
            organization=organization,
            title=title,
            emails=emails,
            phones=phones,
            urls=urls,
            labels=labels,
            notes=row.get("Notes", ""),
        )


class OutlookCsvConnector(CsvConnector):
    """Outlook desktop and outlook.com CSV exports."""

    name = "outlook_csv"
    description = "an Outlook CSV export"
    required = frozenset({"First Name", "Last Name", "E-mail Address"})

    def records(self, row: dict[str, str], line: int, raw: Raw, keys: KeyMaker) -> Iterable[Record]:
        emails: list[str] = []
        for prefix in ("E-mail", "E-mail 2", "E-mail 3"):
            address = row.get(f"{prefix} Address", "")
            email = normalize_email(address)
            if email is None and address.startswith("/"):
                # An Exchange X.500 address is not an e-mail; Outlook often writes the real
                # address into the display name: "Jane Roe (jane.roe@example.com)".
                email = email_in_text(row.get(f"{prefix} Display Name", ""))
            _add(emails, email)
        phones: list[str] = []
        for column, value in row.items():
            lowered = column.lower()
            if value and ("phone" in lowered or "fax" in lowered or lowered == "pager"):
                if "assistant" in lowered:
                    continue
                phones.append(value)
        urls: list[str] = []
        _add(urls, normalize_url(row.get("Web Page", "")))
        given, family = row.get("First Name", ""), row.get("Last Name", "")
        structured = join_name(
            row.get("Title", ""), given, row.get("Middle Name", ""), family, row.get("Suffix", "")
        )
        labels: list[str] = []
        for label in re.split(r"[;,]", row.get("Categories", "")):
            _add(labels, label.strip())
        yield self._contact(
            keys,
            line,
            given=given,
            family=family,
            structured=structured,
            organization=row.get("Company", ""),
            title=row.get("Job Title", ""),
            emails=emails,
            phones=phones,
            urls=urls,
            labels=labels,
            notes=row.get("Notes", ""),
        )


class ThunderbirdCsvConnector(CsvConnector):
    """Thunderbird address-book CSV (its trailing comma gives an empty last column)."""

    name = "thunderbird"
    description = "a Thunderbird address book CSV"
    required = frozenset({"Display Name", "Primary Email"})

    def records(self, row: dict[str, str], line: int, raw: Raw, keys: KeyMaker) -> Iterable[Record]:
        emails: list[str] = []
        for column in ("Primary Email", "Secondary Email"):
            _add(emails, normalize_email(row.get(column, "")))
        columns = ("Work Phone", "Home Phone", "Mobile Number", "Fax Number", "Pager Number")
        phones = [row.get(column, "") for column in columns]
        urls: list[str] = []
        for column in ("Web Page 1", "Web Page 2"):
            _add(urls, normalize_url(row.get(column, "")))
        yield self._contact(
            keys,
            line,
            formatted=row.get("Display Name", ""),
            given=row.get("First Name", ""),
            family=row.get("Last Name", ""),
            organization=row.get("Organization", ""),
            title=row.get("Job Title", ""),
            emails=emails,
            phones=phones,
            urls=urls,
            notes=row.get("Notes", ""),
        )


def parse_day(text: str, formats: tuple[str, ...]) -> date | None:
    """The first of `formats` that reads `text` as a date, or None."""
    for fmt in formats:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def at_noon(day: date, zone: tzinfo) -> datetime:
    """A date without a time, as an instant: noon in the user's zone, in UTC.

    Noon keeps the same calendar date in the user's zone whatever the offset, so a coffee logged
    for the 4th is reported on the 4th.
    """
    return datetime.combine(day, time(12, 0), tzinfo=zone).astimezone(UTC)


class LinkedInConnector(CsvConnector):
    """LinkedIn `Connections.csv`, with or without its `Notes:` preamble.

    Each row is a contact (keyed by profile URL) and its "Connected On" date an exchange on the
    `linkedin` channel.
    """

    name = "linkedin"
    description = "a LinkedIn Connections.csv"
    required = frozenset({"First Name", "Last Name", "URL", "Connected On"})

    def records(self, row: dict[str, str], line: int, raw: Raw, keys: KeyMaker) -> Iterable[Record]:
        email = normalize_email(row.get("Email Address", ""))
        url = normalize_url(row.get("URL", ""))
        contact = self._contact(
            keys,
            line,
            given=row.get("First Name", ""),
            family=row.get("Last Name", ""),
            organization=row.get("Company", ""),
            title=row.get("Position", ""),
            emails=[email] if email else [],
            phones=[],
            urls=[url] if url else [],
            uid=f"url:{url}" if url else "",
        )
        yield contact
        connected = row.get("Connected On", "")
        if not connected or not isinstance(contact, Contact):
            return
        day = parse_day(connected, ("%d %b %Y", "%d-%b-%y", "%m/%d/%y", "%m/%d/%Y", "%Y-%m-%d"))
        if day is None:
            yield Problem(
                str(self.path), line, raw(), f"unreadable Connected On date {connected!r}"
            )
            return
        counterpart = contact.handles[0] if contact.handles else None
        if counterpart is None:
            return
        try:
            at = at_noon(day, self._zone)
        except OverflowError:  # year 1 east of UTC
            at = datetime.min.replace(tzinfo=UTC)
        if not plausible(at, self.options.now):
            yield Problem(str(self.path), line, raw(), implausible(connected))
            return
        yield Interaction(
            at=at,
            direction="mutual",
            channel="linkedin",
            counterpart=counterpart,
            source=self.name,
            key=f"linkedin-connected:{contact.source_id}",
            name=contact.name,
        )


class InteractionsCsvConnector(CsvConnector):
    """netgarden's interactions CSV: `date,email,direction,channel` (and an optional `name`).

    For exchanges no connector sees: calls, coffees, conferences. Someone it names who is in no
    address book becomes a contact.
    """

    name = "interactions"
    description = "an interactions CSV (date,email,direction,channel)"
    required = frozenset({"date", "email"})
    orphans: Orphans = "contact"
    read_ahead = True

    #: Set on the copy that reads the file again for `Occurrences`: its keys carry no count.
    _replay = False

    def read_file(self) -> Iterator[Record]:
        self._occurrences = Occurrences(None if self._replay else self._digests)
        yield from super().read_file()

    def read(self, stream: TextIO) -> Iterator[Record]:
        # Exchanges come packed (pipeline.model.Exchanges), as the mail connectors give them:
        # a frozen record an exchange cost a file of millions of rows more than storing it.
        if not hasattr(self, "_occurrences"):  # a stream that cannot be read again
            self._occurrences = Occurrences(None)
        self._rows: list[ExchangeRow] = []
        self._columns: tuple[str, str, str, str, str] | None = None
        self._emails: dict[str, str | None] = {}
        self._days: dict[str, bool] = {}
        latest = (self.options.now or datetime.now(UTC)) + AHEAD
        self._earliest, self._latest = EARLIEST.isoformat(), latest.astimezone(UTC).isoformat()
        try:
            yield from super().read(stream)
            if self._rows:
                yield Exchanges(self.name, tuple(self._rows))
        finally:
            del self._occurrences, self._rows

    def _real_day(self, when: str) -> bool:
        """Whether text shaped as `_UTC_SECOND` names a real day and time (not 2026-02-30)."""
        day = when[:10]
        real = self._days.get(day)
        if real is None:
            if len(self._days) > _EMAILS_KEPT:
                self._days.clear()
            try:
                real = self._days[day] = date.fromisoformat(day).year > 0
            except ValueError:
                real = self._days[day] = False
        return real and when[11:13] < "24" and when[14:16] < "60" and when[17:19] < "60"

    def _digests(self) -> Generator[str]:
        """The digest of every exchange of the file, in order, read again from its start."""
        again = type(self)(self.path, self.options)
        again._replay = True
        for record in again.read_file():
            if isinstance(record, Exchanges):
                for row in record.rows:
                    yield row[5].split(":")[1]

    def records(self, row: dict[str, str], line: int, raw: Raw, keys: KeyMaker) -> Iterable[Record]:
        if self._columns is None:  # the header's own spelling of each column
            lowered = {name.lower(): name for name in row}
            self._columns = (
                lowered["date"],
                lowered["email"],
                lowered.get("direction", ""),
                lowered.get("channel", ""),
                lowered.get("name", ""),
            )
        date_column, email_column, direction_column, channel_column, name_column = self._columns
        text = row[email_column]
        email = self._emails.get(text, _UNKNOWN)
        if email is _UNKNOWN:
            if len(self._emails) >= _EMAILS_KEPT:
                self._emails.clear()
            email = self._emails[text] = normalize_email(text)
        if email is None:
            return (Problem(str(self.path), line, raw(), f"not an e-mail address: {text!r}"),)
        when = row[date_column]
        if _UTC_SECOND.fullmatch(when) and self._real_day(when):  # no date to make, most rows
            instant = f"{when[:19]}+00:00"
        else:
            at = parse_instant(when, self._zone)
            if at is None:
                return (Problem(str(self.path), line, raw(), f"unreadable date {when!r}"),)
            instant = at.isoformat()  # in UTC: its text sorts as time
        if not self._earliest <= instant <= self._latest:
            return (Problem(str(self.path), line, raw(), implausible(when)),)
        direction = (row.get(direction_column, "") or "mutual").lower()
        if direction not in DIRECTIONS:
            reason = f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}"
            return (Problem(str(self.path), line, raw(), reason),)
        channel = (row.get(channel_column, "") or "manual").lower()
        identity = f"{instant}|{email}|{direction}|{channel}"
        digest = hashlib.sha1(identity.encode("utf-8")).hexdigest()[:20]
        # Two identical rows are two exchanges (two calls that day); re-reading the file must
        # still give the same keys, so the key counts occurrences instead of using line numbers.
        seen = 0 if self._replay else self._occurrences.seen(instant, digest)
        if len(instant) > 25:  # microseconds: the store keeps instants to the second
            instant = instant[:19] + instant[-6:]
        rows = self._rows
        rows.append(
            (
                instant,
                direction,
                channel,
                "email",
                email,
                f"interactions:{digest}:{seen}",
                row.get(name_column, ""),
            )
        )
        if len(rows) < _ROWS_AT_ONCE:
            return ()
        self._rows = []
        return (Exchanges(self.name, tuple(rows)),)


#: An instant in UTC to the second, as logs write it: its UTC text is at hand.
_UTC_SECOND = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|\+00:00)")
#: Exchanges a packed record holds; e-mail addresses remembered, normalized, at most.
_ROWS_AT_ONCE = 5000
_EMAILS_KEPT = 100_000
_UNKNOWN = "\x00unknown"


class Occurrences:
    """How many times each exchange has occurred so far in a file: the count in its key.

    Counting needs the rows seen so far, and a file of ten million rows would hold them all. A
    file in date order (either way, as logs and exports are) does not need to: identical rows
    share their instant, so only the current instant's rows are kept. The first row out of order
    reads the file again (`again`): once for a 64-bit fingerprint of every exchange (8 bytes a
    row, sorted by numpy to find those occurring more than once), then up to this row for their
    counts; from there on only the rows that repeat are counted. Either way every count is
    what counting every row gives, so keys stay what earlier imports stored. Without `again` (a
    stream read once) every row is counted, in memory that grows with the file.

    Exchanges are told apart by the 80-bit digest of what makes them one (instant, address,
    direction, channel), the digest their key holds.
    """

    def __init__(self, again: Callable[[], Generator[str]] | None) -> None:
        self._again = again
        self._counts: dict[str, int] = {}
        self._instant: str | None = None
        self._order = 0  # 1 the file goes forward in time, -1 backward, 0 not known yet
        self._done = 0  # exchanges counted
        self._repeated: set[int] | None = None if again else set()  # fingerprints, once known
        self._all = again is None

    def seen(self, at: str, digest: str) -> int:
        """The occurrence of this exchange that this row is: 1 for its first. `at` is its
        instant as UTC ISO text (which sorts as time)."""
        if self._repeated is None and at != self._instant:
            if self._instant is not None:
                step = 1 if at > self._instant else -1
                if self._order and step != self._order:
                    self._read_again()
                self._order = step
            self._instant = at
            if self._repeated is None:
                self._counts.clear()
        self._done += 1
        repeated = self._repeated
        if repeated is not None and not self._all and _fingerprint(digest) not in repeated:
            return 1
        count = self._counts.get(digest, 0) + 1
        self._counts[digest] = count
        return count

    def _read_again(self) -> None:
        import numpy as np  # only a file out of date order pays for it

        assert self._again is not None
        prints = array("Q", (_fingerprint(d) for d in self._again()))
        ordered = np.sort(np.frombuffer(prints, dtype=np.uint64))
        del prints
        twice = ordered[1:][ordered[1:] == ordered[:-1]]
        self._repeated = {int(f) for f in np.unique(twice)}
        del ordered, twice
        self._counts = {}
        with closing(self._again()) as digests:
            for digest in islice(digests, self._done):
                if _fingerprint(digest) in self._repeated:
                    self._counts[digest] = self._counts.get(digest, 0) + 1


def _fingerprint(digest: str) -> int:
    return int(digest[:16], 16)


def parse_instant(text: str, zone: tzinfo) -> datetime | None:
    """An ISO date (noon in `zone`) or date-time (naive means `zone`) as a UTC instant."""
    text = text.strip()
    if not text:
        return None
    if len(text) == 10:
        try:
            return at_noon(date.fromisoformat(text), zone)
        except (ValueError, OverflowError):
            return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        return None


CSV_CONNECTORS: tuple[type[CsvConnector], ...] = (
    GoogleCsvConnector,
    LinkedInConnector,
    ThunderbirdCsvConnector,
    OutlookCsvConnector,
    InteractionsCsvConnector,
)
