"""The staleness report: pure, people and assignments in, DataFrames out.

The report describes the world as of `as_of`: exchanges after that day do not count. Dates are
calendar dates in the user's zone.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo

import pandas as pd

from pipeline.model import Person
from rules.engine import Assignment
from rules.schema import UNASSIGNED, RuleSet

STALENESS_COLUMNS: tuple[str, ...] = (
    "contact_id",
    "name",
    "email",
    "organization",
    "network",
    "rule",
    "cadence_days",
    "last_contact",
    "last_direction",
    "last_channel",
    "days_since",
    "due_date",
    "days_overdue",
    "status",
    "interactions_90d",
    "interactions_total",
    "first_contact",
    "sources",
)
NETWORK_COLUMNS: tuple[str, ...] = (
    "network",
    "value",
    "cadence_days",
    "contacts",
    "overdue",
    "due_soon",
    "ok",
    "never",
    "pct_in_cadence",
    "median_days_since",
)
_INT_COLUMNS = (
    "contact_id",
    "cadence_days",
    "days_since",
    "days_overdue",
    "interactions_90d",
    "interactions_total",
)
STATUS_ORDER = {"overdue": 0, "due_soon": 1, "never": 2, "ok": 3}
RECENT_DAYS = 90


_Row = tuple[object, ...]  # the values of STALENESS_COLUMNS, in that order
_STATUS, _DAYS_OVERDUE, _DUE_DATE, _NAME = (
    STALENESS_COLUMNS.index(c) for c in ("status", "days_overdue", "due_date", "name")
)


def _row(person: Person, assignment: Assignment, cadence: int, due_soon_days: int, as_of: date,
         tz: tzinfo, end: datetime, window: datetime) -> _Row:  # fmt: skip
    history = person.history.until(end)
    if history is None:
        raise ValueError(f"the history of {person.name} does not reach back to {as_of}")
    emails, organizations = person.emails, person.organizations
    first, last = history.first, history.last
    if last is None or first is None:
        return (person.contact_id, person.name, emails[0] if emails else "",
                organizations[0] if organizations else "", assignment.network, assignment.rule,
                cadence, None, None, None, None, None, None, "never", 0, history.total, None,
                ";".join(person.sources))  # fmt: skip
    last_day = last.at.astimezone(tz).date()
    days_since = (as_of - last_day).days
    if days_since > cadence:
        status = "overdue"
    elif days_since >= cadence - due_soon_days:
        status = "due_soon"
    else:
        status = "ok"
    return (person.contact_id, person.name, emails[0] if emails else "",
            organizations[0] if organizations else "", assignment.network, assignment.rule,
            cadence, last_day.isoformat(), last.direction, last.channel, days_since,
            (last_day + timedelta(days=cadence)).isoformat(), max(0, days_since - cadence),
            status, history.count_since(window), history.total,
            first.astimezone(tz).date().isoformat(), ";".join(person.sources))  # fmt: skip


def _sort_key(row: _Row) -> tuple[object, ...]:
    status = str(row[_STATUS])
    name = str(row[_NAME]).casefold()
    if status == "overdue":
        overdue = row[_DAYS_OVERDUE]
        return (0, -int(overdue) if isinstance(overdue, int) else 0, name)
    if status == "never":
        return (2, "", name)
    return (STATUS_ORDER[status], str(row[_DUE_DATE]), name)


def staleness(
    people: Iterable[Person],
    assignments: Mapping[int, Assignment],
    ruleset: RuleSet,
    as_of: date,
    tz: tzinfo,
) -> pd.DataFrame:
    """One row a person with the columns of STALENESS_COLUMNS, most urgent first.

    Sorted: overdue (most overdue first), due_soon (soonest due first), never, ok.
    """
    unassigned = Assignment(UNASSIGNED, "")
    end = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=tz)
    window = datetime.combine(as_of - timedelta(days=RECENT_DAYS - 1), time(0), tzinfo=tz)
    cadences = {name: ruleset.cadence(name) for name in (*ruleset.network_names, UNASSIGNED)}
    due_soon = ruleset.due_soon_days
    rows = []
    for person in people:
        assignment = assignments.get(person.contact_id, unassigned)
        cadence = cadences.get(assignment.network)
        if cadence is None:
            cadence = cadences[assignment.network] = ruleset.cadence(assignment.network)
        rows.append(_row(person, assignment, cadence, due_soon, as_of, tz, end, window))
    rows.sort(key=_sort_key)
    frame = pd.DataFrame.from_records(rows, columns=list(STALENESS_COLUMNS))
    for column in _INT_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    return frame


def networks(report: pd.DataFrame, ruleset: RuleSet) -> pd.DataFrame:
    """One row a network (then `unassigned`): counts by status and how well cadence is kept."""
    rows: list[dict[str, object]] = []
    names = [*ruleset.network_names, UNASSIGNED]
    for name in names:
        members = report[report["network"] == name]
        counts = members["status"].value_counts()
        total = len(members)
        in_cadence = int(counts.get("ok", 0)) + int(counts.get("due_soon", 0))
        days = [int(d) for d in members["days_since"].dropna()]
        median: float | None = statistics.median(days) if days else None
        rows.append(
            {
                "network": name,
                "value": ruleset.value(name),
                "cadence_days": ruleset.cadence(name),
                "contacts": total,
                "overdue": int(counts.get("overdue", 0)),
                "due_soon": int(counts.get("due_soon", 0)),
                "ok": int(counts.get("ok", 0)),
                "never": int(counts.get("never", 0)),
                "pct_in_cadence": round(100 * in_cadence / total, 1) if total else None,
                "median_days_since": median,
            }
        )
    frame = pd.DataFrame(rows, columns=list(NETWORK_COLUMNS))
    for column in ("cadence_days", "contacts", "overdue", "due_soon", "ok", "never"):
        frame[column] = frame[column].astype("Int64")
    return frame
