"""Exchanges logged by hand (`netgarden log`): whom WHO names, the checks before an exchange is
stored, and taking the last one back.

A slip must cost nothing: a mistyped address creates no one unless asked to, a date ahead is
refused unless the exchange is planned, the same exchange twice on a day is pointed out, and the
last exchange logged can be taken back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from pipeline.errors import NetgardenError, UnknownPersonError
from pipeline.model import Contact, Direction, Handle, Interaction
from pipeline.normalize import normalize_email
from pipeline.store import Store


@dataclass(frozen=True)
class Logged:
    """What logging did: with whom (their person id and name), whether a contact was made for
    them, and how many identical exchanges that day were already stored."""

    person_id: int
    name: str
    created: bool
    repeats: int


def log_exchange(
    store: Store,
    who: str,
    at: datetime,
    direction: Direction,
    channel: str,
    zone: tzinfo,
    *,
    new: bool = False,
) -> Logged:
    """Record one exchange by hand with WHO: a contact id, an e-mail address, or the exact name
    of one person. An address no one has is a new contact only with `new`; a name several
    people share lists them. UnknownPersonError says what is wrong."""
    with store.transaction():
        matches = store.find_people(who)
        email = normalize_email(who)
        seq = store.begin_import(f"log:{who}")
        created = False
        if not matches:
            if email is None:
                what = "contact id" if who.strip().isdigit() else "one"
                raise UnknownPersonError(
                    f"no {what} is called {who!r}; `netgarden contacts` lists people, and "
                    "an e-mail address with --new logs someone new"
                )
            if not new:
                raise UnknownPersonError(
                    f"no one has the address {email}; check it, or add --new to log someone new"
                )
            store.upsert_contacts(
                [Contact("manual", f"email:{email}", email, handles=(Handle("email", email),))],
                seq,
            )
            store.resolve_people()
            matches = store.find_people(email)
            created = True
        person_id = _only(store, who, matches, "log")
        handle = Handle("email", email) if email else store.primary_handle(person_id)
        if handle is None:
            raise NetgardenError(f"{who!r} has no e-mail, phone or profile to log against")
        day = at.astimezone(zone).date()
        start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        end = start + timedelta(days=1)
        repeats = store.same_day(handle, channel, direction, start.isoformat(), end.isoformat())
        store.add_interactions(
            [Interaction(at, direction, channel, handle, "manual", f"manual:{uuid.uuid4().hex}")],
            seq,
        )
        store.mark_stale([(handle.kind, handle.value)])
        store.refresh_histories()
        name = store.describe(person_id)[0]
    return Logged(person_id, name, created, repeats)


def undo_last(store: Store) -> list[Interaction]:
    """Take back the last exchange logged by hand (and the contact logging it made); the
    exchanges taken back, none when nothing was logged."""
    with store.transaction():
        seq = store.last_logged()
        if seq is None:
            return []
        taken = store.logged(seq)
        store.forget_logged(seq)
    return taken


def find_one(store: Store, who: str, doing: str) -> int:
    """The person WHO names (a contact id, an e-mail address, or the exact name of one person);
    UnknownPersonError that lists the candidates when a name is shared, or names no one."""
    matches = store.find_people(who)
    if not matches:
        raise UnknownPersonError(f"no one is called {who!r}; `netgarden contacts` lists people")
    return _only(store, who, matches, doing)


def _only(store: Store, who: str, matches: list[int], doing: str) -> int:
    if len(matches) > 1:
        people = "; ".join(_described(store, pid) for pid in matches[:10])
        raise UnknownPersonError(
            f"{len(matches)} people are called {who!r}: {people}; {doing} by contact id instead"
        )
    return matches[0]


def _described(store: Store, person_id: int) -> str:
    name, email, organization = store.describe(person_id)
    parts = [f"{person_id} {name}"]
    if email:
        parts.append(f"<{email}>")
    if organization:
        parts.append(f"({organization})")
    return " ".join(parts)
