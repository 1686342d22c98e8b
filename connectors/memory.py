"""A connector over records held in memory: the runner's and the store's tests read from it.

It keeps the whole contract of `connectors.base` (a cursor, the unchanged check, problems as
records), so a test of the runner or the store needs no file of any format, and no subclass of a
real connector standing in for one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar

from connectors.base import FileConnector, Orphans, ReadOptions
from pipeline.model import Record


class MemoryConnector(FileConnector):
    """Yields the records it was given, then a Checkpoint: their digest.

    `path` names the source in summaries and the quarantine (no file is read); `orphans` says
    what the runner does with exchanges that name no one, as a real connector's class would.
    An `Exception` among the records is raised when the read reaches it (a source that breaks
    half-way).
    """

    name: ClassVar[str] = "memory"
    description: ClassVar[str] = "records in memory"

    def __init__(
        self,
        records: Iterable[Record | Exception],
        path: Path = Path("memory"),
        *,
        orphans: Orphans = "keep",
        options: ReadOptions | None = None,
    ) -> None:
        super().__init__(path, options)
        self.records = list(records)
        self.orphans = orphans

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        return False  # nothing on disk is records in memory

    def check_format(self) -> None:
        """Records in memory are always of their format."""

    def total_bytes(self) -> int:
        return len(self.records)

    def signature(self) -> str:
        return hashlib.sha256(repr(self.records).encode()).hexdigest()

    def read_file(self) -> Iterator[Record]:
        for item in self.records:
            if isinstance(item, Exception):
                raise item
            yield item
