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


def _row(
    person: Person, assignment: Assignment, ruleset: RuleSet, as_of: date, tz: tzinfo
) -> dict[str, object]:
    end = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=tz)
    history = person.history.until(end)
    if history is None:
        raise ValueError(f"the history of {person.name} does not reach back to {as_of}")
    cadence = ruleset.cadence(assignment.network)
    row: dict[str, object] = {
        "contact_id": person.contact_id,
        "name": person.name,
        "email": person.email,
        "organization": person.organization,
        "network": assignment.network,
        "rule": assignment.rule,
        "cadence_days": cadence,
        "last_contact": None,
        "last_direction": None,
        "last_channel": None,
        "days_since": None,
        "due_date": None,
        "days_overdue": None,
        "status": "never",
        "interactions_90d": 0,
        "interactions_total": history.total,
        "first_contact": None,
        "sources": ";".join(person.sources),
    }
    last = history.last
    if last is None or history.first is None:
        return row
    last_day = last.at.astimezone(tz).date()
    days_since = (as_of - last_day).days
    if days_since > cadence:
        status = "overdue"
    elif days_since >= cadence - ruleset.due_soon_days:
        status = "due_soon"
    else:
        status = "ok"
    window = datetime.combine(as_of - timedelta(days=RECENT_DAYS - 1), time(0), tzinfo=tz)
    row.update(
        last_contact=last_day.isoformat(),
        last_direction=last.direction,
        last_channel=last.channel,
        days_since=days_since,
        due_date=(last_day + timedelta(days=cadence)).isoformat(),
        days_overdue=max(0, days_since - cadence),
        status=status,
        interactions_90d=len(history.since(window)),
        first_contact=history.first.astimezone(tz).date().isoformat(),
    )
    return row


def _sort_key(row: Mapping[str, object]) -> tuple[object, ...]:
    status = str(row["status"])
    name = str(row["name"]).casefold()
    if status == "overdue":
        overdue = row["days_overdue"]
        return (0, -int(overdue) if isinstance(overdue, int) else 0, name)
    if status == "never":
        return (2, "", name)
    return (STATUS_ORDER[status], str(row["due_date"]), name)


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
    rows = [_row(p, assignments.get(p.contact_id, unassigned), ruleset, as_of, tz) for p in people]
    rows.sort(key=_sort_key)
    frame = pd.DataFrame(rows, columns=list(STALENESS_COLUMNS))
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
