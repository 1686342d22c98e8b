"""Options several commands share, defined once: `--out`, `--as-of`, `--format`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from pipeline.cli.group import App, fail

F = TypeVar("F", bound=Callable[..., Any])


def out_option(function: F) -> F:
    """`--out DIR`: where report files go (HOME/reports by default)."""
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder for the report files (default: HOME/reports).",
    )(function)


def as_of_option(help_text: str) -> Callable[[F], F]:
    """`--as-of DATE`, read with `as_of_day`."""
    return click.option("--as-of", "as_of", help=help_text)


def format_option(
    choices: Sequence[str], default: str, help_text: str | None = None
) -> Callable[[F], F]:
    """`--format` among `choices`, passed to the command as `fmt`."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default,
        show_default=True,
        help=help_text,
    )


def as_of_day(value: str | None, app: App) -> date:
    """The day of `--as-of` (default: today in the user's zone); one line when it is no date."""
    if value is None:
        return datetime.now(app.config.tz()).date()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        fail(f"--as-of {value!r} is not a date (use YYYY-MM-DD)")
    if not FIRST_DAY <= day <= LAST_DAY:
        fail(f"--as-of {value} is out of range: give a date from {FIRST_DAY} to {LAST_DAY}")
    return day


#: The days a report can be as of: exchanges start in 1970, due dates must stay countable.
FIRST_DAY = date(1970, 1, 2)
LAST_DAY = date(2999, 12, 31)
