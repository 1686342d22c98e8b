"""The records that flow through the pipeline: pure data, frozen, no I/O.

A connector yields `Contact`, `Interaction`, `Checkpoint` and `Problem` records (a bulk reader
packs many contacts or exchanges into one `Contacts` or `Exchanges`); the store keeps them; the
stages after it work on `Person` views built from the store.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any, Literal, NamedTuple

HandleKind = Literal["email", "phone", "url"]
Direction = Literal["outbound", "inbound", "mutual"]
DIRECTIONS: tuple[Direction, ...] = ("outbound", "inbound", "mutual")
#: The source of the contacts made for people met only in mail and calendars.
DISCOVERED = "discovered"
#: Every `source` netgarden writes on records: the file formats, the accounts, hand-logged
#: exchanges and discovered people (what a rule's `source` condition may name).
SOURCES: tuple[str, ...] = (
    "vcard",
    "google_csv",
    "outlook_csv",
    "linkedin",
    "thunderbird",
    "interactions",
    "mbox",
    "eml",
    "maildir",
    "ics",
    "gmail",
    "google",
    "google_other",
    "outlook",
    "manual",
    DISCOVERED,
)


#: No exchange is older than this (a date of 1970-01-01 is a clock that was never set).
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
#: How far ahead of now an exchange may be dated (a meeting booked for later is not one yet).
AHEAD = timedelta(days=366)


def plausible(at: datetime, now: datetime | None = None) -> bool:
    """Whether an instant can be a real exchange: after 1970 and at most a year ahead of now."""
    return EARLIEST <= at <= (now or datetime.now(UTC)) + AHEAD


def implausible(written: str) -> str:
    """The reason a record whose date fails `plausible` is quarantined."""
    return f"date {written!r} cannot be a real exchange (before 1970, or more than a year ahead)"


def as_direction(value: str) -> Direction:
    """`value` as a Direction; ValueError if it is not one."""
    for direction in DIRECTIONS:
        if direction == value:
            return direction
    raise ValueError(f"direction {value!r} is not one of {', '.join(DIRECTIONS)}")


@dataclass(frozen=True, slots=True)
class Handle:
    """A way to reach someone: `kind` is email, phone or url; `value` is normalized."""

    kind: HandleKind
    value: str


@dataclass(frozen=True, slots=True)
class Contact:
    """One address-book record from one source.

    `source` names the connector (vcard, google_csv, ...); `source_id` is stable across exports of
    the same record (a vCard UID, a profile URL, else the first e-mail, else the name), so that
    importing a newer export updates the record instead of adding one. `handles` keep file order;
    the first e-mail is the record's primary address.
    """

    source: str
    source_id: str
    name: str
    given_name: str = ""
    family_name: str = ""
    organization: str = ""
    title: str = ""
    handles: tuple[Handle, ...] = ()
    labels: tuple[str, ...] = ()
    notes: str = ""
    file: str = ""
    line: int = 0
    #: `content_digest(self)` when the reader already computed it (parallel parsing does, so
    #: that the store's process does not); empty otherwise. Not part of equality.
    digest: str = field(default="", compare=False, repr=False)

    @property
    def emails(self) -> tuple[str, ...]:
        return tuple(h.value for h in self.handles if h.kind == "email")

    @property
    def phones(self) -> tuple[str, ...]:
        return tuple(h.value for h in self.handles if h.kind == "phone")


#: A contact packed for bulk readers, in `Contact`'s field order after `source`: (source_id,
#: name, given_name, family_name, organization, title, handles as (kind, value) pairs, labels,
#: notes, file, line, digest); the digest is always there.
ContactRow = tuple[
    str, str, str, str, str, str, tuple[tuple[HandleKind, str], ...], tuple[str, ...], str, str,
    int, str,
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Contacts:
    """Many contacts of one source at once, packed as rows (see `ContactRow`).

    What a reader that parses a large address book in worker processes yields instead of a
    `Contact` each: the store's process would spend more on building the frozen records than
    on storing them. Each row means exactly the `Contact` it packs.
    """

    source: str
    rows: tuple[ContactRow, ...]

    def contacts(self) -> Iterator[Contact]:
        """The rows as the `Contact` records they pack."""
        for row in self.rows:
            yield unpacked_contact(self.source, row)


def unpacked_contact(source: str, row: ContactRow) -> Contact:
    """The `Contact` of `source` that `row` packs."""
    return Contact(
        source, row[0], row[1], row[2], row[3], row[4], row[5],
        tuple([Handle(kind, value) for kind, value in row[6]]), row[7], row[8], row[9], row[10],
        row[11],
    )  # fmt: skip


def contact_row(contact: Contact) -> ContactRow:
    """`contact` packed (the inverse of `Contacts.contacts()`), its digest worked out if the
    reader left it empty."""
    return (
        contact.source_id,
        contact.name,
        contact.given_name,
        contact.family_name,
        contact.organization,
        contact.title,
        tuple([(h.kind, h.value) for h in contact.handles]),
        contact.labels,
        contact.notes,
        contact.file,
        contact.line,
        contact.digest or content_digest(contact),
    )


def content_digest(contact: Contact) -> str:
    """What decides whether a re-imported record changed (its file and line do not count)."""
    return fields_digest(
        contact.name,
        contact.given_name,
        contact.family_name,
        contact.organization,
        contact.title,
        tuple((h.kind, h.value) for h in contact.handles),
        contact.labels,
        contact.notes,
    )


def fields_digest(
    name: str,
    given_name: str,
    family_name: str,
    organization: str,
    title: str,
    handles: tuple[tuple[str, str], ...],
    labels: tuple[str, ...],
    notes: str,
) -> str:
    """`content_digest` of a contact with these fields, for readers that build records in bulk."""
    # Control characters separate the fields (they never occur in them after parsing); joining
    # is several times cheaper than repr() on the hot path of a large import.
    text = "\x1f".join(
        (
            name,
            given_name,
            family_name,
            organization,
            title,
            "\x1e".join([kind + "\x1d" + value for kind, value in handles]),
            "\x1e".join(labels),
            notes,
        )
    )
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Interaction:
    """One exchange with one counterpart, at a timezone-aware UTC instant.

    `key` identifies the exchange across sources (a Message-ID where there is one), so the same
    exchange seen twice counts once. No subject, no body: only who, when, which way, how.
    """

    at: datetime
    direction: Direction
    channel: str
    counterpart: Handle
    source: str
    key: str
    name: str = ""


#: An exchange packed for bulk readers: (at as UTC ISO text to the second, direction, channel,
#: counterpart kind, counterpart value, key, name).
ExchangeRow = tuple[str, str, str, str, str, str, str]
#: A sort key that puts ExchangeRows in nearly the order the store keeps exchanges in (by
#: kind, value, message key), in which they cost far less to insert (see pipeline.runner):
#: by counterpart value, which brings each handle's rows together; within a handle they land
#: on the same few pages in any order. One string sorts ten times faster than a tuple.
HANDLE_ORDER = itemgetter(4)


@dataclass(frozen=True, slots=True)
class Exchanges:
    """Many interactions of one source at once, packed as rows (see `ExchangeRow`).

    What a reader of millions of messages yields instead of an `Interaction` each: building,
    passing and unpacking one frozen record per exchange cost more than storing it. Each row
    means exactly the `Interaction` it packs.
    """

    source: str
    rows: tuple[ExchangeRow, ...]

    def interactions(self) -> Iterator[Interaction]:
        """The rows as the `Interaction` records they pack."""
        for at, direction, channel, kind, value, key, name in self.rows:
            yield Interaction(
                datetime.fromisoformat(at),
                as_direction(direction),
                channel,
                Handle(as_handle_kind(kind), value),
                self.source,
                key,
                name,
            )


def exchange_rows(interactions: list[Interaction]) -> list[ExchangeRow]:
    """The rows that pack interactions of one message (they share its instant): the inverse
    of `Exchanges.interactions()`."""
    if not interactions:
        return []
    at = interactions[0].at.astimezone(UTC).isoformat(timespec="seconds")
    return [
        (at, i.direction, i.channel, i.counterpart.kind, i.counterpart.value, i.key, i.name)
        for i in interactions
    ]


def packed(source: str, rows: list[ExchangeRow], skipped: Mapping[str, int]) -> Iterator[Record]:
    """A run of messages as records: one `Exchanges`, then a `Skipped` per reason."""
    if rows:
        yield Exchanges(source, tuple(rows))
    for reason, count in skipped.items():
        yield Skipped(reason, count=count)


def as_handle_kind(value: str) -> HandleKind:
    """`value` as a HandleKind; ValueError if it is not one."""
    if value == "email":
        return "email"
    if value == "phone":
        return "phone"
    if value == "url":
        return "url"
    raise ValueError(f"handle kind {value!r} is not email, phone or url")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The position a connector has reached; committed with the records before it."""

    cursor: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A record that could not be read: kept with where it came from, never dropped."""

    file: str
    line: int
    raw: str
    reason: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """Records deliberately not imported (a group card, a card with no name, a newsletter),
    counted by reason: `count` of them, so that a reader of millions need not yield each."""

    reason: str
    file: str = ""
    line: int = 0
    count: int = 1


Record = Contact | Contacts | Interaction | Exchanges | Checkpoint | Problem | Skipped


class InteractionSummary(NamedTuple):
    """An exchange as the rules and the report see it: when, which way, how, from where."""

    at: datetime
    direction: Direction
    channel: str
    source: str


#: A person's history keeps every exchange this far back from their latest one: windows of a
#: year (and the 90 days of a report) are counted from it, whatever the person's past holds.
RECENT = timedelta(days=400)
#: How far back from its end a history as of a past instant (`History.until`) counts every
#: exchange: the windows that rules and reports count in (a report's 90 days, a year) fit.
REACH = timedelta(days=365)
#: Exchanges at one instant, in the order the latest of them is told: received, sent, met.
_RANK: dict[str, int] = {"inbound": 0, "outbound": 1, "mutual": 2}


def exchange_order(item: InteractionSummary) -> tuple[datetime, int, str, str]:
    """The order of exchanges, which decides which is a person's latest: time, then, at one
    instant, a meeting or call (mutual) after mail sent after mail received, then the channel
    and the source by name."""
    return (item.at, _RANK.get(item.direction, 0), item.channel, item.source)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DIRECTION_CODE: dict[str, int] = {"outbound": 0, "inbound": 1, "mutual": 2}
#: Exchanges after a report date that `History.until` counts one by one (more: in C).
_FEW_DROPPED = 16
_new_tuple = tuple.__new__


def micros(moment: datetime) -> int:
    """An aware instant as microseconds since the epoch (what a Timeline keeps)."""
    return (moment - _EPOCH) // _MICROSECOND


@lru_cache(maxsize=8)
def cached_micros(moment: datetime) -> int:
    """micros(moment), worked out once for the many histories a report cuts at one instant."""
    return micros(moment)


def from_micros(moment: int) -> datetime:
    """The instant (UTC) of microseconds since the epoch."""
    return _EPOCH + moment * _MICROSECOND


@dataclass(frozen=True, slots=True)
class Timeline:
    """Exchanges in order (`exchange_order`), packed: a person's last 400 days can hold a
    hundred thousand exchanges, and a report over a hundred thousand people reads them all, so
    they are not objects but an array of instants (microseconds since the epoch, searched by
    bisection) and three codes each: direction, channel and source, the last two indexes into
    `words`. An exchange becomes an InteractionSummary only when one is asked for."""

    moments: array[int] = field(default_factory=lambda: array("q"))
    #: Three codes an exchange; bytes ("B"), or "I" when more than 255 names need telling apart.
    codes: array[int] = field(default_factory=lambda: array("B"))
    words: tuple[str, ...] = ()
    #: How many of the arrays' exchanges are this timeline's (the first ones; None: all): a
    #: history as of an earlier date shares its arrays instead of copying them.
    size: int | None = None

    @classmethod
    def of(cls, ordered: Iterable[InteractionSummary]) -> Timeline:
        """The timeline of exchanges already in order."""
        moments = array("q")
        codes: list[int] = []
        index: dict[str, int] = {}
        for item in ordered:
            moments.append(micros(item.at))
            channel = index.setdefault(item.channel, len(index))
            source = index.setdefault(item.source, len(index))
            codes += (_DIRECTION_CODE[item.direction], channel, source)
        return cls(moments, array(code_type(len(index)), codes), tuple(index))

    @classmethod
    def packed(cls, ordered: Iterable[tuple[int, Direction, str, str]]) -> Timeline:
        """The timeline of exchanges already in order, given as (microseconds since the epoch,
        direction, channel, source): what the store reads without making an object each."""
        moments = array("q")
        codes: list[int] = []
        index: dict[str, int] = {}
        for moment, direction, channel, source in ordered:
            moments.append(moment)
            codes += (
                _DIRECTION_CODE[direction],
                index.setdefault(channel, len(index)),
                index.setdefault(source, len(index)),
            )
        return cls(moments, array(code_type(len(index)), codes), tuple(index))

    def __len__(self) -> int:
        return len(self.moments) if self.size is None else self.size

    def __getitem__(self, i: int) -> InteractionSummary:
        if not 0 <= i < len(self):
            raise IndexError(i)
        codes, words, j = self.codes, self.words, 3 * i
        return _new_tuple(  # InteractionSummary(...) without the keyword handling
            InteractionSummary,
            (
                _EPOCH + self.moments[i] * _MICROSECOND,
                DIRECTIONS[codes[j]],
                words[codes[j + 1]],
                words[codes[j + 2]],
            ),
        )

    def __iter__(self) -> Iterator[InteractionSummary]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timeline) and list(self) == list(other)

    def __hash__(self) -> int:
        return hash(tuple(self.moments[: len(self)]))

    def before(self, moment: datetime) -> int:
        """How many exchanges are earlier than `moment`."""
        return bisect_left(self.moments, micros(moment), 0, len(self))

    def before_micros(self, moment: int) -> int:
        """How many exchanges are earlier than `moment` (microseconds since the epoch)."""
        return bisect_left(self.moments, moment, 0, len(self))

    def head(self, count: int) -> Timeline:
        """The first `count` exchanges (sharing this timeline's arrays)."""
        return Timeline(self.moments, self.codes, self.words, min(count, len(self)))

    def then(self, start: int, added: list[InteractionSummary]) -> Timeline:
        """This timeline from index `start` on, followed by exchanges that come after all of
        it (in order): the arrays are cut and extended in C, not unpacked."""
        size = len(self)
        index = {word: i for i, word in enumerate(self.words)}
        codes: list[int] = []
        for item in added:
            codes += (
                _DIRECTION_CODE[item.direction],
                index.setdefault(item.channel, len(index)),
                index.setdefault(item.source, len(index)),
            )
        moments = self.moments[start:size]
        moments.extend(micros(item.at) for item in added)
        kind = code_type(len(index))
        kept = self.codes[3 * start : 3 * size]
        packed = kept if kept.typecode == kind else array(kind, kept)
        packed.extend(codes)
        return Timeline(moments, packed, tuple(index))

    def tail(self, start: int) -> Iterator[tuple[Direction, str]]:
        """Direction and channel of every exchange from index `start` on."""
        codes, words = self.codes, self.words
        for i in range(3 * start, 3 * len(self), 3):
            yield DIRECTIONS[codes[i]], words[codes[i + 1]]

    def packed_arrays(self) -> tuple[array[int], array[int]]:
        """The instants and codes of this timeline's own exchanges, as arrays."""
        if self.size is None:
            return self.moments, self.codes
        return self.moments[: self.size], self.codes[: 3 * self.size]


EMPTY_TIMELINE = Timeline()


def code_type(names: int) -> str:
    """The array type of a Timeline's codes when it names `names` channels and sources."""
    return "B" if names <= 255 else "I"


class History(NamedTuple):
    """A person's exchanges as rules and reports count them, in a size that does not grow with
    the years: totals over their whole history, and every exchange of the `RECENT` days up to
    the latest one.

    `last` is the latest exchange (ties: see `exchange_order`). `recent` holds, in that order,
    every exchange at or after `recent_from` (None: every exchange). A history as of a past
    instant is `until(end)`.
    """

    total: int = 0
    first: datetime | None = None
    last: InteractionSummary | None = None
    outbound: int = 0
    inbound: int = 0
    mutual: int = 0
    channels: tuple[tuple[str, int], ...] = ()
    recent: Timeline = EMPTY_TIMELINE
    recent_from: datetime | None = None

    @classmethod
    def of(cls, exchanges: Iterable[InteractionSummary]) -> History:
        """The history of a complete list of exchanges (each counted once)."""
        ordered = sorted(exchanges, key=exchange_order)
        if not ordered:
            return cls()
        last = ordered[-1]
        start = last.at - RECENT
        channels = Counter(e.channel for e in ordered)
        directions = Counter(e.direction for e in ordered)
        cut = ordered[0].at < start
        return cls(
            total=len(ordered),
            first=ordered[0].at,
            last=last,
            outbound=directions["outbound"],
            inbound=directions["inbound"],
            mutual=directions["mutual"],
            channels=tuple(sorted(channels.items())),
            recent=Timeline.of(e for e in ordered if e.at >= start)
            if cut
            else Timeline.of(ordered),
            recent_from=start if cut else None,
        )

    @property
    def two_way(self) -> bool:
        """At least one exchange each way, or a meeting."""
        return self.mutual > 0 or (self.outbound > 0 and self.inbound > 0)

    @property
    def channel_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.channels)

    def until(self, end: datetime) -> History | None:
        """The history as of `end` (exchanges at or after it do not count), or None when this
        summary cannot tell it: `recent` does not reach back to `REACH` before `end`, so the
        exchanges of the year before `end` (or the latest one before it) are not all here."""
        if self.last is None or self.last.at < end:
            return self
        if self.first is not None and self.first >= end:
            return History()
        if self.recent_from is not None and end - REACH < self.recent_from:
            return None
        recent = self.recent
        size = len(recent)
        kept = bisect_left(recent.moments, cached_micros(end), 0, size)
        if not kept:
            return None
        codes, words = recent.codes, recent.words
        if size - kept <= _FEW_DROPPED:  # a report a few weeks back: each one looked at
            by_direction = [0, 0, 0]  # by _DIRECTION_CODE: outbound, inbound, mutual
            lost: dict[str, int] = {}
            for i in range(3 * kept, 3 * size, 3):
                by_direction[codes[i]] += 1
                word = words[codes[i + 1]]
                lost[word] = lost.get(word, 0) + 1
            outbound, inbound, mutual = by_direction
        else:  # counted in C: every third code from the first dropped one
            directions = codes[3 * kept : 3 * size : 3]
            dropped = codes[3 * kept + 1 : 3 * size : 3]
            lost = {words[code]: dropped.count(code) for code in set(dropped)}
            outbound = directions.count(_DIRECTION_CODE["outbound"])
            inbound = directions.count(_DIRECTION_CODE["inbound"])
            mutual = directions.count(_DIRECTION_CODE["mutual"])
        return History(
            total=self.total - (size - kept),
            first=self.first,
            last=recent[kept - 1],
            outbound=self.outbound - outbound,
            inbound=self.inbound - inbound,
            mutual=self.mutual - mutual,
            channels=_less(self.channels, lost),
            recent=recent.head(kept),
            recent_from=self.recent_from,
        )

    def with_new(self, new: Iterable[InteractionSummary]) -> History:
        """This history with exchanges it did not count yet (none of them already in it):
        what `of` would make of all of them, without the exchanges it no longer keeps."""
        added = sorted(new, key=exchange_order)
        if not added:
            return self
        if self.last is None:
            return History.of(added)
        latest = max(self.last, added[-1], key=exchange_order)
        start = latest.at - RECENT
        first = min(self.first or added[0].at, added[0].at)
        if exchange_order(added[0]) >= exchange_order(self.last):  # nightly: all of them later
            recent = self.recent.then(
                self.recent.before(start), [e for e in added if e.at >= start]
            )
        else:  # older mail imported: merged, one at a time
            recent = Timeline.of(
                sorted(
                    [e for e in self.recent if e.at >= start] + [e for e in added if e.at >= start],
                    key=exchange_order,
                )
            )
        channels = Counter(dict(self.channels))
        channels.update(e.channel for e in added)
        directions = Counter(e.direction for e in added)
        cut = first < start
        return History(
            total=self.total + len(added),
            first=first,
            last=latest,
            outbound=self.outbound + directions["outbound"],
            inbound=self.inbound + directions["inbound"],
            mutual=self.mutual + directions["mutual"],
            channels=tuple(sorted(channels.items())),
            recent=recent,
            recent_from=start if cut else None,
        )

    def covers(self, start: datetime) -> bool:
        """Whether `recent` holds every exchange from `start` on."""
        return self.recent_from is None or start >= self.recent_from

    def count_since(self, start: datetime) -> int:
        """How many exchanges there are from `start` on (ValueError when `recent` does not
        reach back there)."""
        if self.last is None or self.last.at < start:
            return 0
        if not self.covers(start):
            raise ValueError(f"this history holds every exchange from {self.recent_from} only")
        return len(self.recent) - self.recent.before(start)

    def since(self, start: datetime) -> list[InteractionSummary]:
        """The exchanges from `start` on (ValueError when `recent` does not reach back there)."""
        count = self.count_since(start)
        return [self.recent[i] for i in range(len(self.recent) - count, len(self.recent))]


EMPTY_HISTORY = History()


def _less(
    channels: tuple[tuple[str, int], ...], lost: dict[str, int]
) -> tuple[tuple[str, int], ...]:
    """Channel counts less those lost; the pairs that lose nothing are kept, not copied."""
    if not lost:
        return channels
    return tuple(
        pair if pair[0] not in lost else (pair[0], pair[1] - lost[pair[0]])
        for pair in channels
        if pair[1] > lost.get(pair[0], 0)
    )


class Person(NamedTuple):
    """One human as the store knows them: the union of contact records that share an e-mail.

    `contact_id` is stable: the store id of the person's oldest record. Lists are ordered with the
    most recently imported record first, so `emails[0]` is the primary address. `history` holds
    their exchanges as rules and reports count them (`Person.of` makes it from exchanges).

    People, their histories and exchanges are named tuples rather than frozen dataclasses: as
    immutable, and a report makes hundreds of thousands of them, where a frozen dataclass
    costs four times as long to make.
    """

    contact_id: int
    name: str
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    history: History = EMPTY_HISTORY
    #: Whether the relationship is two-way over all time, whatever date `history` is as of
    #: (who is listed does not change with the date of a report); None: as `history` says.
    ever_two_way: bool | None = None

    @classmethod
    def of(
        cls,
        contact_id: int,
        name: str,
        interactions: Iterable[InteractionSummary] = (),
        **fields: Any,
    ) -> Person:
        """A person whose history is made from a complete list of exchanges."""
        return cls(contact_id, name, history=History.of(interactions), **fields)

    @property
    def email(self) -> str:
        return self.emails[0] if self.emails else ""

    @property
    def discovered(self) -> bool:
        """Known only from mail and calendars: in no address book, never logged by hand."""
        return self.sources == (DISCOVERED,)

    @property
    def two_way(self) -> bool:
        """At least one exchange each way, or a meeting: a relationship, not a mailing."""
        return self.history.two_way if self.ever_two_way is None else self.ever_two_way

    @property
    def listed(self) -> bool:
        """Whether the person belongs in networks and reports: everyone in an address book, and
        discovered people once the relationship is two-way."""
        return not self.discovered or self.two_way

    @property
    def organization(self) -> str:
        return self.organizations[0] if self.organizations else ""

    @property
    def title(self) -> str:
        return self.titles[0] if self.titles else ""
