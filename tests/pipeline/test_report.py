"""The staleness report: columns, statuses, sort and the as-of cut, as DESIGN.md fixes them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.export import csv_lines, frame_to_csv, lines_to_csv, rows_to_csv
from pipeline.model import InteractionSummary, Person
from pipeline.report import (
    NETWORK_COLUMNS,
    PLAIN_COLUMNS,
    STALENESS_COLUMNS,
    network_rows,
    networks,
    staleness,
    staleness_frame,
    staleness_rows,
)
from rules.engine import Assignment
from rules.schema import parse_rules

RULES = """
default_cadence_days = 60
due_soon_days = 7
[[networks]]
name = "clients"
value = "=fast answers"
cadence_days = 30
"""
AS_OF = date(2026, 11, 15)


def exchange(day: str, direction: str = "outbound", channel: str = "email") -> InteractionSummary:
    return InteractionSummary(
        datetime.fromisoformat(day + "T12:00:00+00:00"),
        direction,
        channel,
        "t",  # type: ignore[arg-type]
    )


def build(*people: Person, assignments: dict[int, Assignment] | None = None):  # type: ignore[no-untyped-def]
    ruleset, problems = parse_rules(RULES)
    assert ruleset is not None and not problems
    frame = staleness(list(people), assignments or {}, ruleset, AS_OF, UTC)
    return frame, networks(frame, ruleset)


def test_columns_statuses_and_sort() -> None:
    people = [
        Person.of(1, "Ok Olga", emails=("o@x.org",), interactions=(exchange("2026-11-01"),)),
        Person.of(2, "Never Nils"),
        Person.of(3, "Late Lea", interactions=(exchange("2026-08-01"),)),
        Person.of(4, "Later Luz", interactions=(exchange("2026-05-01"), exchange("2026-06-01"))),
        Person.of(5, "Soon Sam", interactions=(exchange("2026-10-20", "inbound", "call"),)),
        Person.of(6, "Future Fay", interactions=(exchange("2026-12-01"),)),
    ]
    clients = {5: Assignment("clients", "by-hand")}
    frame, _ = build(*people, assignments=clients)
    assert tuple(frame.columns) == STALENESS_COLUMNS
    assert list(zip(frame["name"], frame["status"], strict=True)) == [
        ("Later Luz", "overdue"),
        ("Late Lea", "overdue"),
        ("Soon Sam", "due_soon"),
        ("Future Fay", "never"),
        ("Never Nils", "never"),
        ("Ok Olga", "ok"),
    ]
    luz = frame.iloc[0]
    assert (luz["last_contact"], luz["days_since"], luz["due_date"], luz["days_overdue"]) == (
        "2026-06-01",
        167,
        "2026-07-31",
        107,
    )
    assert (luz["first_contact"], luz["interactions_total"], luz["interactions_90d"]) == (
        "2026-05-01",
        2,
        0,
    )
    sam = frame.iloc[2]
    assert (sam["network"], sam["rule"], sam["cadence_days"], sam["days_since"]) == (
        "clients",
        "by-hand",
        30,
        26,
    )
    assert (sam["last_direction"], sam["last_channel"], sam["due_date"]) == (
        "inbound",
        "call",
        "2026-11-19",
    )


def test_due_soon_and_overdue_boundaries() -> None:
    people = [
        Person.of(1, "A", interactions=(exchange("2026-10-16"),)),  # 30 days: due today
        Person.of(2, "B", interactions=(exchange("2026-10-15"),)),  # 31 days: overdue
        Person.of(3, "C", interactions=(exchange("2026-10-23"),)),  # 23 days: due in 7
        Person.of(4, "D", interactions=(exchange("2026-10-24"),)),  # 22 days: ok
    ]
    all_clients = {i: Assignment("clients", "r") for i in range(1, 5)}
    frame, _ = build(*people, assignments=all_clients)
    status = dict(zip(frame["name"], frame["status"], strict=True))
    assert status == {"A": "due_soon", "B": "overdue", "C": "due_soon", "D": "ok"}
    overdue = dict(zip(frame["name"], frame["days_overdue"], strict=True))
    assert (overdue["A"], overdue["B"]) == (0, 1)


def test_csv_writes_integers_empty_never_cells_and_neutralizes_formulas(tmp_path: Path) -> None:
    people = [
        Person.of(1, '=HYPERLINK("http://evil")', interactions=(exchange("2026-11-01"),)),
        Person.of(2, "Never Nils", organizations=("@acme",)),
    ]
    frame, summary = build(*people)
    frame_to_csv(frame, tmp_path / "staleness.csv")
    frame_to_csv(summary, tmp_path / "networks.csv")
    lines = (tmp_path / "staleness.csv").read_text().splitlines()
    assert lines[0] == ",".join(STALENESS_COLUMNS)
    assert lines[1] == ("2,Never Nils,,'@acme,unassigned,,60,,,,,,,never,0,0,,,0")
    assert lines[2].startswith('1,"\'=HYPERLINK(""http://evil"")",,,unassigned,,60,2026-11-01,')
    assert ",14,2026-12-31,0,ok,1,1,2026-11-01," in lines[2]
    net = (tmp_path / "networks.csv").read_text().splitlines()
    assert net[0] == ",".join(NETWORK_COLUMNS)
    assert net[1] == "clients,'=fast answers,30,0,0,0,0,0,,"
    assert net[2] == "unassigned,,60,2,0,0,1,1,50,14"


def test_the_csv_written_from_rows_is_the_one_written_from_the_frame(tmp_path: Path) -> None:
    """The CLI writes CSV reports from the rows (without pandas); the bytes are the frame's."""
    ruleset, _ = parse_rules(RULES)
    assert ruleset is not None
    people = [
        Person.of(1, '=HYPERLINK("http://evil")', interactions=(exchange("2026-11-01"),)),
        Person.of(2, "Never Nils", organizations=("@acme",), sources=("-x", "vcard")),
        Person.of(3, 'Ann, "Q"', interactions=(exchange("2026-09-01", "inbound", "+call"),)),
        Person.of(4, "C", interactions=(exchange("2026-11-10"), exchange("2026-11-12"))),
    ]
    rows = staleness_rows(people, {4: Assignment("clients", "r")}, ruleset, AS_OF, UTC)
    summary = network_rows(rows, ruleset)
    rows_to_csv(tmp_path / "a.csv", STALENESS_COLUMNS, rows)
    rows_to_csv(tmp_path / "b.csv", NETWORK_COLUMNS, summary)
    frame = staleness_frame(rows)
    frame_to_csv(frame, tmp_path / "c.csv")
    frame_to_csv(networks(frame, ruleset), tmp_path / "d.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "c.csv").read_bytes()
    assert (tmp_path / "b.csv").read_bytes() == (tmp_path / "d.csv").read_bytes()
    # The columns the report knows to be plain are written without looking: the same bytes.
    rows_to_csv(tmp_path / "e.csv", STALENESS_COLUMNS, rows, PLAIN_COLUMNS)
    assert (tmp_path / "e.csv").read_bytes() == (tmp_path / "c.csv").read_bytes()
    assert b"'=HYPERLINK" in (tmp_path / "a.csv").read_bytes()


def test_csv_lines_made_a_part_at_a_time_are_the_file_written_at_once(tmp_path: Path) -> None:
    """Each process of a large report makes the lines of its own rows; put together they are
    the bytes of the whole, whichever part held a cell a spreadsheet could run."""
    header = ("id", "name", "days", "plain")
    rows: list[tuple[object, ...]] = [
        (1, "Ann", 3, "x"),
        (2, '=HYPERLINK("http://evil")', -4, "y"),
        (3, 'Bob, "Q"\nLee', None, "+1"),
        (4, "Cy", 7, None),
    ]
    rows_to_csv(tmp_path / "whole.csv", header, rows, ("plain",))
    for cut in range(len(rows) + 1):
        lines = [
            *csv_lines(header, rows[:cut], ("plain",)),
            *csv_lines(header, rows[cut:], ("plain",)),
        ]
        assert len(lines) == len(rows)
        lines_to_csv(tmp_path / "parts.csv", header, lines)
        assert (tmp_path / "parts.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert b"'=HYPERLINK" in (tmp_path / "whole.csv").read_bytes()
    assert b",'-4," in (tmp_path / "whole.csv").read_bytes()


def test_median_and_percent_in_cadence() -> None:
    people = [
        Person.of(1, "A", interactions=(exchange("2026-11-05"),)),  # 10 days, ok
        Person.of(2, "B", interactions=(exchange("2026-09-01"),)),  # 75 days, overdue
        Person.of(3, "C", interactions=(exchange("2026-11-10"),)),  # 5 days
        Person.of(4, "D", interactions=(exchange("2026-11-14"),)),  # 1 day
    ]
    _, summary = build(*people)
    row = summary[summary["network"] == "unassigned"].iloc[0]
    assert (row["contacts"], row["overdue"], row["ok"]) == (4, 1, 3)
    assert row["pct_in_cadence"] == 75.0
    assert row["median_days_since"] == 7.5
