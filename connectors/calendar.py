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
from datetime import UTC, date, datetime, time, timedelta, tzinfo
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
from pipeline.normalize import invalid_email, normalize_email

_PEOPLE = frozenset({"", "INDIVIDUAL"})
_BEGIN_EVENT = re.compile(rb"^BEGIN:VEVENT\r?$", re.MULTILINE | re.IGNORECASE)
_UID = re.compile(rb"^UID:(.*?)\r?$", re.MULTILINE | re.IGNORECASE)
_START = datetime(1970, 1, 2, tzinfo=UTC)
#: Occurrences counted per event: a daily meeting for ten years. A rule that says more (no end,
#: COUNT=1000000000) is cut there, and the import says so.
_MAX_OCCURRENCES = 3660
_SUB_DAILY = frozenset({"SECONDLY", "MINUTELY", "HOURLY"})


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
        file = str(self.path)
        data, cut = _without_cut_events(self.path.read_bytes(), file)
        lines = _event_lines(data)
        calendars, broken = _parse(data, self.path, lines)
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
        yield from cut
        yield from broken
        for calendar in calendars:
            # A calendar sent to say meetings are called off (an invitation's cancellation).
            called_off = str(calendar.get("METHOD", "")).upper() == "CANCEL"
            frequent = _once_only(calendar)
            if frequent:
                self.notes.append(
                    f"{frequent} events repeat more often than daily (a reminder, not a series "
                    "of meetings with someone): each counts once"
                )
            capped: set[str] = set()
            for occurrence, problem in _occurrences(calendar, now, capped):
                if problem is not None:
                    uid, reason = problem
                    yield Problem(file, lines.get(uid, 1), f"UID:{uid}", reason)
                    continue
                assert occurrence is not None
                uid = str(occurrence.get("UID", ""))
                try:
                    start = _instant(occurrence.get("DTSTART"), user_zone)
                except Exception as exc:  # whatever a broken property raises: this event only
                    yield Problem(file, lines.get(uid, 1), f"UID:{uid}", f"unreadable start: {exc}")
                    continue
                if start is None:
                    yield Problem(file, lines.get(uid, 1), f"UID:{uid}", "no start")
                    continue
                people, invalid = _people(occurrence)
                for address in invalid:
                    yield Problem(file, lines.get(uid, 1), address, "not a valid e-mail address")
                yield from _meeting(occurrence, people, start, policy, self.name, called_off)
            for uid in sorted(capped):
                self.notes.append(
                    f"event {uid}: only its first {_MAX_OCCURRENCES:,} occurrences count"
                )
            following = _next_start(calendar, now, user_zone)
            if following is not None and (self._upcoming is None or following < self._upcoming):
                self._upcoming = following


def _parse(
    data: bytes, path: Path, lines: dict[str, int]
) -> tuple[list[icalendar.Calendar], list[Problem]]:
    """The calendars of a file. When the library cannot read the whole file, each event is
    read on its own: one it cannot read is a Problem, never the end of the file."""
    try:
        return list(icalendar.Calendar.from_ical(data, multiple=True)), []
    except Exception:
        pass
    begins = [m.start() for m in _BEGIN_EVENT.finditer(data)]
    if not begins:
        raise FormatError(path, "not a readable iCalendar file") from None
    ends = [m.end() for m in _END_EVENT.finditer(data)]
    head = data[: begins[0]]
    tail = data[ends[-1] :] if ends else b"END:VCALENDAR\r\n"
    try:
        [calendar] = icalendar.Calendar.from_ical(head + tail, multiple=True)[:1]
    except Exception as exc:
        raise FormatError(path, f"not a readable iCalendar file: {exc}") from None
    problems: list[Problem] = []
    for begin in begins:
        end = _END_EVENT.search(data, begin)
        text = data[begin : end.end() if end is not None else len(data)]
        try:
            event = icalendar.Event.from_ical(text)
        except Exception as exc:
            uid = _UID.search(text)
            key = uid.group(1).decode("utf-8", "replace").strip() if uid else ""
            line = data.count(b"\n", 0, begin) + 1
            problems.append(Problem(str(path), lines.get(key, line), f"UID:{key}", f"{exc}"))
            continue
        calendar.add_component(event)
    return [calendar], problems


def _once_only(calendar: icalendar.Calendar) -> int:
    """Drop the rules of events that repeat more often than daily (FREQ=SECONDLY, MINUTELY,
    HOURLY): such an event counts once, at its start. Returns how many there were."""
    dropped = 0
    for event in calendar.walk("VEVENT"):
        try:
            rule: Any = event.get("RRULE")
            frequency = rule.get("FREQ") if rule is not None else None
        except Exception:  # a broken rule: expanding it says what is wrong (see _occurrences)
            continue
        if frequency and str(frequency[0]).upper() in _SUB_DAILY:
            del event["RRULE"]
            for extra in ("RDATE", "EXDATE"):
                if extra in event:
                    del event[extra]
            dropped += 1
    return dropped


def _occurrences(
    calendar: icalendar.Calendar, now: datetime, capped: set[str]
) -> Iterator[tuple[Any, tuple[str, str] | None]]:
    """(occurrence, None) for each occurrence that started by `now`, in time order, at most
    `_MAX_OCCURRENCES` per event (the UIDs cut short go into `capped`); (None, (uid, reason))
    for each series that cannot be expanded (the others still are). Memory stays bounded
    whatever a rule says: occurrences are expanded a year at a time."""
    yielded: set[tuple[str, datetime]] = set()
    try:
        yield from _by_year(calendar, now, capped, yielded)
        return
    except Exception:  # the library raises many types for one broken series: find which
        pass
    for uid, events in _by_uid(calendar).items():
        single = icalendar.Calendar()
        for component in calendar.subcomponents:
            if component.name == "VTIMEZONE":
                single.add_component(component)
        for event in events:
            single.add_component(event)
        try:
            yield from _by_year(single, now, capped, yielded)
        except Exception as exc:
            yield None, (uid, f"cannot expand the event: {exc}")


def _by_year(
    calendar: icalendar.Calendar,
    now: datetime,
    capped: set[str],
    yielded: set[tuple[str, datetime]],
) -> Iterator[tuple[Any, None]]:
    """The occurrences of `calendar` up to `now`, one year's window after the other (a lazy
    expansion is quadratic in a COUNT rule's length: each step starts again from its first
    occurrence), skipping those already `yielded`."""
    query = recurring_ical_events.of(calendar)
    counts: Counter[str] = Counter()
    for year in range(_first_year(calendar), now.year + 1):
        begin = max(_START, datetime(year, 1, 1, tzinfo=UTC))
        end = min(now + timedelta(seconds=1), datetime(year + 1, 1, 1, tzinfo=UTC))
        found = [(_began(o), o) for o in query.between(begin, end)]
        found.sort(key=lambda item: item[0])
        for began, occurrence in found:
            if not begin <= began < end:  # it overlaps the window but started outside it
                continue
            uid = str(occurrence.get("UID", ""))
            counts[uid] += 1
            if counts[uid] > _MAX_OCCURRENCES:
                capped.add(uid)
                continue
            if (uid, began) not in yielded:
                yielded.add((uid, began))
                yield occurrence, None


def _first_year(calendar: icalendar.Calendar) -> int:
    """The year of the earliest event start that can be read (1970 at the earliest)."""
    first = datetime.now(UTC).year
    for event in calendar.walk("VEVENT"):
        try:
            start: Any = event["DTSTART"]
            value = start.dt
        except Exception:
            continue
        if isinstance(value, date):
            first = min(first, value.year)
    return max(first, _START.year)


def _began(occurrence: Any) -> datetime:
    """An occurrence's start for ordering against now (floating and all-day as UTC)."""
    value = getattr(occurrence.get("DTSTART"), "dt", None)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    return _START


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


def _people(event: Any) -> tuple[list[Attendee], list[str]]:
    """The organiser and the attendees that are people (not rooms or resources), and the
    addresses written there that are not valid e-mail addresses."""
    found: list[Attendee] = []
    invalid: list[str] = []
    organizer = event.get("ORGANIZER")
    if organizer is not None:
        email = normalize_email(str(organizer))
        if email and str(organizer.params.get("CUTYPE", "")).upper() in _PEOPLE:
            found.append(Attendee(email, str(organizer.params.get("CN", "")), False, True))
        elif email is None and invalid_email(str(organizer)):
            invalid.append(str(organizer))
    attendees = event.get("ATTENDEE", [])
    if not isinstance(attendees, list):
        attendees = [attendees]
    for attendee in attendees:
        params = getattr(attendee, "params", {})
        if str(params.get("CUTYPE", "")).upper() not in _PEOPLE:
            continue
        email = normalize_email(str(attendee))
        if email is None:
            if invalid_email(str(attendee)):
                invalid.append(str(attendee))
            continue
        declined = str(params.get("PARTSTAT", "")).upper() == "DECLINED"
        found.append(Attendee(email, str(params.get("CN", "")).strip('"'), declined, False))
    return found, invalid


def _meeting(
    event: Any,
    people: list[Attendee],
    start: datetime,
    policy: MailPolicy,
    source: str,
    called_off: bool,
) -> Iterator[Record]:
    """The exchanges of one occurrence, or the reason it does not count."""
    reason, found = meeting_exchanges(
        people,
        cancelled=called_off or str(event.get("STATUS", "")).upper() == "CANCELLED",
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
            people = {p.email for p in _people(event)[0]}
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
