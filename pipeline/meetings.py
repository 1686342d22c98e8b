"""Which meetings are exchanges with whom: one rule for calendar files, Google and Outlook.

A meeting that took place is a `mutual` exchange with each person at it: attendees who are
people (not rooms or resources) and did not decline, and the organiser when it is not the user.
A cancelled meeting, one the user declined, and one with no one else do not count. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.mail import MailPolicy
from pipeline.model import Handle, Interaction

#: Addresses calendars write where there is no person: Google's placeholder organiser, and
#: the addresses of resource (room), group, holiday and imported calendars.
_PLACEHOLDERS = frozenset({"unknownorganizer@calendar.google.com"})
_NOT_PEOPLE_DOMAINS = (
    "resource.calendar.google.com",
    "group.calendar.google.com",
    "group.v.calendar.google.com",
    "import.calendar.google.com",
)

CANCELLED = "cancelled meetings"
DECLINED = "meetings you declined"
ALONE = "meetings with no one else"


@dataclass(frozen=True, slots=True)
class Attendee:
    """Someone at a meeting who is a person (the source leaves rooms and resources out):
    address, name, whether they declined, whether they organised it."""

    email: str
    name: str
    declined: bool
    organizer: bool


def placeholder(email: str) -> bool:
    """Whether an attendee's address stands for no person (a room, a group, a placeholder)."""
    return email in _PLACEHOLDERS or email.rpartition("@")[2].endswith(_NOT_PEOPLE_DOMAINS)


def meeting_key(uid: str, start: datetime) -> str:
    """The key of one occurrence: the iCalendar UID (Google's iCalUID, Outlook's iCalUId) and
    its start, so the same meeting from a file and from an API counts once."""
    return f"ics:{uid}:{start.isoformat()}"


def meeting_exchanges(
    attendees: Iterable[Attendee],
    *,
    cancelled: bool,
    start: datetime,
    key: str,
    policy: MailPolicy,
    source: str,
) -> tuple[str, list[Interaction]]:
    """(skip reason, []) for a meeting that does not count; ("", exchanges) for one that does."""
    if cancelled:
        return CANCELLED, []
    people = [p for p in attendees if not placeholder(p.email)]
    if any(p.declined and policy.is_me(p.email) for p in people):
        return DECLINED, []
    others: dict[str, str] = {}
    for person in people:
        if person.declined or policy.is_me(person.email):
            continue
        if policy.is_ignored(person.email) or policy.is_role(person.email):
            continue
        if person.email not in others or not others[person.email]:
            others[person.email] = person.name
    if not others:
        return ALONE, []
    return "", [
        Interaction(start, "mutual", "meeting", Handle("email", email), source, key, name)
        for email, name in others.items()
    ]


class Upcoming:
    """Meetings still to come, kept in an API connector's cursor until they take place.

    A calendar sync token (Google's, Graph's delta) sends an event again only when it changes,
    so a meeting seen before it started would otherwise never be recorded. The saved form is
    plain JSON: event id -> [start, key, [[address, name], ...]].
    """

    def __init__(self, saved: Mapping[str, Any] | None = None) -> None:
        self.items: dict[str, list[Any]] = dict(saved or {})

    def forget(self, event_id: str) -> None:
        """The event changed (or was cancelled): what was held for it no longer holds."""
        self.items.pop(event_id, None)

    def hold(self, event_id: str, meetings: list[Interaction]) -> None:
        """Keep the exchanges of a meeting that has not started yet."""
        if meetings:
            first = meetings[0]
            self.items[event_id] = [
                first.at.isoformat(),
                first.key,
                [[m.counterpart.value, m.name] for m in meetings],
            ]

    def due(self, now: datetime, source: str) -> list[Interaction]:
        """The exchanges of held meetings that have started by `now` (no longer held)."""
        found: list[Interaction] = []
        for event_id, (start_text, key, people) in list(self.items.items()):
            start = datetime.fromisoformat(start_text)
            if start <= now:
                del self.items[event_id]
                found.extend(
                    Interaction(start, "mutual", "meeting", Handle("email", e), source, key, n)
                    for e, n in people
                )
        return found
