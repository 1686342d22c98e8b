"""The short list for this week (`netgarden next`, and the "this week" of the HTML and Markdown
reports): who is overdue or comes due within a few days, most urgent first, grouped by network,
each with the network's value proposition and the next step up the ladder. Pure: report rows
in, items out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from pipeline.report import STALENESS_COLUMNS, Row
from rules.schema import UNASSIGNED, RuleSet

#: The columns of `next --format csv` (and the keys of its JSON).
AGENDA_COLUMNS: tuple[str, ...] = (
    "network",
    "value",
    "contact_id",
    "name",
    "email",
    "organization",
    "status",
    "due_date",
    "days_overdue",
    "last_contact",
    "last_channel",
    "strength",
    "rung",
    "next_step",
)
_AT = {name: STALENESS_COLUMNS.index(name) for name in STALENESS_COLUMNS}


@dataclass(frozen=True)
class Item:
    """One person to contact: who, why now, and what to propose."""

    network: str
    value: str
    contact_id: int
    name: str
    email: str
    organization: str
    status: str  # overdue or due_soon
    due_date: str
    days_overdue: int
    last_contact: str
    last_channel: str
    strength: int
    rung: str
    next_step: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def agenda(
    rows: Sequence[Row],
    ruleset: RuleSet,
    steps: Mapping[int, tuple[str | None, str]],
    as_of: date,
    *,
    days: int = 7,
    network: str | None = None,
) -> list[Item]:
    """The people overdue, or due within `days` of `as_of`, of every network (or of
    `network`; the unassigned only when named), most urgent first within each network, the
    networks in the order of the networks file. `rows` are staleness rows (most urgent first);
    `steps`, each person's rung and next step."""
    horizon = (as_of + timedelta(days=days)).isoformat()
    wanted = [network] if network is not None else list(ruleset.network_names)
    by_network: dict[str, list[Item]] = {name: [] for name in wanted}
    for row in rows:
        listed = by_network.get(str(row[_AT["network"]]))
        if listed is None or row[_AT["status"]] == "never":
            continue
        due = str(row[_AT["due_date"]])
        if row[_AT["status"]] != "overdue" and due > horizon:
            continue
        rung, step = steps.get(int(str(row[_AT["contact_id"]])), (None, ""))
        name = str(row[_AT["network"]])
        listed.append(
            Item(
                network=name,
                value=ruleset.value(name) if name != UNASSIGNED else "",
                contact_id=int(str(row[_AT["contact_id"]])),
                name=str(row[_AT["name"]]),
                email=str(row[_AT["email"]] or ""),
                organization=str(row[_AT["organization"]] or ""),
                status="overdue" if row[_AT["status"]] == "overdue" else "due_soon",
                due_date=due,
                days_overdue=int(str(row[_AT["days_overdue"]] or 0)),
                last_contact=str(row[_AT["last_contact"]] or ""),
                last_channel=str(row[_AT["last_channel"]] or ""),
                strength=int(str(row[_AT["strength"]] or 0)),
                rung=rung or "",
                next_step=step,
            )
        )
    return [item for name in wanted for item in by_network[name]]
