"""The staleness report: pure, people and assignments in, rows and DataFrames out.

The report describes the world as of `as_of`: exchanges after that day do not count. Dates are
calendar dates in the user's zone.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from pipeline.model import Person
from pipeline.strength import DEFAULT as DEFAULT_LADDER
from pipeline.strength import Ladder, strength
from rules.engine import Assignment
from rules.schema import UNASSIGNED, RuleSet

if TYPE_CHECKING:
    import pandas as pd

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
    "strength",
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
    "strength",
)
#: The columns netgarden fills with whole numbers not below 0, ISO dates and its own words: no
#: cell of them can start like a formula (export.rows_to_csv need not look).
PLAIN_COLUMNS = frozenset(
    (*_INT_COLUMNS, "last_contact", "last_direction", "due_date", "status", "first_contact")
)
STATUS_ORDER = {"overdue": 0, "due_soon": 1, "never": 2, "ok": 3}
RECENT_DAYS = 90


#: A report row: the values of STALENESS_COLUMNS (or NETWORK_COLUMNS), in that order.
Row = tuple[object, ...]
_STATUS, _DAYS_OVERDUE, _DUE_DATE, _NAME, _NETWORK, _DAYS_SINCE = (
    STALENESS_COLUMNS.index(c)
    for c in ("status", "days_overdue", "due_date", "name", "network", "days_since")
)


def _row(person: Person, assignment: Assignment, cadence: int, due_soon_days: int, as_of: date,
         tz: tzinfo, end: datetime, window: datetime, ladder: Ladder) -> Row:  # fmt: skip
    history = person.history.until(end)
    if history is None:
        raise ValueError(f"the history of {person.name} does not reach back to {as_of}")
    emails, organizations = person.emails, person.organizations
    first, last = history.first, history.last
    if last is None or first is None:
        return (person.contact_id, person.name, emails[0] if emails else "",
                organizations[0] if organizations else "", assignment.network, assignment.rule,
                cadence, None, None, None, None, None, None, "never", 0, history.total, None,
                ";".join(person.sources), 0)  # fmt: skip
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
            first.astimezone(tz).date().isoformat(), ";".join(person.sources),
            strength(history, end, ladder))  # fmt: skip


def _sort_key(row: Row) -> tuple[object, ...]:
    status = str(row[_STATUS])
    name = str(row[_NAME]).casefold()
    if status == "overdue":
        overdue = row[_DAYS_OVERDUE]
        return (0, -int(overdue) if isinstance(overdue, int) else 0, name)
    if status == "never":
        return (2, "", name)
    return (STATUS_ORDER[status], str(row[_DUE_DATE]), name)


def staleness_rows(
    people: Iterable[Person],
    assignments: Mapping[int, Assignment],
    ruleset: RuleSet,
    as_of: date,
    tz: tzinfo,
    ladder: Ladder = DEFAULT_LADDER,
    *,
    ordered: bool = True,
) -> list[Row]:
    """One row a person, the values of STALENESS_COLUMNS (None where there is none), most
    urgent first: overdue (most overdue first), due_soon (soonest due first), never, ok
    (`ordered=False`: in no order, for rows that are sorted once put together).
    `ladder` weighs channels in the strength."""
    unassigned = Assignment(UNASSIGNED, "")
    # In UTC, as every stored instant is: comparing them costs no time-zone lookup.
    end = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    window = datetime.combine(as_of - timedelta(days=RECENT_DAYS - 1), time(0), tzinfo=tz)
    window = window.astimezone(UTC)
    cadences = {name: ruleset.cadence(name) for name in (*ruleset.network_names, UNASSIGNED)}
    due_soon = ruleset.due_soon_days
    rows = []
    for person in people:
        assignment = assignments.get(person.contact_id, unassigned)
        cadence = cadences.get(assignment.network)
        if cadence is None:
            cadence = cadences[assignment.network] = ruleset.cadence(assignment.network)
        rows.append(_row(person, assignment, cadence, due_soon, as_of, tz, end, window, ladder))
    return sort_rows(rows) if ordered else rows


def sort_rows(rows: list[Row]) -> list[Row]:
    """Staleness rows most urgent first (in place; returned): overdue (most overdue first),
    due_soon (soonest due first), never, ok; then by name."""
    rows.sort(key=_sort_key)
    return rows


def urgency_order(rows: Sequence[Row]) -> list[int]:
    """The indexes of `rows` in `sort_rows`' order (for rows that travel with other data)."""
    keys = [_sort_key(row) for row in rows]
    return sorted(range(len(keys)), key=keys.__getitem__)


def network_rows(rows: Iterable[Row], ruleset: RuleSet) -> list[Row]:
    """One row a network (then `unassigned`) with the values of NETWORK_COLUMNS: counts by
    status and how well cadence is kept, from `staleness_rows`."""
    names = [*ruleset.network_names, UNASSIGNED]
    counts: dict[str, Counter[str]] = {name: Counter() for name in names}
    days: dict[str, list[int]] = {name: [] for name in names}
    for row in rows:
        network = str(row[_NETWORK])
        if network not in counts:
            continue
        counts[network][str(row[_STATUS])] += 1
        since = row[_DAYS_SINCE]
        if isinstance(since, int):
            days[network].append(since)
    found: list[Row] = []
    for name in names:
        count = counts[name]
        total = sum(count.values())
        in_cadence = count["ok"] + count["due_soon"]
        found.append(
            (
                name,
                ruleset.value(name),
                ruleset.cadence(name),
                total,
                count["overdue"],
                count["due_soon"],
                count["ok"],
                count["never"],
                round(100 * in_cadence / total, 1) if total else None,
                statistics.median(days[name]) if days[name] else None,
            )
        )
    return found


def staleness(
    people: Iterable[Person],
    assignments: Mapping[int, Assignment],
    ruleset: RuleSet,
    as_of: date,
    tz: tzinfo,
) -> pd.DataFrame:
    """`staleness_rows` as a DataFrame (whole numbers as Int64, missing values NA)."""
    return staleness_frame(staleness_rows(people, assignments, ruleset, as_of, tz))


def staleness_frame(rows: list[Row]) -> pd.DataFrame:
    """Staleness rows as a DataFrame with the columns of STALENESS_COLUMNS."""
    import pandas as pd  # only here: the CSV report is written from the rows, without it

    frame = pd.DataFrame.from_records(rows, columns=list(STALENESS_COLUMNS))
    for column in _INT_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    return frame


def networks(report: pd.DataFrame, ruleset: RuleSet) -> pd.DataFrame:
    """`network_rows` of a staleness frame, as a DataFrame."""
    rows = report[list(STALENESS_COLUMNS)].astype(object).where(report.notna(), None)
    return network_frame(network_rows(rows.itertuples(index=False, name=None), ruleset))


def network_frame(rows: list[Row]) -> pd.DataFrame:
    """Network rows as a DataFrame with the columns of NETWORK_COLUMNS."""
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=list(NETWORK_COLUMNS))
    for column in ("cadence_days", "contacts", "overdue", "due_soon", "ok", "never"):
        frame[column] = frame[column].astype("Int64")
    return frame
