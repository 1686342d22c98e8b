"""Work over everyone in the store, shared between processes when the store is large.

What a command does for each person (read their records and history, place them, make their
row) is pure Python, and a hundred thousand people keep one core busy for seconds. With
`in_parts`, each of up to `MAX_PARTS` processes takes the people whose id falls in its part
(`Store.people`'s `part`), reads them from its own connection and returns only what the command
needs of them (report rows, assignments): people are never sent between processes, which would
cost more than making them. The processes are the import's kind (connectors.workers): forked
on Linux, and they die with the command.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, tzinfo
from functools import partial
from typing import TypeVar

from pipeline.assignments import Classified, classified, end_of, save
from pipeline.config import Config
from pipeline.export import csv_lines
from pipeline.report import PLAIN_COLUMNS, STALENESS_COLUMNS, Row, staleness_rows, urgency_order
from pipeline.strength import Ladder, climb
from rules.engine import Assignment
from rules.overrides import load_overrides
from rules.schema import RuleSet, load_rules

T = TypeVar("T")

#: Processes at most: beyond four, reading the store is what a report waits for.
MAX_PARTS = 4
#: People from which a second process pays for its start.
PARALLEL_FROM = 20_000

#: An assignment as a part sends it back: person id, network, rule.
Placed = tuple[int, str, str]


def parts_for(config: Config) -> int:
    """How many processes share the work on this store: one below `PARALLEL_FROM` people,
    else one a core, up to `MAX_PARTS`."""
    if not config.store_path.exists():
        return 1
    db = sqlite3.connect(f"file:{config.store_path}?mode=ro", uri=True)
    try:
        records = db.execute("SELECT count(*) FROM contacts").fetchone()[0]
    except sqlite3.Error:
        return 1
    finally:
        db.close()
    if records < PARALLEL_FROM:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_PARTS))


def in_parts(work: Callable[[tuple[int, int]], T], parts: int) -> list[T]:
    """`work(part)` for each part (k, parts), the first in this process and the others each in
    a process of its own, at the same time; their results in part order. `work` and what it
    returns cross between processes: a module's function (or a partial of one) and plain data."""
    if parts <= 1:
        return [work((0, 1))]
    from connectors.workers import pool

    # A pool of one a part: a shared pool may hand two parts to one process, one after the other.
    workers = [pool(1) for _ in range(1, parts)]
    try:
        others = [w.submit(work, (k, parts)) for k, w in enumerate(workers, start=1)]
        mine = work((0, parts))
        return [mine, *(other.result() for other in others)]
    finally:
        for w in workers:
            w.shutdown(cancel_futures=True)


def over_everyone(
    config: Config, as_of: date, work: Callable[[Classified], T], parts: int | None = None
) -> tuple[list[T], RuleSet]:
    """`work` of each part of everyone, placed as of a date (`assignments.classified`), each
    part in a process of its own when the store is large (`parts_for`); the results in part
    order, and the rules. `work` crosses between processes: a module's function or a partial
    of one. RulesError when a file is bad, before any process starts."""
    ruleset = load_rules(config.networks_path)
    load_overrides(config.overrides_path, ruleset.network_names)
    done = in_parts(partial(_part, config, as_of, work), parts or parts_for(config))
    return done, ruleset


def _part(config: Config, as_of: date, work: Callable[[Classified], T], part: tuple[int, int]) -> T:
    return work(classified(config, as_of, part))


#: A person's place on the ladder as a part sends it back: contact id, rung (None: nothing
#: lately), the next step in words.
Step = tuple[int, str | None, str]


@dataclass(frozen=True)
class Report:
    """The staleness rows of everyone, the rules that placed them, and (when asked for) each
    person's rung and next step by contact id."""

    rows: list[Row]
    ruleset: RuleSet
    steps: dict[int, tuple[str | None, str]] = field(default_factory=dict)
    #: When asked for, each row's line of staleness.csv (export.csv_lines), in the rows'
    #: order: made by the parts, each in its own process, rather than by this one after them.
    lines: list[str] = field(default_factory=list)


def report_rows(
    config: Config,
    as_of: date,
    parts: int | None = None,
    *,
    steps: bool = False,
    lines: bool = False,
) -> Report:
    """Everyone's staleness rows as of a date, most urgent first (report.staleness_rows), with
    every assignment saved for the commands that read them back (unless another command is
    writing to the store: the report does not need them). With `steps`, each person's rung and
    next step too (pipeline.strength.climb); with `lines`, each row's line of staleness.csv.
    `parts`: see `parts_for`."""
    work = partial(_report, config.tz(), config.channel_ladder(), steps, lines)
    done, ruleset = over_everyone(config, as_of, work, parts)
    save_placed(config, [item for _, placed, _, _ in done for item in placed], wait=False)
    rows = [row for part, _, _, _ in done for row in part]
    made = [line for _, _, _, part in done for line in part]
    order = urgency_order(rows)  # each part's rows come sorted: runs that only merge
    return Report(
        [rows[i] for i in order],
        ruleset,
        {pid: (rung, step) for _, _, climbs, _ in done for pid, rung, step in climbs},
        [made[i] for i in order] if lines else [],
    )


def _report(
    zone: tzinfo, ladder: Ladder, steps: bool, lines: bool, found: Classified
) -> tuple[list[Row], list[Placed], list[Step], list[str]]:
    rows = staleness_rows(found.people, found.assignments, found.ruleset, found.as_of, zone, ladder)
    climbs: list[Step] = []
    if steps:
        end = end_of(found.as_of, zone)
        for person in found.people:
            history = person.history.until(end)
            if history is not None:
                up = climb(history, end, ladder)
                climbs.append((person.contact_id, up.rung, up.step))
    placed = placements(found)
    # The people are done with: the lines are made in the memory they held (this part's peak).
    found.people.clear()
    made = csv_lines(STALENESS_COLUMNS, rows, PLAIN_COLUMNS) if lines else []
    return rows, placed, climbs, made


def placements(found: Classified) -> list[Placed]:
    """The assignments of a part, as (person id, network, rule)."""
    return [(pid, a.network, a.rule) for pid, a in found.assignments.items()]


def save_placed(config: Config, placed: list[Placed], *, wait: bool = True) -> None:
    """Save assignments as parts send them back (see assignments.save)."""
    save(config, {pid: Assignment(network, rule) for pid, network, rule in placed}, wait=wait)
