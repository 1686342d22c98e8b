"""The runner: drives a connector and commits its records with its checkpoint, atomically.

A crash mid-file rolls the whole file back; the checkpoint only moves with the records before it,
so the next run repeats the work instead of skipping it, and the upserts make repeats harmless.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from connectors.base import Connector, FileConnector, bulk_allocation
from connectors.workers import read_ahead
from pipeline.checks import checked_contact_rows, checked_interactions, checked_rows
from pipeline.model import (
    DISCOVERED,
    HANDLE_ORDER,
    Checkpoint,
    Contact,
    ContactRow,
    Contacts,
    ExchangeRow,
    Exchanges,
    Handle,
    Interaction,
    Problem,
    Record,
    Skipped,
    contact_row,
)
from pipeline.store import Store, UpsertCounts

_BATCH = 2000
#: A file from which its reader runs in a process of its own (`_records`): below, starting
#: that process costs more than it saves.
READ_AHEAD_BYTES = 8 << 20
#: Packed exchanges stored at a time, sorted: more cost memory (half a kilobyte a row), fewer
#: cost time (measured in docs/PERFORMANCE.md).
_PACKED_BATCH = 100_000


@dataclass
class Counts:
    """What storing records did, for a file or an account."""

    contacts: UpsertCounts = field(default_factory=UpsertCounts)
    interactions_read: int = 0
    interactions_new: int = 0
    contacts_created: int = 0
    quarantined: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportSummary(Counts):
    """What importing one file did (or, in a dry run, would do)."""

    file: str = ""
    format: str = ""
    unchanged: bool = False


@dataclass
class SyncSummary(Counts):
    """What syncing one account did."""

    stream: str = ""
    checkpoints: int = 0


class _Writer:
    """Stores a connector's records in batches, after the checks every record passes
    (pipeline.checks): what fails them is added to `problems`."""

    def __init__(self, store: Store, where: str, counts: Counts) -> None:
        self.store = store
        self.where = where
        self.counts = counts
        #: Contacts packed, by source (`pipeline.model.Contacts`), and how many.
        self.contacts: dict[str, list[ContactRow]] = defaultdict(list)
        self.contact_count = 0
        self.interactions: list[Interaction] = []
        self.packed: dict[str, list[ExchangeRow]] = defaultdict(list)
        self.packed_rows = 0
        self.problems: list[Problem] = []
        #: The handles exchanges were written for (their people's histories go stale).
        self.handles: set[tuple[str, str]] = set()

    def add(self, record: Record) -> bool:
        """Take one record; True when the batch is full enough to write."""
        if isinstance(record, Contacts):
            self.contacts[record.source].extend(record.rows)
            self.contact_count += len(record.rows)
            return self.contact_count >= _BATCH
        if isinstance(record, Contact):
            self.contacts[record.source].append(contact_row(record))
            self.contact_count += 1
            return self.contact_count >= _BATCH
        if isinstance(record, Interaction):
            self.interactions.append(record)
            self.counts.interactions_read += 1
            return len(self.interactions) >= _BATCH
        if isinstance(record, Exchanges):
            self.packed[record.source].extend(record.rows)
            self.packed_rows += len(record.rows)
            self.counts.interactions_read += len(record.rows)
            return self.packed_rows >= _PACKED_BATCH
        if isinstance(record, Problem):
            self.problems.append(record)
        elif isinstance(record, Skipped):
            self.counts.skipped[record.reason] += record.count
        return False

    def write(self, seq: int) -> None:
        """Store what was taken, contacts first: an exchange may name someone they list."""
        counts = self.counts
        for source, contacts in self.contacts.items():
            checked = checked_contact_rows(contacts)
            self.store.upsert_contact_rows(source, checked, seq, counts.contacts)
        self.contacts.clear()
        self.contact_count = 0
        if self.interactions:
            kept, problems = checked_interactions(self.interactions, self.where)
            self.problems.extend(problems)
            new = self.store.add_interactions(kept, seq)
            if new:
                counts.interactions_new += new
                self.handles.update((i.counterpart.kind, i.counterpart.value) for i in kept)
            self.interactions.clear()
        for source, batch in self.packed.items():
            rows, problems = checked_rows(batch, self.where)
            self.problems.extend(problems)
            # In the table's own order (by handle): SQLite then walks its B-tree once
            # instead of jumping to a random page for each row, which on a store of millions
            # of exchanges costs more than all the rest of an import. A reader whose batches
            # come sorted (the mbox workers') leaves runs that the sort only merges.
            rows.sort(key=HANDLE_ORDER)
            new = self.store.add_exchange_rows(source, rows, seq)
            if new:
                counts.interactions_new += new
                self.handles.update((row[3], row[4]) for row in rows)
        self.packed.clear()
        self.packed_rows = 0

    def settle(self, source: str, seq: int) -> int:
        """After the records: the people the exchanges name who are in no record, as contacts
        of `source`; the histories the exchanges change marked stale. How many contacts."""
        made = _create_contacts(self.store, source, self.handles, seq)
        self.store.mark_stale(self.handles)
        self.handles = set()
        return made


def import_file(
    store: Store, connector: FileConnector, *, dry_run: bool = False, force: bool = False
) -> ImportSummary:
    """Read one file into the store in one transaction (rolled back when `dry_run`); `force`
    reads it even when it is unchanged since its last import."""
    summary = ImportSummary(file=str(connector.path), format=connector.name)
    stream = connector.stream()
    cursor = None if force else store.checkpoint(stream)
    writer = _Writer(store, str(connector.path), summary)
    seq: int | None = None

    def flush() -> int:
        nonlocal seq
        if seq is None:
            seq = store.begin_import(stream)
        writer.write(seq)
        return seq

    with store.transaction(rollback=dry_run), bulk_allocation():
        for record in _records(connector, cursor):
            if not isinstance(record, Checkpoint):
                if writer.add(record):
                    flush()
                continue
            if record.cursor == cursor and seq is None and not writer.problems:
                summary.unchanged = True
                continue
            done = flush()
            store.clear_quarantine(str(connector.path))
            store.quarantine(writer.problems, connector.name, done)
            summary.quarantined = len(writer.problems)
            if connector.orphans == "keep":
                store.mark_stale(writer.handles)
            else:
                made = connector.name if connector.orphans == "contact" else DISCOVERED
                summary.contacts_created = writer.settle(made, done)
            store.remember_me(connector.found_me, connector.name)
            store.set_checkpoint(stream, record.cursor)
    summary.notes = list(connector.notes)
    return summary


def _records(connector: FileConnector, cursor: str | None) -> Iterator[Record]:
    """The file's records, read in a process of its own while this one stores them when the
    reader is worth it (`FileConnector.read_ahead`) and the file large enough to pay for it."""
    try:
        large = connector.path.stat().st_size >= READ_AHEAD_BYTES
    except OSError:  # extract says what is wrong with it
        large = False
    if connector.read_ahead and large:
        # A message a batch: the reader makes the next while this process stores one.
        return read_ahead(connector, cursor, _PACKED_BATCH)
    return connector.extract(cursor)


def sync_source(store: Store, source: Connector) -> SyncSummary:
    """Pull what changed since the stored cursor; commit at every Checkpoint.

    Each checkpoint is written in one transaction with the records before it and the
    discovered contacts they name: a run stopped at any point (kill -9, a network error, an
    exhausted quota) resumes from the last checkpoint, and what it repeats is stored once.
    """
    stream = source.stream()
    summary = SyncSummary(stream=stream)
    writer = _Writer(store, stream, summary)
    for record in source.extract(store.checkpoint(stream)):
        if not isinstance(record, Checkpoint):
            writer.add(record)
            continue
        with store.transaction():
            seq = store.begin_import(stream)
            writer.write(seq)
            if writer.problems:
                store.quarantine(writer.problems, stream, seq)
                summary.quarantined += len(writer.problems)
                writer.problems.clear()
            summary.contacts_created += writer.settle(DISCOVERED, seq)
            store.set_checkpoint(stream, record.cursor)
            store.resolve_people()
        summary.checkpoints += 1
    # Once the account is read: whose histories changed (a run stopped before this leaves
    # them marked stale, and the next command works them out).
    with store.transaction():
        store.refresh_histories()
    summary.notes = list(source.notes)
    return summary


def _create_contacts(store: Store, source: str, handles: set[tuple[str, str]], seq: int) -> int:
    """Make a contact for everyone the exchanges name who is in no record (of `handles`)."""
    created = [
        Contact(
            source=source,
            source_id=f"{kind}:{value}",
            name=name or value,
            handles=(Handle(kind, value),),
        )
        for kind, value, name in store.unknown_counterparts(sorted(handles))
    ]
    if created:
        store.upsert_contacts(created, seq)
    return len(created)


def resolve(store: Store) -> None:
    """Regroup records into people after imports, and work out the histories that changed
    (one transaction)."""
    with store.transaction():
        store.resolve_people()
        store.refresh_histories()
