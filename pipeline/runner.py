"""The runner: drives a connector and commits its records with its checkpoint, atomically.

A crash mid-file rolls the whole file back; the checkpoint only moves with the records before it,
so the next run repeats the work instead of skipping it, and the upserts make repeats harmless.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from connectors.base import Connector, FileConnector, bulk_allocation
from pipeline.errors import NetgardenError, UnknownPersonError
from pipeline.model import (
    DISCOVERED,
    Checkpoint,
    Contact,
    Direction,
    Exchanges,
    Handle,
    Interaction,
    Problem,
    Record,
    Skipped,
)
from pipeline.normalize import normalize_email
from pipeline.store import Store, UpsertCounts

_BATCH = 2000


@dataclass
class ImportSummary:
    """What importing one file did (or, in a dry run, would do)."""

    file: str
    format: str
    unchanged: bool = False
    contacts: UpsertCounts = field(default_factory=UpsertCounts)
    interactions_read: int = 0
    interactions_new: int = 0
    contacts_created: int = 0
    quarantined: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def import_file(store: Store, connector: FileConnector, *, dry_run: bool = False) -> ImportSummary:
    """Read one file into the store in one transaction (rolled back when `dry_run`)."""
    summary = ImportSummary(file=str(connector.path), format=connector.name)
    stream = connector.stream()
    cursor = store.checkpoint(stream)
    contacts: list[Contact] = []
    interactions: list[Interaction] = []
    packed: list[Exchanges] = []
    problems: list[Problem] = []
    seq: int | None = None

    def flush() -> None:
        nonlocal seq
        if seq is None:
            seq = store.begin_import(stream)
        if contacts:
            counts = store.upsert_contacts(contacts, seq)
            summary.contacts.new += counts.new
            summary.contacts.updated += counts.updated
            summary.contacts.unchanged += counts.unchanged
            contacts.clear()
        if interactions:
            summary.interactions_new += store.add_interactions(interactions, seq)
            interactions.clear()
        for batch in packed:
            summary.interactions_new += store.add_exchange_rows(batch.source, batch.rows, seq)
        packed.clear()

    with store.transaction(rollback=dry_run), bulk_allocation():
        for record in connector.extract(cursor):
            if isinstance(record, Contact):
                contacts.append(record)
                if len(contacts) >= _BATCH:
                    flush()
            elif isinstance(record, Interaction):
                interactions.append(record)
                summary.interactions_read += 1
                if len(interactions) >= _BATCH:
                    # Contacts first: an exchange may name someone this file also lists.
                    flush()
            elif isinstance(record, Exchanges):
                packed.append(record)
                summary.interactions_read += len(record.rows)
                flush()
            elif isinstance(record, Problem):
                problems.append(record)
            elif isinstance(record, Skipped):
                summary.skipped[record.reason] += record.count
            elif isinstance(record, Checkpoint):
                if record.cursor == cursor and seq is None and not problems:
                    summary.unchanged = True
                    continue
                flush()
                assert seq is not None
                store.clear_quarantine(str(connector.path))
                store.quarantine(problems, connector.name, seq)
                summary.quarantined = len(problems)
                if connector.orphans == "contact":
                    summary.contacts_created = _create_contacts(store, connector.name, seq)
                elif connector.orphans == "discover":
                    summary.contacts_created = _create_contacts(store, DISCOVERED, seq)
                store.set_checkpoint(stream, record.cursor)
    summary.notes = list(connector.notes)
    return summary


@dataclass
class SyncSummary:
    """What syncing one account did."""

    stream: str
    contacts: UpsertCounts = field(default_factory=UpsertCounts)
    interactions_read: int = 0
    interactions_new: int = 0
    contacts_created: int = 0
    checkpoints: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def sync_source(store: Store, source: Connector) -> SyncSummary:
    """Pull what changed since the stored cursor; commit at every Checkpoint.

    Each checkpoint is written in one transaction with the records before it and the
    discovered contacts they name: a run stopped at any point (kill -9, a network error, an
    exhausted quota) resumes from the last checkpoint, and what it repeats is stored once.
    """
    stream = source.stream()
    summary = SyncSummary(stream)
    pending: list[Record] = []
    for record in source.extract(store.checkpoint(stream)):
        if isinstance(record, Checkpoint):
            with store.transaction():
                seq = store.begin_import(stream)
                _store_records(store, pending, seq, summary)
                summary.contacts_created += _create_contacts(store, DISCOVERED, seq)
                store.set_checkpoint(stream, record.cursor)
                store.resolve_people()
            summary.checkpoints += 1
            pending = []
        elif isinstance(record, Skipped):
            summary.skipped[record.reason] += record.count
        else:
            pending.append(record)
    summary.notes = list(source.notes)
    return summary


def _store_records(store: Store, records: list[Record], seq: int, summary: SyncSummary) -> None:
    contacts = [r for r in records if isinstance(r, Contact)]
    if contacts:
        counts = store.upsert_contacts(contacts, seq)
        summary.contacts.new += counts.new
        summary.contacts.updated += counts.updated
        summary.contacts.unchanged += counts.unchanged
    interactions = [r for r in records if isinstance(r, Interaction)]
    if interactions:
        summary.interactions_read += len(interactions)
        summary.interactions_new += store.add_interactions(interactions, seq)
    for batch in records:
        if isinstance(batch, Exchanges):
            summary.interactions_read += len(batch.rows)
            summary.interactions_new += store.add_exchange_rows(batch.source, batch.rows, seq)
    problems = [r for r in records if isinstance(r, Problem)]
    if problems:
        store.quarantine(problems, summary.stream, seq)


def _create_contacts(store: Store, source: str, seq: int) -> int:
    """Make a contact for everyone the exchanges of import `seq` name who is in no record."""
    created = [
        Contact(
            source=source,
            source_id=f"{kind}:{value}",
            name=name or value,
            handles=(Handle(kind, value),),
        )
        for kind, value, name in store.unknown_counterparts(seq)
    ]
    if created:
        store.upsert_contacts(created, seq)
    return len(created)


def resolve(store: Store) -> None:
    """Regroup records into people after imports (one transaction)."""
    with store.transaction():
        store.resolve_people()


def log_exchange(
    store: Store,
    who: str,
    at: datetime,
    direction: Direction,
    channel: str,
    key: str,
) -> tuple[int, bool]:
    """Record one exchange by hand with WHO (an e-mail, or the exact name of one person).

    Returns (person id, whether a new contact was created). An e-mail that is no one's becomes a
    contact of source `manual`; a name must match exactly one person.
    """
    with store.transaction():
        matches = store.find_people(who)
        email = normalize_email(who)
        created = False
        if not matches:
            if email is None:
                raise UnknownPersonError(
                    f"no one is called {who!r}; give an e-mail address to log someone new"
                )
            seq = store.begin_import(f"manual:{email}")
            store.upsert_contacts(
                [
                    Contact(
                        source="manual",
                        source_id=f"email:{email}",
                        name=email,
                        handles=(Handle("email", email),),
                    )
                ],
                seq,
            )
            store.resolve_people()
            matches = store.find_people(email)
            created = True
        if len(matches) > 1:
            raise UnknownPersonError(
                f"{len(matches)} people are called {who!r}; log by e-mail address instead"
            )
        person_id = matches[0]
        handle = Handle("email", email) if email else store.primary_handle(person_id)
        if handle is None:
            raise NetgardenError(f"{who!r} has no e-mail, phone or profile to log against")
        seq = store.begin_import(f"manual:{who}")
        store.add_interactions([Interaction(at, direction, channel, handle, "manual", key)], seq)
    return person_id, created
