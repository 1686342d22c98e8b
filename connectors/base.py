"""The connector contract: one for every source, exported files and online accounts alike.

A connector reads one source and yields records; it never writes the store, prints or exits.
`tests/connectors/contract.py` states this contract as tests that every connector inherits.

Terms:
- *record*: a `Contact`, `Contacts`, `Interaction`, `Exchanges`, `Checkpoint`, `Problem` or
  `Skipped` (pipeline.model).
- *cursor*: the text the last `Checkpoint` a previous run committed carried, or None for a full
  read. A file's cursor says which content was read (its digest, or a cheaper signature); an
  account's says where each of its parts stands (a history id, a delta link, a sync token).
- *stream*: the name under which the runner stores a connector's cursor (`vcard:/path/to/file`,
  `gmail:work`, `outlook:work:ann@contoso.com`).
- *work*: what a read spends, counted in the connector's `work_unit`: bytes of a file, quota
  units of a Google account, requests to Microsoft Graph.

`extract(cursor)` yields records in order, each `Checkpoint` after the records it covers, and
ends with a `Checkpoint`; the runner commits the records before a checkpoint with it, in one
transaction. Reading again from the last checkpoint yields no record that was not yielded
before (a file connector yields only that checkpoint). A connector whose saved cursor has
expired starts over by itself and says so in `notes`; `pipeline.errors.CursorExpired` is what a
client raises to tell it. A record that cannot be read becomes a `Problem` (where it was, its raw
text, the reason), never an exception. A file that is not of the connector's format raises
`pipeline.errors.FormatError` before it yields anything; an account that cannot be read raises a
`pipeline.errors.SourceError` (`SignInError` when the sign-in is refused): a client library's
own exceptions never leave a connector.

`progress`, when set, is called now and then during a long read with (work done so far in
`work_unit`, records read so far); `total_work()` is the work a whole read takes, when known.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pipeline.errors import FormatError
from pipeline.mail import MailPolicy
from pipeline.model import Checkpoint, Record

if TYPE_CHECKING:
    from pipeline.config import Config

#: What the runner does with an interaction whose counterpart is in no contact record:
#: "contact" creates an address-book contact for it (hand-logged exchanges), "discover" creates a
#: *discovered* contact (mail and calendars: listed by `contacts --discovered`, reported once the
#: relationship is two-way), "keep" only stores it.
Orphans = Literal["contact", "discover", "keep"]
#: `progress(work done, records read)`: see the module's docstring.
ProgressHook = Callable[[int, int], None]
#: How much of a file format detection and `check_format` look at.
HEAD_BYTES = 16384


@dataclass(frozen=True)
class ReadOptions:
    """Settings a connector needs to interpret what it reads."""

    default_region: str = "US"
    windows_codepage: str = "cp1252"
    timezone: str = ""
    mail: MailPolicy = field(default_factory=MailPolicy)
    #: The instant of the import (what "has taken place" is measured against); None: the clock.
    now: datetime | None = None

    @classmethod
    def of(cls, config: Config) -> ReadOptions:
        """The options of the user's settings."""
        return cls(
            config.default_region, config.windows_codepage, config.timezone, config.mail_policy()
        )


class Connector:
    """What the runner drives: a source read from a cursor, with notes and progress."""

    #: The registry name, also the `source` of the records it yields.
    name: ClassVar[str] = ""
    #: What `progress` and `work_done()` count.
    work_unit: ClassVar[str] = "bytes"
    #: What the runner does with exchanges that name no one it knows (see `Orphans`).
    orphans: Orphans = "discover"

    def __init__(self) -> None:
        #: Set by the caller to follow a long read; never required.
        self.progress: ProgressHook | None = None
        #: What the read found worth telling the user (an inferred setting, an expired
        #: cursor, ...), in order.
        self.notes: list[str] = []
        #: The user's own addresses, when the read had to infer them (config.toml names none):
        #: the store keeps them, so that they are never anyone's contact.
        self.found_me: list[str] = []

    def stream(self) -> str:
        """The key the runner stores this source's cursor under."""
        raise NotImplementedError

    def extract(self, cursor: str | None) -> Iterator[Record]:
        """Every record new since `cursor` (None: a full read), each Checkpoint after the
        records it covers, ending with a Checkpoint."""
        raise NotImplementedError

    def total_work(self) -> int | None:
        """The work a whole read takes, in `work_unit` (None: not known in advance)."""
        return None

    def work_done(self) -> int:
        """The work spent so far, in `work_unit` (what a summary line reports)."""
        return 0

    def _report(self, done: int, records: int) -> None:
        if self.progress is not None:
            self.progress(done, records)


class FileConnector(Connector):
    """Base of the connectors that read one exported file (or one mail folder).

    A subclass says how to recognise its format (`sniff`) and how to read a file
    (`read_file`); the "unchanged since its last import" check is `extract`'s, for every
    format: the file's `signature()` (its content digest unless a subclass has a cheaper one)
    is the cursor, and a file whose signature is the cursor yields nothing but that cursor.
    """

    #: What a person reads in messages: "a vCard file", "a LinkedIn Connections.csv", ...
    description: ClassVar[str] = ""
    orphans: Orphans = "keep"
    #: Whether `check_format` refuses a file `sniff` does not know. Off for a reader that
    #: says better what is missing (no header row, no BEGIN:VCARD), before any record.
    sniff_first: ClassVar[bool] = True
    #: Whether the runner reads a large file in a process of its own while it stores the
    #: records (connectors.workers.read_ahead): for a reader whose records are mostly packed
    #: exchanges, which cross between processes cheaply (frozen records do not).
    read_ahead: ClassVar[bool] = False

    def __init__(self, path: Path, options: ReadOptions | None = None) -> None:
        super().__init__()
        self.path = path
        self.options = options or ReadOptions()

    def total_bytes(self) -> int:
        """How many bytes a full read goes through (the denominator of a progress bar)."""
        return self.path.stat().st_size

    def total_work(self) -> int | None:
        return self.total_bytes()

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        """Whether `head` (the file's first bytes) looks like this connector's format."""
        raise NotImplementedError

    def stream(self) -> str:
        return f"{self.name}:{self.path.resolve()}"

    def digest(self) -> str:
        """The file's content digest."""
        sha = hashlib.sha256()
        with self.path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                sha.update(chunk)
        return sha.hexdigest()

    def signature(self) -> str:
        """What tells whether the file changed since a read: its content digest by default."""
        return self.digest()

    def unchanged(self, cursor: str, signature: str) -> bool:
        """Whether a file with this signature holds nothing new since `cursor` was committed."""
        return cursor == signature

    def next_cursor(self, signature: str) -> str:
        """The cursor a full read of a file with this signature ends with (called after
        `read_file`, which may have found more to remember)."""
        return signature

    def read_file(self) -> Iterator[Record]:
        """Every record of the file, in order, without a Checkpoint."""
        raise NotImplementedError

    def check_format(self) -> None:
        """FormatError unless the path is a regular file that looks like this format (`sniff`
        on its first bytes, unless `sniff_first` is off): a folder, a device, a pipe or a file
        of another kind is refused before anything is read from it."""
        if not self.path.is_file():
            what = "a folder" if self.path.is_dir() else "not a regular file"
            raise FormatError(self.path, f"{what}; {self.description} is a file")
        if not self.sniff_first:
            return
        try:
            with self.path.open("rb") as handle:
                head = handle.read(HEAD_BYTES)
        except OSError as exc:
            raise FormatError(self.path, f"cannot read: {exc.strerror or exc}") from None
        if not self.sniff(head, self.path):
            raise FormatError(self.path, f"not {self.description}")

    def extract(self, cursor: str | None) -> Iterator[Record]:
        """The file's records then its Checkpoint; only the Checkpoint if it is unchanged."""
        self.check_format()
        signature = self.signature()
        if cursor is not None and self.unchanged(cursor, signature):
            yield Checkpoint(cursor)
            return
        yield from self.read_file()
        yield Checkpoint(self.next_cursor(signature))


@contextmanager
def bulk_allocation() -> Iterator[None]:
    """Collect garbage less often while a bulk load allocates millions of small objects.

    Records are tuples and strings without reference cycles, yet each automatic collection
    walks the whole growing heap: measured on 100,000 cards, 40% of the parse time. Collections
    still happen, a hundred times less often, and the usual thresholds come back afterwards.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 100_000), thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
