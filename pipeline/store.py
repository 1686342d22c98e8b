"""The SQLite store: the one place that reads and writes netgarden's data.

Contacts are upserted on (source, source_id) and only rewritten when their content changed;
interactions are unique on (key, handle), so the same exchange seen twice counts once; every write
of an import happens inside one transaction with the source's checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

from pipeline.errors import NetgardenError
from pipeline.files import write_private
from pipeline.identity import MAX_SUGGESTION_GROUP, resolve, similar_pairs, suggestion_pairs
from pipeline.migrations import LATEST, MIGRATIONS
from pipeline.model import (
    DIRECTIONS,
    RECENT,
    Contact,
    ContactRow,
    Direction,
    ExchangeRow,
    Handle,
    HandleKind,
    History,
    Interaction,
    InteractionSummary,
    Person,
    Problem,
    Timeline,
    code_type,
    contact_row,
)
from pipeline.normalize import name_key, normalize_email
from pipeline.people import RecordRow, build_people, handle_owners

_CHUNK = 500
#: Seconds a command that writes waits for another writer before it gives up.
WRITER_PATIENCE = 60.0
#: Seconds a command that only reads waits (a long import can hold the store for minutes).
READER_PATIENCE = 2.0
#: SQLite's page cache for a command that writes: a large import inserts into the e-mail index
#: in random order, and with SQLite's default 2 MB that index spills to disk on every batch;
#: 32 MB keeps the indexes of a few hundred thousand contacts in memory.
WRITER_CACHE_MB = 32
#: For reading everyone once (a report): each page is read once, so a large cache only holds
#: pages that are never read again: 32 MB in each process of a report over a large store.
READER_CACHE_MB = 2
# json.dumps rebuilds an encoder on every call; one shared encoder is twice as fast on the
# hundreds of thousands of small lists a large import writes.
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass
class UpsertCounts:
    """What an upsert did to contact records."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class QuarantinedRecord:
    """A record an import could not read, as `netgarden errors` lists it."""

    source: str
    file: str
    line: int
    reason: str
    raw: str


@dataclass(frozen=True)
class Suggestion:
    """Two people who may be one: a shared phone, or the same name at the same organization."""

    person_a: int
    person_b: int
    reason: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _chunks(items: Sequence[ContactRow], size: int = _CHUNK) -> Iterator[Sequence[ContactRow]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Store:
    """An open netgarden store. Use as a context manager, or call `close()`."""

    def __init__(
        self, path: Path, *, patience: float = WRITER_PATIENCE, cache_mb: int = WRITER_CACHE_MB
    ) -> None:
        """Open (or create) the store at `path`. A command that finds another one writing waits
        up to `patience` seconds for it, then says which command holds the store. `cache_mb`:
        SQLite's page cache (see WRITER_CACHE_MB and READER_CACHE_MB)."""
        self.path = path
        self._sources_seen: set[str] = set()
        self._sources_new: set[str] = set()
        self._ownerless_cache: frozenset[tuple[str, str]] | None = None
        #: The exchanges this session stored, by handle, while they are few: a history they
        #: make stale is worked out from what it held and them (see refresh_histories). None
        #: once they are too many, or not known to be new.
        self._new: dict[tuple[str, str], list[InteractionSummary]] | None = {}
        self._marked: set[tuple[str, str]] = set()  # the handles this session marked stale
        #: Every channel name the exchanges hold, while histories are worked out (see
        #: _single_handle_histories); None: not looked up since exchanges last came.
        self._channel_names: list[str] | None = None
        self._kept_new = 0
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
        try:
            self.db = sqlite3.connect(path, isolation_level=None, timeout=patience)
            # A rollback journal, not WAL: a large import writes every page once instead of
            # twice (log, then checkpoint), measured 1 s of 12 on 100,000 cards. Commits are
            # atomic either way; a reader waits (timeout above) only while a commit is written.
            self.db.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.OperationalError as exc:
            raise busy_error(path, exc) from None
        except sqlite3.DatabaseError as exc:
            raise NetgardenError(f"{path}: not a netgarden store ({exc})") from None
        # Personal data: only its owner reads it (SQLite gives its journal the same mode).
        os.chmod(path, 0o600)
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute(f"PRAGMA cache_size = -{cache_mb * 1024}")
        self.db.execute("PRAGMA temp_store = MEMORY")
        self.migrate()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    # -- schema ---------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        row = self.db.execute("PRAGMA user_version").fetchone()
        return int(row[0])

    def migrate(self) -> None:
        """Apply every migration newer than the store, each in its own transaction; then work
        out the histories a migration left stale (a command that only reads would otherwise
        work them out again each time it runs, until one that writes keeps them)."""
        current = self.version
        if current > LATEST:
            raise NetgardenError(
                f"{self.path}: written by a newer netgarden (schema {current}); upgrade netgarden"
            )
        for number, script in MIGRATIONS:
            if number <= current:
                continue
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        if current < LATEST:
            with self.transaction():
                self.refresh_histories()

    # -- transactions ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, rollback: bool = False) -> Iterator[None]:
        """One atomic unit of work; `rollback=True` (dry runs) undoes it even on success.

        While it lasts, a note beside the store says which command writes (see busy_error)."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise busy_error(self.path, exc) from None
        note = writer_note(self.path)
        write_private(
            note,
            json.dumps(
                {"pid": os.getpid(), "command": _command_line(), "since": _now()},
                ensure_ascii=False,
            ),
        )
        self._sources_seen = set()
        self._sources_new = set()
        self._ownerless_cache = None
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            self._new = None  # what was stored is gone
            raise
        finally:
            note.unlink(missing_ok=True)
        self.db.execute("ROLLBACK" if rollback else "COMMIT")
        if rollback:
            self._new = None

    def begin_import(self, what: str) -> int:
        """Start an import run and return its sequence number (orders records by recency)."""
        cursor = self.db.execute(
            "INSERT INTO imports (started_at, what) VALUES (?, ?)", (_now(), what)
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    # -- checkpoints ----------------------------------------------------------------------------

    def checkpoint(self, stream: str) -> str | None:
        row = self.db.execute(
            "SELECT cursor FROM checkpoints WHERE stream = ?", (stream,)
        ).fetchone()
        return None if row is None else str(row[0])

    def checkpoint_time(self, stream: str) -> datetime | None:
        """When a stream's cursor last moved (None: never)."""
        row = self.db.execute(
            "SELECT updated_at FROM checkpoints WHERE stream = ?", (stream,)
        ).fetchone()
        return None if row is None else datetime.fromisoformat(str(row[0]))

    def set_checkpoint(self, stream: str, cursor: str) -> None:
        self.db.execute(
            "INSERT INTO checkpoints (stream, cursor, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (stream) DO UPDATE SET cursor = excluded.cursor, "
            "updated_at = excluded.updated_at",
            (stream, cursor, _now()),
        )

    # -- contacts -------------------------------------------------------------------------------

    def upsert_contacts(self, contacts: Sequence[Contact], seq: int) -> UpsertCounts:
        """Insert new records, rewrite changed ones, mark unchanged ones as seen in `seq`."""
        by_source: dict[str, list[ContactRow]] = defaultdict(list)
        for contact in contacts:
            by_source[contact.source].append(contact_row(contact))
        counts = UpsertCounts()
        for source, rows in by_source.items():
            self.upsert_contact_rows(source, rows, seq, counts)
        return counts

    def upsert_contact_rows(
        self,
        source: str,
        rows: Sequence[ContactRow],
        seq: int,
        counts: UpsertCounts | None = None,
    ) -> UpsertCounts:
        """`upsert_contacts` for packed records of one source (`pipeline.model.Contacts`),
        added to `counts` when given."""
        counts = counts if counts is not None else UpsertCounts()
        # The e-mail index is written once for all chunks, in its own order: it costs a
        # fifth less than a chunk at a time in file order (random places in the B-tree).
        email_rows: list[tuple[str, int]] = []
        for chunk in _chunks(rows):
            self._upsert_chunk(source, chunk, seq, counts, email_rows)
        self._index_emails(email_rows)
        return counts

    def _index_emails(self, email_rows: list[tuple[str, int]]) -> None:
        """Write (and empty) `email_rows`, (address, contact id) pairs, to the e-mail index."""
        email_rows.sort()
        self.db.executemany(
            "INSERT OR IGNORE INTO email_index (email, contact_id) VALUES (?, ?)", email_rows
        )
        email_rows.clear()

    def _upsert_chunk(
        self,
        source: str,
        chunk: Sequence[ContactRow],
        seq: int,
        counts: UpsertCounts,
        email_rows: list[tuple[str, int]],
    ) -> None:
        if source not in self._sources_seen:
            self._sources_seen.add(source)
            if (
                self.db.execute(
                    "SELECT 1 FROM contacts WHERE source = ? LIMIT 1", (source,)
                ).fetchone()
                is None
            ):
                self._sources_new.add(source)
        existing: dict[str, tuple[int, str, str]] = {}
        if source not in self._sources_new:
            # A source with no records before this transaction has nothing to look up: its
            # keys are unique within the file (KeyMaker), and (source, source_id) is UNIQUE,
            # so a repeat would fail loudly rather than duplicate.
            marks = ",".join("?" * len(chunk))
            existing = {
                row[0]: (int(row[1]), str(row[2]), str(row[3]))
                for row in self.db.execute(
                    f"SELECT source_id, id, content_hash, handles FROM contacts "
                    f"WHERE source = ? AND source_id IN ({marks})",
                    [source, *(row[0] for row in chunk)],
                )
            }
        next_id = int(self.db.execute("SELECT coalesce(max(id), 0) FROM contacts").fetchone()[0])
        inserts: list[tuple[object, ...]] = []
        updates: list[tuple[object, ...]] = []
        changed_handles: list[tuple[str, str]] = []
        changed_records: list[tuple[int]] = []
        ownerless = self._ownerless()
        touched: list[tuple[int, int]] = []
        dropped: list[tuple[str, int]] = []
        plain = _plain_json(
            [value for row in chunk for _, value in row[6]]
            + [label for row in chunk for label in row[7]]
        )
        for row in chunk:
            source_id, name, given, family, organization, title, pairs, labels, notes = row[:9]
            digest = row[11]
            handles = _handles_json(pairs, plain)
            fields = (
                name,
                given,
                family,
                organization,
                title,
                _labels_json(labels, plain),
                notes,
                row[9],
                row[10],
                digest,
                seq,
                handles,
            )
            found = existing.get(source_id)
            if found is None:
                next_id += 1
                contact_id = next_id
                inserts.append((contact_id, source, source_id, *fields, contact_id))
                counts.new += 1
                if ownerless and any(pair in ownerless for pair in pairs):
                    changed_handles.extend(pairs)
            elif found[1] != digest:
                contact_id = found[0]
                updates.append((*fields, contact_id))
                before = [(str(k), str(v)) for k, v in json.loads(found[2])]
                dropped.extend(
                    (value, contact_id)
                    for kind, value in before
                    if kind == "email" and (kind, value) not in pairs
                )
                changed_handles.extend(before)
                changed_handles.extend(pairs)
                changed_records.append((contact_id,))
                counts.updated += 1
            else:
                touched.append((seq, found[0]))
                counts.unchanged += 1
                continue
            existing[source_id] = (contact_id, digest, handles)
            email_rows.extend([(value, contact_id) for kind, value in pairs if kind == "email"])
        self.db.executemany(
            "INSERT INTO contacts (id, source, source_id, name, given_name, family_name, "
            "organization, title, labels, notes, file, line, content_hash, import_seq, handles, "
            "person_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            inserts,
        )
        self.db.executemany(
            "UPDATE contacts SET name = ?, given_name = ?, family_name = ?, organization = ?, "
            "title = ?, labels = ?, notes = ?, file = ?, line = ?, content_hash = ?, "
            "import_seq = ?, handles = ? WHERE id = ?",
            updates,
        )
        if dropped:
            # After the addresses waiting to be indexed: a record may come twice in a batch.
            self._index_emails(email_rows)
            self.db.executemany(
                "DELETE FROM email_index WHERE email = ? AND contact_id = ?", dropped
            )
        self.db.executemany("UPDATE contacts SET import_seq = ? WHERE id = ?", touched)
        self.db.executemany(
            "INSERT OR IGNORE INTO stale_people (person_id) "
            "SELECT coalesce(person_id, id) FROM contacts WHERE id = ?",
            changed_records,
        )
        self.mark_stale(changed_handles)

    def _ownerless(self) -> frozenset[tuple[str, str]]:
        """Handles with exchanges no record holds (read once a transaction; usually none)."""
        if self._ownerless_cache is None:
            self._ownerless_cache = frozenset(
                (str(k), str(v)) for k, v in self.db.execute("SELECT kind, value FROM ownerless")
            )
        return self._ownerless_cache

    def mark_stale(self, handles: Iterable[tuple[str, str]]) -> None:
        """The histories of whoever holds these handles must be worked out again."""
        handles = list(handles)
        if self._new:  # a handle stale from before: its stored history is no base to add to
            for kind, value in self.db.execute("SELECT kind, value FROM stale_handles"):
                if (kind, value) not in self._marked:
                    self._new.pop((kind, value), None)
        self._marked.update(handles)
        self.db.executemany(
            "INSERT OR IGNORE INTO stale_handles (kind, value) VALUES (?, ?)", handles
        )

    def contact_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM contacts").fetchone()[0])

    def people_count(self) -> int:
        """How many people the records make."""
        return int(
            self.db.execute(
                "SELECT count(DISTINCT coalesce(person_id, id)) FROM contacts"
            ).fetchone()[0]
        )

    def network_counts(self) -> dict[str, int]:
        """How many people each network holds, as the last report or classify placed them."""
        return {
            str(network): int(count)
            for network, count in self.db.execute(
                "SELECT network, count(*) FROM assignments GROUP BY network ORDER BY network"
            )
        }

    def quarantine_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM quarantine").fetchone()[0])

    # -- interactions ---------------------------------------------------------------------------

    def add_interactions(self, interactions: Iterable[Interaction], seq: int) -> int:
        """Store exchanges not seen before; return how many were new."""
        interactions = list(interactions)
        before = self.db.total_changes
        self.db.executemany(
            "INSERT OR IGNORE INTO interactions "
            "(key, kind, value, at, direction, channel, source, name, import_seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    i.key,
                    i.counterpart.kind,
                    i.counterpart.value,
                    _utc_text(i.at),
                    i.direction,
                    i.channel,
                    i.source,
                    i.name,
                    seq,
                )
                for i in interactions
            ),
        )
        new = self._counted(before)
        if self._keeps(new, len(interactions)):
            for i in interactions:
                summary = InteractionSummary(
                    i.at.astimezone(UTC).replace(microsecond=0), i.direction, i.channel, i.source
                )
                self._add_new(i.counterpart.kind, i.counterpart.value, summary)
        return new

    def add_exchange_rows(self, source: str, rows: Iterable[ExchangeRow], seq: int) -> int:
        """`add_interactions` for packed rows (`pipeline.model.Exchanges`); how many were new."""
        rows = list(rows)
        before = self.db.total_changes
        # The source and the run are the same for every row: written into the statement (a
        # connector's name and a number), the rows are bound as they are, not copied.
        quoted = source.replace("'", "''")
        self.db.executemany(
            "INSERT OR IGNORE INTO interactions "
            "(at, direction, channel, kind, value, key, name, source, import_seq) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, '{quoted}', {int(seq)})",
            rows,
        )
        new = self._counted(before)
        if self._keeps(new, len(rows)):
            instant = datetime.fromisoformat
            for at, direction, channel, kind, value, *_ in rows:
                summary = InteractionSummary(instant(at), _DIRECTION_OF[direction], channel, source)
                self._add_new(kind, value, summary)
        return new

    def _keeps(self, new: int, stored: int) -> bool:
        """Whether the `stored` exchanges just written are kept in `_new`: when all of them were
        new (else which were is not known) and the session's are still few."""
        if self._new is None or not new:
            return False
        self._kept_new += new
        if new != stored or self._kept_new > _NEW_KEPT:
            self._new = None
            return False
        return True

    def _add_new(self, kind: str, value: str, summary: InteractionSummary) -> None:
        assert self._new is not None
        self._new.setdefault((kind, value), []).append(summary)

    def _counted(self, before: int) -> int:
        """How many exchanges the statement just run stored, added to the store's count."""
        new = self.db.total_changes - before
        if new:
            self.db.execute(
                "UPDATE counters SET value = value + ? WHERE name = 'interactions'", (new,)
            )
        return new

    def unknown_counterparts(
        self, handles: Iterable[tuple[str, str]]
    ) -> list[tuple[HandleKind, str, str]]:
        """The e-mail addresses among `handles` that have exchanges and that no contact record
        holds, in the order of their first exchange, each with a name it came with (any name
        beats none)."""
        found: list[tuple[str, str, str, str]] = []
        for kind, value in handles:
            if kind != "email":
                continue
            if self.db.execute(
                "SELECT 1 FROM email_index WHERE email = ? LIMIT 1", (value,)
            ).fetchone():
                continue
            first, name = self.db.execute(
                "SELECT min(at), max(name) FROM interactions WHERE kind = ? AND value = ?",
                (kind, value),
            ).fetchone()
            if first is not None:
                found.append((str(first), value, kind, str(name or "")))
        found.sort()
        return [(_kind(kind), value, name) for _, value, kind, name in found]

    def interaction_count(self) -> int:
        """How many exchanges the store holds (kept as they are added: counting reads all)."""
        row = self.db.execute("SELECT value FROM counters WHERE name = 'interactions'").fetchone()
        return int(row[0]) if row else 0

    # -- quarantine -----------------------------------------------------------------------------

    def clear_quarantine(self, file: str) -> None:
        """Forget what an earlier import of `file` could not read (it is being read again)."""
        self.db.execute("DELETE FROM quarantine WHERE file = ?", (file,))

    def quarantine(self, problems: Iterable[Problem], source: str, seq: int) -> None:
        self.db.executemany(
            "INSERT INTO quarantine (source, file, line, reason, raw, import_seq) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((source, p.file, p.line, p.reason, p.raw, seq) for p in problems),
        )

    def quarantined(self) -> list[QuarantinedRecord]:
        return [
            QuarantinedRecord(str(r[0]), str(r[1]), int(r[2]), str(r[3]), str(r[4]))
            for r in self.db.execute(
                "SELECT source, file, line, reason, raw FROM quarantine ORDER BY file, line, id"
            )
        ]

    # -- identities -----------------------------------------------------------------------------

    def resolve_people(self) -> None:
        """Group contact records into people: a shared e-mail, or a merge the user confirmed."""
        # Only addresses held by more than one record link anything; the index finds them
        # without reading every record, so this stays fast on large stores.
        links: list[tuple[int, int]] = []
        for (members,) in self.db.execute(
            "SELECT group_concat(contact_id) FROM email_index GROUP BY email HAVING count(*) > 1"
        ):
            ids = [int(m) for m in str(members).split(",")]
            links.extend((ids[0], other) for other in ids[1:])
        links.extend(
            (int(r[0]), int(r[1]))
            for r in self.db.execute("SELECT contact_a, contact_b FROM merges")
        )
        linked = resolve(links)
        merged_now = dict(
            self.db.execute("SELECT id, person_id FROM contacts WHERE person_id IS NOT id")
        )
        changed = [(pid, cid) for cid, pid in linked.items() if merged_now.get(cid, cid) != pid]
        changed += [(cid, cid) for cid in merged_now if cid not in linked]
        # The people a record leaves and joins both have another history now.
        moved = {pid for pid, _ in changed} | {merged_now.get(cid, cid) for _, cid in changed}
        self.db.executemany(
            "INSERT OR IGNORE INTO stale_people (person_id) VALUES (?)", ((p,) for p in moved)
        )
        self.db.executemany("UPDATE contacts SET person_id = ? WHERE id = ?", changed)

    def merge(self, person_ids: Sequence[int]) -> None:
        """Record that these people are one (the user confirmed it), then regroup."""
        now = _now()
        first = person_ids[0]
        self.db.executemany(
            "INSERT OR IGNORE INTO merges (contact_a, contact_b, merged_at) VALUES (?, ?, ?)",
            ((min(first, other), max(first, other), now) for other in person_ids[1:]),
        )
        self.resolve_people()
        self.refresh_histories()

    def person_ids(self) -> set[int]:
        return {int(r[0]) for r in self.db.execute("SELECT DISTINCT person_id FROM contacts")}

    def person_of(self) -> dict[int, int]:
        """The person id of every contact record, by the record's id."""
        return {
            int(r[0]): int(r[1])
            for r in self.db.execute("SELECT id, coalesce(person_id, id) FROM contacts")
        }

    def suggestions(self) -> list[Suggestion]:
        """Pairs of people who may be one: a shared phone, or the same name and organization.

        Worked out when asked, not at every import: it reads every record. A group larger than
        MAX_SUGGESTION_GROUP (a switchboard, a common name) suggests nothing.
        """
        groups: list[tuple[str, str]] = [
            (str(reason), str(members))
            for reason, members in self.db.execute(
                "SELECT 'same phone ' || json_extract(j.value, '$[1]'), "
                "group_concat(DISTINCT c.person_id) "
                "FROM contacts c, json_each(c.handles) j "
                "WHERE json_extract(j.value, '$[0]') = 'phone' "
                "GROUP BY json_extract(j.value, '$[1]') "
                "HAVING count(DISTINCT c.person_id) BETWEEN 2 AND ?",
                (MAX_SUGGESTION_GROUP,),
            )
        ]
        by_name: dict[str, tuple[str, str, set[int]]] = {}
        for name, organization, person_id in self.db.execute(
            "SELECT name, organization, person_id FROM contacts WHERE organization != '' "
            "ORDER BY id"
        ):
            key = f"{name_key(str(name))}|{name_key(str(organization))}"
            entry = by_name.setdefault(key, (str(name), str(organization), set()))
            entry[2].add(int(person_id))
        groups += [
            (f"same name and organization ({name}, {org})", ",".join(map(str, persons)))
            for name, org, persons in by_name.values()
            if 2 <= len(persons) <= MAX_SUGGESTION_GROUP
        ]
        pairs = set(suggestion_pairs(groups))
        known = {(a, b) for a, b, _ in pairs}
        pairs |= {
            (a, b, reason) for a, b, reason in similar_pairs(self._places()) if (a, b) not in known
        }
        return [Suggestion(a, b, reason) for a, b, reason in sorted(pairs)]

    def _places(self) -> list[tuple[int, str, tuple[str, ...]]]:
        """(person, name, places) of every record: its organization and its e-mail domains
        (free-mail ones say nothing about who someone is)."""
        from pipeline.review import FREE_MAIL

        found: list[tuple[int, str, tuple[str, ...]]] = []
        for name, organization, person_id, handles in self.db.execute(
            "SELECT name, organization, coalesce(person_id, id), handles FROM contacts"
        ):
            places = [name_key(str(organization))] if organization else []
            places += [
                domain
                for kind, value in json.loads(handles)
                if kind == "email" and (domain := str(value).rpartition("@")[2]) not in FREE_MAIL
            ]
            found.append((int(person_id), str(name), tuple(dict.fromkeys(places))))
        return found

    def split(self, person_id: int) -> list[int]:
        """Undo the merges the user confirmed that made this person (`merge`, suggestions
        accepted): the people its records now form. A person held together by a shared
        e-mail address stays one."""
        records = [
            int(r[0])
            for r in self.db.execute(
                "SELECT id FROM contacts WHERE coalesce(person_id, id) = ?", (person_id,)
            )
        ]
        marks = ",".join("?" * len(records))
        self.db.execute(
            f"DELETE FROM merges WHERE contact_a IN ({marks}) OR contact_b IN ({marks})",
            [*records, *records],
        )
        self.resolve_people()
        self.refresh_histories()
        return sorted(
            {
                int(r[0])
                for r in self.db.execute(
                    f"SELECT coalesce(person_id, id) FROM contacts WHERE id IN ({marks})", records
                )
            }
        )

    def people(
        self,
        me: frozenset[str] = frozenset(),
        until: datetime | None = None,
        part: tuple[int, int] = (0, 1),
    ) -> list[Person]:
        """Every person with their records merged and their History attached, by id; `me`, the
        user's own addresses, are no one's. With `until`, histories are as of that instant
        (later exchanges do not count). `part` (k, n): only the people whose id is k modulo n,
        for n processes that share the work.

        The cost follows the number of people: a history is read from `person_stats`; only the
        people whose history is stale (new exchanges, changed records) and, with `until`, those
        whose kept history does not reach back far enough are worked out from their exchanges."""
        known = self._histories(part)
        ever: dict[int, bool] = {}  # where the history over all time tells otherwise
        if until is not None:
            pending: list[int] = []
            for pid, history in known.items():
                truncated = history.until(until)
                if truncated is history:
                    continue
                if history.two_way != (truncated is not None and truncated.two_way):
                    ever[pid] = history.two_way
                if truncated is None:  # the report reaches back further than `recent` does
                    pending.append(pid)
                else:
                    known[pid] = truncated  # the history over all time is not kept
            for pid in pending:
                owner = self._owned(pid)
                known[pid] = self._worked_out(pid, list(owner), owner, until)
                if known[pid].two_way == ever.get(pid):
                    del ever[pid]
        return build_people(self._record_stream(part), known, me, ever)

    def refresh_histories(self) -> int:
        """Work out again the histories gone stale (call inside a transaction); how many."""
        self._channel_names = None  # exchanges may have come: found again when needed
        if not self._anything_stale():
            self._new, self._marked, self._kept_new = {}, set(), 0
            return 0
        stale = {int(r[0]) for r in self.db.execute("SELECT person_id FROM stale_people")}
        handles = [(str(k), str(v)) for k, v in self.db.execute("SELECT * FROM stale_handles")]
        if len(stale) + len(handles) <= _FEW_STALE:  # a nightly import: look each one up
            owner = {h: pid for h in handles if (pid := self._owner_of(*h)) is not None}
            chunks = self._few_stale(stale | set(owner.values()), stale)
        else:  # every record at once costs less than a lookup each
            owner, present = self._owners()
            stale.update(pid for h in handles if (pid := owner.get(h)) is not None)
            chunks = self._stale_histories(stale & present, owner)
        self._note_ownerless(owner)
        count = 0
        for fresh in chunks:
            count += len(fresh)
            self.db.executemany(
                "INSERT OR REPLACE INTO person_stats (person_id, total, first_at, last_at, "
                f"last_direction, last_channel, last_source, outbound, inbound, mutual, "
                f"{_STATS_PACKED}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_stats_row(pid, h) for pid, h in fresh.items() if h.last is not None),
            )
            self.db.executemany(
                "DELETE FROM person_stats WHERE person_id = ?",
                ((pid,) for pid, h in fresh.items() if h.last is None),
            )
        self.db.execute(
            "DELETE FROM person_stats WHERE person_id NOT IN "
            "(SELECT coalesce(person_id, id) FROM contacts)"
        )
        self.db.execute("DELETE FROM stale_people")
        self.db.execute("DELETE FROM stale_handles")
        self._new, self._marked, self._kept_new = {}, set(), 0
        return count

    def _anything_stale(self) -> bool:
        return bool(
            self.db.execute("SELECT 1 FROM stale_people LIMIT 1").fetchone()
            or self.db.execute("SELECT 1 FROM stale_handles LIMIT 1").fetchone()
        )

    def _records(self) -> list[RecordRow]:
        """Every contact record, in person order."""
        return list(self._record_stream())

    def _record_stream(self, part: tuple[int, int] = (0, 1)) -> Iterator[RecordRow]:
        """Every contact record, in person order, read a few thousand at a time: a report holds
        people, never every record besides."""
        cursor = self.db.execute(
            "SELECT id, person_id, source, name, organization, title, labels, notes, import_seq, "
            "handles FROM contacts WHERE coalesce(person_id, id) % ? = ? "
            "ORDER BY coalesce(person_id, id), id",
            (part[1], part[0]),
        )
        # Sources, organizations and handle kinds repeat: one string each, not one per record.
        words: dict[str, str] = {"email": "email", "phone": "phone", "url": "url"}
        share = words.setdefault
        kinds = words.__getitem__
        make = RecordRow
        while rows := cursor.fetchmany(_RECORDS_AT_ONCE):
            # Most records hold no label and one e-mail address, which their text shows without
            # decoding; the others' lists are one JSON document for the lot (a json.loads call
            # a record costs more than the decoding).
            lists = iter(
                _json_each(
                    [f"[{row[6]},{row[9]}]" for row in rows if _one_email(row[6], row[9]) is None]
                )
            )
            for cid, pid, source, name, organization, title, labels_text, notes, seq, text in rows:
                email = _one_email(labels_text, text)
                if email is not None:
                    labels: tuple[str, ...] = ()
                    handles: tuple[tuple[str, str], ...] = (("email", email),)
                else:
                    found_labels, found_handles = next(lists)
                    labels = tuple([share(label, label) for label in found_labels])
                    handles = tuple([(kinds(kind), value) for kind, value in found_handles])
                yield make(
                    cid,
                    cid if pid is None else pid,
                    share(source, source),
                    name,
                    share(organization, organization),
                    share(title, title),
                    labels,
                    notes,
                    seq,
                    handles,
                )

    def _owned(self, pid: int) -> dict[tuple[str, str], int]:
        """The handles person `pid` owns (see pipeline.people.owners), found without reading
        every record: theirs, less those a person of a smaller id holds too."""
        held = {
            (str(kind), str(value))
            for (text,) in self.db.execute(
                "SELECT handles FROM contacts "
                "WHERE person_id = ? OR (person_id IS NULL AND id = ?)",
                (pid, pid),
            )
            for kind, value in json.loads(text)
        }
        owned: dict[tuple[str, str], int] = {}
        for kind, value in held:
            first = self._owner_of(kind, value)
            if first is None or first >= pid:
                owned[(kind, value)] = pid
        return owned

    def _owners(self) -> tuple[dict[tuple[str, str], int], set[int]]:
        """Whose each handle is (pipeline.people.owners), and every person's id: from the
        records' handles alone."""
        rows = self.db.execute("SELECT coalesce(person_id, id), handles FROM contacts").fetchall()
        lists = _json_each([row[1] for row in rows])
        owner = handle_owners(
            (pid, [(kind, value) for kind, value in handles])
            for (pid, _), handles in zip(rows, lists, strict=True)
        )
        return owner, {pid for pid, _ in rows}

    def _histories(self, part: tuple[int, int] = (0, 1)) -> dict[int, History]:
        """Every person's History over all time, from person_stats where it is fresh."""
        cursor = self.db.execute(
            "SELECT person_id, total, first_at, last_at, last_direction, last_channel, "
            f"last_source, outbound, inbound, mutual, {_STATS_PACKED} "
            "FROM person_stats WHERE person_id % ? = ?",
            (part[1], part[0]),
        )
        known: dict[int, History] = {}
        # Channel and source names, and whole `names` documents, repeat from person to person
        # (their counts are apart, in `counts`): one object each, decoded once.
        words: dict[str, str] = {}
        decoded: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        while rows := cursor.fetchmany(_RECORDS_AT_ONCE):
            new = list({row[10] for row in rows if row[10] not in decoded})
            for text, (channels, names) in zip(new, _json_each(new), strict=True):
                decoded[text] = (
                    tuple(words.setdefault(c, c) for c in channels),
                    tuple(words.setdefault(w, w) for w in names),
                )
            for row in rows:
                known[row[0]] = _history(row, decoded[row[10]], words)
            if len(decoded) > _RECORDS_AT_ONCE:  # documents that do not repeat
                decoded.clear()
        if self._anything_stale():
            self._channel_names = None
            k, n = part
            owner, present = self._owners()
            stale = {int(r[0]) for r in self.db.execute("SELECT person_id FROM stale_people")}
            for kind, value in self.db.execute("SELECT kind, value FROM stale_handles"):
                if (pid := owner.get((str(kind), str(value)))) is not None:
                    stale.add(pid)
            for fresh in self._stale_histories({p for p in stale & present if p % n == k}, owner):
                known.update(fresh)
        return known

    def _few_stale(self, people: set[int], regrouped: set[int]) -> Iterator[dict[int, History]]:
        """`_stale_histories` of a few people, each one's handles looked up. A person with one
        handle, whose records did not change (`regrouped`) and whose new exchanges this
        session stored, has them added to the history kept (History.with_new): their
        exchanges, perhaps hundreds of thousands, are not read again."""
        fresh: dict[int, History] = {}
        single: dict[tuple[str, str], int] = {}
        for pid in people:
            owned = self._owned(pid)
            held = list(owned)
            if len(held) == 1 and pid not in regrouped and self._new and held[0] in self._new:
                fresh[pid] = self._kept_history(pid).with_new(self._new[held[0]])
            elif len(held) == 1:
                single[held[0]] = pid
            elif held:
                fresh[pid] = self._worked_out(pid, held, owned, None)
            elif self.db.execute(
                "SELECT 1 FROM contacts WHERE person_id = ? OR (person_id IS NULL AND id = ?)",
                (pid, pid),
            ).fetchone():
                fresh[pid] = History()
        yield fresh
        yield self._single_handle_histories(single)

    def _kept_history(self, pid: int) -> History:
        """The history person_stats holds for a person (none: no exchange)."""
        row = self.db.execute(
            "SELECT person_id, total, first_at, last_at, last_direction, last_channel, "
            f"last_source, outbound, inbound, mutual, {_STATS_PACKED} "
            "FROM person_stats WHERE person_id = ?",
            (pid,),
        ).fetchone()
        if row is None:
            return History()
        channels, words = json.loads(row[10])
        return _history(row, (tuple(map(str, channels)), tuple(map(str, words))), {})

    def _owner_of(self, kind: str, value: str) -> int | None:
        """The person a handle belongs to (the smallest id among those holding it), if any."""
        if kind == "email":
            row = self.db.execute(
                "SELECT min(coalesce(c.person_id, c.id)) FROM email_index e "
                "JOIN contacts c ON c.id = e.contact_id WHERE e.email = ?",
                (value,),
            ).fetchone()
        else:  # phones and profiles have no index: a scan of the records' handles
            row = self.db.execute(
                "SELECT min(coalesce(person_id, id)) FROM contacts WHERE instr(handles, ?)",
                (_to_json([kind, value]),),
            ).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def _stale_histories(
        self, stale: set[int], owner: dict[tuple[str, str], int]
    ) -> Iterator[dict[int, History]]:
        """The histories of the `stale` people, worked out from their rows (`owner`: whose each
        handle is), a few thousand people at a time (an import can leave every history
        stale)."""
        handles = _handles_by_person(owner)
        fresh: dict[int, History] = {}
        single: dict[tuple[str, str], int] = {}
        for pid in stale:
            held = handles.get(pid, ())
            if len(held) == 1:
                single[held[0]] = pid
            elif held:  # a message may have reached two of their handles: counted once
                fresh[pid] = self._worked_out(pid, held, owner, None)
            else:
                fresh[pid] = History()
            if len(fresh) >= _PEOPLE_AT_ONCE:
                yield fresh
                fresh = {}
        yield fresh
        ordered = sorted(single.items())  # in the table's order
        for start in range(0, len(ordered), _PEOPLE_AT_ONCE):
            yield self._single_handle_histories(dict(ordered[start : start + _PEOPLE_AT_ONCE]))

    def _single_handle_histories(self, handles: dict[tuple[str, str], int]) -> dict[int, History]:
        """The Histories of people with one handle, `handles` their owners: SQLite counts
        for all of them at once, through a temporary table of the handles, each one's
        exchanges one range of the table (an import of millions of exchanges leaves tens of
        thousands of people to work out; a query or three each cost more than the counting).
        Only their last 400 days come into Python."""
        found: dict[int, History] = {pid: History() for pid in handles.values()}
        if not handles:
            return found
        db = self.db
        db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS wanted (kind TEXT, value TEXT, pid INTEGER, "
            "start TEXT, PRIMARY KEY (kind, value)) WITHOUT ROWID"
        )
        db.execute("DELETE FROM temp.wanted")
        db.executemany(
            "INSERT INTO temp.wanted (kind, value, pid) VALUES (?, ?, ?)",
            ((kind, value, pid) for (kind, value), pid in handles.items()),
        )
        # CROSS JOIN: the handles drive, each one range of interactions (never a scan of it).
        join = (
            "FROM temp.wanted w CROSS JOIN interactions i ON i.kind = w.kind AND i.value = w.value"
        )
        counted = (
            "SELECT w.pid, count(*), min(i.at), max(i.at), sum(i.direction = 'outbound'), "
            "sum(i.direction = 'inbound'), sum(i.direction = 'mutual')"
        )
        channels: dict[int, list[tuple[str, int]]] = defaultdict(list)
        totals: dict[int, list[Any]] = {}
        if len(handles) >= _CHANNELS_SUMMED_FROM:
            # Many people (a large import): each channel's count a sum of the same pass, the
            # store's few channel names found first. Grouping by channel instead sorts every
            # exchange (at ten million, 10 s of an import's 200).
            if self._channel_names is None:  # one full pass, for every chunk of people
                self._channel_names = [
                    str(r[0]) for r in db.execute("SELECT DISTINCT channel FROM interactions")
                ]
            names = self._channel_names
            sums = "".join(", sum(i.channel = ?)" for _ in names)
            for pid, *row in db.execute(f"{counted}{sums} {join} GROUP BY w.kind, w.value", names):
                totals[pid] = row[:6]
                channels[pid] = [(n, c) for n, c in zip(names, row[6:], strict=True) if c]
        else:
            totals = {
                pid: row for pid, *row in db.execute(f"{counted} {join} GROUP BY w.kind, w.value")
            }
            for pid, channel, count in db.execute(
                f"SELECT w.pid, i.channel, count(*) {join} GROUP BY w.kind, w.value, i.channel"
            ):
                channels[pid].append((channel, count))
        if not totals:
            return found
        instant = datetime.fromisoformat
        starts: dict[int, datetime] = {}
        for pid, (_, first, latest, *_) in totals.items():
            start = instant(latest) - RECENT
            if instant(first) < start:
                starts[pid] = start
        # By the table's key: `pid` has no index, and a search of the table an update made
        # this quadratic (a large import spent seconds here).
        db.executemany(
            "UPDATE temp.wanted SET start = ? WHERE kind = ? AND value = ?",
            (
                (_utc_text(starts[pid]), kind, value)
                for (kind, value), pid in handles.items()
                if pid in starts
            ),
        )
        words: dict[str, str] = {}
        recent: list[tuple[int, int, str, str]] = []
        current = None
        # Instants as seconds since the epoch (the store keeps whole seconds), ready to pack.
        rows = db.execute(
            f"SELECT w.pid, CAST(strftime('%s', i.at) AS INTEGER), i.direction, i.channel, "
            f"i.source {join} WHERE w.start IS NULL OR i.at >= w.start"
        )
        for pid, at, direction, channel, source in chain(rows, [(None, 0, "", "", "")]):
            if pid != current:
                if current is not None:
                    found[current] = _from_totals(
                        totals[current], channels[current], recent, starts.get(current)
                    )
                current, recent = pid, []
            if pid is None:
                break
            recent.append(
                (at, _RANK_OF[direction], words.setdefault(channel, channel),
                 words.setdefault(source, source))
            )  # fmt: skip
        db.execute("DELETE FROM temp.wanted")
        return found

    def _note_ownerless(self, owner: dict[tuple[str, str], int]) -> None:
        """Keep the stale handles with exchanges that no record holds (a record that comes to
        hold one later makes its person stale); forget those that have an owner now."""
        stale = [
            (str(k), str(v)) for k, v in self.db.execute("SELECT kind, value FROM stale_handles")
        ]
        self.db.executemany(
            "INSERT OR IGNORE INTO ownerless (kind, value) SELECT ?, ? WHERE EXISTS "
            "(SELECT 1 FROM interactions WHERE kind = ? AND value = ?)",
            ((k, v, k, v) for k, v in stale if (k, v) not in owner),
        )
        self.db.executemany(
            "DELETE FROM ownerless WHERE kind = ? AND value = ?",
            ((k, v) for k, v in stale if (k, v) in owner),
        )

    def _worked_out(
        self,
        pid: int,
        handles: Sequence[tuple[str, str]],
        owner: dict[tuple[str, str], int],
        until: datetime | None,
    ) -> History:
        """One person's History from their own exchanges (those before `until`), each message
        counted once however many of their handles it reached (the one that sorts last by
        `exchange_order` stands for it).

        SQLite counts: a person's exchanges can number hundreds of thousands, and only the
        last 400 days of them (`RECENT`) come into Python."""
        held = [h for h in handles if owner.get(h) == pid]
        if not held:
            return History()
        limit = _utc_text(until) if until is not None else "9999"
        # One handle holds a message once (its key is the table's), several may hold it twice.
        where = " OR ".join("(kind = ? AND value = ?)" for _ in held)
        params = [x for handle in held for x in handle] + [limit]
        rows = (
            "SELECT key, at, direction, channel, source FROM interactions "
            f"WHERE ({where}) AND at < ?"
        )
        if len(held) > 1:
            rows = (
                "SELECT at, direction, channel, source FROM (SELECT *, row_number() OVER "
                f"(PARTITION BY key ORDER BY at DESC, {_RANK_SQL} DESC, channel DESC, "
                f"source DESC) AS nth FROM ({rows})) WHERE nth = 1"
            )
        total, first, latest, outbound, inbound, mutual = self.db.execute(
            "SELECT count(*), min(at), max(at), sum(direction = 'outbound'), "
            f"sum(direction = 'inbound'), sum(direction = 'mutual') FROM ({rows})",
            params,
        ).fetchone()
        if not total:
            return History()
        channels = self.db.execute(
            f"SELECT channel, count(*) FROM ({rows}) GROUP BY channel ORDER BY channel", params
        ).fetchall()
        instant = datetime.fromisoformat
        start = instant(latest) - RECENT
        cut = instant(first) < start
        directions: dict[str, Direction] = {d: d for d in DIRECTIONS}
        recent = [
            InteractionSummary(instant(at), directions[direction], channel, source)
            for at, direction, channel, source in self.db.execute(
                f"SELECT at, direction, channel, source FROM ({rows}) WHERE at >= ? "
                f"ORDER BY at, {_RANK_SQL}, channel, source",
                [*params, _utc_text(start) if cut else ""],
            )
        ]
        return History(
            total=total,
            first=instant(first),
            last=recent[-1],
            outbound=outbound,
            inbound=inbound,
            mutual=mutual,
            channels=tuple((str(c), int(n)) for c, n in channels),
            recent=Timeline.of(recent),
            recent_from=start if cut else None,
        )

    def find_people(self, who: str) -> list[int]:
        """Person ids matching a contact id (as `contacts` shows it), an e-mail address, else a
        name (case-insensitive, exact)."""
        email = normalize_email(who)
        if who.strip().isdigit():
            rows = self.db.execute(
                "SELECT DISTINCT coalesce(person_id, id) FROM contacts "
                "WHERE coalesce(person_id, id) = ?",
                (int(who.strip()),),
            ).fetchall()
        elif email:
            rows = self.db.execute(
                "SELECT DISTINCT coalesce(c.person_id, c.id) FROM email_index e "
                "JOIN contacts c ON c.id = e.contact_id WHERE e.email = ?",
                (email,),
            ).fetchall()
        else:
            rows = self.db.execute(
                "SELECT DISTINCT coalesce(person_id, id) FROM contacts "
                "WHERE lower(name) = lower(?)",
                (who.strip(),),
            ).fetchall()
        return sorted(int(r[0]) for r in rows)

    def primary_handle(self, person_id: int) -> Handle | None:
        """The handle an exchange logged for a person is recorded against: their primary
        e-mail, else the first handle of their most recent record."""
        rows = self.db.execute(
            "SELECT handles FROM contacts WHERE coalesce(person_id, id) = ? "
            "ORDER BY import_seq DESC, id DESC",
            (person_id,),
        ).fetchall()
        handles = [(str(k), str(v)) for (data,) in rows for k, v in json.loads(data)]
        for kind, value in sorted(handles, key=lambda h: h[0] != "email"):
            return Handle(_kind(kind), value)
        return None

    def describe(self, person_id: int) -> tuple[str, str, str]:
        """(name, primary e-mail, organization) of a person, from their most recent record."""
        rows = self.db.execute(
            "SELECT name, organization, handles FROM contacts WHERE coalesce(person_id, id) = ? "
            "ORDER BY import_seq DESC, id DESC",
            (person_id,),
        ).fetchall()
        emails = [str(v) for (_, _, data) in rows for k, v in json.loads(data) if k == "email"]
        organization = next((str(o) for (_, o, _) in rows if o), "")
        return (str(rows[0][0]) if rows else "", emails[0] if emails else "", organization)

    def same_day(self, handle: Handle, channel: str, direction: str, start: str, end: str) -> int:
        """How many exchanges with `handle` by `channel` and `direction` are stored between
        the UTC instants `start` (included) and `end` (ISO text)."""
        row = self.db.execute(
            "SELECT count(*) FROM interactions WHERE kind = ? AND value = ? AND channel = ? "
            "AND direction = ? AND at >= ? AND at < ?",
            (handle.kind, handle.value, channel, direction, start, end),
        ).fetchone()
        return int(row[0])

    def last_logged(self) -> int | None:
        """The import that logged the last exchange by hand (None: nothing logged)."""
        row = self.db.execute(
            "SELECT max(i.seq) FROM imports i WHERE (i.what LIKE 'log:%' OR i.what LIKE "
            "'manual:%') AND EXISTS (SELECT 1 FROM interactions x WHERE x.import_seq = i.seq "
            "AND x.source = 'manual')"
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def logged(self, seq: int) -> list[Interaction]:
        """The exchanges import `seq` logged by hand."""
        return [
            Interaction(
                datetime.fromisoformat(str(at)),
                _direction(direction),
                str(channel),
                Handle(_kind(kind), str(value)),
                "manual",
                str(key),
            )
            for at, direction, channel, kind, value, key in self.db.execute(
                "SELECT at, direction, channel, kind, value, key FROM interactions "
                "WHERE import_seq = ? AND source = 'manual'",
                (seq,),
            )
        ]

    def forget_logged(self, seq: int) -> None:
        """Take back what import `seq` logged by hand: its exchanges, and a contact it made."""
        self.mark_stale(
            (str(k), str(v))
            for k, v in self.db.execute(
                "SELECT kind, value FROM interactions WHERE import_seq = ? AND source = 'manual'",
                (seq,),
            ).fetchall()
        )
        before = self.db.total_changes
        self.db.execute(
            "DELETE FROM interactions WHERE import_seq = ? AND source = 'manual'", (seq,)
        )
        self.db.execute(
            "UPDATE counters SET value = value - ? WHERE name = 'interactions'",
            (self.db.total_changes - before,),
        )
        made = [
            int(r[0])
            for r in self.db.execute(
                "SELECT id FROM contacts WHERE import_seq = ? AND source = 'manual'", (seq,)
            )
        ]
        self.db.executemany(
            "INSERT OR IGNORE INTO stale_people (person_id) "
            "SELECT coalesce(person_id, id) FROM contacts WHERE id = ?",
            ((c,) for c in made),
        )
        self.db.executemany("DELETE FROM email_index WHERE contact_id = ?", ((c,) for c in made))
        self.db.executemany("DELETE FROM contacts WHERE id = ?", ((c,) for c in made))
        self.resolve_people()
        self.refresh_histories()

    # -- the user's own addresses -----------------------------------------------------------

    def remember_me(self, addresses: Iterable[str], source: str) -> None:
        """Keep addresses an import inferred as the user's own (the first inference stays)."""
        now = _now()
        self.db.executemany(
            "INSERT OR IGNORE INTO inferred_me (address, source, inferred_at) VALUES (?, ?, ?)",
            ((address.lower(), source, now) for address in addresses),
        )

    def inferred_me(self) -> list[tuple[str, str]]:
        """(address, the source it was inferred from) of every inferred address of the user."""
        return [
            (str(a), str(s))
            for a, s in self.db.execute(
                "SELECT address, source FROM inferred_me ORDER BY inferred_at, address"
            )
        ]

    # -- assignments ----------------------------------------------------------------------------

    def assignments_saved(
        self, assignments: Sequence[tuple[int, str, str]], digest: int | None = None
    ) -> bool:
        """Whether these (person_id, network, rule) are what the store holds already (a
        digest of them is kept as they are saved: nightly, nothing has usually changed).
        `digest`: theirs (`assignments_digest`), when it is at hand."""
        row = self.db.execute(
            "SELECT value FROM counters WHERE name = 'assignments digest'"
        ).fetchone()
        if row is None:
            return False
        return bool(row[0] == (assignments_digest(assignments) if digest is None else digest))

    def save_assignments(
        self, assignments: Sequence[tuple[int, str, str]], digest: int | None = None
    ) -> None:
        """Replace the stored network of every person with (person_id, network, rule). Only
        what changed is written: `classified_at` says since when a person has theirs.
        `digest`: theirs (`assignments_digest`), when it is at hand."""
        now = _now()
        before = self.assignments()
        after = {pid: (network, rule) for pid, network, rule in assignments}
        self.db.execute(
            "INSERT OR REPLACE INTO counters (name, value) VALUES ('assignments digest', ?)",
            (assignments_digest(assignments) if digest is None else digest,),
        )
        self.db.executemany(
            "DELETE FROM assignments WHERE person_id = ?",
            ((pid,) for pid in before.keys() - after.keys()),
        )
        self.db.executemany(
            "INSERT OR REPLACE INTO assignments (person_id, network, rule, classified_at) "
            "VALUES (?, ?, ?, ?)",
            (
                (pid, network, rule, now)
                for pid, (network, rule) in after.items()
                if before.get(pid) != (network, rule)
            ),
        )

    def assignments(self) -> dict[int, tuple[str, str]]:
        """The stored (network, rule) of every person, by person id."""
        return {
            pid: (network, rule)
            for pid, network, rule in self.db.execute(
                "SELECT person_id, network, rule FROM assignments"
            )
        }


class StoreBusy(NetgardenError):
    """Another command holds the store for longer than this one would wait."""


def writer_note(path: Path) -> Path:
    """The file that says which command is writing to the store at `path`."""
    return path.with_name(path.name + ".writer")


def busy_error(path: Path, exc: Exception) -> NetgardenError:
    """The one line for a store another command holds (SQLite's "database is locked"), naming
    that command when its note says which and it is still alive."""
    if "locked" not in str(exc) and "busy" not in str(exc):
        return NetgardenError(f"{path}: {exc}")
    try:
        note = json.loads(writer_note(path).read_text(encoding="utf-8"))
        pid = int(note["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return StoreBusy(f"{path} is busy: another netgarden is writing to it; try again soon")
    since = str(note.get("since", ""))[11:19]
    return StoreBusy(
        f"{path} is busy: `{note.get('command', 'netgarden')}` (pid {pid}) has been writing "
        f"to it since {since} UTC; try again when it ends"
    )


def _command_line() -> str:
    """This process's command as a user typed it (program name, then its arguments)."""
    words = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else ["netgarden"]
    return " ".join(words)


def _handles_by_person(owner: dict[tuple[str, str], int]) -> dict[int, list[tuple[str, str]]]:
    """The handles each person owns (see pipeline.people.owners)."""
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for handle, pid in owner.items():
        found[pid].append(handle)
    return found


def _from_totals(
    totals: Sequence[Any],
    channels: list[tuple[str, int]],
    recent: list[tuple[int, int, str, str]],
    start: datetime | None,
) -> History:
    """A History from what SQLite counted and the exchanges from `start` on (all of them
    when None), as (seconds since the epoch, direction rank, channel, source)."""
    total, first, _, outbound, inbound, mutual = totals
    recent.sort()  # exchange_order: the instant, the direction's rank, channel, source
    at, rank, channel, source = recent[-1]
    last = InteractionSummary(
        _EPOCH + timedelta(seconds=at), DIRECTIONS_BY_RANK[rank], channel, source
    )
    return History(
        total=total,
        first=datetime.fromisoformat(first),
        last=last,
        outbound=outbound,
        inbound=inbound,
        mutual=mutual,
        channels=tuple(sorted(channels)),
        recent=Timeline.packed(
            (seconds * 1_000_000, DIRECTIONS_BY_RANK[r], c, s) for seconds, r, c, s in recent
        ),
        recent_from=start,
    )


def _plain_json(texts: list[str]) -> bool:
    """Whether JSON writes every one of `texts` as it is, between quotes (no quote, backslash
    or control character): then lists of them are written by joining, five times faster than
    a call of the encoder (a large import writes two lists a record)."""
    joined = "".join(texts)
    return joined.isprintable() and '"' not in joined and "\\" not in joined


def _handles_json(handles: Sequence[tuple[str, str]], plain: bool) -> str:
    """A record's handles, (kind, value) pairs, as the store keeps them:
    `[["email","a@b"],...]`; `plain`: see `_plain_json`."""
    if not plain:
        return _to_json([[kind, value] for kind, value in handles])
    return "[" + ",".join([f'["{kind}","{value}"]' for kind, value in handles]) + "]"


def _labels_json(labels: Sequence[str], plain: bool) -> str:
    """A record's labels as the store keeps them: `["a","b"]`; `plain`: see `_plain_json`."""
    if not plain:
        return _to_json(list(labels))
    return '["' + '","'.join(labels) + '"]' if labels else "[]"


def assignments_digest(assignments: Sequence[tuple[int, str, str]]) -> int:
    """A digest of (person_id, network, rule), one a person, whatever their order, as a signed
    64-bit integer: their ids in order and the index of each one's (network, rule) among the
    pairs in order of appearance, then those pairs (a report of 100,000 people makes a
    hundred thousand tuples, not a hundred thousand strings to sort)."""
    ordered = sorted(assignments, key=itemgetter(0))
    pairs: dict[tuple[str, str], int] = {}
    index = pairs.setdefault
    codes = array("I", [index((network, rule), len(pairs)) for _, network, rule in ordered])
    digest = hashlib.blake2b(digest_size=8)
    digest.update(array("q", [row[0] for row in ordered]).tobytes())
    digest.update(codes.tobytes())
    digest.update("\n".join(f"{network}\t{rule}" for network, rule in pairs).encode("utf-8"))
    return int.from_bytes(digest.digest(), "big", signed=True)


def _one_email(labels: str, handles: str) -> str | None:
    """The address of a record with no label and one e-mail address and nothing else, read
    from its JSON as the store writes it (None for any other record)."""
    if (
        labels == "[]"
        and handles.startswith('[["email","')
        and handles.endswith('"]]')
        and handles.count('"') == 4
        and "\\" not in handles
    ):
        return handles[11:-3]
    return None


def _json_each(texts: list[str]) -> list[Any]:
    """Each JSON text decoded, in one call."""
    return json.loads(f"[{','.join(texts)}]") if texts else []


def _history(
    row: Sequence[Any],
    names: tuple[tuple[str, ...], tuple[str, ...]],
    shared: dict[str, str],
) -> History:
    """A History from its person_stats row (see `_stats_row`), its `names` decoded, and the
    strings already made (`shared`)."""
    (_, total, first_at, last_at, direction, channel, source, outbound, inbound, mutual, _,
     counts, moments, codes, recent_from) = row  # fmt: skip
    channel_names, words = names
    packed_counts = array("I")
    packed_counts.frombytes(counts)
    packed_moments = array("q")
    packed_moments.frombytes(moments)
    packed_codes = array(code_type(len(words)))
    packed_codes.frombytes(codes)
    if BIG_ENDIAN:  # the store keeps them little-endian, whatever machine wrote it
        packed_counts.byteswap()
        packed_moments.byteswap()
        packed_codes.byteswap()
    channels = tuple(zip(channel_names, packed_counts, strict=True))
    # Made as the tuples they are, in History's and InteractionSummary's field order: a
    # report makes one a person, and the named tuples' own constructors cost a third more.
    last = _new_tuple(
        InteractionSummary,
        (
            datetime.fromisoformat(last_at),
            _DIRECTION_OF[direction],
            shared.setdefault(channel, channel),
            shared.setdefault(source, source),
        ),
    )
    return _new_tuple(
        History,
        (
            total,
            datetime.fromisoformat(first_at),
            last,
            outbound,
            inbound,
            mutual,
            channels,
            Timeline(packed_moments, packed_codes, words),
            datetime.fromisoformat(recent_from) if recent_from else None,
        ),
    )


def _stats_row(pid: int, history: History) -> tuple[object, ...]:
    last, first, recent = history.last, history.first, history.recent
    assert last is not None and first is not None
    return (
        pid,
        history.total,
        _utc_text(first),
        _utc_text(last.at),
        last.direction,
        last.channel,
        last.source,
        history.outbound,
        history.inbound,
        history.mutual,
        _to_json([[c for c, _ in history.channels], list(recent.words)]),
        _little_endian(array("I", [n for _, n in history.channels])),
        *map(_little_endian, recent.packed_arrays()),
        _utc_text(history.recent_from) if history.recent_from else None,
    )


BIG_ENDIAN = sys.byteorder == "big"
_new_tuple = tuple.__new__
_DIRECTION_OF: dict[str, Direction] = {d: d for d in DIRECTIONS}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: pipeline.model.exchange_order's ranks of directions, and the direction of each rank.
_RANK_OF: dict[str, int] = {"inbound": 0, "outbound": 1, "mutual": 2}
DIRECTIONS_BY_RANK: tuple[Direction, ...] = ("inbound", "outbound", "mutual")
#: Exchanges a session keeps to add to histories (see Store._new); more are worked out anew.
_NEW_KEPT = 50_000
#: Stale people and handles up to which each is looked up rather than every record read.
_FEW_STALE = 5000
#: People from whom `_single_handle_histories` counts channels by sums rather than groups.
_CHANNELS_SUMMED_FROM = 5000
#: People whose histories are worked out at a time.
_PEOPLE_AT_ONCE = 5000
#: Contact records read from SQLite at a time.
_RECORDS_AT_ONCE = 5000
#: person_stats' columns that hold a history packed (see migration 7 and `_stats_row`).
_STATS_PACKED = "names, counts, moments, codes, recent_from"
#: pipeline.model's exchange_order of directions, for SQL: received, sent, met.
_RANK_SQL = "CASE direction WHEN 'mutual' THEN 2 WHEN 'outbound' THEN 1 ELSE 0 END"


def _little_endian(packed: array[int]) -> bytes:
    if BIG_ENDIAN:
        packed = array(packed.typecode, packed)
        packed.byteswap()
    return packed.tobytes()


def _utc_text(moment: datetime) -> str:
    """An aware instant as ISO text in UTC, to the second (the common case without a copy)."""
    if moment.tzinfo is UTC and not moment.microsecond:
        return moment.isoformat()
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _direction(value: object) -> Direction:
    for direction in DIRECTIONS:
        if direction == value:
            return direction
    return "mutual"


def _kind(value: object) -> HandleKind:
    if value == "email":
        return "email"
    if value == "phone":
        return "phone"
    return "url"
