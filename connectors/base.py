"""The connector contract.

A connector reads one source and yields records; it never writes the store, prints or exits.

Terms:
- *record*: a `Contact`, `Interaction`, `Checkpoint`, `Problem` or `Skipped` (pipeline.model).
- *cursor*: the string a previous run's last `Checkpoint` carried, or None for a full read. A file
  connector's cursor is the file's digest: the same digest means nothing new to read.
- *stream*: the name under which the runner stores a connector's cursor (for a file, its path).

`extract(cursor)` yields records in order and ends with a `Checkpoint`; the runner commits records
and the checkpoint after them in one transaction. A connector whose cursor has expired raises
`pipeline.errors.CursorExpired`. A record that cannot be read becomes a `Problem` (file, line, raw
text, reason); a source that cannot be read at all raises `pipeline.errors.FormatError` before it
yields anything.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar, Literal

from pipeline.mail import MailPolicy
from pipeline.model import Record

#: What the runner does with an interaction whose counterpart is in no contact record:
#: "contact" creates an address-book contact for it (hand-logged exchanges), "discover" creates a
#: *discovered* contact (mail and calendars: listed by `contacts --discovered`, reported once the
#: relationship is two-way), "keep" only stores it.
Orphans = Literal["contact", "discover", "keep"]
#: Called by a long read with (bytes read, records read) now and then, for a progress bar.
ProgressHook = Callable[[int, int], None]


@dataclass(frozen=True)
class ReadOptions:
    """Settings a connector needs to interpret what it reads."""

    default_region: str = "US"
    windows_codepage: str = "cp1252"
    timezone: str = ""
    mail: MailPolicy = field(default_factory=MailPolicy)
    #: The instant of the import (what "has taken place" is measured against); None: the clock.
    now: datetime | None = None


class FileConnector:
    """Base of the connectors that read one exported file."""

    #: The registry name, also the `source` of every record it yields.
    name: ClassVar[str] = ""
    #: What a person reads in messages: "a vCard file", "a LinkedIn Connections.csv", ...
    description: ClassVar[str] = ""
    orphans: ClassVar[Orphans] = "keep"

    def __init__(self, path: Path, options: ReadOptions | None = None) -> None:
        self.path = path
        self.options = options or ReadOptions()
        #: Set by the caller to follow a long read; never required.
        self.progress: ProgressHook | None = None
        #: What the read found worth telling the user (an inferred setting, ...), in order.
        self.notes: list[str] = []

    def total_bytes(self) -> int:
        """How many bytes a full read goes through (the denominator of a progress bar)."""
        return self.path.stat().st_size

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        """Whether `head` (the file's first bytes) looks like this connector's format."""
        raise NotImplementedError

    def stream(self) -> str:
        """The key the runner stores this source's cursor under."""
        return f"{self.name}:{self.path.resolve()}"

    def digest(self) -> str:
        """The file's content digest, the cursor of a file source."""
        sha = hashlib.sha256()
        with self.path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                sha.update(chunk)
        return sha.hexdigest()

    def extract(self, cursor: str | None) -> Iterator[Record]:
        """Yield the file's records, then its Checkpoint; nothing new if the digest is `cursor`."""
        raise NotImplementedError


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
