"""The report: who is overdue, as files for a spreadsheet or a summary on the terminal."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from pipeline.cli.group import App, app_of, echo, fail, main
from pipeline.cli.options import as_of_day, as_of_option, format_option, out_option
from pipeline.cli.output import plural, print_rows, print_summary
from pipeline.report import STALENESS_COLUMNS
from rules.schema import UNASSIGNED

if TYPE_CHECKING:
    from pipeline.parts import Report
    from pipeline.report import Row
    from pipeline.runlog import RunRecord


@main.command()
@as_of_option("Report the world as of this date (default: today).")
@out_option
@format_option(
    ("csv", "md", "html", "table"),
    "csv",
    "csv writes staleness, networks and trend files; html writes report.html (charts, this "
    "week, everyone); md writes report.md; table prints a summary.",
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
    network: whether you keep up); or report.html or report.md to read."""
    from pipeline import export
    from pipeline.parts import report_rows
    from pipeline.report import network_frame, network_rows, staleness_frame

    app = app_of(ctx)
    if fmt == "table" and out is not None:
        raise click.UsageError("--out names a folder for files; --format table prints instead")
    if fmt != "table" and ctx.get_parameter_source("top") is ParameterSource.COMMANDLINE:
        raise click.UsageError("--top is for --format table; the files hold everyone")
    day = as_of_day(as_of, app)
    found = report_rows(app.config, day, steps=fmt in ("html", "md"), lines=fmt == "csv")
    rows = found.rows
    summary = network_rows(rows, found.ruleset)
    overdue = sum(1 for row in rows if row[STALENESS_COLUMNS.index("status")] == "overdue")
    if fmt == "csv":  # the nightly case: written from the rows, without pandas
        folder = out or app.home / "reports"
        written = export.write_report_csv(folder, found.lines, summary, _trend(app))
        _said(app, day, len(rows), overdue, written)
        return
    if fmt == "table":
        frame, networks = staleness_frame(rows), network_frame(summary)
        print_summary(frame, networks, day, top, _last_run(app))
        return
    path = (out or app.home / "reports") / f"report.{fmt}"
    export.write_text(path, _page(app, day, found, summary, fmt))
    _said(app, day, len(rows), overdue, [path])


def _page(app: App, day: date, found: Report, summary: list[Row], fmt: str) -> str:
    """report.html or report.md."""
    from pipeline import page
    from pipeline.agenda import agenda

    contents = page.Contents(
        day=day,
        rows=found.rows,
        networks=summary,
        steps=found.steps,
        week=agenda(found.rows, found.ruleset, found.steps, day),
        trend=_trend_by_network(app),
        due_soon_days=found.ruleset.due_soon_days,
    )
    if fmt == "md":
        return page.markdown(contents)
    from pipeline import charts

    network_at = STALENESS_COLUMNS.index("network")
    since_at = STALENESS_COLUMNS.index("days_since")
    drawn: dict[str, list[bytes]] = {}
    for name in (*found.ruleset.network_names, UNASSIGNED):
        days = [
            int(str(r[since_at]))
            for r in found.rows
            if r[network_at] == name and r[since_at] is not None
        ]
        images = [charts.cadence_chart(days, found.ruleset.cadence(name), contents.due_soon_days)]
        points = contents.trend.get(name, ())
        if len(points) >= 2:
            images.append(charts.trend_chart(points))
        drawn[name] = images
    return page.html_page(contents, drawn)


def _trend_by_network(app: App) -> dict[str, list[tuple[str, float]]]:
    """Each network's share in cadence at each recorded run."""
    found: dict[str, list[tuple[str, float]]] = {}
    for run_at, network, *_, pct in _trend(app):
        if pct is not None:
            found.setdefault(str(network), []).append((str(run_at), float(str(pct))))
    return found


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


@main.command("next")
@click.option(
    "--days",
    type=click.IntRange(min=0, max=366),
    default=7,
    show_default=True,
    help="Also list the people who come due within this many days.",
)
@click.option("--network", help="Only this network (the unassigned only when named).")
@as_of_option("The week as of this date (default: today).")
@format_option(("text", "csv", "json"), "text", "text to read; csv or json for other tools.")
@click.pass_context
def next_(ctx: click.Context, days: int, network: str | None, as_of: str | None, fmt: str) -> None:
    """Whom to contact this week and with what: the overdue and those coming due, most urgent
    first, by network, each with what you offer them and the next step up the ladder."""
    from pipeline.agenda import AGENDA_COLUMNS, agenda
    from pipeline.parts import report_rows

    app = app_of(ctx)
    day = as_of_day(as_of, app)
    found = report_rows(app.config, day, steps=True)
    names = (*found.ruleset.network_names, "unassigned")
    if network is not None and network not in names:
        fail(f"no network named {network!r}; networks: " + ", ".join(names))
    items = agenda(found.rows, found.ruleset, found.steps, day, days=days, network=network)
    if fmt != "text":
        print_rows([i.as_dict() for i in items], AGENDA_COLUMNS, fmt, "person")
        return
    if not items:
        app.say(f"as of {day}: no one is overdue or due within {plural(days, 'day')}")
        return
    current = None
    for item in items:
        if item.network != current:
            current = item.network
            cadence = found.ruleset.cadence(current)
            if item is not items[0]:
                echo("")
            echo(f"{current} (every {cadence} days)" + (f": {item.value}" if item.value else ""))
        when = (
            f"overdue {plural(item.days_overdue, 'day')}"
            if item.status == "overdue"
            else f"due {item.due_date}"
        )
        last = f"last {item.last_contact} by {item.last_channel}" if item.last_contact else ""
        who = f"{item.name} <{item.email}>" if item.email else item.name
        echo(f"  {who}: {when}; {last}; strength {item.strength}")
        echo(f"    next: {item.next_step}")
    app.say(
        f"as of {day}: {plural(len(items), 'person')} to contact "
        f"(overdue, or due within {plural(days, 'day')})"
    )
