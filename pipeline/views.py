"""What the listing commands show of people, as rows of named values (lists kept as lists)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING, Any

from pipeline.model import InteractionSummary, Person
from pipeline.strength import DEFAULT as DEFAULT_LADDER
from pipeline.strength import Ladder, strength

if TYPE_CHECKING:
    from pipeline.assignments import Classified
from rules.engine import Assignment

CONTACT_COLUMNS = (
    "contact_id",
    "name",
    "emails",
    "phones",
    "organization",
    "title",
    "labels",
    "network",
    "sources",
    "strength",
)
DISCOVERED_COLUMNS = (
    "contact_id",
    "name",
    "email",
    "exchanges",
    "sent",
    "received",
    "meetings",
    "last_contact",
    "relationship",
)


def contact_rows(
    people: Sequence[Person],
    assignments: Mapping[int, Assignment],
    strengths: Mapping[int, int] | None = None,
) -> list[dict[str, Any]]:
    """A row per person with the columns of CONTACT_COLUMNS."""
    return [
        {
            "contact_id": p.contact_id,
            "name": p.name,
            "emails": list(p.emails),
            "phones": list(p.phones),
            "organization": p.organization,
            "title": p.title,
            "labels": list(p.labels),
            "network": assignments[p.contact_id].network,
            "sources": list(p.sources),
            "strength": strengths.get(p.contact_id, 0) if strengths is not None else None,
        }
        for p in people
    ]


def contact_rows_of(
    found: Classified,
    network: str | None = None,
    zone: tzinfo = UTC,
    ladder: Ladder = DEFAULT_LADDER,
) -> list[dict[str, Any]]:
    """`contact_rows` of placed people (those of one network, when named), with their strength
    as of the day they were placed (the end of it in `zone`)."""
    people = [
        p
        for p in found.people
        if network is None or found.assignments[p.contact_id].network == network
    ]
    from pipeline.assignments import end_of  # assignments imports this module

    end = end_of(found.as_of, zone)
    strengths = {}
    for p in people:
        history = p.history.until(end)
        strengths[p.contact_id] = strength(history, end, ladder) if history is not None else 0
    return contact_rows(people, found.assignments, strengths)


#: A person as `classify` shows them: id, network, rule, name, e-mail, and why (when asked).
Explained = tuple[int, str, str, str, str, tuple[str, ...]]


def explained(found: Classified, *, with_reasons: bool = False) -> list[Explained]:
    """Each placed person's network and rule, with the reasons only when asked for."""
    return [
        (
            p.contact_id,
            (a := found.assignments[p.contact_id]).network,
            a.rule,
            p.name,
            p.email,
            a.reasons if with_reasons else (),
        )
        for p in found.people
    ]


def discovered_rows(people: Sequence[Person], zone: tzinfo) -> list[dict[str, Any]]:
    """Everyone met only in mail and calendars with at least one counted exchange, most
    exchanges first, then the most recent; the columns of DISCOVERED_COLUMNS."""
    found = [p for p in people if p.discovered and p.history.last is not None]
    found.sort(key=lambda p: (-p.history.total, -_last(p).at.timestamp()))
    return [
        {
            "contact_id": p.contact_id,
            "name": p.name,
            "email": p.email,
            "exchanges": p.history.total,
            "sent": p.history.outbound,
            "received": p.history.inbound,
            "meetings": p.history.mutual,
            "last_contact": _last(p).at.astimezone(zone).date().isoformat(),
            "relationship": "two-way" if p.two_way else "one-way",
        }
        for p in found
    ]


def _last(person: Person) -> InteractionSummary:
    last = person.history.last
    assert last is not None  # only people with exchanges are listed
    return last
