"""People from records: pure, the store's rows in, `Person` views out.

A person is the union of the contact records identity resolution gave one `person_id`
(`pipeline.identity`); each exchange belongs to the person who holds its counterpart's handle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import NamedTuple

from pipeline.model import (
    DISCOVERED,
    EMPTY_HISTORY,
    Direction,
    History,
    InteractionSummary,
    Person,
    exchange_order,
)

#: Sources whose records only exist because an exchange named someone unknown: their names are
#: often just an address, so a real address-book name wins over them.
FALLBACK_SOURCES = frozenset({"interactions", "manual", DISCOVERED})


class RecordRow(NamedTuple):
    """One contact record as the store keeps it."""

    contact_id: int
    person_id: int
    source: str
    name: str
    organization: str
    title: str
    labels: tuple[str, ...]
    notes: str
    #: The import that last wrote or saw the record: higher is more recent.
    import_seq: int
    handles: tuple[tuple[str, str], ...]


class StoredExchange(NamedTuple):
    """One stored exchange: a message or meeting (`key`) with one counterpart handle."""

    key: str
    kind: str
    value: str
    at: datetime
    direction: Direction
    channel: str
    source: str


def owners(records: Iterable[RecordRow]) -> dict[tuple[str, str], int]:
    """Whose each handle is: the person with the smallest id among those holding it (a phone
    two people share counts for the older one)."""
    return handle_owners((r.person_id, r.handles) for r in records)


def handle_owners(
    held: Iterable[tuple[int, Iterable[tuple[str, str]]]],
) -> dict[tuple[str, str], int]:
    """`owners` of (person id, handles) pairs."""
    owner: dict[tuple[str, str], int] = {}
    for pid, handles in held:
        for handle in handles:
            if handle not in owner or pid < owner[handle]:
                owner[handle] = pid
    return owner


def histories(
    owner: Mapping[tuple[str, str], int], exchanges: Iterable[StoredExchange]
) -> dict[int, History]:
    """The History of every person the exchanges' handles belong to (see `owners`), each
    exchange counted once per person: a message that reached two addresses of one person is
    one exchange with them."""
    found: dict[int, dict[str, InteractionSummary]] = defaultdict(dict)
    # Channels and sources take a handful of values: one shared string each, not one per row.
    words: dict[str, str] = {}
    for exchange in exchanges:
        pid = owner.get((exchange.kind, exchange.value))
        if pid is None:
            continue
        summary = InteractionSummary(
            at=exchange.at,
            direction=exchange.direction,
            channel=words.setdefault(exchange.channel, exchange.channel),
            source=words.setdefault(exchange.source, exchange.source),
        )
        held = found[pid]
        earlier = held.get(exchange.key)
        if earlier is None or exchange_order(summary) > exchange_order(earlier):
            held[exchange.key] = summary
    return {pid: History.of(by_key.values()) for pid, by_key in found.items()}


def build_people(
    records: Iterable[RecordRow],
    known: Mapping[int, History],
    me: frozenset[str] = frozenset(),
    ever_two_way: Mapping[int, bool] | None = None,
) -> list[Person]:
    """Every person of `records` (in person order, as the store gives them), by contact id,
    with their History from `known` (none: no exchange).

    `me` are the user's own addresses: whoever holds one is the user, not a person (their
    exchanges are not exchanges, whatever an import believed when it stored them).
    `ever_two_way`: whether each person's relationship is two-way over all time, where
    `known` is as of an earlier date and tells otherwise.

    A person's lists (e-mails, organizations, ...) run from their most recent record to the
    oldest, so `emails[0]` is the primary address; the name is the most recent record's,
    except that an address-book name wins over a name an exchange brought.
    """
    ever = ever_two_way or {}
    people: list[Person] = []
    held: list[RecordRow] = []
    for record in records:
        if held and record.person_id != held[0].person_id:
            _add(people, held, known, ever, me)
            held = []
        held.append(record)
    if held:
        _add(people, held, known, ever, me)
    return people


def _add(
    people: list[Person],
    held: list[RecordRow],
    known: Mapping[int, History],
    ever: Mapping[int, bool],
    me: frozenset[str],
) -> None:
    pid = held[0].person_id
    if people and pid <= people[-1].contact_id:
        raise ValueError("build_people takes records in person order")
    if me and any(kind == "email" and value in me for r in held for kind, value in r.handles):
        return
    people.append(_person(pid, held, known.get(pid, EMPTY_HISTORY), ever.get(pid)))


def _person(pid: int, records: list[RecordRow], history: History, ever: bool | None) -> Person:
    if len(records) == 1:  # most people: what follows, without merging
        return _one(pid, records[0], history, ever)
    records.sort(key=lambda r: (r.import_seq, r.contact_id), reverse=True)
    named = max(
        records, key=lambda r: (r.source not in FALLBACK_SOURCES, r.import_seq, r.contact_id)
    )
    emails: list[str] = []
    phones: list[str] = []
    urls: list[str] = []
    for record in records:
        for kind, value in record.handles:
            target = emails if kind == "email" else phones if kind == "phone" else urls
            if value not in target:
                target.append(value)
    sources = {r.source for r in records}
    return Person(
        contact_id=pid,
        name=named.name,
        emails=tuple(emails),
        phones=tuple(phones),
        urls=tuple(urls),
        organizations=_unique(r.organization for r in records),
        titles=_unique(r.title for r in records),
        labels=_unique(label for r in records for label in r.labels),
        notes=_unique(r.notes for r in records),
        # A placeholder source only when it is the only one.
        sources=tuple(sorted(sources - FALLBACK_SOURCES or sources)),
        history=history,
        ever_two_way=ever,
    )


def _one(pid: int, r: RecordRow, history: History, ever: bool | None) -> Person:
    """`_person` of someone with a single record."""
    handles = r.handles
    if len(handles) == 1 and handles[0][0] == "email":  # most records
        emails: tuple[str, ...] = (handles[0][1],)
        phones: tuple[str, ...] = ()
        urls: tuple[str, ...] = ()
    else:
        emails = tuple(dict.fromkeys(v for k, v in handles if k == "email"))
        phones = tuple(dict.fromkeys(v for k, v in handles if k == "phone"))
        urls = tuple(dict.fromkeys(v for k, v in handles if k != "email" and k != "phone"))
    return Person(
        pid,
        r.name,
        emails,
        phones,
        urls,
        (r.organization,) if r.organization else (),
        (r.title,) if r.title else (),
        _unique(r.labels) if r.labels else (),
        (r.notes,) if r.notes else (),
        (r.source,),
        history,
        ever,
    )


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        if value and value not in seen:
            seen[value] = None
    return tuple(seen)
