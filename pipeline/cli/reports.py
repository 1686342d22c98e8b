"""The report: who is overdue, as files for a spreadsheet or a summary on the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from pipeline.cli.group import App, app_of, main
from pipeline.cli.options import as_of_day, as_of_option, format_option, out_option
from pipeline.cli.output import plural, print_summary

if TYPE_CHECKING:
    from pipeline.runlog import RunRecord


@main.command()
@as_of_option("Report the world as of this date (default: today).")
@out_option
@format_option(
    ("csv", "md", "html", "table"),
    "csv",
    "csv/md/html write staleness and networks files; table prints a summary.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Contacts per network in a table.",
)
@click.pass_context
def report(ctx: click.Context, as_of: str | None, out: Path | None, fmt: str, top: int) -> None:
    """Report who is overdue for contact: staleness.csv (a row a contact; the report before
    is kept as staleness.previous.csv), networks.csv and trend.csv (a row per run and
    network: whether you keep up)."""
    from pipeline import export
    from pipeline.parts import report_rows
    from pipeline.report import STALENESS_COLUMNS, network_frame, network_rows, staleness_frame

    app = app_of(ctx)
    if fmt == "table" and out is not None:
        raise click.UsageError("--out names a folder for files; --format table prints instead")
    if fmt != "table" and ctx.get_parameter_source("top") is ParameterSource.COMMANDLINE:
        raise click.UsageError("--top is for --format table; the files hold everyone")
    day = as_of_day(as_of, app)
    found = report_rows(app.config, day)
    rows = found.rows
    summary = network_rows(rows, found.ruleset)
    overdue = sum(1 for row in rows if row[STALENESS_COLUMNS.index("status")] == "overdue")
    if fmt == "csv":  # the nightly case: written from the rows, without pandas
        folder = out or app.home / "reports"
        written = export.write_report_csv(folder, rows, summary, _trend(app))
        _said(app, day, len(rows), overdue, written)
        return
    frame, networks = staleness_frame(rows), network_frame(summary)
    if fmt == "table":
        print_summary(frame, networks, day, top, _last_run(app))
        return
    folder = out or app.home / "reports"
    written = []
    for name, data in (("staleness", frame), ("networks", networks)):
        path = folder / f"{name}.{fmt}"
        if fmt == "md":
            export.write_text(path, export.frame_to_markdown(data))
        else:
            export.write_text(path, export.frame_to_html(data, f"netgarden {name}, {day}"))
        written.append(path)
    _said(app, day, len(rows), overdue, written)


def _trend(app: App) -> list[tuple[object, ...]]:
    """The rows of trend.csv: every recorded run's figures."""
    from pipeline.runlog import trend
    from pipeline.store import READER_PATIENCE, Store

    with Store(app.config.store_path, patience=READER_PATIENCE) as store:
        return trend(store)


def _last_run(app: App) -> RunRecord | None:
    """The latest run that wrote a report: the table says how overdue counts moved since."""
    from pipeline.runlog import previous_figures
    from pipeline.store import READER_PATIENCE, Store

    with Store(app.config.store_path, patience=READER_PATIENCE) as store:
        return previous_figures(store)


def _said(app: App, day: object, people: int, overdue: int, written: list[Path]) -> None:
    app.say(
        f"as of {day}: {plural(people, 'contact')}, {overdue} overdue; wrote "
        + ", ".join(str(p) for p in written)
    )
