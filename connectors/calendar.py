"""iCalendar `.ics` files: each meeting that took place is a `mutual` exchange with each person
at it.

icalendar parses the file (TZID parameters and VTIMEZONE blocks included) and
recurring-ical-events expands recurring events (RRULE, RDATE, EXDATE, moved or cancelled single
occurrences). A meeting counts when it has started by the time of the import, is not cancelled,
the user did not decline it, and someone else was there: attendees whose CUTYPE is INDIVIDUAL
(or unset) and who did not decline, and the organiser when it is not the user. Rooms and
resources are not people.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import Any, ClassVar

import icalendar
import recurring_ical_events

from connectors.base import FileConnector, Orphans
from pipeline.config import zone
from pipeline.errors import FormatError
from pipeline.mail import MailPolicy
from pipeline.meetings import Attendee, meeting_exchanges, meeting_key
from pipeline.model import Problem, Record, Skipped
from pipeline.normalize import normalize_email

_PEOPLE = frozenset({"", "INDIVIDUAL"})
_BEGIN_EVENT = re.compile(rb"^BEGIN:VEVENT\r?$", re.MULTILINE | re.IGNORECASE)
_UID = re.compile(rb"^UID:(.*?)\r?$", re.MULTILINE | re.IGNORECASE)
_START = datetime(1970, 1, 1, tzinfo=UTC)


class IcsConnector(FileConnector):
    """An iCalendar file (a Google Calendar, Outlook or Apple Calendar export)."""

    name: ClassVar[str] = "ics"
    description: ClassVar[str] = "an iCalendar file"
    orphans: Orphans = "discover"
    #: When the file's next occurrence starts, as its last read found (None: none to come).
    _upcoming: datetime | None = None

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].upper() == b"BEGIN:VCALENDAR"

    def _now(self) -> datetime:
        return self.options.now or datetime.now(UTC)

    def unchanged(self, cursor: str, signature: str) -> bool:
        """The cursor is the file's digest and the start of its next occurrence: the same file
        is read again once that occurrence has started."""
        old_digest, _, upcoming = cursor.partition("|")
        return old_digest == signature and (
            not upcoming or self._now() < datetime.fromisoformat(upcoming)
        )

    def next_cursor(self, signature: str) -> str:
        upcoming = self._upcoming.isoformat() if self._upcoming else ""
        return f"{signature}|{upcoming}"

    def read_file(self) -> Iterator[Record]:
        """The meetings that took place by now."""
        now = self._now()
        self._upcoming = None
        data, cut = _without_cut_events(self.path.read_bytes(), str(self.path))
        try:
            calendars = icalendar.Calendar.from_ical(data, multiple=True)
        except ValueError as exc:
            raise FormatError(self.path, f"not a readable iCalendar file: {exc}") from None
        user_zone = zone(self.options.timezone)
        policy = self.options.mail
        if not policy.me:
            inferred, how = _infer_me(calendars)
            if inferred:
                policy = policy.with_me(inferred)
                self.found_me = list(inferred)
                self.notes.append(
                    f"your address, inferred from {how}: {', '.join(inferred)} "
                    "(set `me` in config.toml to fix it)"
                )
            else:
                self.notes.append("could not tell which attendee is you; set `me` in config.toml")
        lines = _event_lines(data)
        yield from cut
        for calendar in calendars:
            for occurrence, problem in _occurrences(calendar, now):
                if problem is not None:
                    uid, reason = problem
                    yield Problem(str(self.path), lines.get(uid, 1), f"UID:{uid}", reason)
                    continue
                assert occurrence is not None
                start = _instant(occurrence.get("DTSTART"), user_zone)
                if start is None:
                    uid = str(occurrence.get("UID", ""))
                    yield Problem(str(self.path), lines.get(uid, 1), f"UID:{uid}", "no start")
                    continue
                yield from _meeting(occurrence, start, policy, self.name)
            following = _next_start(calendar, now, user_zone)
            if following is not None and (self._upcoming is None or following < self._upcoming):
                self._upcoming = following


def _occurrences(
    calendar: icalendar.Calendar, now: datetime
) -> Iterator[tuple[Any, tuple[str, str] | None]]:
    """(occurrence, None) for each occurrence that started by `now`; (None, (uid, reason)) for
    each event series that cannot be expanded (the others still are)."""
    try:
        found = list(recurring_ical_events.of(calendar).between(_START, now))
    except Exception:  # the library raises many types for one broken series; find which
        found = None
    if found is not None:
        for occurrence in found:
            yield occurrence, None
        return
    for uid, events in _by_uid(calendar).items():
        single = icalendar.Calendar()
        for component in calendar.subcomponents:
            if component.name == "VTIMEZONE":
                single.add_component(component)
        for event in events:
            single.add_component(event)
        try:
            for occurrence in recurring_ical_events.of(single).between(_START, now):
                yield occurrence, None
        except Exception as exc:
            yield None, (uid, f"cannot expand the event: {exc}")


def _by_uid(calendar: icalendar.Calendar) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for event in calendar.walk("VEVENT"):
        groups.setdefault(str(event.get("UID", "")), []).append(event)
    return groups


def _next_start(calendar: icalendar.Calendar, now: datetime, user_zone: tzinfo) -> datetime | None:
    """When the next occurrence after `now` starts (None if none or it cannot be told)."""
    try:
        for occurrence in recurring_ical_events.of(calendar).after(now):
            start = _instant(occurrence.get("DTSTART"), user_zone)
            if start is not None and start > now:
                return start
    except Exception:
        return None
    return None


def _instant(value: Any, user_zone: tzinfo) -> datetime | None:
    """A DTSTART as a UTC instant: floating times are the user's zone, all-day dates noon."""
    moment = getattr(value, "dt", value)
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=user_zone)
        return moment.astimezone(UTC)
    if isinstance(moment, date):
        return datetime.combine(moment, time(12, 0), tzinfo=user_zone).astimezone(UTC)
    return None


def _people(event: Any) -> list[Attendee]:
    """The organiser and the attendees that are people (not rooms or resources)."""
    found: list[Attendee] = []
    organizer = event.get("ORGANIZER")
    if organizer is not None:
        email = normalize_email(str(organizer))
        if email and str(organizer.params.get("CUTYPE", "")).upper() in _PEOPLE:
            found.append(Attendee(email, str(organizer.params.get("CN", "")), False, True))
    attendees = event.get("ATTENDEE", [])
    if not isinstance(attendees, list):
        attendees = [attendees]
    for attendee in attendees:
        params = getattr(attendee, "params", {})
        if str(params.get("CUTYPE", "")).upper() not in _PEOPLE:
            continue
        email = normalize_email(str(attendee))
        if email is None:
            continue
        declined = str(params.get("PARTSTAT", "")).upper() == "DECLINED"
        found.append(Attendee(email, str(params.get("CN", "")).strip('"'), declined, False))
    return found


def _meeting(event: Any, start: datetime, policy: MailPolicy, source: str) -> Iterator[Record]:
    """The exchanges of one occurrence, or the reason it does not count."""
    reason, found = meeting_exchanges(
        _people(event),
        cancelled=str(event.get("STATUS", "")).upper() == "CANCELLED",
        start=start,
        key=meeting_key(str(event.get("UID", "")), start),
        policy=policy,
        source=source,
    )
    if reason:
        yield Skipped(reason)
    yield from found


def _infer_me(calendars: Iterable[icalendar.Calendar]) -> tuple[list[str], str]:
    """The calendar's owner: Google names an exported calendar after its owner's address;
    else the address at more than half of the meetings that have someone at them."""
    counts: Counter[str] = Counter()
    meetings = 0
    for calendar in calendars:
        owner = normalize_email(str(calendar.get("X-WR-CALNAME", "")))
        if owner:
            return [owner], "the calendar's name"
        for event in calendar.walk("VEVENT"):
            people = {p.email for p in _people(event)}
            if len(people) > 1:
                meetings += 1
                counts.update(people)
    if counts:
        email, n = counts.most_common(1)[0]
        if n * 2 > meetings:
            return [email], f"the address at {n} of {meetings} meetings"
    return [], ""


_KEPT_LINES = re.compile(
    rb"^(?:UID|DTSTART|DTEND|RRULE|RDATE|EXDATE|RECURRENCE-ID|STATUS|ORGANIZER|ATTENDEE)[;:]",
    re.IGNORECASE,
)
_END_EVENT = re.compile(rb"^END:VEVENT\r?$", re.MULTILINE | re.IGNORECASE)
_NEXT_PART = re.compile(rb"^(?:BEGIN:V[A-Z]+|END:VCALENDAR)\r?$", re.MULTILINE | re.IGNORECASE)
_BEGIN_CALENDAR = re.compile(rb"^BEGIN:VCALENDAR\r?$", re.MULTILINE | re.IGNORECASE)
_END_CALENDAR = re.compile(rb"^END:VCALENDAR\r?$", re.MULTILINE | re.IGNORECASE)


def _cut_events(data: bytes) -> list[tuple[int, int]]:
    """The byte ranges of events that never end (a cut-off file): from their BEGIN:VEVENT to
    the next component, the calendar's end or the end of the file."""
    cut: list[tuple[int, int]] = []
    for begin in _BEGIN_EVENT.finditer(data):
        after = _NEXT_PART.search(data, begin.end())
        end = after.start() if after is not None else len(data)
        if _END_EVENT.search(data, begin.end(), end) is None:
            cut.append((begin.start(), end))
    return cut


def _without_cut_events(data: bytes, file: str) -> tuple[bytes, list[Problem]]:
    """The file with its cut-off events taken out (each a Problem with its line) and the
    END:VCALENDAR a cut file lacks put back: icalendar would drop a cut event without a word,
    and a calendar without its end altogether."""
    problems: list[Problem] = []
    kept: list[bytes] = []
    position = 0
    for start, end in _cut_events(data):
        text = data[start:end].splitlines()
        problems.append(
            Problem(
                file,
                data.count(b"\n", 0, start) + 1,
                b"\n".join(line for line in text if _KEPT_LINES.match(line)).decode(
                    "utf-8", "replace"
                ),
                "an event without END:VEVENT (is the file cut short?)",
            )
        )
        kept.append(data[position:start])
        position = end
    kept.append(data[position:])
    repaired = b"".join(kept)
    missing = len(_BEGIN_CALENDAR.findall(repaired)) - len(_END_CALENDAR.findall(repaired))
    if missing > 0:
        newline = b"" if repaired.endswith(b"\n") else b"\r\n"
        repaired += newline + b"END:VCALENDAR\r\n" * missing
    return repaired, problems


def _event_lines(data: bytes) -> dict[str, int]:
    """UID -> the line of its first BEGIN:VEVENT, to say where a broken event is."""
    lines: dict[str, int] = {}
    for begin in _BEGIN_EVENT.finditer(data):
        uid = _UID.search(data, begin.end())
        if uid is not None:
            key = uid.group(1).decode("utf-8", "replace").strip()
            lines.setdefault(key, data.count(b"\n", 0, begin.start()) + 1)
    return lines
