"""What the commands print with: tables on stdout, progress on stderr (only on a terminal)."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from rich.text import Text

from connectors.base import Connector
from pipeline.cells import neutralize
from pipeline.cli.group import App, echo, safe

if TYPE_CHECKING:
    from pipeline.runlog import RunRecord

#: A read shorter than this many bytes is over before a progress bar would help.
_SLOW_BYTES = 8 << 20


_IRREGULAR = {"person": "people"}


def plural(count: int, word: str) -> str:
    """`3 contacts`, `1 contact`, `2 people`."""
    many = _IRREGULAR.get(word, word + "s")
    return f"{count} {word if count == 1 else many}"


def console() -> Console:
    """A console for tables: the terminal's width, else $COLUMNS, else 120 (a pipe or a cron
    log has no width to respect, and 80 columns would fold every name)."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return Console()
    return Console(width=120)


def print_rows(
    rows: list[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    what: str,
    *,
    table: Sequence[str] | None = None,
    whole: Sequence[str] = (),
) -> None:
    """Rows as JSON (lists kept), CSV or a table (lists joined by ';'), on stdout.

    A table shows `table` (default: `columns`) as far as the terminal is wide: the `whole`
    columns always, never folded, then the others in their order while they fit; a line
    under it names what was left out and how to see it."""
    if fmt == "json":
        echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([neutralize(_flat(r[c])) for c in columns] for r in rows)
        return
    out = console()
    shown = _fitting(rows, table or columns, whole, out.width)
    # The columns kept whole go unwrapped when they fit side by side; when they cannot, the
    # last of them (an address) still does, and the others wrap at need.
    fits = sum(_need(rows, c, whole) for c in whole) + 3 <= out.width
    unwrapped = set(whole) if fits else set(whole[-1:])
    grid = Table(
        *(Column(c, no_wrap=c in unwrapped, overflow="fold", min_width=len(c)) for c in shown),
        title=plural(len(rows), what),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for row in rows:
        grid.add_row(*(Text(safe(_flat(row[c]))) for c in shown))
    out.print(grid)
    left = [c for c in (table or columns) if c not in shown]
    if left:
        echo(
            f"{plural(len(left), 'column')} left out to fit {out.width} columns: "
            f"{', '.join(left)}; --format csv or json shows every column",
            err=True,
        )


def _flat(value: Any) -> str:
    return ";".join(value) if isinstance(value, list) else str(value)


def _fitting(
    rows: list[dict[str, Any]], columns: Sequence[str], whole: Sequence[str], width: int
) -> list[str]:
    """The columns a table of `width` can show: the `whole` ones, then the others in order
    while each still gets room for its header and a fair share of its values."""

    used = 1 + sum(_need(rows, c, whole) for c in columns if c in whole)
    chosen = set(whole)
    for column in columns:
        if column in chosen:
            continue
        if used + _need(rows, column, whole) <= width:
            chosen.add(column)
            used += _need(rows, column, whole)
    return [c for c in columns if c in chosen]


def _need(rows: list[dict[str, Any]], column: str, whole: Sequence[str]) -> int:
    """The width a column takes: its longest value (cut to 24 unless it is kept whole), or
    its header, and the space between columns."""
    longest = max((len(_flat(r[column])) for r in rows), default=0)
    return max(len(column), min(longest, 24 if column not in whole else longest)) + 2


def print_summary(
    frame: Any, summary: Any, day: date, top: int, before: RunRecord | None = None
) -> None:
    """The report as tables: each network's counts (with how its overdue count moved since
    the run `before`, when there was one), then its most overdue people."""
    from pipeline.export import cell

    out = console()
    headers = ["cadence", "contacts", "overdue", "due soon", "ok", "never", "% kept"]
    earlier = {n.network: n.overdue for n in before.networks} if before is not None else None
    if earlier is not None:
        headers.insert(3, "vs last run")
    table = Table(
        Column("network", no_wrap=True, min_width=19),
        *(Column(header, no_wrap=True, min_width=len(header)) for header in headers),
        title=f"Networks as of {day}",
        caption=None
        if before is None
        else f"vs last run: the overdue count's change since the run of {before.started_at[:10]}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for row in summary.itertuples(index=False):
        cells = [
            cell(row.cadence_days),
            cell(row.contacts),
            cell(row.overdue),
            cell(row.due_soon),
            cell(row.ok),
            cell(row.never),
            cell(row.pct_in_cadence),
        ]
        if earlier is not None:
            cells.insert(3, _change(int(row.overdue), earlier.get(row.network)))
        table.add_row(Text(safe(row.network)), *cells)
    out.print(table)
    for network in summary["network"]:
        members = frame[
            (frame["network"] == network) & frame["status"].isin(["overdue", "due_soon"])
        ].head(top)
        if members.empty:
            continue
        # Fits 80 columns (a log, a pipe): the e-mail is in staleness.csv.
        detail = Table(
            title=Text(safe(f"{network}: most overdue")), box=box.SIMPLE_HEAD, pad_edge=False
        )
        detail.add_column("name", no_wrap=True, overflow="ellipsis", max_width=20)
        detail.add_column("organization", no_wrap=True, overflow="ellipsis", max_width=16)
        for header in ("last contact", "days since", "overdue", "status"):
            detail.add_column(header, no_wrap=True, min_width=len(header))
        for row in members.itertuples(index=False):
            detail.add_row(
                Text(safe(row.name)),
                Text(safe(row.organization)),
                cell(row.last_contact),
                cell(row.days_since),
                cell(row.days_overdue),
                row.status,
            )
        out.print(detail)


def _change(now: int, then: int | None) -> str:
    """`+3`, `-2`, `=`, or `new` for a network the run before did not have."""
    if then is None:
        return "new"
    return "=" if now == then else f"{now - then:+d}"


@contextmanager
def progress(app: App, connector: Connector) -> Iterator[Connector]:
    """Follow a long read on a terminal (never under -q, in a pipe or in a cron log).

    A read whose size is known (a file) gets a bar: bytes, messages, rate, time left; an
    account gets a line of messages read and work spent (quota units, requests)."""
    try:
        total = connector.total_work()
    except OSError:
        total = 0
    if app.quiet or not sys.stderr.isatty() or (total is not None and total < _SLOW_BYTES):
        yield connector
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    label = escape(
        safe(getattr(getattr(connector, "path", None), "name", None) or connector.stream())
    )
    if total is None:
        columns: tuple[Any, ...] = (
            SpinnerColumn(),
            TextColumn(
                "{task.description}: {task.fields[records]} messages, "
                f"{{task.fields[done]}} {connector.work_unit}"
            ),
            TimeElapsedColumn(),
        )
    else:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[records]} messages"),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total, records=0, done=0)

        def update(done: int, records: int) -> None:
            if total is None:
                bar.update(task, records=f"{records:,}", done=f"{done:,}")
            else:
                bar.update(task, completed=done, records=f"{records:,}")

        connector.progress = update
        yield connector
