"""iCalendar files: meetings that took place, with the people at them, in the right time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors import detect
from connectors.base import ReadOptions
from connectors.calendar import IcsConnector
from pipeline.mail import MailPolicy
from pipeline.meetings import ALONE, CANCELLED, DECLINED
from pipeline.model import Checkpoint, Interaction, Problem, Skipped
from tests.connectors.contract import FileContract
from tests.helpers import ME

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BERLIN = """\
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
END:VTIMEZONE
"""


def calendar(*events: str, name: str = "") -> str:
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    if name:
        head += f"X-WR-CALNAME:{name}\r\n"
    body = BERLIN + "".join(f"BEGIN:VEVENT\n{e.strip()}\nEND:VEVENT\n" for e in events)
    return head + body.replace("\n", "\r\n") + "END:VCALENDAR\r\n"


def read(path: Path, me: str = "me@example.com", now: datetime = NOW) -> list[object]:
    policy = MailPolicy(me=frozenset({me}) if me else frozenset())
    return list(IcsConnector(path, ReadOptions(mail=policy, now=now)).extract(None))


def meetings(records: list[object]) -> list[tuple[str, str]]:
    return [
        (r.counterpart.value, r.at.isoformat())
        for r in records
        if isinstance(r, Interaction) and r.direction == "mutual" and r.channel == "meeting"
    ]


def test_a_weekly_meeting_counts_each_past_occurrence_in_its_zone(tmp_path: Path) -> None:
    path = tmp_path / "cal.ics"
    path.write_text(
        calendar(
            """
UID:weekly@example.com
DTSTART;TZID=Europe/Berlin:20261001T100000
DTEND;TZID=Europe/Berlin:20261001T110000
RRULE:FREQ=WEEKLY;COUNT=20
EXDATE;TZID=Europe/Berlin:20261008T100000
ORGANIZER;CN=Me:mailto:me@example.com
ATTENDEE;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED;CN=Ann Lee:mailto:Ann@Example.com
ATTENDEE;CUTYPE=ROOM;CN=Room 1:mailto:room1@example.com
ATTENDEE;CUTYPE=RESOURCE;CN=Projector:mailto:projector@example.com
ATTENDEE;PARTSTAT=DECLINED;CN=Bob:mailto:bob@example.com
SUMMARY:Weekly sync
"""
        ),
        encoding="utf-8",
    )
    assert detect(path) is IcsConnector
    records = read(path)
    # 10:00 in Berlin is 08:00 UTC in summer time and 09:00 UTC after 25 October; 8 October is
    # an EXDATE; occurrences after NOW (20 November) have not taken place.
    assert meetings(records) == [
        ("ann@example.com", "2026-10-01T08:00:00+00:00"),
        ("ann@example.com", "2026-10-15T08:00:00+00:00"),
        ("ann@example.com", "2026-10-22T08:00:00+00:00"),
        ("ann@example.com", "2026-10-29T09:00:00+00:00"),
        ("ann@example.com", "2026-11-05T09:00:00+00:00"),
        ("ann@example.com", "2026-11-12T09:00:00+00:00"),
        ("ann@example.com", "2026-11-19T09:00:00+00:00"),
    ]
    names = {r.name for r in records if isinstance(r, Interaction)}
    assert names == {"Ann Lee"}


def test_cancelled_declined_and_lonely_events_do_not_count(tmp_path: Path) -> None:
    path = tmp_path / "cal.ics"
    path.write_text(
        calendar(
            """
UID:cancelled@x
DTSTART:20260301T100000Z
STATUS:CANCELLED
ORGANIZER:mailto:carl@example.com
ATTENDEE:mailto:me@example.com
""",
            """
UID:declined@x
DTSTART:20260302T100000Z
ORGANIZER:mailto:carl@example.com
ATTENDEE;PARTSTAT=DECLINED:mailto:me@example.com
""",
            """
UID:alone@x
DTSTART:20260303T100000Z
ORGANIZER:mailto:me@example.com
ATTENDEE;CUTYPE=ROOM:mailto:room@example.com
""",
            """
UID:organised-by-someone@x
DTSTART:20260304T100000Z
ORGANIZER;CN=Carl:mailto:carl@example.com
ATTENDEE;PARTSTAT=ACCEPTED:mailto:me@example.com
""",
            """
UID:future@x
DTSTART:20270101T100000Z
ORGANIZER:mailto:carl@example.com
ATTENDEE:mailto:me@example.com
""",
        ),
        encoding="utf-8",
    )
    records = read(path)
    assert [r.reason for r in records if isinstance(r, Skipped)] == [CANCELLED, DECLINED, ALONE]
    assert meetings(records) == [("carl@example.com", "2026-03-04T10:00:00+00:00")]


def test_one_cancelled_occurrence_of_a_series_and_all_day_and_floating_times(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cal.ics"
    path.write_text(
        calendar(
            """
UID:daily@x
DTSTART:20261101T150000Z
RRULE:FREQ=DAILY;COUNT=3
ATTENDEE:mailto:ann@example.com
ORGANIZER:mailto:me@example.com
""",
            """
UID:daily@x
RECURRENCE-ID:20261102T150000Z
DTSTART:20261102T150000Z
STATUS:CANCELLED
ATTENDEE:mailto:ann@example.com
ORGANIZER:mailto:me@example.com
""",
            """
UID:offsite@x
DTSTART;VALUE=DATE:20261110
ATTENDEE:mailto:bob@example.com
""",
            """
UID:floating@x
DTSTART:20261111T090000
ATTENDEE:mailto:carol@example.com
""",
        ),
        encoding="utf-8",
    )
    policy = MailPolicy(me=frozenset({"me@example.com"}))
    options = ReadOptions(timezone="America/New_York", mail=policy, now=NOW)
    records = list(IcsConnector(path, options).extract(None))
    assert sorted(meetings(records)) == [
        ("ann@example.com", "2026-11-01T15:00:00+00:00"),
        ("ann@example.com", "2026-11-03T15:00:00+00:00"),
        # A day without a time is noon in the user's zone; a floating time is the user's zone.
        ("bob@example.com", "2026-11-10T17:00:00+00:00"),
        ("carol@example.com", "2026-11-11T14:00:00+00:00"),
    ]
    assert CANCELLED in [r.reason for r in records if isinstance(r, Skipped)]


def test_the_owner_is_inferred_from_a_google_export_name(tmp_path: Path) -> None:
    path = tmp_path / "cal.ics"
    path.write_text(
        calendar(
            """
UID:1@x
DTSTART:20260304T100000Z
ORGANIZER:mailto:owner@example.com
ATTENDEE:mailto:ann@example.com
""",
            name="owner@example.com",
        ),
        encoding="utf-8",
    )
    connector = IcsConnector(path, ReadOptions(now=NOW))
    records = list(connector.extract(None))
    assert meetings(records) == [("ann@example.com", "2026-03-04T10:00:00+00:00")]
    assert any("owner@example.com" in note for note in connector.notes)


def test_the_same_file_is_read_again_once_its_next_occurrence_has_started(tmp_path: Path) -> None:
    path = tmp_path / "cal.ics"
    path.write_text(
        calendar(
            """
UID:monthly@x
DTSTART:20261015T100000Z
RRULE:FREQ=MONTHLY;COUNT=3
ORGANIZER:mailto:me@example.com
ATTENDEE:mailto:ann@example.com
"""
        ),
        encoding="utf-8",
    )
    first = read(path)
    checkpoint = first[-1]
    assert isinstance(checkpoint, Checkpoint)
    assert checkpoint.cursor.endswith("|2026-12-15T10:00:00+00:00")
    policy = MailPolicy(me=frozenset({"me@example.com"}))
    same_day = IcsConnector(path, ReadOptions(mail=policy, now=NOW))
    assert list(same_day.extract(checkpoint.cursor)) == [checkpoint]
    later = IcsConnector(path, ReadOptions(mail=policy, now=datetime(2026, 12, 16, tzinfo=UTC)))
    assert len(meetings(list(later.extract(checkpoint.cursor)))) == 3


def test_a_broken_event_is_quarantined_and_the_others_still_count(tmp_path: Path) -> None:
    path = tmp_path / "cal.ics"
    path.write_text(
        calendar(
            """
UID:good@x
DTSTART:20260304T100000Z
ORGANIZER:mailto:ann@example.com
ATTENDEE:mailto:me@example.com
""",
            """
UID:bad@x
DTSTART:20260305T100000Z
RRULE:FREQ=SOMETIMES;COUNT=x
ORGANIZER:mailto:bob@example.com
""",
        ),
        encoding="utf-8",
    )
    records = read(path)
    assert meetings(records) == [("ann@example.com", "2026-03-04T10:00:00+00:00")]
    [problem] = [r for r in records if isinstance(r, Problem)]
    assert problem.raw == "UID:bad@x"
    assert problem.line > 1


class TestContract(FileContract):
    format = "ics"


MINE = ReadOptions(mail=MailPolicy(me=frozenset({ME})))


def _ten_meetings() -> str:
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:m{i}\r\nDTSTART:202603{i + 1:02d}T100000Z\r\n"
        "ORGANIZER:mailto:me@example.com\r\nATTENDEE:mailto:ann@example.com\r\nEND:VEVENT\r\n"
        for i in range(10)
    )
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{events}END:VCALENDAR\r\n"


def test_a_calendar_without_its_final_end_keeps_every_meeting(tmp_path: Path) -> None:
    path = tmp_path / "cut.ics"
    path.write_text(_ten_meetings().removesuffix("END:VCALENDAR\r\n"), newline="")
    records = list(
        IcsConnector(path, ReadOptions(mail=MailPolicy(me=frozenset({ME})))).extract(None)
    )
    assert len([r for r in records if isinstance(r, Interaction)]) == 10
    assert not [r for r in records if isinstance(r, Problem)]


def test_a_calendar_cut_in_its_tenth_event_keeps_the_nine_before(tmp_path: Path) -> None:
    text = _ten_meetings()
    path = tmp_path / "cut.ics"
    path.write_text(text[: text.index("UID:m9") + 20], newline="")
    records = list(
        IcsConnector(path, ReadOptions(mail=MailPolicy(me=frozenset({ME})))).extract(None)
    )
    assert len([r for r in records if isinstance(r, Interaction)]) == 9
    [problem] = [r for r in records if isinstance(r, Problem)]
    assert problem.line == 3 + 9 * 6 + 1
    assert "UID:m9" in problem.raw


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=SECONDLY",
        "FREQ=MINUTELY;UNTIL=20300101T000000Z",
        "FREQ=HOURLY",
        "FREQ=SECONDLY;COUNT=1000000000",
    ],
)
def test_a_rule_more_frequent_than_daily_counts_once(tmp_path: Path, rule: str) -> None:
    path = tmp_path / "reminder.ics"
    path.write_text(
        calendar(
            f"UID:r\nDTSTART:20000101T090000Z\nRRULE:{rule}\n"
            "ORGANIZER:mailto:me@example.com\nATTENDEE:mailto:ann@example.com"
        ),
        newline="",
    )
    connector = IcsConnector(path, ReadOptions(mail=MailPolicy(me=frozenset({ME})), now=NOW))
    records = list(connector.extract(None))
    assert meetings(records) == [("ann@example.com", "2000-01-01T09:00:00+00:00")]
    assert any("more often than daily" in note for note in connector.notes)


def test_a_daily_series_without_end_counts_at_most_ten_years(tmp_path: Path) -> None:
    path = tmp_path / "daily.ics"
    path.write_text(
        calendar(
            "UID:d\nDTSTART:19900101T090000Z\nRRULE:FREQ=DAILY;COUNT=1000000000\n"
            "ORGANIZER:mailto:me@example.com\nATTENDEE:mailto:ann@example.com"
        ),
        newline="",
    )
    connector = IcsConnector(path, ReadOptions(mail=MailPolicy(me=frozenset({ME})), now=NOW))
    records = list(connector.extract(None))
    assert len(meetings(records)) == 3660
    assert any("only its first 3,660 occurrences count" in note for note in connector.notes)


def test_a_cancellation_calendar_calls_its_meetings_off(tmp_path: Path) -> None:
    path = tmp_path / "cancel.ics"
    text = calendar(
        "UID:c\nDTSTART:20261102T090000Z\nORGANIZER:mailto:ann@example.com\n"
        "ATTENDEE:mailto:me@example.com"
    )
    path.write_text(text.replace("VERSION:2.0\r\n", "VERSION:2.0\r\nMETHOD:CANCEL\r\n"), newline="")
    records = read(path)
    assert meetings(records) == []
    assert Skipped(CANCELLED) in records


def test_placeholders_and_resources_are_not_people_and_invalid_addresses_are_said(
    tmp_path: Path,
) -> None:
    path = tmp_path / "google.ics"
    path.write_text(
        calendar(
            "UID:g\nDTSTART:20261102T090000Z\n"
            "ORGANIZER:mailto:unknownorganizer@calendar.google.com\n"
            "ATTENDEE:mailto:c_188@resource.calendar.google.com\n"
            "ATTENDEE:mailto:team@group.calendar.google.com\n"
            "ATTENDEE:mailto:jane.@x\n"
            "ATTENDEE:mailto:me@example.com\n"
            "ATTENDEE:mailto:ann@intranet"
        ),
        newline="",
    )
    records = read(path)
    assert meetings(records) == [("ann@intranet", "2026-11-02T09:00:00+00:00")]
    [problem] = [r for r in records if isinstance(r, Problem)]
    assert "jane.@x" in problem.raw and problem.reason == "not a valid e-mail address"


def test_an_event_the_library_cannot_read_costs_only_that_event(tmp_path: Path) -> None:
    path = tmp_path / "exchange.ics"
    good = "UID:ok\nDTSTART:20261102T090000Z\nORGANIZER:mailto:me@example.com\n"
    good += "ATTENDEE:mailto:ann@example.com"
    broken = "UID:bad\nDTSTART;TZID=:20261103T090000\nDTSTART:twice\nATTENDEE:mailto:bo@x.org"
    path.write_text(calendar(good, broken, good.replace("UID:ok", "UID:ok2")), newline="")
    records = read(path)
    assert [m[0] for m in meetings(records)] == ["ann@example.com", "ann@example.com"]
    assert [r for r in records if isinstance(r, Problem)]
