"""What the commands print with: tables on stdout, progress on stderr (only on a terminal)."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Column, Table

from connectors.base import Connector
from pipeline.cli.group import App
from pipeline.export import cell, neutralize

#: A read shorter than this many bytes is over before a progress bar would help.
_SLOW_BYTES = 8 << 20


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def console() -> Console:
    """A console for tables: the terminal's width, else $COLUMNS, else 120 (a pipe or a cron
    log has no width to respect, and 80 columns would fold every name)."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return Console()
    return Console(width=120)


def print_rows(rows: list[dict[str, Any]], columns: Sequence[str], fmt: str, what: str) -> None:
    """Rows as JSON (lists kept), CSV or a table (lists joined by ';'), on stdout."""
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    flat = [
        [";".join(v) if isinstance(v, list) else str(v) for v in (r[c] for c in columns)]
        for r in rows
    ]
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([neutralize(c) for c in row] for row in flat)
        return
    # Folded, never cut with an ellipsis: an address is no use half shown.
    table = Table(*(Column(c, overflow="fold") for c in columns), title=plural(len(rows), what))
    for row in flat:
        table.add_row(*row)
    console().print(table)


def print_summary(frame: Any, summary: Any, day: date, top: int) -> None:
    """The report as tables: each network's counts, then its most overdue people."""
    out = console()
    table = Table(
        Column("network", no_wrap=True, min_width=19),
        *(
            Column(header, no_wrap=True, min_width=len(header))
            for header in ("cadence", "contacts", "overdue", "due soon", "ok", "never", "% kept")
        ),
        title=f"Networks as of {day}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for row in summary.itertuples(index=False):
        table.add_row(
            row.network,
            cell(row.cadence_days),
            cell(row.contacts),
            cell(row.overdue),
            cell(row.due_soon),
            cell(row.ok),
            cell(row.never),
            cell(row.pct_in_cadence),
        )
    out.print(table)
    for network in summary["network"]:
        members = frame[
            (frame["network"] == network) & frame["status"].isin(["overdue", "due_soon"])
        ].head(top)
        if members.empty:
            continue
        # Fits 80 columns (a log, a pipe): the e-mail is in staleness.csv.
        detail = Table(title=f"{network}: most overdue", box=box.SIMPLE_HEAD, pad_edge=False)
        detail.add_column("name", no_wrap=True, overflow="ellipsis", max_width=20)
        detail.add_column("organization", no_wrap=True, overflow="ellipsis", max_width=16)
        for header in ("last contact", "days since", "overdue", "status"):
            detail.add_column(header, no_wrap=True, min_width=len(header))
        for row in members.itertuples(index=False):
            detail.add_row(
                row.name,
                row.organization,
                cell(row.last_contact),
                cell(row.days_since),
                cell(row.days_overdue),
                row.status,
            )
        out.print(detail)


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

    label = getattr(getattr(connector, "path", None), "name", None) or connector.stream()
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
