"""The checks every record passes before it is stored, whatever connector made it.

- Text holds no control characters (C0 but tab and line ends, DEL, C1): a name that carries an
  escape sequence would move a terminal's cursor or retitle its window when printed, and a NUL
  ends up in the spreadsheet of the report.
- An exchange is dated after 1970 and at most a year ahead: anything else is a clock that was
  never set or a forged header. It is quarantined with the reason, never stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from pipeline.model import (
    AHEAD,
    EARLIEST,
    ContactRow,
    ExchangeRow,
    Interaction,
    Problem,
    fields_digest,
    implausible,
    plausible,
)

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_EARLIEST_TEXT = EARLIEST.isoformat()


def clean(text: str) -> str:
    """`text` without control characters (tab and line ends kept)."""
    return _CONTROL.sub("", text) if _CONTROL.search(text) else text


def checked_contact_rows(rows: Iterable[ContactRow]) -> list[ContactRow]:
    """Contacts, packed (`pipeline.model.contact_row`), with their text cleaned, and their
    digest worked out again where it was."""
    rows = list(rows)
    # Nearly always no row holds a control character: searched for in the whole batch at once.
    joined = "".join([text for row in rows for text in (*row[1:6], row[8], *row[7])])
    if _CONTROL.search(joined) is None:
        return rows
    return [_cleaned_row(row) for row in rows]


def _cleaned_row(row: ContactRow) -> ContactRow:
    texts = (*row[1:6], row[8], *row[7])
    if _CONTROL.search("".join(texts)) is None:
        return row
    name, given, family, organization, title = (clean(text) for text in row[1:6])
    labels = tuple(clean(label) for label in row[7])
    notes = clean(row[8])
    digest = fields_digest(name, given, family, organization, title, row[6], labels, notes)
    return (
        row[0], name, given, family, organization, title, row[6], labels, notes, row[9], row[10],
        digest,
    )  # fmt: skip


def checked_interactions(
    interactions: Iterable[Interaction], file: str, now: datetime | None = None
) -> tuple[list[Interaction], list[Problem]]:
    """The interactions that can be stored (names cleaned), and a Problem for each other."""
    moment = now or datetime.now(UTC)
    kept: list[Interaction] = []
    problems: list[Problem] = []
    for item in interactions:
        if not plausible(item.at, moment):
            problems.append(_problem(file, item.at.isoformat(), item.counterpart.value, item.key))
            continue
        if item.name and _CONTROL.search(item.name):
            item = replace(item, name=clean(item.name))
        kept.append(item)
    return kept, problems


def checked_rows(
    rows: Iterable[ExchangeRow], file: str, now: datetime | None = None
) -> tuple[list[ExchangeRow], list[Problem]]:
    """`checked_interactions` for packed rows (their instant is UTC ISO text, which compares
    as text)."""
    latest = ((now or datetime.now(UTC)) + AHEAD).astimezone(UTC).isoformat(timespec="seconds")
    rows = list(rows)
    ats = [row[0] for row in rows]
    # Nearly always every row passes: tested for the whole batch at once, in C.
    if not ats or (
        (min(ats) >= _EARLIEST_TEXT and max(ats) <= latest)
        and "".join([row[6] for row in rows]).isprintable()
    ):
        return rows, []
    kept: list[ExchangeRow] = []
    problems: list[Problem] = []
    search = _CONTROL.search
    for row in rows:
        at = row[0]
        if at < _EARLIEST_TEXT or at > latest:
            problems.append(_problem(file, at, row[4], row[5]))
            continue
        name = row[6]
        # isprintable() runs in C and is true for nearly every name: the search is for the rest.
        if name and not name.isprintable() and search(name):
            row = (*row[:6], clean(name))
        kept.append(row)
    return kept, problems


def _problem(file: str, at: str, counterpart: str, key: str) -> Problem:
    return Problem(file, 0, f"{at} {counterpart} {key}", implausible(at))
