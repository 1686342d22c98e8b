"""The report: who is overdue, as files for a spreadsheet or a summary on the terminal."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from pipeline.cli.group import app_of, main
from pipeline.cli.options import as_of_day, as_of_option, format_option, out_option
from pipeline.cli.output import plural, print_summary


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
    """Report who is overdue for contact: staleness.csv (a row a contact) and networks.csv."""
    from pipeline import export
    from pipeline.assignments import classified, save
    from pipeline.report import networks, staleness

    app = app_of(ctx)
    if fmt == "table" and out is not None:
        raise click.UsageError("--out names a folder for files; --format table prints instead")
    if fmt != "table" and ctx.get_parameter_source("top") is ParameterSource.COMMANDLINE:
        raise click.UsageError("--top is for --format table; the files hold everyone")
    day = as_of_day(as_of, app)
    found = classified(app.config, day)
    save(app.config, found.assignments, wait=False)
    frame = staleness(found.people, found.assignments, found.ruleset, day, app.config.tz())
    summary = networks(frame, found.ruleset)
    if fmt == "table":
        print_summary(frame, summary, day, top)
        return
    folder = out or app.home / "reports"
    written: list[Path] = []
    for name, data in (("staleness", frame), ("networks", summary)):
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            export.frame_to_csv(data, path)
        elif fmt == "md":
            export.write_text(path, export.frame_to_markdown(data))
        else:
            export.write_text(path, export.frame_to_html(data, f"netgarden {name}, {day}"))
        written.append(path)
    overdue = int((frame["status"] == "overdue").sum())
    app.say(
        f"as of {day}: {plural(len(frame), 'contact')}, {overdue} overdue; wrote "
        + ", ".join(str(p) for p in written)
    )
