"""The review loop: the people who need a decision, with the evidence to take it, as a CSV a
person fills in any spreadsheet; and that file read back as decisions.

Pure: people, assignments and text in; rows, decisions and problems out. Writing the file and
the decisions is the caller's (pipeline.export, pipeline.decisions).
"""

from __future__ import annotations

import csv
import difflib
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from pipeline.model import History, Person
from pipeline.normalize import email_domain, name_key
from rules.engine import Assignment
from rules.overrides import IGNORE
from rules.schema import UNASSIGNED

REVIEW_COLUMNS: tuple[str, ...] = (
    "contact_id",
    "name",
    "emails",
    "organization",
    "title",
    "labels",
    "sources",
    "last_contact",
    "exchanges_365d",
    "sent",
    "received",
    "meetings",
    "suggested_network",
    "suggestion_reason",
    "network",
)
#: Mail providers anyone can use: sharing one says nothing about where a person belongs.
FREE_MAIL = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "gmx.de",
        "gmx.net", "web.de", "proton.me", "protonmail.com", "fastmail.com", "mail.ru",
        "yandex.ru", "qq.com", "163.com", "126.com", "naver.com", "orange.fr", "free.fr",
        "t-online.de", "libero.it", "comcast.net", "hey.com", "zoho.com", "mail.com",
    }
)  # fmt: skip
#: A suggestion needs this many placed people behind it, this share of them in one network.
_AT_LEAST = 2
_SHARE = 0.6


@dataclass(frozen=True)
class Suggestion:
    network: str
    reason: str


def who_needs_a_decision(
    people: Sequence[Person],
    assignments: Mapping[int, Assignment],
    which: str,
    as_of: date,
    tz: tzinfo,
) -> list[Person]:
    """The people of `which` (`unassigned`, `all`, or a network), most recent exchange first,
    then those never contacted by name."""
    end = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=tz)
    chosen = [p for p in people if which == "all" or assignments[p.contact_id].network == which]

    def last(person: Person) -> datetime | None:
        found = as_of_end(person, end).last
        return found.at if found is not None else None

    contacted = [(last(p), p) for p in chosen]
    recent = sorted(
        ((at, p) for at, p in contacted if at is not None),
        key=lambda item: (-item[0].timestamp(), item[1].name.casefold()),
    )
    never = sorted((p for at, p in contacted if at is None), key=lambda p: p.name.casefold())
    return [p for _, p in recent] + never


def suggestions(
    people: Sequence[Person], assignments: Mapping[int, Assignment]
) -> dict[int, Suggestion]:
    """Where the people already placed point each unplaced person: most of the people at their
    e-mail domain (not a free-mail one), or at their organization, are in one network."""
    by_domain: dict[str, Counter[str]] = defaultdict(Counter)
    by_org: dict[str, Counter[str]] = defaultdict(Counter)
    for person in people:
        network = assignments[person.contact_id].network
        if network == UNASSIGNED:
            continue
        for domain in _domains(person):
            by_domain[domain][network] += 1
        if person.organization:
            by_org[name_key(person.organization)][network] += 1
    found: dict[int, Suggestion] = {}
    for person in people:
        if assignments[person.contact_id].network != UNASSIGNED:
            continue
        best: tuple[int, Suggestion] | None = None
        for domain in _domains(person):
            counts = by_domain.get(domain)
            if counts:
                network, n = counts.most_common(1)[0]
                total = sum(counts.values())
                if n >= _AT_LEAST and n >= _SHARE * total and (best is None or n > best[0]):
                    reason = f"{n} of {total} people at {domain} are in {network}"
                    best = (n, Suggestion(network, reason))
        counts = by_org.get(name_key(person.organization)) if person.organization else None
        if counts:
            network, n = counts.most_common(1)[0]
            if (
                n >= _AT_LEAST
                and n >= _SHARE * sum(counts.values())
                and (best is None or n > best[0])
            ):
                best = (n, Suggestion(network, f"same organization as {n} {network}"))
        if best is not None:
            found[person.contact_id] = best[1]
    return found


def as_of_end(person: Person, end: datetime) -> History:
    """The person's history as of `end` (the store gives histories that reach it)."""
    found = person.history.until(end)
    if found is None:
        raise ValueError(f"the history of {person.name} does not reach back to {end}")
    return found


def _domains(person: Person) -> set[str]:
    return {d for d in (email_domain(e) for e in person.emails) if d not in FREE_MAIL}


def review_rows(
    people: Sequence[Person],
    suggested: Mapping[int, Suggestion],
    as_of: date,
    tz: tzinfo,
) -> list[list[str]]:
    """A row per person, the cells of REVIEW_COLUMNS (the decision left blank)."""
    end = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=tz)
    year_ago = end - timedelta(days=365)
    rows: list[list[str]] = []
    for p in people:
        history = as_of_end(p, end)
        last = history.last.at if history.last is not None else None
        suggestion = suggested.get(p.contact_id)
        rows.append(
            [
                str(p.contact_id),
                p.name,
                ";".join(p.emails),
                p.organization,
                p.title,
                ";".join(p.labels),
                ";".join(p.sources),
                last.astimezone(tz).date().isoformat() if last else "",
                str(history.count_since(year_ago)),
                str(history.outbound),
                str(history.inbound),
                str(history.mutual),
                suggestion.network if suggestion else "",
                suggestion.reason if suggestion else "",
                "",
            ]
        )
    return rows


@dataclass(frozen=True)
class Decided:
    """A filled row: whom (contact id) and where (a network, `unassigned` or `ignore`)."""

    row: int
    contact_id: int
    choice: str


class ReviewError(ValueError):
    """A review file that cannot be applied: the message names the row and what is wrong."""


def read_review(data: bytes, networks: Iterable[str], known: Mapping[int, int]) -> list[Decided]:
    """The decisions of a filled review file, or ReviewError naming the first thing wrong.

    `known` maps every contact id in the store to its person's id. A spreadsheet's habits are
    fine: a UTF-8 byte-order mark, `;` as the separator, Windows line ends, reordered or
    dropped columns (but contact_id and network), the leading `'` the export put before a cell
    that starts like a formula.
    """
    text = _text(data)
    lines = text.splitlines()
    if not lines:
        raise ReviewError("the file is empty")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [_cell(h).lower() for h in next(reader)]
    unknown = [h for h in header if h and h not in REVIEW_COLUMNS]
    if unknown:
        hint = difflib.get_close_matches(unknown[0], REVIEW_COLUMNS, n=1)
        guess = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise ReviewError(f"row 1: unknown column '{unknown[0]}'{guess}")
    for needed in ("contact_id", "network"):
        if needed not in header:
            raise ReviewError(f"row 1: the column '{needed}' is missing")
    id_at, choice_at = header.index("contact_id"), header.index("network")
    allowed = [*networks, UNASSIGNED, IGNORE]
    decided: list[Decided] = []
    by_person: dict[int, Decided] = {}
    for cells in reader:
        row = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        choice = _cell(cells[choice_at]) if choice_at < len(cells) else ""
        if not choice:
            continue
        raw_id = _cell(cells[id_at]) if id_at < len(cells) else ""
        if not raw_id.isdigit() or int(raw_id) not in known:
            raise ReviewError(f"row {row}: no contact with id {raw_id!r} in the store")
        if choice not in allowed:
            lowered = {a.lower(): a for a in allowed}
            if choice.lower() in lowered:
                choice = lowered[choice.lower()]
            else:
                hint = difflib.get_close_matches(choice, allowed, n=1, cutoff=0.6)
                guess = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise ReviewError(f"row {row}: no network named '{choice}'{guess}")
        person = known[int(raw_id)]
        earlier = by_person.get(person)
        if earlier is not None:
            if earlier.choice != choice:
                raise ReviewError(
                    f"row {row}: contact {raw_id} is one person with the contact of row "
                    f"{earlier.row}, which says '{earlier.choice}', not '{choice}'"
                )
            continue
        decision = Decided(row, person, choice)
        by_person[person] = decision
        decided.append(decision)
    return decided


def _text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _cell(text: str) -> str:
    """A cell as the user meant it: trimmed, without the export's formula guard."""
    text = text.strip()
    return text[1:].strip() if text.startswith("'") else text
